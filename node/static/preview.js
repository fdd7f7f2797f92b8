// "Voorbeeld bekijken" on the item and initiative forms: fetch the preview without leaving the
// page. Progressive enhancement only: without this script the same button posts the form and the
// server re-renders it with the preview (node/web/forms.py, preview_of). The script posts the
// same form (without a chosen file) and takes the server's own sanitised "Voorbeeld" section
// from the answer, so the preview is exactly what the page would show.
(function () {
  "use strict";
  if (!window.fetch || !window.FormData || !window.DOMParser) {
    return;
  }
  var buttons = document.querySelectorAll('button[name="voorbeeld"]');
  Array.prototype.forEach.call(buttons, function (button) {
    var form = button.form;
    if (!form) {
      return;
    }
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var body = new FormData(form);
      body.set("voorbeeld", "1");
      body.delete("bijlage");  // a preview never stores a file: do not send it
      body.delete("avatar_bestand");
      fetch(form.action, {method: "POST", body: body, credentials: "same-origin"})
        .then(function (response) {
          if (!response.ok) {
            throw new Error("preview " + response.status);
          }
          return response.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("voorbeeld");
          if (!fresh) {
            throw new Error("no preview");
          }
          var shown = document.getElementById("voorbeeld");
          var section = document.importNode(fresh, true);
          if (shown) {
            shown.replaceWith(section);
          } else {
            // Where the server puts it: right after the Markdown field the button names.
            var text = form.elements.namedItem(button.getAttribute("data-field") || "");
            var field = text && text.closest ? text.closest(".field") : null;
            (field || button.parentNode).insertAdjacentElement(field ? "afterend" : "beforebegin",
                                                               section);
          }
          var heading = section.querySelector("h2");
          if (heading) {
            heading.setAttribute("tabindex", "-1");
            heading.focus();
          }
        })
        .catch(function () {
          // The plain way: post the form with the button's value (the server shows the preview).
          var input = document.createElement("input");
          input.type = "hidden";
          input.name = "voorbeeld";
          input.value = "1";
          form.appendChild(input);
          form.submit();
        });
    });
  });
}());
