// An image pasted into the comment box becomes a file of the comment's file input, and so
// an attachment of the comment when the form is sent. The textarea names its file input
// (data-paste-images) and its status line (data-paste-status, aria-live). Without this
// script, or where the browser cannot set a file input's files, nothing changes: the file
// input still takes files the usual way.
(function () {
  "use strict";

  var EXTENSIONS = { "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp" };

  function stamp() {
    var d = new Date();
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + two(d.getMonth() + 1) + two(d.getDate()) + "-" +
      two(d.getHours()) + two(d.getMinutes()) + two(d.getSeconds());
  }

  function pastedImages(event) {
    var items = (event.clipboardData && event.clipboardData.items) || [];
    var images = [];
    for (var i = 0; i < items.length; i++) {
      if (items[i].kind === "file" && EXTENSIONS[items[i].type]) {
        var file = items[i].getAsFile();
        if (file) { images.push(file); }
      }
    }
    return images;
  }

  function attach(textarea, input, status) {
    textarea.addEventListener("paste", function (event) {
      var images = pastedImages(event);
      if (!images.length || typeof DataTransfer !== "function") { return; }
      var transfer = new DataTransfer();
      for (var i = 0; i < input.files.length; i++) { transfer.items.add(input.files[i]); }
      var base = (textarea.getAttribute("data-paste-name") || "imagen") + "-" + stamp();
      images.forEach(function (image, n) {
        var name = base + (n ? "-" + (n + 1) : "") + "." + EXTENSIONS[image.type];
        transfer.items.add(new File([image], name, { type: image.type }));
      });
      try {
        input.files = transfer.files;
      } catch (err) {
        return; // an older browser: the image is not kept, the text paste goes on
      }
      if (!event.clipboardData.getData("text/plain")) {
        event.preventDefault(); // only an image: it is the attachment, no text to paste
      }
      if (status) {
        status.textContent = textarea.getAttribute("data-pasted") || "";
      }
    });
  }

  document.querySelectorAll("textarea[data-paste-images]").forEach(function (textarea) {
    var input = document.getElementById(textarea.getAttribute("data-paste-images"));
    var status = document.getElementById(textarea.getAttribute("data-paste-status"));
    if (input && input.type === "file") { attach(textarea, input, status); }
  });
})();
