/* ZEUES: the little JavaScript htmx attributes do not cover.
   - spool selection (a set kept outside the list, so search and live updates keep it)
   - barcode/QR scanners (they type fast and press Enter), and any other reader (the
     camera) that announces a code with the DOM event "zeues:scanned" {detail: {code}}
   - reason chips (why a spool is rejected / paused) and METROLOGÍA's RECHAZADO step
   - client-side filters, the connection indicator, the result countdown
     (a confirmation the Wi-Fi lost is static/js/offline.js's: kept, then sent)
   - the print button of printable pages
   - the union step: its live counter, "Todas", and "¿Liberar sin registrar?" */
(function () {
  "use strict";

  var selected = new Set();
  var scanBuffer = "";
  var lastKey = 0;
  var SCAN_GAP_MS = 60; // a scanner types much faster than a person
  var SCAN_MIN_LENGTH = 3;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function step() { return $(".spools-step"); }
  function maxSpools() { var s = step(); return s ? parseInt(s.dataset.max, 10) || 50 : 50; }
  function single() { var s = step(); return s && s.dataset.single === "1"; }

  function render() {
    var holder = $("#selected-tags");
    if (!holder) return;
    holder.innerHTML = "";
    selected.forEach(function (tag) {
      var input = document.createElement("input");
      input.type = "hidden"; input.name = "tags"; input.value = tag;
      holder.appendChild(input);
    });
    var full = selected.size >= maxSpools();
    $all(".spool-row input.pick").forEach(function (box) {
      box.checked = selected.has(box.value);
      box.disabled = full && !box.checked;
      box.closest(".spool-row").classList.toggle("selected", box.checked);
    });
    var count = $("#selected-count"); if (count) count.textContent = String(selected.size);
    var limit = $("#limit-message"); if (limit) limit.hidden = !full || single();
    var go = $("#continue");
    if (go) {
      go.disabled = selected.size === 0;
      go.textContent = selected.size ? "Continuar (" + selected.size + ")" : "Continuar";
    }
    applyFilter();
  }

  function select(tag) {
    if (single()) selected.clear();
    if (selected.size >= maxSpools() && !selected.has(tag)) return false;
    selected.add(tag);
    render();
    return true;
  }

  // Rows added live that do not match the search on screen stay hidden.
  function applyFilter() {
    var input = $("#spool-search");
    var q = input ? input.value.trim().toLowerCase() : "";
    $all("#spool-list .spool-row").forEach(function (row) {
      row.hidden = q !== "" && row.dataset.tag.toLowerCase().indexOf(q) === -1;
    });
  }

  function message(text, isError) {
    var box = $("#scan-message");
    if (!box) return;
    box.textContent = text;
    box.classList.toggle("error", !!isError);
  }

  function scanned(code) {
    code = code.trim();
    if (!code || !step()) return;
    var row = $all("#spool-list .spool-row").filter(function (r) {
      return r.dataset.tag.toLowerCase() === code.toLowerCase();
    })[0];
    if (row) {
      if (select(row.dataset.tag)) {
        message(row.dataset.tag + " seleccionado.", false);
        row.scrollIntoView({ block: "nearest" });
        if (single()) $("#spool-form").requestSubmit();
      } else {
        message("Máximo " + maxSpools() + " spools por acción.", true);
      }
      return;
    }
    // Not on screen: the server says why (unknown, taken, wrong state) or that it is fine.
    htmx.ajax("GET", step().dataset.scanUrl + "?tag=" + encodeURIComponent(code),
              { target: "#scan-message", swap: "outerHTML" });
  }

  // Mi registro's "Imprimir" (no inline scripts).
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("[data-print]")) window.print();
  });

  // METROLOGÍA: the tapped verdict is kept in the form, so a resend carries it; so is
  // the tapped reason (a button with data-motivo="" sends none).
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button[data-resultado], button[data-motivo]");
    if (!button) return;
    var choice = $("#resultado-choice");
    if (choice && button.dataset.resultado !== undefined) choice.value = button.dataset.resultado;
    var motivo = $("#motivo-choice");
    if (motivo && button.dataset.motivo !== undefined) motivo.value = button.dataset.motivo;
  }, true);

  // RECHAZADO opens the reasons (and the unions that failed) in place of the two verdicts;
  // "Volver" closes them and forgets what was marked, so APROBADO sends none of it.
  function rejecting(open) {
    var panel = $("#rechazo"), verdict = $("#verdict");
    if (!panel || !verdict) return;
    panel.hidden = !open;
    verdict.hidden = open;
    var opener = $("[data-rechazo=open]");
    if (opener) opener.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      panel.scrollIntoView({ block: "start" });
      return;
    }
    $all(".falla-box", panel).forEach(function (box) { box.checked = false; });
    var choice = $("#resultado-choice"); if (choice) choice.value = "";
    var motivo = $("#motivo-choice"); if (motivo) motivo.value = "";
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-rechazo]");
    if (button) rejecting(button.dataset.rechazo === "open");
  });

  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches(".spool-row input.pick")) {
      if (e.target.checked) {
        if (!select(e.target.value)) e.target.checked = false;
        if (single() && e.target.checked) $("#spool-form").requestSubmit();
      } else {
        selected.delete(e.target.value);
        render();
      }
    }
  });

  // A read (a scanner's fast keystrokes and Enter, or the camera) on the spools step.
  document.addEventListener("zeues:scanned", function (e) {
    var code = e.detail && e.detail.code;
    if (typeof code === "string") scanned(code);
  });

  // A keyboard-wedge scanner types the code fast, then Enter. The one detector for every
  // page that takes scans — the spools step, the worker step's badge (identify.js), the
  // start screen (scan.js) — announces a read as the camera reader does: "zeues:scanned"
  // ({code, typedInto}: the field that had the focus). Elsewhere (the login form, a
  // password manager typing fast) Enter is left alone.
  function takesScans() {
    return !!$(".spools-step, [data-badge-url], [data-scan-open-url]");
  }
  document.addEventListener("keydown", function (e) {
    // When the key was pressed, not when this handler got to run: a busy page delays the
    // handlers, and a scanner's burst must not look like slow typing because of it.
    var now = e.timeStamp || Date.now();
    var inSearch = e.target && e.target.id === "spool-search";
    if (e.key === "Enter") {
      var code = scanBuffer;
      scanBuffer = "";
      var cameraOpen = document.documentElement.classList.contains("scan-open");
      if (inSearch) { // a TAG typed or scanned into the spools step's search
        e.preventDefault();
        scanned(e.target.value);
        e.target.value = "";
        htmx.trigger(e.target, "search");
      } else if (code.length >= SCAN_MIN_LENGTH && takesScans() && !cameraOpen) {
        e.preventDefault();
        document.dispatchEvent(new CustomEvent("zeues:scanned", {
          detail: { code: code, typedInto: e.target }
        }));
      }
      return;
    }
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    if (e.key && e.key.length === 1) {
      scanBuffer = now - lastKey <= SCAN_GAP_MS ? scanBuffer + e.key : e.key;
      lastKey = now;
    }
  });

  // Client-side filter of short lists (workers).
  document.addEventListener("input", function (e) {
    var target = e.target;
    if (target.matches && target.matches("[data-filter]")) {
      var q = target.value.trim().toLowerCase();
      $all(target.dataset.filter + " [data-filter-text]").forEach(function (el) {
        el.hidden = q !== "" && el.dataset.filterText.toLowerCase().indexOf(q) === -1;
      });
    }
  });

  document.addEventListener("htmx:afterSwap", function (e) {
    render();
    var scan = $("#scan-message[data-select]");
    if (scan) {
      var tag = scan.dataset.select;
      scan.removeAttribute("data-select");
      if (select(tag) && single()) $("#spool-form").requestSubmit();
    }
  });
  document.addEventListener("htmx:oobAfterSwap", function (e) {
    // Many spools changed at once: the server asks for one fresh list instead of rows.
    if (e.detail && e.detail.target && e.detail.target.id === "list-resync") {
      htmx.trigger("#spool-list-area", "resync");
    }
    render();
  });
  document.addEventListener("htmx:wsAfterMessage", render);

  // The live link: an indicator, reconnection with backoff whatever closed it, and a full
  // re-sync after a reconnect (the dashboard's server sends everything on connect).
  htmx.config.wsReconnectDelay = function (retryCount) {
    var cap = Math.min(15000, 500 * Math.pow(2, retryCount));
    return cap / 2 + Math.random() * cap / 2;
  };
  var wasConnected = false;
  var retries = 0;
  function connection(ok) {
    var el = $("#conn");
    if (!el) return;
    el.hidden = false;
    el.className = "conn " + (ok ? "conn-ok" : "conn-down");
    el.textContent = ok ? "En línea" : "Sin conexión: reconectando…";
  }
  document.addEventListener("htmx:wsOpen", function () {
    if (wasConnected && $("#spool-list-area")) htmx.trigger("#spool-list-area", "resync");
    wasConnected = true;
    retries = 0;
    connection(true);
  });
  document.addEventListener("htmx:wsClose", function (e) {
    connection(false);
    var code = e.detail && e.detail.event ? e.detail.event.code : 0;
    if (code === 4401 || code === 4403) {
      // Logged out (or the account lost the permission): retrying cannot help.
      window.location.assign("/accounts/login/?next=" + encodeURIComponent(window.location.pathname));
      return;
    }
    // The extension itself retries only 1006/1012/1013; a server that shut down cleanly
    // (1000/1001) or a consumer that failed (1011) must be retried too.
    if ([1006, 1012, 1013].indexOf(code) >= 0) return;
    var elt = e.detail && e.detail.elt;
    if (!elt) return;
    retries += 1;
    setTimeout(function () {
      if (!document.body.contains(elt)) return;
      var fresh = elt.cloneNode(false);
      elt.replaceWith(fresh);
      htmx.process(fresh);
    }, htmx.config.wsReconnectDelay(retries));
  });
  document.addEventListener("htmx:wsError", function () { connection(false); });

  // A confirmation that got no answer is kept and sent later: static/js/offline.js.

  // Back to the start after a result.
  setInterval(function () {
    $all("[data-countdown]").forEach(function (el) {
      var left = parseInt(el.dataset.countdown, 10) - 1;
      el.dataset.countdown = String(left);
      var secs = $(".secs", el); if (secs) secs.textContent = String(Math.max(left, 0));
      if (left <= 0) { el.removeAttribute("data-countdown"); window.location.assign(el.href); }
    });
  }, 1000);

  document.addEventListener("DOMContentLoaded", render);
})();

/* The union step (#union-form): ticking unions updates `3 de 7 · 12,5 PD`, "Todas", what
   TERMINAR will do and whether the button may be sent; a PAUSAR with nothing ticked asks
   "¿Liberar sin registrar?" before htmx sends it. The sentences live in the template. */
(function () {
  "use strict";

  function form() { return document.getElementById("union-form"); }
  function boxes(f) { return Array.prototype.slice.call(f.querySelectorAll("input.union-box")); }

  // PD as the server shows it (format_pd: Python's one-decimal rounding of the sum), from
  // hundredths of an inch: JS's toFixed rounds exact halves (x,25 / x,75) up, Python to even.
  function formatPd(cents) {
    var text;
    if (cents % 25 === 0 && cents % 10 === 5) {
      var tenths = (cents - 5) / 10;
      if (tenths % 2 === 1) tenths += 1;
      text = (tenths / 10).toFixed(1);
    } else {
      text = (cents / 100).toFixed(1);
    }
    return text.replace(".", ",") + " PD";
  }

  // What the footer says: FINALIZAR decides, COMPLETAR needs every union, PAUSAR may be empty.
  function state(accion, ticked, left) {
    if (accion === "FINALIZAR") return ticked === 0 ? "none" : (left <= 0 ? "complete" : "pause");
    if (accion === "COMPLETAR") return left > 0 ? "missing" : "ok";
    return ticked === 0 ? "none" : "some";
  }

  function update() {
    var f = form();
    if (!f) return;
    var all = boxes(f);
    var ticked = all.filter(function (b) { return b.checked; });
    var cents = ticked.reduce(function (sum, b) { return sum + (parseInt(b.dataset.cents, 10) || 0); }, 0);
    var count = document.getElementById("union-count");
    if (count) count.textContent = ticked.length + " de " + all.length + " · " + formatPd(cents);
    all.forEach(function (b) { b.closest(".union-pick").classList.toggle("selected", b.checked); });
    var toggle = document.getElementById("union-all");
    if (toggle) {
      var full = ticked.length === all.length;
      toggle.setAttribute("aria-pressed", full ? "true" : "false");
      toggle.textContent = full ? toggle.dataset.none : toggle.dataset.all;
    }
    var accion = f.dataset.accion;
    var left = (parseInt(f.dataset.remaining, 10) || 0) - ticked.length;
    var now = state(accion, ticked.length, left);
    Array.prototype.forEach.call(f.querySelectorAll("[data-when]"), function (el) {
      el.hidden = el.dataset.when !== now;
      var n = el.querySelector(".left-n");
      if (n) n.textContent = String(left);
    });
    var go = document.getElementById("union-go");
    if (go) go.disabled = (accion === "FINALIZAR" && ticked.length === 0) || (accion === "COMPLETAR" && left > 0);
    if (ticked.length) ask(f, false);
  }

  function ask(f, open) {
    var box = document.getElementById("union-ask");
    if (!box) return;
    box.hidden = !open;
    f.classList.toggle("asking", open);
  }

  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("#union-form input.union-box")) update();
  });

  document.addEventListener("click", function (e) {
    var f = form();
    if (!f || !e.target.closest) return;
    if (e.target.closest("#union-all")) {
      var all = boxes(f);
      var full = all.every(function (b) { return b.checked; });
      all.forEach(function (b) { b.checked = !full; });
      update();
    } else if (e.target.closest("#union-ask-no")) {
      ask(f, false);
    } else if (e.target.closest("[data-liberar]")) {
      f.dataset.liberar = "1"; // the worker said yes: this submit (and a retry) goes through
    }
  });

  document.addEventListener("htmx:confirm", function (e) {
    var f = form();
    if (!f || e.target !== f || f.dataset.accion !== "PAUSAR" || f.dataset.liberar) return;
    if (boxes(f).some(function (b) { return b.checked; })) return;
    e.preventDefault(); // nothing ticked: ask first
    ask(f, true);
  });

  document.addEventListener("DOMContentLoaded", update);
})();

/* Elapsed times on screens nobody touches: `data-since` (ISO) → "2h 15m", every 30 s
   (the same format as spools.history.format_duration). */
(function () {
  "use strict";
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var t = Date.parse(el.dataset.since);
      if (isNaN(t)) return;
      var minutes = Math.max(0, Math.floor((now - t) / 60000));
      var h = Math.floor(minutes / 60), m = minutes % 60;
      if (h >= 48) { el.textContent = Math.floor(h / 24) + "d " + (h % 24) + "h"; return; }
      el.textContent = h ? h + "h " + (m < 10 ? "0" : "") + m + "m" : m + "m";
    });
  }
  setInterval(tick, 30000);
  document.addEventListener("htmx:wsAfterMessage", tick);
})();

/* The wall shows everything without anyone touching it: a panel longer than the screen
   turns its page every 10 s (back to the top after the last one). */
(function () {
  "use strict";
  setInterval(function () {
    document.querySelectorAll(".wall .panel").forEach(function (panel) {
      var max = panel.scrollHeight - panel.clientHeight;
      if (max <= 4) { panel.scrollTop = 0; return; }
      var next = panel.scrollTop >= max - 4 ? 0 : Math.min(max, panel.scrollTop + panel.clientHeight - 60);
      panel.scrollTo({ top: next, behavior: "smooth" });
    });
  }, 10000);
})();
