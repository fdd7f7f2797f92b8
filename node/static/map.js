// The map of /kaart: Leaflet with clustered markers, fed by the page's own GeoJSON endpoints.
// Without JavaScript the map stays hidden and the list beside it shows the same places.
(function () {
  "use strict";
  var element = document.getElementById("kaart");
  if (!element || typeof L === "undefined") {
    return;
  }
  element.hidden = false;
  var data = element.dataset;
  var map = L.map(element).setView([52.2, 5.5], 7);
  L.tileLayer(data.tiles, {maxZoom: 18, attribution: data.attribution}).addTo(map);
  var clusters = L.markerClusterGroup();
  map.addLayer(clusters);

  function popup(feature) {
    var p = feature.properties;
    var box = document.createElement("div");
    var kind = document.createElement("p");
    kind.textContent = p.kind === "event" ? data.labelEvent : data.labelInitiative;
    var link = document.createElement("a");
    link.href = p.url;
    link.textContent = p.name;
    var where = document.createElement("p");
    where.textContent = [p.place, p.province_name, p.origin].filter(Boolean).join(" · ");
    box.appendChild(kind);
    box.appendChild(link);
    box.appendChild(where);
    return box;
  }

  function load(url) {
    return fetch(url, {headers: {"Accept": "application/geo+json"}})
      .then(function (response) { return response.json(); })
      .then(function (collection) {
        var layer = L.geoJSON(collection, {
          onEachFeature: function (feature, marker) { marker.bindPopup(popup(feature)); }
        });
        clusters.addLayers(layer.getLayers());
        return layer.getLayers().length;
      });
  }

  Promise.all([load(data.initiatives), load(data.events)]).then(function (counts) {
    element.dataset.markers = String(counts[0] + counts[1]);
    if (clusters.getLayers().length) {
      map.fitBounds(clusters.getBounds(), {maxZoom: 12, padding: [20, 20]});
    }
  });
}());
