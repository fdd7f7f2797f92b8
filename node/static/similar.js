// The new-item form: while a question is typed, show the similar questions that already have
// answers (GET /api/questions/similar). Progressive enhancement only: without this script the
// server shows the same list on the first submit (node/web/ui.py, new_item).
(function () {
  "use strict";
  var box = document.getElementById("vergelijkbare-vragen");
  var form = box && box.closest("form");
  if (!box || !form || !window.fetch) {
    return;
  }
  var kind = form.elements.namedItem("kind");
  var title = form.elements.namedItem("title");
  var content = form.elements.namedItem("content");
  var found = box.querySelector(".similar-found");
  var timer = null;
  var asked = "";

  function isQuestion() {
    return !kind || kind.value === "question";
  }

  function anyway() {
    // The person has seen the suggestions: the next submit posts the question.
    if (!form.elements.namedItem("toch_plaatsen")) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "toch_plaatsen";
      input.value = "1";
      form.appendChild(input);
    }
  }

  function render(questions) {
    var list = document.createElement("ol");
    list.className = "similar-list";
    questions.forEach(function (q) {
      var item = document.createElement("li");
      var heading = document.createElement("h3");
      var link = document.createElement("a");
      link.href = q.url;
      link.textContent = q.title;
      heading.appendChild(link);
      item.appendChild(heading);
      if (q.answers.length) {
        var answer = document.createElement("div");
        answer.className = "similar-answer";
        var badge = document.createElement("p");
        badge.className = "badge";
        badge.textContent = q.answers[0].accepted ? box.dataset.accepted : box.dataset.first;
        var text = document.createElement("p");
        // content_html is sanitised by the server; shown as plain text here all the same.
        var holder = new DOMParser().parseFromString(q.answers[0].content_html, "text/html");
        text.textContent = (holder.body.textContent || "").slice(0, 400);
        answer.appendChild(badge);
        answer.appendChild(text);
        item.appendChild(answer);
      }
      list.appendChild(item);
    });
    found.replaceChildren(list);
    box.hidden = questions.length === 0;
    if (questions.length) {
      anyway();
    }
  }

  function ask() {
    var text = ((title && title.value) || "") + "\n" + ((content && content.value) || "");
    text = text.slice(0, 2000);
    if (!isQuestion() || text.trim().length < 3 || text === asked) {
      return;
    }
    asked = text;
    fetch(box.dataset.api + "?q=" + encodeURIComponent(text), {headers: {Accept: "application/json"}})
      .then(function (response) { return response.ok ? response.json() : {questions: []}; })
      .then(function (body) { if (asked === text) { render(body.questions || []); } })
      .catch(function () { /* the server checks again on submit */ });
  }

  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 400);
  }

  [title, content, kind].forEach(function (field) {
    if (field) {
      field.addEventListener("input", later);
      field.addEventListener("change", later);
    }
  });
}());
