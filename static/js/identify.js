/* ZEUES: who is at the tablet (the worker step and the PIN prompt).

   - On the worker step (an element with data-badge-url), a badge read picks the worker at
     once: a keyboard-wedge scanner (characters ≥3, each within SCAN_GAP_MS of the one
     before, then Enter — the same test as zeues.js's spools step) or the camera reader
     (static/js/scan.js announces "zeues:scanned" {detail: {code}}). The code is POSTed
     with htmx (never in a URL): the server answers with a redirect to the worker's next
     step, or a Spanish message swapped into #badge-message. A scan typed into the name
     filter is taken back out of it.
   - On the PIN prompt, the big digit pad fills the PIN field (no on-screen keyboard needed
     with gloves): [data-pin-digit] adds a digit, [data-pin-erase] takes the last one off.

   No inline script: the CSP allows 'self' only. */
(function () {
  "use strict";

  var SCAN_GAP_MS = 60; // a scanner types much faster than a person
  var MIN_SCAN_LENGTH = 3;
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

  // The camera reader's code.
  document.addEventListener("zeues:scanned", function (e) {
    sendBadge(e.detail && e.detail.code);
  });

  // A keyboard-wedge scanner.
  var buffer = "";
  var lastKey = 0;
  document.addEventListener("keydown", function (e) {
    if (!badgeHost() || e.ctrlKey || e.altKey || e.metaKey) return;
    if (document.documentElement.classList.contains("scan-open")) return; // camera open
    var now = Date.now();
    if (e.key === "Enter") {
      var code = buffer;
      buffer = "";
      if (code.length < MIN_SCAN_LENGTH) return;
      e.preventDefault();
      var target = e.target;
      if (target && target.matches && target.matches("[data-filter]")) {
        // The scanner typed into the name filter: give the whole list back.
        target.value = "";
        target.dispatchEvent(new Event("input", { bubbles: true }));
      }
      sendBadge(code);
      return;
    }
    if (e.key && e.key.length === 1) {
      buffer = now - lastKey <= SCAN_GAP_MS ? buffer + e.key : e.key;
      lastKey = now;
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
