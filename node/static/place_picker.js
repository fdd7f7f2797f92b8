// The initiative form's small map: a click puts the marker there and fills the latitude and
// longitude fields; typed coordinates move the marker. Without JavaScript the map stays hidden
// and the fields (or a village name the node knows) set the place just the same.
(function () {
  "use strict";
  var element = document.getElementById("plaatskiezer");
  var lat = document.getElementById("veld-latitude");
  var lon = document.getElementById("veld-longitude");
  if (!element || !lat || !lon || typeof L === "undefined") {
    return;
  }
  element.hidden = false;
  var data = element.dataset;

  function typed(input) {
    var value = parseFloat(input.value.replace(",", "."));
    return isNaN(value) ? null : value;
  }

  var start = typed(lat) !== null && typed(lon) !== null ? [typed(lat), typed(lon)] : null;
  var map = L.map(element).setView(start || [52.2, 5.5], start ? 12 : 7);
  L.tileLayer(data.tiles, {maxZoom: 18, attribution: data.attribution}).addTo(map);
  var marker = start ? L.marker(start).addTo(map) : null;

  function place(point) {
    if (marker) {
      marker.setLatLng(point);
    } else {
      marker = L.marker(point).addTo(map);
    }
  }

  map.on("click", function (event) {
    place(event.latlng);
    lat.value = event.latlng.lat.toFixed(5);
    lon.value = event.latlng.lng.toFixed(5);
  });

  function moved() {
    var a = typed(lat), b = typed(lon);
    if (a !== null && b !== null && a >= -90 && a <= 90 && b >= -180 && b <= 180) {
      place([a, b]);
      map.setView([a, b], Math.max(map.getZoom(), 12));
    }
  }
  lat.addEventListener("change", moved);
  lon.addEventListener("change", moved);
}());
