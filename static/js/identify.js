/* ZEUES: who is at the tablet (the worker step and the PIN prompt).

   - On the worker step (an element with data-badge-url), a badge read picks the worker at
     once: a keyboard-wedge scanner or the camera reader, both announced as
     "zeues:scanned" {detail: {code}} (static/js/zeues.js, static/js/scan.js). The code is POSTed
     with htmx (never in a URL): the server answers with a redirect to the worker's next
     step, or a Spanish message swapped into #badge-message. A scan typed into the name
     filter is taken back out of it.
   - On the PIN prompt, the big digit pad fills the PIN field (no on-screen keyboard needed
     with gloves): [data-pin-digit] adds a digit, [data-pin-erase] takes the last one off.

   No inline script: the CSP allows 'self' only. */
(function () {
  "use strict";

  var PIN_MAX = 6;

  function badgeHost() { return document.querySelector("[data-badge-url]"); }

  function sendBadge(code) {
    var host = badgeHost();
    code = (code || "").trim();
    if (!host || !code || !window.htmx) return false;
    var box = document.getElementById("badge-message");
    if (box) {
      box.textContent = "Leyendo credencial…";
      box.classList.remove("error");
    }
    window.htmx.ajax("POST", host.getAttribute("data-badge-url"), {
      source: box || host,
      target: "#badge-message",
      swap: "outerHTML",
      values: { codigo: code }
    });
    return true;
  }

  // A read, from a keyboard-wedge scanner (static/js/zeues.js tells it from typing) or
  // the camera (static/js/scan.js). A scan typed into the name filter is taken back out.
  document.addEventListener("zeues:scanned", function (e) {
    var detail = e.detail || {};
    if (!sendBadge(detail.code)) return;
    var field = detail.typedInto;
    if (field && field.matches && field.matches("[data-filter]")) {
      field.value = "";
      field.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });

  // The PIN pad.
  document.addEventListener("click", function (e) {
    var key = e.target.closest && e.target.closest("[data-pin-digit], [data-pin-erase]");
    var input = document.getElementById("pin-input");
    if (!key || !input) return;
    e.preventDefault();
    if (key.hasAttribute("data-pin-erase")) {
      input.value = input.value.slice(0, -1);
    } else if (input.value.length < PIN_MAX) {
      input.value += key.getAttribute("data-pin-digit");
    }
  });
})();
