/* Mesa · article links in a reply: search Ayuda from the ticket's comment box and insert
   "[Título](absolute url)" where the cursor is in the comment's textarea. The picker is
   hidden until this script runs: without JavaScript the comment box is unchanged. */
(function () {
  "use strict";

  var MIN_CHARS = 3;

  function insertAt(textarea, text) {
    var start = textarea.selectionStart;
    var end = textarea.selectionEnd;
    if (typeof start !== "number") { start = end = textarea.value.length; }
    var before = textarea.value.slice(0, start);
    var after = textarea.value.slice(end);
    textarea.value = before + text + after;
    var caret = start + text.length;
    textarea.focus();
    textarea.setSelectionRange(caret, caret);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function markdownLink(title, url) {
    var label = title.replace(/([\\\[\]])/g, "\\$1");
    var target = url.replace(/[()\s]/g, function (c) { return encodeURIComponent(c); });
    return "[" + label + "](" + target + ")";
  }

  function setUp(picker) {
    var textarea = document.getElementById(picker.getAttribute("data-target"));
    var input = picker.querySelector("[data-article-query]");
    var button = picker.querySelector("[data-article-search]");
    var list = picker.querySelector("[data-article-results]");
    var status = picker.querySelector("[data-article-status]");
    if (!textarea || !input || !button || !list || !status) { return; }
    var url = picker.getAttribute("data-url");
    // where the cursor was in the comment when the person left it for the picker
    var caret = null;
    textarea.addEventListener("blur", function () {
      caret = [textarea.selectionStart, textarea.selectionEnd];
    });

    function show(items) {
      list.textContent = "";
      if (!items.length) {
        status.textContent = picker.getAttribute("data-none");
        return;
      }
      status.textContent = picker.getAttribute("data-many").replace("%n", String(items.length));
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "mb-1";
        var choose = document.createElement("button");
        choose.type = "button";
        choose.className = "btn btn-sm btn-link p-0 text-left";
        choose.textContent = item.title;
        choose.setAttribute("aria-label", picker.getAttribute("data-insert").replace("%t", item.title));
        choose.addEventListener("click", function () {
          if (caret) { textarea.setSelectionRange(caret[0], caret[1]); }
          insertAt(textarea, markdownLink(item.title, item.link));
          status.textContent = picker.getAttribute("data-inserted").replace("%t", item.title);
        });
        li.appendChild(choose);
        list.appendChild(li);
      });
    }

    function search() {
      var query = input.value.trim();
      list.textContent = "";
      if (query.length < MIN_CHARS) {
        status.textContent = picker.getAttribute("data-short");
        return;
      }
      fetch(url + "?" + new URLSearchParams({ q: query }).toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      }).then(function (response) {
        return response.ok ? response.json() : [];
      }).then(show).catch(function () { show([]); });
    }

    button.addEventListener("click", search);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {  // search, never send the comment's form
        event.preventDefault();
        search();
      }
    });
    picker.hidden = false;
  }

  function start() {
    document.querySelectorAll("[data-article-picker]").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
