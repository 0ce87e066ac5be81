/* Notes on a spool: the counter under the note's text, and keystrokes in a note kept away
   from the tablet's scanner (zeues.js reads fast keys and Enter as a scan).
   Loaded by the notes fragment (spools/_notas.html), which may be swapped in many times:
   it installs its listeners once. */
(function () {
  "use strict";
  if (window.zeuesNotes) return;
  window.zeuesNotes = true;

  function update(field) {
    var form = field.closest("form");
    var counter = form && form.querySelector("[data-nota-counter]");
    if (!counter) return;
    var max = parseInt(field.getAttribute("maxlength"), 10) || 500;
    var left = max - field.value.length;
    counter.textContent = field.value.length + " de " + max + " caracteres";
    counter.classList.toggle("near", left <= 50);
  }

  function updateAll(root) {
    Array.prototype.forEach.call(
      (root || document).querySelectorAll("[data-nota-texto]"), update
    );
  }

  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("[data-nota-texto]")) update(e.target);
  });
  document.addEventListener("keydown", function (e) {
    if (e.target.closest && e.target.closest(".nota-form")) e.stopPropagation();
  }, true);
  document.addEventListener("htmx:afterSwap", function () { updateAll(); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { updateAll(); });
  } else {
    updateAll();
  }
})();
