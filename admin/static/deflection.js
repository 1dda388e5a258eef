/* Mesa · deflection: while a person types a new ticket's title, suggest Ayuda articles
   that may answer it; an article opened from a suggestion is recorded as read.
   No inline script: the pages carry their settings as data-* attributes. The form's own
   submit button stays the one click that opens the ticket anyway. */
(function () {
  "use strict";

  var MIN_CHARS = 3;
  var WAIT_MS = 300;

  /* A snippet's words, with only its <mark> highlights kept as elements. */
  function snippetNode(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html || "";
    var out = document.createDocumentFragment();
    holder.content.childNodes.forEach(function (node) {
      if (node.nodeType === Node.ELEMENT_NODE && node.tagName === "MARK") {
        var mark = document.createElement("mark");
        mark.textContent = node.textContent;
        out.appendChild(mark);
      } else {
        out.appendChild(document.createTextNode(node.textContent));
      }
    });
    return out;
  }

  function suggestOnForm(box) {
    var form = document.getElementById(box.getAttribute("data-form"));
    if (!form) { return; }
    var title = form.querySelector("[name='title']");
    var token = form.querySelector("[name='deflection_token']");
    var list = box.querySelector("[data-deflection-list]");
    var status = box.querySelector("[data-deflection-status]");
    if (!title || !token || !list || !status) { return; }
    var url = box.getAttribute("data-url");
    var type = box.getAttribute("data-type") || "";
    var asked = "";
    var timer = null;
    var latest = 0;

    function show(items, query) {
      list.textContent = "";
      if (!query) {
        status.textContent = "";
        return;
      }
      if (!items.length) {
        status.textContent = box.getAttribute("data-none");
        return;
      }
      status.textContent = (items.length === 1 ? box.getAttribute("data-one")
        : box.getAttribute("data-many").replace("%n", String(items.length)));
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "mb-2";
        var link = document.createElement("a");
        link.href = item.url;
        link.className = "font-weight-bold";
        link.textContent = item.title;
        li.appendChild(link);
        if (item.snippet) {
          var small = document.createElement("div");
          small.className = "small text-muted mesa-wrap";
          small.appendChild(snippetNode(item.snippet));
          li.appendChild(small);
        }
        list.appendChild(li);
      });
    }

    function ask() {
      var query = title.value.trim();
      if (query.length < MIN_CHARS) {
        asked = "";
        show([], "");
        return;
      }
      if (query === asked) { return; }
      asked = query;
      var mine = ++latest;
      var params = new URLSearchParams({ q: query, tipo: type, token: token.value });
      fetch(url + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      }).then(function (response) {
        return response.ok ? response.json() : [];
      }).then(function (items) {
        if (mine === latest) { show(items, query); }  // an older answer never overwrites
      }).catch(function () {
        if (mine === latest) { asked = ""; }
      });
    }

    title.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, WAIT_MS);
    });
    if (title.value.trim().length >= MIN_CHARS) { ask(); }
  }

  function recordRead(marker) {
    var body = new FormData();
    body.append("token", marker.getAttribute("data-token") || "");
    body.append("tipo", marker.getAttribute("data-tipo") || "");
    body.append("csrf_token", marker.getAttribute("data-csrf") || "");
    fetch(marker.getAttribute("data-deflection-read"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      keepalive: true,
      headers: { "X-CSRFToken": marker.getAttribute("data-csrf") || "" }
    }).then(function (response) {
      if (response.ok) { marker.setAttribute("data-recorded", "1"); }
    }).catch(function () { /* a lost count is no reason to bother the reader */ });
  }

  function start() {
    document.querySelectorAll("[data-deflection]").forEach(suggestOnForm);
    document.querySelectorAll("[data-deflection-read]").forEach(recordRead);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
