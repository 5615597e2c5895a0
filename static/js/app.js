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
})();
