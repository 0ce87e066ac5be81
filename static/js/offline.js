/* ZEUES: a confirmation is never lost to the Wi-Fi.

   - A confirmation form (`form[data-envio]`: step_confirmar.html, step_uniones.html) whose
     POST cannot get through (no network, htmx:sendError, htmx:timeout, a proxy's 502/504)
     is kept in localStorage with every field as htmx built it (request_id included), a
     short summary and when it was made. The form says "Sin conexión: quedó pendiente de
     envío" and the next worker may use the tablet.
   - The topbar of every page (templates/base.html) shows "N pendientes de envío" and opens
     a panel with them and the last results ("envíos recientes").
   - One sender per browser (Web Locks, or a localStorage lease where the page is not a
     secure context) sends them in order with exponential backoff (cap 30 s, jitter), after
     reloads, navigations and browser restarts too. Any answer of /acciones/ is a result,
     refusals included; network errors, 502/503/504 and an expired session keep it pending.
     The server applies a request_id once, so a send that crosses a lost answer is safe.
   - It registers the service worker (/sw.js) that lets the start screen load offline.

   This is the one retry path: the "Reintentar" of a confirmation sends the queue now. */
(function () {
  "use strict";

  var QUEUE_KEY = "zeues.envios.pendientes";
  var RECENT_KEY = "zeues.envios.recientes";
  var LEASE_KEY = "zeues.envios.turno";
  var RECENT_MAX = 10;
  var BACKOFF_BASE_MS = 1000;
  var BACKOFF_CAP_MS = 30000;
  var SEND_TIMEOUT_MS = 20000;
  var LEASE_MS = 30000;
  var AVISO_MS = 12000;
  var ONLINE_MIN_MS = 1000;
  var RETRY_STATUS = [502, 503, 504];
  var TAB = Math.random().toString(36).slice(2);

  var WAIT = {
    offline: "Sin conexión: se enviará cuando vuelva la red.",
    server: "El servidor no responde: se reintentará.",
    login: "La sesión de esta tableta venció: inicie sesión y se enviará.",
    refused: "El servidor no aceptó el envío (página caducada o sesión cambiada): se reintentará; si sigue, inicie sesión de nuevo."
  };

  function $(sel, root) { return (root || document).querySelector(sel); }

  // --- storage: the queue and the recent results, shared by every tab of the browser ----
  function load(key) {
    try { return JSON.parse(localStorage.getItem(key)) || []; } catch (e) { return []; }
  }
  function store(key, list) {
    try { localStorage.setItem(key, JSON.stringify(list)); } catch (e) { /* full: keep going */ }
    refresh();
  }
  function pending() { return load(QUEUE_KEY); }

  function fieldsOf(formData) {
    var fields = [];
    formData.forEach(function (value, name) {
      // The CSRF token goes as a header read at send time: a stored one may be stale.
      if (typeof value === "string" && name !== "csrfmiddlewaretoken") fields.push([name, value]);
    });
    return fields;
  }
  function field(fields, name) {
    return fields.filter(function (f) { return f[0] === name; }).map(function (f) { return f[1]; });
  }

  function summary(form, fields) {
    var tags = field(fields, "tags");
    var shown = tags.slice(0, 3).join(", ") + (tags.length > 3 ? " y " + (tags.length - 3) + " más" : "");
    var parts = [form.dataset.envio, shown];
    var verdict = field(fields, "resultado").filter(Boolean).pop();
    if (verdict) parts.push(verdict);
    var unions = field(fields, "uniones").length;
    if (unions) parts.push(unions === 1 ? "1 unión" : unions + " uniones");
    return parts.filter(Boolean).join(" · ");
  }

  function enqueue(form, formData) {
    var fields = fieldsOf(formData);
    var id = field(fields, "request_id")[0];
    if (!id) return false; // without its request_id a resend could apply twice
    var queue = pending();
    if (!queue.some(function (e) { return e.id === id; })) {
      queue.push({
        id: id,
        url: form.getAttribute("hx-post") || form.action,
        fields: fields,
        summary: summary(form, fields),
        created: new Date().toISOString(),
        note: WAIT.offline
      });
      store(QUEUE_KEY, queue);
    }
    showQueued(form);
    wake(BACKOFF_BASE_MS);
    return true;
  }

  // The confirmation of that request, if it is on screen.
  function formOf(id) {
    var input = document.querySelector('form[data-envio] input[name="request_id"][value="' + CSS.escape(id) + '"]');
    return input ? input.form : null;
  }

  function showQueued(form) {
    form.classList.add("queued");
    var box = $("#send-error", form);
    if (box) box.hidden = false;
  }

  // --- the confirmation forms: every send goes through here ------------------------------
  var outgoing = new WeakMap(); // form → the fields of its request in flight

  function envioForm(elt) { return elt && elt.matches && elt.matches("form[data-envio]") ? elt : null; }

  document.addEventListener("htmx:configRequest", function (e) {
    var form = envioForm(e.detail.elt);
    if (!form) return;
    if (form.classList.contains("queued")) { // already kept: a second tap sends the queue
      e.preventDefault();
      sendNow();
      return;
    }
    if (navigator.onLine === false) {
      if (enqueue(form, e.detail.formData)) e.preventDefault();
      return;
    }
    outgoing.set(form, e.detail.formData);
  });

  function lost(e) {
    var form = envioForm(e.detail.elt);
    if (form && outgoing.has(form)) enqueue(form, outgoing.get(form));
  }
  document.addEventListener("htmx:sendError", lost);
  document.addEventListener("htmx:timeout", lost);

  // A proxy's 502/504 (no answer of ours in it): the action may not have reached ZEUES.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var form = envioForm(e.detail.elt);
    var xhr = e.detail.xhr;
    if (!form || RETRY_STATUS.indexOf(xhr.status) < 0) return;
    if ((xhr.responseText || "").indexOf('id="resultado"') >= 0) return;
    e.detail.shouldSwap = false;
    lost(e);
  });

  // --- sending -------------------------------------------------------------------------
  function cookie(name) {
    var hit = document.cookie.split("; ").filter(function (c) { return c.indexOf(name + "=") === 0; })[0];
    return hit ? decodeURIComponent(hit.slice(name.length + 1)) : "";
  }
  function csrfToken() {
    var token = cookie("csrftoken");
    if (token) return token;
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  function post(entry) {
    var body = new URLSearchParams();
    entry.fields.forEach(function (f) { body.append(f[0], f[1]); });
    var abort = new AbortController();
    var timer = setTimeout(function () { abort.abort(); }, SEND_TIMEOUT_MS);
    return fetch(entry.url, {
      method: "POST",
      body: body.toString(),
      credentials: "same-origin",
      redirect: "manual",
      cache: "no-store",
      signal: abort.signal,
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-CSRFToken": csrfToken(),
        "HX-Request": "true",
        "HX-Current-URL": location.href
      }
    }).then(function (res) {
      return res.text().then(function (text) { return judge(res, text); });
    }).catch(function () {
      return { wait: WAIT.offline };
    }).finally(function () { clearTimeout(timer); });
  }

  // What an answer means: a result to show, or a reason to keep it pending.
  function judge(res, text) {
    if (res.type === "opaqueredirect" || res.headers.get("HX-Redirect")) return { wait: WAIT.login };
    var doc = new DOMParser().parseFromString(text, "text/html");
    var fragment = doc.getElementById("resultado");
    var retry = RETRY_STATUS.indexOf(res.status) >= 0;
    if (retry || (res.status === 403 && !fragment)) {
      var said = fragment ? textOf(fragment) : "";
      return { wait: said || (retry ? WAIT.server : WAIT.refused) };
    }
    return {
      done: {
        status: res.status,
        html: fragment ? fragment.outerHTML : "",
        text: textOf(fragment || doc.body) || "Respuesta " + res.status,
        push: res.headers.get("HX-Push-Url") || ""
      }
    };
  }

  function textOf(root) {
    var items = Array.prototype.map.call(root.querySelectorAll(".spool-results li, .error"), function (li) {
      return li.textContent.trim();
    }).filter(Boolean);
    if (!items.length) {
      var head = root.querySelector("h1, h2, p");
      items = head ? [head.textContent.trim()] : [];
    }
    var text = items.join(" · ");
    return text.length > 300 ? text.slice(0, 297) + "…" : text;
  }

  // Sends the queue in order; stops at the first entry that has to wait (order matters:
  // a PAUSAR queued after a TOMAR of the same spool must land after it).
  function drain() {
    var entry = pending()[0];
    if (!entry) return Promise.resolve("done");
    return post(entry).then(function (answer) {
      if (answer.wait) {
        note(entry.id, answer.wait);
        return "wait";
      }
      remove(entry.id);
      landed(remember(entry, answer.done), true);
      return drain();
    });
  }

  function note(id, text) {
    var queue = pending();
    queue.forEach(function (e) { if (e.id === id) e.note = text; });
    store(QUEUE_KEY, queue);
  }
  function remove(id) {
    store(QUEUE_KEY, pending().filter(function (e) { return e.id !== id; }));
  }
  function remember(entry, done) {
    var item = {
      id: entry.id,
      summary: entry.summary,
      status: done.status,
      text: done.text,
      html: done.html,
      push: done.push,
      at: new Date().toISOString()
    };
    var recent = load(RECENT_KEY).filter(function (r) { return r.id !== entry.id; });
    recent.unshift(item);
    store(RECENT_KEY, recent.slice(0, RECENT_MAX));
    return item;
  }

  // One sender per browser: the Web Locks API, or a lease in localStorage where the page
  // is not a secure context (plain http on the plant LAN). The server is idempotent anyway.
  function withTurn(work) {
    if (navigator.locks && navigator.locks.request) {
      return navigator.locks.request("zeues-envios", { ifAvailable: true }, function (lock) {
        return lock ? work() : "busy";
      });
    }
    var lease = load(LEASE_KEY);
    if (lease.owner && lease.owner !== TAB && lease.until > Date.now()) return Promise.resolve("busy");
    function take() {
      localStorage.setItem(LEASE_KEY, JSON.stringify({ owner: TAB, until: Date.now() + LEASE_MS }));
    }
    take();
    var renew = setInterval(take, LEASE_MS / 3);
    return work().finally(function () {
      clearInterval(renew);
      localStorage.removeItem(LEASE_KEY);
    });
  }

  var timer = null;
  var attempt = 0;
  var running = false;
  var again = false;

  function wake(ms) {
    clearTimeout(timer);
    timer = setTimeout(pump, ms || 0);
  }
  function backoff() {
    var cap = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * Math.pow(2, attempt));
    attempt += 1;
    return cap / 2 + Math.random() * cap / 2;
  }
  function pump() {
    if (running) { again = true; return; }
    if (!pending().length) { attempt = 0; return; }
    if (navigator.onLine === false) { wake(BACKOFF_CAP_MS); return; } // "online" wakes it sooner
    running = true;
    Promise.resolve(withTurn(drain)).catch(function () { return "wait"; }).then(function (how) {
      running = false;
      if (how === "done") attempt = 0;
      if (again) { again = false; wake(0); return; }
      if (how === "busy") wake(LEASE_MS / 6); // another tab sends: look again later
      else if (how === "wait") wake(backoff());
    });
  }
  function sendNow() {
    attempt = 0;
    wake(0);
  }

  // --- what the worker sees ------------------------------------------------------------
  var seen = {}; // recent results already announced in this tab
  load(RECENT_KEY).forEach(function (r) { seen[r.id] = true; });

  function verdict(status) {
    if (status === 200) return { label: "Enviado", kind: "ok" };
    if (status === 207) return { label: "En parte", kind: "parcial" };
    return { label: "Rechazado", kind: "error" };
  }

  // A result arrived: on the confirmation it answers (still on screen), it takes the form's
  // place as htmx would have put it; on any screen, a notice says it.
  function landed(item, here) {
    seen[item.id] = true;
    var form = formOf(item.id);
    var area = form && form.closest("#resultado-area");
    if (area && item.html) {
      area.innerHTML = item.html;
      if (window.htmx) htmx.process(area);
      if (here && item.push) history.pushState({}, "", item.push);
    } else {
      aviso(item);
    }
  }

  var avisoTimer = null;
  function aviso(item) {
    var box = $("#envios-aviso");
    if (!box) return;
    var v = verdict(item.status);
    box.className = "envios-aviso envio-" + v.kind;
    $(".aviso-label", box).textContent = v.label + ":";
    $(".aviso-text", box).textContent = item.text;
    $(".aviso-summary", box).textContent = item.summary;
    box.hidden = false;
    clearTimeout(avisoTimer);
    avisoTimer = setTimeout(function () { box.hidden = true; }, AVISO_MS);
  }

  function clock(iso) {
    var d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleTimeString("es-CL", { hour: "2-digit", minute: "2-digit", hour12: false });
  }

  function item(templateId, fill) {
    var tpl = document.getElementById(templateId);
    var li = tpl.content.firstElementChild.cloneNode(true);
    Object.keys(fill).forEach(function (slot) {
      var el = li.querySelector("[data-slot=" + slot + "]");
      if (el) el.textContent = fill[slot];
    });
    return li;
  }

  function renderLists(queue, recent) {
    var pend = $("#envios-pendientes");
    var rec = $("#envios-recientes");
    if (!pend || !rec) return;
    pend.replaceChildren.apply(pend, queue.map(function (e) {
      var li = item("envio-pendiente", { summary: e.summary, time: clock(e.created), note: e.note || "" });
      li.dataset.id = e.id;
      return li;
    }));
    rec.replaceChildren.apply(rec, recent.map(function (r) {
      var v = verdict(r.status);
      var li = item("envio-reciente", { label: v.label + ":", text: r.text, summary: r.summary, time: clock(r.at) });
      li.classList.add("envio-" + v.kind);
      return li;
    }));
    $("#envios-sin-pendientes").hidden = queue.length > 0;
    $("#envios-sin-recientes").hidden = recent.length > 0;
    $("#envios-enviar").hidden = queue.length === 0;
  }

  function refresh() {
    var toggle = $("#envios-toggle");
    if (!toggle) return;
    var queue = pending();
    var recent = load(RECENT_KEY);
    var n = queue.length;
    toggle.hidden = n === 0 && recent.length === 0;
    toggle.classList.toggle("has-pending", n > 0);
    toggle.textContent = n === 0 ? "Envíos recientes" : n + (n === 1 ? " pendiente de envío" : " pendientes de envío");
    var offline = $("#sin-red");
    if (offline) offline.hidden = navigator.onLine !== false;
    renderLists(queue, recent);
  }

  function panel(open) {
    var box = $("#envios-panel");
    var toggle = $("#envios-toggle");
    if (!box || !toggle) return;
    box.hidden = !open;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }

  document.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target : null;
    if (!t) return;
    if (t.closest("#envios-toggle")) { panel($("#envios-panel").hidden); return; }
    if (t.closest("[data-envios-cerrar]")) { panel(false); return; }
    if (t.closest("#envios-aviso")) { $("#envios-aviso").hidden = true; return; }
    if (t.closest("[data-envios-enviar]")) { sendNow(); return; }
    var drop = t.closest("[data-envio-descartar]");
    if (drop && window.confirm("¿Descartar este envío? No se registrará.")) {
      remove(drop.closest("[data-id]").dataset.id);
    }
  });

  // Another tab queued, sent or announced something.
  window.addEventListener("storage", function (e) {
    if (e.key !== QUEUE_KEY && e.key !== RECENT_KEY) return;
    refresh();
    if (e.key === RECENT_KEY) {
      load(RECENT_KEY).forEach(function (r) { if (!seen[r.id]) landed(r, false); });
    }
  });
  // The Wi-Fi is back: send soon, with jitter, so a floor of tablets does not send at once.
  window.addEventListener("online", function () {
    refresh();
    attempt = 0;
    wake(ONLINE_MIN_MS + Math.random() * ONLINE_MIN_MS * 1.5);
  });
  window.addEventListener("offline", refresh);

  function start() {
    refresh();
    // A confirmation whose request is already queued (a reload of it) says so.
    pending().forEach(function (e) {
      var form = formOf(e.id);
      if (form) showQueued(form);
    });
    wake(0);
    var sw = document.querySelector('meta[name="zeues-sw"]');
    if (sw && "serviceWorker" in navigator) {
      // Needs a secure context (https, or localhost): on plain http the queue still works.
      navigator.serviceWorker.register(sw.content, { scope: "/" }).catch(function () {});
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
