// Keyboard shortcuts on every page (loaded from mesa/master.html; no inline script: CSP).
//   /     the menu's search box          j / k  next / previous row of a list; Enter opens it
//   r     the comment box (ticket page)  ?      the help dialog (Escape closes it)
// Keys are ignored while typing in a field and with Ctrl, Alt or Meta held. Each move is
// told to screen readers through the page's aria-live region (#mesa-shortcut-status).
(function () {
  "use strict";

  var script = document.currentScript;
  var texts = (script && script.dataset) || {};

  function status(message) {
    var region = document.getElementById("mesa-shortcut-status");
    if (!region) return;
    // emptied first, so the same message twice is announced twice
    region.textContent = "";
    window.setTimeout(function () { region.textContent = message; }, 30);
  }

  function typing(target) {
    if (!target || !target.closest) return false;
    if (target.isContentEditable) return true;
    var field = target.closest("input, textarea, select, [contenteditable]");
    if (!field) return false;
    var pressable = ["button", "submit", "reset", "checkbox", "radio", "file", "image"];
    return !(field.tagName === "INPUT" && pressable.indexOf(field.type) >= 0);
  }

  // --- the list's rows ---
  function rows() {
    var found = [];
    document.querySelectorAll("[data-shortcut-rows] tbody tr").forEach(function (row) {
      if (row.querySelector("a[href]") && row.getClientRects().length) found.push(row);
    });
    return found;
  }

  function cellText(row, name) {
    var cell = row.querySelector(".col-" + name);
    return cell ? cell.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function move(step) {
    var list = rows();
    if (!list.length) {
      if (document.querySelector("[data-shortcut-rows]")) status(texts.noRows || "");
      return false;
    }
    var current = list.findIndex(function (row) { return row.classList.contains("mesa-current"); });
    var focused = list.findIndex(function (row) { return row.contains(document.activeElement); });
    if (focused >= 0) current = focused;
    var next = current < 0 ? (step > 0 ? 0 : list.length - 1)
                           : Math.min(list.length - 1, Math.max(0, current + step));
    list.forEach(function (row) { row.classList.remove("mesa-current"); row.removeAttribute("aria-current"); });
    var row = list[next];
    row.classList.add("mesa-current");
    row.setAttribute("aria-current", "true");
    var link = row.querySelector(".col-title a[href]") || row.querySelector("a[href]");
    link.focus();
    row.scrollIntoView({ block: "nearest" });
    var reference = cellText(row, "id");
    var title = cellText(row, "title") || link.textContent.trim();
    status((texts.movedTemplate || "Ticket {ref}: {title}, {n} de {total}")
      .replace("{ref}", reference).replace("{title}", title)
      .replace("{n}", String(next + 1)).replace("{total}", String(list.length)));
    return true;
  }

  function openCurrent() {
    var row = document.querySelector("[data-shortcut-rows] tr.mesa-current");
    var link = row && (row.querySelector(".col-title a[href]") || row.querySelector("a[href]"));
    if (!link) return false;
    link.click();
    return true;
  }

  // --- focus targets ---
  function focusField(selector, message) {
    var field = document.querySelector(selector);
    if (!field || !field.getClientRects().length) {
      // the menu is folded on a phone: unfold it so the search box can take the focus
      var toggle = document.querySelector(".navbar-toggler[aria-expanded='false']");
      if (field && toggle && field.closest(".navbar-collapse")) {
        toggle.click();
        window.setTimeout(function () { field.focus(); }, 400);
        status(message);
        return true;
      }
      return false;
    }
    field.focus();
    if (field.select && field.type !== "textarea" && field.tagName !== "TEXTAREA") field.select();
    status(message);
    return true;
  }

  // --- the help dialog ---
  var dialog = document.getElementById("mesa-shortcuts");
  var opener = null;

  function openHelp() {
    if (!dialog || dialog.open) return false;
    opener = document.activeElement;
    dialog.showModal();  // modal: the rest of the page is inert, Escape closes it
    var close = dialog.querySelector("[data-shortcuts-close]");
    if (close) close.focus();
    return true;
  }

  if (dialog) {
    dialog.querySelectorAll("[data-shortcuts-close]").forEach(function (button) {
      button.addEventListener("click", function () { dialog.close(); });
    });
    dialog.addEventListener("close", function () {
      if (opener && opener.focus && document.contains(opener)) opener.focus();
      opener = null;
    });
    // keep Tab inside the dialog (the browser's own controls aside)
    dialog.addEventListener("keydown", function (event) {
      if (event.key !== "Tab") return;
      var items = dialog.querySelectorAll("button, a[href], input, select, textarea, [tabindex]:not([tabindex='-1'])");
      if (!items.length) return;
      var first = items[0], last = items[items.length - 1];
      if (event.shiftKey && document.activeElement === first) { last.focus(); event.preventDefault(); }
      else if (!event.shiftKey && document.activeElement === last) { first.focus(); event.preventDefault(); }
    });
  }

  document.querySelectorAll("[data-shortcuts-open]").forEach(function (button) {
    button.hidden = false;  // only with this script do the shortcuts exist
    button.addEventListener("click", openHelp);
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
    if (dialog && dialog.open) return;  // the dialog handles its own keys
    if (typing(event.target)) return;
    var done = false;
    switch (event.key) {
      case "/": done = focusField("#menu-search-q", texts.focusedSearch || ""); break;
      case "j": done = move(1); break;
      case "k": done = move(-1); break;
      case "r": done = focusField("[data-shortcut-reply], #comment-body", texts.focusedReply || ""); break;
      case "?": done = openHelp(); break;
      case "Enter":
        // a focused link opens by itself; Enter on a chosen row elsewhere opens it
        if (!event.target.closest || !event.target.closest("a, button, summary")) done = openCurrent();
        break;
    }
    if (done) event.preventDefault();
  });
})();
