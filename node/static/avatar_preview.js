// The initiative form's avatar: show the chosen image at once, before the form is sent.
// Progressive enhancement only: without this script the server shows the image after the form
// is posted (node/web/initiative_pages.py, take_avatar). Only the raster types the server takes
// are shown (read as a data: URL, which the page's CSP allows for images); the server still
// judges the file by its content when it arrives.
(function () {
  "use strict";
  var input = document.getElementById("veld-avatar");
  var figure = document.getElementById("avatar-keuze");
  if (!input || !figure || !window.FileReader) {
    return;
  }
  var image = figure.querySelector("img");
  var types = ["image/png", "image/jpeg", "image/gif", "image/webp"];
  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    if (!file || types.indexOf(file.type) < 0) {
      figure.hidden = true;
      image.removeAttribute("src");
      return;
    }
    var reader = new FileReader();
    reader.addEventListener("load", function () {
      image.src = String(reader.result);
      figure.hidden = false;
    });
    reader.readAsDataURL(file);
  });
})();
