// Staff pages: small behaviours htmx does not do by itself. No inline script anywhere (CSP).
(function () {
  "use strict";

  // The network dropped or the server restarted: say so instead of doing nothing.
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("messages");
    if (!box) return;
    var msg = document.documentElement.lang === "en"
      ? "Cannot reach the server. Check the network and try again."
      : "Tidak bisa menghubungi server. Periksa jaringan lalu coba lagi.";
    box.innerHTML = '<p class="flash flash-error"></p>';
    box.firstChild.textContent = msg;
  });

  // Confirm dangerous actions: <form data-confirm="...">. Works with and without htmx.
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      evt.preventDefault();
      evt.stopImmediatePropagation();
    }
  }, true);

  // A form's submit buttons are off while its request runs, so a second tap sends nothing. (Not
  // hx-disabled-elt on the body: every boosted link and live check would inherit it and find no
  // button to disable.) A form with its own hx-disabled-elt ("unset" on the desk's scan form,
  // which must take the next scan at once) decides for itself.
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var form = evt.detail.elt;
    if (form.tagName !== "FORM" || form.hasAttribute("hx-disabled-elt")) return;
    var buttons = form.querySelectorAll("button:not([type=button])");
    buttons.forEach(function (button) { button.disabled = true; });
    form.addEventListener("htmx:afterRequest", function () {
      buttons.forEach(function (button) { button.disabled = false; });
    }, { once: true });
  });

  // The compact header's menu (<details>, works without this): Escape or a tap elsewhere closes it.
  function closeMenus(except) {
    document.querySelectorAll("details[data-navmenu][open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    var menu = document.querySelector("details[data-navmenu][open]");
    if (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    }
  });
  document.addEventListener("click", function (evt) {
    closeMenus(evt.target.closest && evt.target.closest("details[data-navmenu]"));
  });

  // Date fields (templates/_forms.html date_input): typed as dd/mm/yyyy whatever the browser's
  // language; the calendar button opens the browser's own date picker and writes its choice back.
  function pad(n) { return (n.length < 2 ? "0" : "") + n; }
  function tidyDay(text) {
    var t = text.trim();
    var digits = /^(\d{2})(\d{2})(\d{4})$/.exec(t);
    if (digits) return digits[1] + "/" + digits[2] + "/" + digits[3];
    var dmy = /^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$/.exec(t);
    if (dmy) return pad(dmy[1]) + "/" + pad(dmy[2]) + "/" + dmy[3];
    return text;
  }
  function isoOf(text) {
    var dmy = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(tidyDay(text));
    return dmy ? dmy[3] + "-" + pad(dmy[2]) + "-" + pad(dmy[1]) : "";
  }
  function showPickers(root) {
    (root.querySelectorAll ? root : document).querySelectorAll(".date-input").forEach(function (box) {
      var native = box.querySelector("[data-date-native]");
      var button = box.querySelector("[data-date-pick]");
      if (native && button && native.type === "date") button.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { showPickers(document); });
  document.addEventListener("htmx:load", function (evt) { showPickers(evt.target); });
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-date-pick]");
    if (!button) return;
    var box = button.closest(".date-input");
    var text = box.querySelector("[data-date-text]");
    var native = box.querySelector("[data-date-native]");
    native.value = isoOf(text.value);
    try {
      native.showPicker();
    } catch (e) {
      native.focus();
      native.click();
    }
  });
  document.addEventListener("change", function (evt) {
    var el = evt.target;
    if (el.matches && el.matches("[data-date-text]")) {
      el.value = tidyDay(el.value);  // before htmx or the form reads it (capture phase)
    } else if (el.matches && el.matches("[data-date-native]")) {
      var iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(el.value);
      if (!iso) return;
      var text = el.closest(".date-input").querySelector("[data-date-text]");
      text.value = iso[3] + "/" + iso[2] + "/" + iso[1];
      text.dispatchEvent(new Event("input", {bubbles: true}));
      text.dispatchEvent(new Event("change", {bubbles: true}));
      text.focus();
    }
  }, true);

  // File fields (templates/_forms.html file_input): say which file was chosen, in the page's words.
  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (!input.matches || !input.matches(".file-native")) return;
    var said = input.parentNode.querySelector("[data-file-chosen]");
    if (!said) return;
    var names = Array.prototype.map.call(input.files || [], function (f) { return f.name; });
    said.textContent = names.length ? names.join(", ") : said.getAttribute("data-none");
  });

  // In-page confirmation panels (<details data-confirm-panel>): Batal closes the panel; opening
  // one puts the finger's next target, the confirming button, in focus.
  document.addEventListener("click", function (evt) {
    var cancel = evt.target.closest && evt.target.closest("[data-confirm-cancel]");
    if (!cancel) return;
    var panel = cancel.closest("details[data-confirm-panel]");
    if (panel) {
      panel.removeAttribute("open");
      panel.querySelector("summary").focus();
    }
  });
  document.addEventListener("toggle", function (evt) {
    var panel = evt.target;
    if (panel.matches && panel.matches("details[data-confirm-panel]") && panel.open) {
      var yes = panel.querySelector("button[type=submit]");
      if (yes) yes.focus();
    }
  }, true);
})();
