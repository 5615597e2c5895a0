// The kiosk screen: number pads, dialogs, the answer's sound and countdown back to welcome,
// the "Sedang menghubungkan…" banner, screen wake lock and the hidden staff exit.
// No inline script anywhere (CSP); everything is wired through data-* attributes.
(function () {
  "use strict";

  var body = document.body;
  var HOME = body.getAttribute("data-home-url") || "/kiosk/";
  var PING = body.getAttribute("data-ping-url");
  var PING_EVERY_MS = 5000;
  var PING_TIMEOUT_MS = 4000;
  var EXIT_HOLD_MS = 3000;
  var paired = !body.classList.contains("k-unpaired");

  // ---- number pads -------------------------------------------------------------------------

  function groupsOf(pad) {
    return (pad.getAttribute("data-groups") || "").split(",").map(Number).filter(Boolean);
  }

  function format(pad, digits) {
    var groups = groupsOf(pad);
    var out = [];
    var at = 0;
    for (var i = 0; i < groups.length && at < digits.length; i++) {
      out.push(digits.slice(at, at + groups[i]));
      at += groups[i];
    }
    if (at < digits.length) out.push(digits.slice(at));
    return out.join(" ");
  }

  function setDigits(pad, digits) {
    var input = pad.querySelector("[data-keypad-input]");
    var max = Number(pad.getAttribute("data-length")) || 32;
    digits = digits.replace(/\D/g, "").slice(0, max);
    input.value = input.type === "password" ? digits : format(pad, digits);
    input.setAttribute("data-complete", digits.length === max ? "true" : "false");
  }

  document.addEventListener("click", function (evt) {
    var key = evt.target.closest && evt.target.closest("[data-key]");
    if (!key) return;
    var pad = key.closest("[data-keypad]");
    var input = pad && pad.querySelector("[data-keypad-input]");
    if (!input) return;
    var digits = input.value.replace(/\D/g, "");
    var value = key.getAttribute("data-key");
    setDigits(pad, value === "back" ? digits.slice(0, -1) : digits + value);
  });

  document.addEventListener("input", function (evt) {
    var input = evt.target;
    if (!input.matches || !input.matches("[data-keypad-input]")) return;
    setDigits(input.closest("[data-keypad]"), input.value);
  });

  // ---- dialogs ------------------------------------------------------------------------------

  function openDialog(dialog) {
    if (!dialog || dialog.open) return;
    dialog.querySelectorAll("[data-keypad]").forEach(function (pad) { setDigits(pad, ""); });
    dialog.querySelectorAll(".k-form-error").forEach(function (el) { el.remove(); });
    dialog.showModal();
    var first = dialog.querySelector("[data-keypad-input]");
    if (first) first.focus({ preventScroll: true });
  }

  document.addEventListener("click", function (evt) {
    var opener = evt.target.closest && evt.target.closest("[data-open-dialog]");
    if (opener) openDialog(document.getElementById(opener.getAttribute("data-open-dialog")));
    var closer = evt.target.closest && evt.target.closest("[data-close-dialog]");
    if (closer) {
      var dialog = closer.closest("dialog");
      if (dialog) dialog.close();
    }
  });

  // A closed dialog hands the focus back to the scanner input, for the next USB scan.
  document.addEventListener("close", function (evt) {
    if (!evt.target || evt.target.tagName !== "DIALOG") return;
    var input = document.querySelector("[data-scan-input]");
    if (input) window.setTimeout(function () { input.focus({ preventScroll: true }); }, 0);
  }, true);

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.hasAttribute && form.hasAttribute("data-close-on-submit")) {
      var dialog = form.closest("dialog");
      // After htmx has read the form's values in its own submit handler.
      if (dialog) window.setTimeout(function () { dialog.close(); }, 0);
    }
  });

  // ---- the answer: sound and the way back to welcome ------------------------------------------

  // Each sound is fetched once (a versioned URL the browser keeps for good, so the next page load
  // does not ask at all) and played from memory: an <audio> on the URL itself asks the server
  // again, with a range request, on every load.
  var sounds = {};
  var pendingSound = null;
  function soundReady(name, url) {
    var audio = new Audio(url);
    audio.preload = "auto";
    sounds[name] = audio;
    if (pendingSound === name) {
      pendingSound = null;
      play(name);
    }
  }
  ["success", "refusal"].forEach(function (name) {
    var url = body.getAttribute("data-sound-" + name);
    if (!url || typeof Audio !== "function") return;
    if (typeof fetch !== "function" || !window.URL || !URL.createObjectURL) return soundReady(name, url);
    fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.blob();
      })
      .then(function (blob) { soundReady(name, URL.createObjectURL(blob)); })
      .catch(function () { soundReady(name, url); });
  });

  function play(name) {
    var audio = sounds[name];
    if (!audio) {
      pendingSound = name; // still loading: played as soon as it is there
      return;
    }
    try {
      audio.currentTime = 0;
      var done = audio.play();
      // Autoplay policy: without a user gesture the browser may refuse (see docs/kiosk-setup.md).
      if (done && done.catch) done.catch(function () {});
    } catch (err) { /* no sound is better than a stuck screen */ }
  }

  var countdown = 0;

  function goHome() {
    window.clearInterval(countdown);
    countdown = 0;
    if (window.htmx && document.getElementById("scan-result")) {
      window.htmx.ajax("GET", HOME, { target: "#scan-result", swap: "outerHTML" });
    } else {
      window.location.assign(HOME);
    }
  }

  function panelArrived() {
    var panel = document.getElementById("scan-result");
    window.clearInterval(countdown);
    countdown = 0;
    if (!panel) return;
    panel.setAttribute("data-seen", "");
    body.setAttribute("data-screen", panel.getAttribute("data-state") || "");
    var sound = panel.getAttribute("data-sound");
    if (sound) play(sound);
    var seconds = Number(panel.getAttribute("data-return-after"));
    if (!seconds) return;
    var left = seconds;
    var shown = panel.querySelector("[data-countdown]");
    countdown = window.setInterval(function () {
      left -= 1;
      if (shown) shown.textContent = String(Math.max(left, 0));
      if (left <= 0) goHome();
    }, 1000);
  }

  // A new panel (answer or welcome) has no data-seen yet.
  document.addEventListener("htmx:afterSettle", function () {
    var panel = document.getElementById("scan-result");
    if (panel && !panel.hasAttribute("data-seen")) panelArrived();
  });
  // A tap on AMBIL or Selesai stops the clock while the answer is on its way.
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (elt && elt.closest && elt.closest("#scan-result")) {
      window.clearInterval(countdown);
      countdown = 0;
    }
  });
  // An expired form token (the server lost the session): reload for a fresh one.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var xhr = evt.detail && evt.detail.xhr;
    if (xhr && xhr.status === 400) window.setTimeout(function () { window.location.assign(HOME); }, 2500);
  });

  // ---- reconnecting -------------------------------------------------------------------------

  var banner = document.getElementById("offline");
  var clockBanner = document.getElementById("clock-warning");
  var failures = 0;
  var pingTimer = 0;

  function online(isOnline) {
    if (!banner) return;
    banner.hidden = isOnline;
    body.toggleAttribute("data-offline", !isOnline);
  }

  function ping() {
    window.clearTimeout(pingTimer);
    if (!PING) return;
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = window.setTimeout(function () { if (controller) controller.abort(); }, PING_TIMEOUT_MS);
    // t: this kiosk's clock, for the device list (a kiosk whose clock is far off is flagged there).
    var url = PING + (PING.indexOf("?") < 0 ? "?" : "&") + "t=" + Date.now();
    fetch(url, { cache: "no-store", credentials: "same-origin", signal: controller ? controller.signal : undefined })
      .then(function (response) {
        window.clearTimeout(timer);
        if (response.status === 401 && paired) {
          window.location.replace(HOME); // revoked or unpaired: back to the pairing screen
          return;
        }
        if (clockBanner && response.headers.has("X-Kiosk-Clock")) {
          clockBanner.hidden = response.headers.get("X-Kiosk-Clock") !== "wrong";
        }
        failures = 0;
        online(true);
      })
      .catch(function () {
        window.clearTimeout(timer);
        failures += 1;
        if (failures >= 2) online(false);
      })
      .finally(function () {
        pingTimer = window.setTimeout(ping, failures ? PING_EVERY_MS / 2 : PING_EVERY_MS);
      });
  }

  document.addEventListener("htmx:sendError", function () {
    failures = Math.max(failures, 1);
    online(false);
    window.clearTimeout(pingTimer);
    pingTimer = window.setTimeout(ping, 1000);
  });
  window.addEventListener("offline", function () { online(false); });
  window.addEventListener("online", ping);

  // ---- screen wake lock -----------------------------------------------------------------------

  function keepAwake() {
    if (!navigator.wakeLock || document.visibilityState !== "visible") return;
    navigator.wakeLock.request("screen").catch(function () {});
  }
  document.addEventListener("visibilitychange", keepAwake);

  // ---- hidden staff exit: hold the logo for three seconds --------------------------------------

  var holdTimer = 0;
  var brand = document.querySelector("[data-exit-hold]");
  function cancelHold() {
    window.clearTimeout(holdTimer);
    if (brand) brand.classList.remove("k-holding");
  }
  if (brand && paired) {
    brand.addEventListener("pointerdown", function () {
      cancelHold();
      brand.classList.add("k-holding");
      holdTimer = window.setTimeout(function () {
        cancelHold();
        openDialog(document.getElementById("exit-dialog"));
      }, EXIT_HOLD_MS);
    });
    ["pointerup", "pointerleave", "pointercancel"].forEach(function (name) {
      brand.addEventListener(name, cancelHold);
    });
  }

  // ---- no zoom or context-menu traps ----------------------------------------------------------

  document.addEventListener("contextmenu", function (evt) { evt.preventDefault(); });
  document.addEventListener("gesturestart", function (evt) { evt.preventDefault(); });
  document.addEventListener("wheel", function (evt) { if (evt.ctrlKey) evt.preventDefault(); }, { passive: false });
  document.addEventListener("keydown", function (evt) {
    if ((evt.ctrlKey || evt.metaKey) && ["+", "-", "=", "0"].indexOf(evt.key) >= 0) evt.preventDefault();
  });
  document.addEventListener("dragstart", function (evt) { evt.preventDefault(); });

  // ---- start ------------------------------------------------------------------------------------

  panelArrived();
  keepAwake();
  pingTimer = window.setTimeout(ping, PING_EVERY_MS);
})();
