// The kiosk screen: number pads (with the card code's check digit), dialogs that time out and
// forget, the answer's sound and countdown back to welcome (touch for more time, the last seconds
// counted down big), "Memeriksa…" while a card is checked, an answer with AMBIL that another card
// cannot push away, the offline state (and the typed code kept for when the server is back),
// Bahasa Indonesia again at welcome, the slip of a kiosk set to print, screen wake lock and the
// hidden staff exit.
// No inline script anywhere (CSP); everything is wired through data-* attributes.
// The kiosk never traps the next person: whatever is open closes by itself and forgets.
(function () {
  "use strict";

  var body = document.body;
  var HOME = body.getAttribute("data-home-url") || "/kiosk/";
  var PING = body.getAttribute("data-ping-url");
  var PING_EVERY_MS = 5000;
  var PING_TIMEOUT_MS = 4000;
  var EXIT_HOLD_MS = 3000;
  // Dialogs (and an English welcome) give up after the same idle time as an answer.
  var IDLE_MS = (Number(body.getAttribute("data-idle-seconds")) || 15) * 1000;
  var DEFAULT_LANG = body.getAttribute("data-default-lang") || "id";
  var URGENT_SECONDS = 5;
  var PENDING_MAX_MS = 60000;
  var HOLD_NOTICE_MS = 4000;
  var paired = !body.classList.contains("k-unpaired");

  function panelNow() { return document.getElementById("scan-result"); }

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

  // Verhoeff's check digit (the last of the card's 11-digit code), as kiosk/tokens/fallback_code.py checks it.
  var VD = [[0,1,2,3,4,5,6,7,8,9],[1,2,3,4,0,6,7,8,9,5],[2,3,4,0,1,7,8,9,5,6],[3,4,0,1,2,8,9,5,6,7],
    [4,0,1,2,3,9,5,6,7,8],[5,9,8,7,6,0,4,3,2,1],[6,5,9,8,7,1,0,4,3,2],[7,6,5,9,8,2,1,0,4,3],
    [8,7,6,5,9,3,2,1,0,4],[9,8,7,6,5,4,3,2,1,0]];
  var VP = [[0,1,2,3,4,5,6,7,8,9],[1,5,7,6,2,8,3,0,9,4],[5,8,0,3,7,9,6,1,4,2],[8,9,1,6,0,4,3,5,2,7],
    [9,4,5,3,1,2,6,8,7,0],[4,2,8,6,5,7,3,9,0,1],[2,7,9,3,8,0,6,4,1,5],[7,0,4,6,9,1,3,2,5,8]];

  function verhoeffValid(digits) {
    var c = 0;
    for (var i = 0; i < digits.length; i++) c = VD[c][VP[i % 8][digits.charCodeAt(digits.length - 1 - i) - 48]];
    return c === 0;
  }

  function digitsOf(pad) {
    return pad.querySelector("[data-keypad-input]").value.replace(/\D/g, "");
  }

  function padError(pad, message) {
    var shown = pad.querySelector("[data-pad-error]");
    if (!message) {
      if (shown) shown.remove();
      return;
    }
    if (!shown) {
      shown = document.createElement("p");
      shown.className = "k-form-error";
      shown.setAttribute("role", "alert");
      shown.setAttribute("data-pad-error", "");
      pad.insertBefore(shown, pad.querySelector(".k-keys"));
    }
    shown.textContent = message;
  }

  function setDigits(pad, digits) {
    var input = pad.querySelector("[data-keypad-input]");
    var max = Number(pad.getAttribute("data-length")) || 32;
    digits = digits.replace(/\D/g, "").slice(0, max);
    input.value = input.type === "password" ? digits : format(pad, digits);
    input.setAttribute("data-complete", digits.length === max ? "true" : "false");
    padError(pad, "");
    // A code of a fixed length: OK only once every digit is there.
    var ok = pad.querySelector(".k-key-ok");
    if (ok && pad.hasAttribute("data-require-full")) ok.disabled = digits.length !== max;
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

  // Checked before anything is sent (capture: before htmx sees the submit). A wrong check digit
  // says so at once and costs no attempt against the kiosk's typed-code limit.
  document.addEventListener("submit", function (evt) {
    var pad = evt.target.querySelector && evt.target.querySelector("[data-keypad][data-require-full]");
    if (!pad) return;
    var digits = digitsOf(pad);
    var complete = digits.length === (Number(pad.getAttribute("data-length")) || 0);
    var wrong = complete && pad.getAttribute("data-check") === "verhoeff" && !verhoeffValid(digits);
    if (complete && !wrong) return;
    evt.preventDefault();
    evt.stopImmediatePropagation();
    if (wrong) {
      padError(pad, pad.getAttribute("data-check-message") || "");
      play("refusal");
    }
  }, true);

  // ---- dialogs ------------------------------------------------------------------------------

  var dialogTimer = 0;

  function forget(dialog) {
    dialog.querySelectorAll("[data-keypad]").forEach(function (pad) { setDigits(pad, ""); });
    dialog.querySelectorAll(".k-form-error").forEach(function (el) { el.remove(); });
  }

  function openDialog(dialog) {
    if (!dialog || dialog.open) return;
    forget(dialog);
    dialog.showModal();
    var first = dialog.querySelector("[data-keypad-input]");
    if (first) first.focus({ preventScroll: true });
    idleDialog();
  }

  function openDialogs() {
    return Array.prototype.slice.call(document.querySelectorAll("dialog[open]"));
  }

  function closeDialogs() {
    openDialogs().forEach(function (dialog) { dialog.close(); });
  }

  // The idle clock of an open dialog: every touch or key inside it starts it again.
  function idleDialog() {
    window.clearTimeout(dialogTimer);
    if (openDialogs().length) dialogTimer = window.setTimeout(closeDialogs, IDLE_MS);
  }
  ["pointerdown", "keydown", "input"].forEach(function (name) {
    document.addEventListener(name, function () { if (dialogTimer) idleDialog(); }, true);
  });

  document.addEventListener("click", function (evt) {
    var opener = evt.target.closest && evt.target.closest("[data-open-dialog]");
    if (opener) openDialog(document.getElementById(opener.getAttribute("data-open-dialog")));
    var closer = evt.target.closest && evt.target.closest("[data-close-dialog]");
    if (closer) {
      var dialog = closer.closest("dialog");
      if (dialog) dialog.close();
    }
  });

  // However it closes (Batal, OK, time-out, a card), a dialog forgets what was typed and hands
  // the focus back to the scanner input, for the next USB scan.
  document.addEventListener("close", function (evt) {
    if (!evt.target || evt.target.tagName !== "DIALOG") return;
    window.clearTimeout(dialogTimer);
    dialogTimer = 0;
    var dialog = evt.target;
    // After htmx has read the form's values (OK closes the dialog in the same turn).
    window.setTimeout(function () { if (!dialog.open) forget(dialog); }, 0);
    var input = document.querySelector("[data-scan-input]");
    if (input) window.setTimeout(function () { input.focus({ preventScroll: true }); }, 0);
  }, true);

  // A card seen while a dialog is open: the dialog closes and the answer comes in front.
  // The camera announces it; a keyboard-wedge scanner types letters (a token starts with one,
  // or with "]" of its AIM prefix) where the pads take digits only: that first key goes to the
  // scanner input, and the rest follows it there.
  document.addEventListener("scanner:decoded", closeDialogs);
  document.addEventListener("keydown", function (evt) {
    if (!openDialogs().length || evt.ctrlKey || evt.metaKey || evt.altKey) return;
    if (!evt.key || evt.key.length !== 1 || /[\d\s]/.test(evt.key)) return;
    var input = document.querySelector("[data-scan-input]");
    if (!input) return;
    evt.preventDefault();
    closeDialogs();
    input.value = evt.key;
    input.focus({ preventScroll: true });
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
  var left = 0;
  var welcomeTimer = 0;
  var heldScan = false;
  var heldCode = null; // a code typed on the keypad while another person's AMBIL offer was open
  var leaving = false; // the answer's time is up: on its way back to welcome, AMBIL no longer taken
  var homeWhenOnline = false;

  // Back to welcome. HOME asks for it with awal=1: a screen left in English reloads whole, in
  // Bahasa Indonesia (header and html lang too), for the next person.
  function goHome() {
    stopClock();
    leaving = true;
    var panel = panelNow();
    if (panel) panel.setAttribute("data-leaving", "");
    if (window.htmx && panel) {
      window.htmx.ajax("GET", HOME, { target: "#scan-result", swap: "outerHTML" });
    } else {
      window.location.assign(HOME);
    }
  }

  function stopClock() {
    window.clearInterval(countdown);
    countdown = 0;
    var panel = panelNow();
    if (panel) panel.removeAttribute("data-urgent");
  }

  function showLeft(panel) {
    var shown = panel.querySelector("[data-countdown]");
    if (shown) shown.textContent = String(Math.max(left, 0));
    // The last seconds are counted down big, so nobody is surprised by the return.
    panel.toggleAttribute("data-urgent", left <= URGENT_SECONDS);
  }

  function startClock(panel) {
    stopClock();
    var seconds = Number(panel.getAttribute("data-return-after"));
    if (!seconds) return;
    left = seconds;
    showLeft(panel);
    countdown = window.setInterval(function () {
      left -= 1;
      showLeft(panel);
      if (left <= 0) goHome();
    }, 1000);
  }

  function panelArrived() {
    var panel = panelNow();
    stopClock();
    busy(false);
    leaving = false;
    homeWhenOnline = false;
    window.clearTimeout(welcomeTimer);
    if (!panel) return;
    panel.setAttribute("data-seen", "");
    var state = panel.getAttribute("data-state") || "";
    body.setAttribute("data-screen", state);
    var sound = panel.getAttribute("data-sound");
    if (sound) play(sound);
    startClock(panel);
    printSlip(panel);
    if (state !== "result" || !offerOpen()) {
      // The offer is over: a card that was held back (still before the camera) is read again,
      // and a code typed meanwhile is sent, as the notice promised ("dibaca sesudahnya").
      if (heldScan && window.KioskScanner && window.KioskScanner.forget) window.KioskScanner.forget();
      heldScan = false;
      if (heldCode) {
        pending = heldCode;
        heldCode = null;
        window.setTimeout(sendPending, 0);
      }
    }
    if (state === "welcome") {
      idleWelcome();
      reloadIfWelcome();
    }
  }

  // A kiosk set to print gives each package claimed its slip, once (a double tap answered again
  // prints nothing more): window.print() with Chromium's --kiosk-printing goes to the default
  // printer without a dialog (docs/kiosk-setup.md); the print stylesheet shows the slip alone.
  var printedSlips = {};
  function printSlip(panel) {
    var slip = panel.querySelector("[data-slip]");
    if (!slip || typeof window.print !== "function") return;
    var key = slip.getAttribute("data-slip");
    var stored = "kiosk-slip-" + key;
    try {
      if (printedSlips[key] || window.sessionStorage.getItem(stored)) return;
      window.sessionStorage.setItem(stored, "1");
    } catch (err) {
      if (printedSlips[key]) return;
    }
    printedSlips[key] = true;
    // After the answer is on the screen: printing must never hold it back.
    window.requestAnimationFrame(function () {
      window.setTimeout(function () {
        try { window.print(); } catch (err) { /* no slip is better than a stuck screen */ }
      }, 0);
    });
  }

  // An English welcome left alone goes back to Bahasa Indonesia.
  function idleWelcome() {
    window.clearTimeout(welcomeTimer);
    var panel = panelNow();
    if (!panel || panel.getAttribute("data-state") !== "welcome") return;
    if ((document.documentElement.lang || DEFAULT_LANG) === DEFAULT_LANG) return;
    welcomeTimer = window.setTimeout(goHome, IDLE_MS);
  }

  // Someone is still reading: a touch anywhere gives the answer its full time again.
  document.addEventListener("pointerdown", function (evt) {
    var panel = panelNow();
    if (countdown && panel && !(evt.target.closest && evt.target.closest(".k-done"))) {
      left = Number(panel.getAttribute("data-return-after")) || left;
      showLeft(panel);
    }
    if (welcomeTimer) idleWelcome();
  }, true);

  // A new panel (answer or welcome) has no data-seen yet.
  document.addEventListener("htmx:afterSettle", function () {
    var panel = panelNow();
    if (panel && !panel.hasAttribute("data-seen")) panelArrived();
  });

  // ---- checking a card: "Memeriksa…", the AMBIL offer held, nothing typed lost ----------------

  var checking = document.getElementById("checking");
  var lastScan = null;
  var pending = null;

  function busy(on) {
    if (checking) checking.hidden = !on;
    body.toggleAttribute("data-busy", on);
  }

  function offerOpen() {
    var panel = panelNow();
    return Boolean(panel && !panel.hasAttribute("data-leaving") &&
                   panel.querySelector('[data-sembako="available"] .k-button-take'));
  }

  function isScan(elt) {
    return Boolean(elt && elt.closest && elt.closest("[data-scan-form], #keypad-dialog form"));
  }

  function holdNotice() {
    var notice = document.querySelector("#scan-result [data-hold-notice]");
    if (!notice) return;
    notice.hidden = false;
    window.clearTimeout(notice.kioskTimer);
    notice.kioskTimer = window.setTimeout(function () { notice.hidden = true; }, HOLD_NOTICE_MS);
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (isScan(elt)) {
      closeDialogs();
      // Another card while this person's package waits for AMBIL: this answer stays (until AMBIL,
      // Selesai or its time-out); the other card is told to wait and is read again afterwards.
      if (offerOpen()) {
        evt.preventDefault();
        heldScan = true;
        if (lastScan && elt.closest("#keypad-dialog form")) heldCode = lastScan; // kept, not lost
        lastScan = null;
        holdNotice();
        return;
      }
      busy(true);
    } else if (elt && elt.closest && elt.closest("#scan-result") && leaving) {
      // The answer's time ran out and welcome is on its way: a late AMBIL would claim a package
      // whose number nobody sees (its answer lands in a panel already gone). Scan again.
      evt.preventDefault();
      return;
    } else if (elt && elt.closest && elt.closest(".k-take")) {
      busy(true);
    }
    // A tap on AMBIL or Selesai stops the clock while the answer is on its way.
    if (elt && elt.closest && elt.closest("#scan-result")) stopClock();
  });

  // What a scan sends, kept until it is answered (see sendError).
  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail && evt.detail.elt;
    if (!isScan(elt) || !evt.detail.parameters) return;
    var code = evt.detail.parameters.code;
    if (code instanceof Array) code = code[0];
    lastScan = { path: evt.detail.path, code: String(code || ""), at: Date.now() };
  });

  // A request of the answer screen (AMBIL, Selesai, the way home) that got no answer (sendError;
  // the kiosk's htmx settings swap every answer in, error screens included): the answer must not
  // stay up for good. Its clock runs again (AMBIL can be tapped again: the same claim); if it was
  // going home, its words are hidden now and it goes home once the ping finds the server (online).
  function answerRequestFailed(elt) {
    var panel = panelNow();
    if (!panel || panel.getAttribute("data-state") === "welcome") return;
    if (leaving) { // the way home (htmx.ajax: its element is the body) or anything while it is on its way
      panel.setAttribute("data-cleared", "");
      homeWhenOnline = true;
      return;
    }
    if (elt && elt.closest && elt.closest("#scan-result")) startClock(panel); // AMBIL or Selesai
  }

  document.addEventListener("htmx:afterRequest", function (evt) {
    var xhr = evt.detail && evt.detail.xhr;
    busy(false);
    if (xhr && xhr.status && isScan(evt.detail.elt)) lastScan = null;
    // An expired form token (the server lost the session): reload for a fresh one.
    if (xhr && xhr.status === 400) window.setTimeout(function () { window.location.assign(HOME); }, 2500);
  });

  function sendPending() {
    var scan = pending;
    pending = null;
    body.removeAttribute("data-pending");
    if (!scan || Date.now() - scan.at > PENDING_MAX_MS || !window.htmx || !panelNow()) return;
    busy(true);
    window.htmx.ajax("POST", scan.path, {
      source: document.querySelector("[data-scan-form]"), target: "#scan-result", swap: "outerHTML",
      values: { code: scan.code },
    });
  }

  // ---- reconnecting -------------------------------------------------------------------------

  var reloadAtWelcome = false;

  function reloadIfWelcome() {
    var panel = panelNow();
    if (reloadAtWelcome && panel && panel.getAttribute("data-state") === "welcome" && !openDialogs().length) {
      window.location.replace(HOME);
    }
  }

  var banner = document.getElementById("offline");
  var clockBanner = document.getElementById("clock-warning");
  var failures = 0;
  var pingTimer = 0;

  // Offline, the welcome screen itself says so ("Kios belum tersambung"); a code sent meanwhile
  // is kept and sent again as soon as the server answers (for a minute).
  function online(isOnline) {
    var was = !body.hasAttribute("data-offline");
    if (banner) banner.hidden = isOnline;
    body.toggleAttribute("data-offline", !isOnline);
    if (isOnline && !was) {
      if (homeWhenOnline) {
        homeWhenOnline = false;
        if (!pending) goHome(); // else the card sent meanwhile is answered: its answer replaces this
      }
      sendPending();
    }
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
        // An admin renamed the device or changed its task: the screen is built again, at once
        // on the welcome screen, else when it is back there.
        var version = response.headers.get("X-Kiosk-Device");
        var shown = body.getAttribute("data-device-version");
        if (version && shown && version !== shown) {
          reloadAtWelcome = true;
          reloadIfWelcome();
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

  document.addEventListener("htmx:sendError", function (evt) {
    busy(false);
    answerRequestFailed(evt.detail && evt.detail.elt);
    if (lastScan && isScan(evt.detail && evt.detail.elt)) {
      pending = lastScan;
      body.setAttribute("data-pending", "");
    }
    lastScan = null;
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
