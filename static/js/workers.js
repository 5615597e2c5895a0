// Worker pages: take the worker's photo with the tablet's camera (getUserMedia), shown in a
// <video>, drawn onto a canvas and put into the form's file input, so the same form field
// carries an upload or a camera shot. Without a camera (or without JS) the file input remains.
(function () {
  "use strict";

  var streams = [];

  function stopAll() {
    streams.forEach(function (s) { s.getTracks().forEach(function (t) { t.stop(); }); });
    streams = [];
  }

  function setup(root) {
    if (root.dataset.photoReady === "1") return;
    root.dataset.photoReady = "1";
    var video = root.querySelector("[data-camera-video]");
    var start = root.querySelector("[data-camera-start]");
    var shoot = root.querySelector("[data-camera-shoot]");
    var file = root.querySelector("[data-photo-file]");
    var preview = root.querySelector("[data-photo-preview]");
    var status = root.querySelector("[data-camera-status]");
    var stream = null;

    function say(key) {
      if (status) status.textContent = root.getAttribute("data-msg-" + key) || "";
    }

    function show(blob) {
      if (!preview) return;
      if (preview.dataset.objectUrl) URL.revokeObjectURL(preview.dataset.objectUrl);
      preview.dataset.objectUrl = URL.createObjectURL(blob);
      preview.src = preview.dataset.objectUrl;
      preview.hidden = false;
      var empty = root.querySelector("[data-photo-empty]");
      if (empty) empty.hidden = true;
    }

    function stop() {
      if (stream) {
        stream.getTracks().forEach(function (t) { t.stop(); });
        streams = streams.filter(function (s) { return s !== stream; });
        stream = null;
      }
      video.hidden = true;
      shoot.hidden = true;
      start.hidden = false;
    }

    if (file) {
      file.addEventListener("change", function () {
        if (file.files && file.files[0]) { show(file.files[0]); say("chosen"); }
      });
    }
    if (!video || !start || !shoot || !file || !window.DataTransfer ||
        !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return; // uploading a file still works
    }
    start.hidden = false;

    start.addEventListener("click", function () {
      say("starting");
      navigator.mediaDevices.getUserMedia({
        video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 960 } },
        audio: false
      }).then(function (s) {
        stream = s;
        streams.push(s);
        video.srcObject = s;
        video.hidden = false;
        shoot.hidden = false;
        start.hidden = true;
        say("ready");
      }).catch(function () {
        say("denied");
      });
    });

    shoot.addEventListener("click", function () {
      var w = video.videoWidth, h = video.videoHeight;
      if (!w || !h) { say("starting"); return; }
      var canvas = document.createElement("canvas");
      canvas.width = w;
      canvas.height = h;
      canvas.getContext("2d").drawImage(video, 0, 0, w, h);
      canvas.toBlob(function (blob) {
        if (!blob) { say("denied"); return; }
        var transfer = new DataTransfer();
        transfer.items.add(new File([blob], "kamera.jpg", { type: "image/jpeg" }));
        file.files = transfer.files;
        show(blob);
        stop();
        say("taken");
        root.dispatchEvent(new CustomEvent("photo:taken", { bubbles: true }));
      }, "image/jpeg", 0.9);
    });
  }

  function init(scope) {
    var base = scope && scope.querySelectorAll ? scope : document;
    if (base.matches && base.matches("[data-photo-capture]")) setup(base);
    base.querySelectorAll("[data-photo-capture]").forEach(setup);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (evt) { init(evt.detail.elt); });
  // Never leave the camera on behind a swapped panel or a page left behind.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var target = evt.detail.target;
    if (target && target.querySelector &&
        (target.matches("[data-photo-capture]") || target.querySelector("[data-photo-capture]"))) {
      stopAll();
    }
  });
  window.addEventListener("pagehide", stopAll);
})();
