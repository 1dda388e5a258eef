/* Mesa · canned replies in the comment box: type a reply's name (or pick it from the
   list), then Insertar (or Enter) puts its text, already filled from the ticket, where the
   cursor is. A reply that takes an action ("responder y resolver") shows the checkbox
   that sends the answer with that action. Hidden until this script runs. */
(function () {
  "use strict";

  function insertAt(textarea, text, caret) {
    var start = caret ? caret[0] : textarea.selectionStart;
    var end = caret ? caret[1] : textarea.selectionEnd;
    if (typeof start !== "number") { start = end = textarea.value.length; }
    textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
    var at = start + text.length;
    textarea.focus();
    textarea.setSelectionRange(at, at);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function setUp(picker) {
    var textarea = document.getElementById(picker.getAttribute("data-target"));
    var input = picker.querySelector("input[list]");
    var button = picker.querySelector("[data-canned-insert]");
    var status = picker.querySelector("[data-canned-status]");
    var data = picker.querySelector("[data-canned-data]");
    if (!textarea || !input || !button || !status || !data) { return; }
    var replies = JSON.parse(data.textContent || "[]");
    var form = textarea.form;
    var then = form.querySelector("[data-canned-then]");
    var thenBox = then ? then.querySelector("input") : null;
    var thenLabel = then ? then.querySelector("[data-canned-then-label]") : null;
    var internal = form.querySelector("input[name=internal]");
    var caret = null;
    textarea.addEventListener("blur", function () {
      caret = [textarea.selectionStart, textarea.selectionEnd];
    });

    function find(name) {
      var wanted = name.trim().toLowerCase();
      for (var i = 0; i < replies.length; i++) {
        if (replies[i].name.toLowerCase() === wanted) { return replies[i]; }
      }
      return null;
    }

    function use() {
      var reply = find(input.value);
      if (!reply) {
        status.textContent = picker.getAttribute("data-unknown");
        return;
      }
      insertAt(textarea, reply.text, caret);
      caret = null;
      if (internal) { internal.checked = !!reply.internal; }
      if (then && thenBox && thenLabel) {
        if (reply.transition) {
          thenBox.value = reply.transition;
          thenBox.checked = true;
          thenLabel.textContent = thenLabel.getAttribute("data-template").replace("%a", reply.transition_label);
          then.hidden = false;
        } else {
          thenBox.value = "";
          thenBox.checked = false;
          then.hidden = true;
        }
      }
      status.textContent = picker.getAttribute("data-inserted").replace("%n", reply.name);
      input.value = "";
    }

    button.addEventListener("click", use);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); use(); }
    });
    // choosing from the list fills the box with an exact name: insert it at once
    input.addEventListener("input", function (event) {
      if (event.inputType === "insertReplacementText" || event.inputType === undefined) {
        if (find(input.value)) { use(); }
      }
    });
    picker.hidden = false;
  }

  document.querySelectorAll("[data-canned-replies]").forEach(setUp);
})();
