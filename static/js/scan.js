/* ZEUES: the tablet's camera as a barcode/QR scanner, and scanning on the start screen.

   - Any element with `data-scan-camera="<URL of the vendored ZXing build>"` (the big
     "Escanear" button of templates/_scan_button.html) opens an overlay with the camera
     (the rear one preferred). A read closes it and becomes
       document.dispatchEvent(new CustomEvent("zeues:scanned", {detail: {code}}))
     which the spools step treats like a keyboard-wedge scanner's read (static/js/zeues.js).
     Camera problems (no permission, no camera, a page not served over HTTPS) are said in
     Spanish in the overlay, with a big "Cerrar".
   - On a page carrying `data-scan-open-url="/spools/"` (the start screen), a scanned code,
     from the camera or from a keyboard-wedge scanner (static/js/zeues.js announces both as
     "zeues:scanned"), opens that spool's page.

   The ZXing build (~440 kB) is loaded on the first tap only, from ZEUES itself: no CDN, and
   pages that never scan never pay for it. No inline script: the CSP allows 'self' only. */
(function () {
  "use strict";

  // Labels carry QR codes; badges and older tags may carry 1D codes or Data Matrix.
  var FORMATS = ["QR_CODE", "CODE_128", "CODE_39", "CODE_93", "DATA_MATRIX", "EAN_13", "ITF"];
  var POSSIBLE_FORMATS = 2; // @zxing/library's DecodeHintType.POSSIBLE_FORMATS (not exported)

  var MESSAGES = {
    insecure: "La cámara solo funciona si ZEUES se abre con una dirección segura (https://). " +
      "Pida al encargado la dirección segura de ZEUES.",
    unsupported: "Este navegador no permite usar la cámara.",
    denied: "No hay permiso para usar la cámara. Permita la cámara para este sitio en el " +
      "navegador (el ícono junto a la dirección) y vuelva a intentar.",
    missing: "No se encontró ninguna cámara en este equipo.",
    busy: "La cámara está en uso por otra aplicación. Ciérrela y vuelva a intentar.",
    library: "No se pudo cargar el lector. Revise la conexión y vuelva a intentar.",
    other: "No se pudo abrir la cámara"
  };
  var ERROR_KIND = {
    NotAllowedError: "denied", SecurityError: "denied", PermissionDeniedError: "denied",
    NotFoundError: "missing", DevicesNotFoundError: "missing", OverconstrainedError: "missing",
    NotReadableError: "busy", TrackStartError: "busy", AbortError: "busy",
    LoadError: "library"
  };

  var loading = null;   // the ZXing build's <script>, once
  var overlay = null;   // the overlay's elements, built on first use
  var session = 0;      // each opening; a late camera of a closed one is stopped at once
  var controls = null;  // the running reader (stop() releases the camera)

  // --- The ZXing build ------------------------------------------------------------------
  function loadLibrary(url) {
    if (window.ZXingBrowser) return Promise.resolve(window.ZXingBrowser);
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = url;
        script.async = true;
        script.addEventListener("load", function () {
          if (window.ZXingBrowser) resolve(window.ZXingBrowser); else fail();
        });
        script.addEventListener("error", fail);
        document.head.appendChild(script);
        function fail() {
          loading = null; // the next tap tries again
          script.remove();
          var error = new Error("ZXing no cargó");
          error.name = "LoadError";
          reject(error);
        }
      });
    }
    return loading;
  }

  function reader(ZX) {
    var formats = FORMATS.map(function (name) { return ZX.BarcodeFormat[name]; })
      .filter(function (f) { return f !== undefined; });
    var hints = new Map([[POSSIBLE_FORMATS, formats]]);
    return new ZX.BrowserMultiFormatReader(hints, { delayBetweenScanAttempts: 150 });
  }

  // --- The overlay ----------------------------------------------------------------------
  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text) el.textContent = text;
    return el;
  }

  function buildOverlay() {
    var root = element("div", "scan-overlay");
    root.hidden = true;
    root.setAttribute("role", "dialog");
    root.setAttribute("aria-modal", "true");
    root.setAttribute("aria-label", "Escanear con la cámara");
    var box = element("div", "scan-box");
    var status = element("p", "scan-status");
    status.setAttribute("aria-live", "polite");
    var view = element("div", "scan-view");
    var video = element("video", "scan-video");
    video.muted = true;
    video.setAttribute("playsinline", "");
    video.setAttribute("muted", "");
    view.appendChild(video);
    view.appendChild(element("div", "scan-frame"));
    var error = element("p", "scan-error");
    error.setAttribute("role", "alert");
    error.hidden = true;
    var close = element("button", "big scan-close", "Cerrar");
    close.type = "button";
    close.addEventListener("click", closeOverlay);
    [status, view, error, close].forEach(function (el) { box.appendChild(el); });
    root.appendChild(box);
    document.body.appendChild(root);
    return { root: root, status: status, view: view, video: video, error: error, close: close };
  }

  function isOpen() { return !!overlay && !overlay.root.hidden; }

  function openOverlay(libraryUrl) {
    if (!overlay) overlay = buildOverlay();
    session += 1;
    var mine = session;
    overlay.status.textContent = "Abriendo la cámara…";
    overlay.error.hidden = true;
    overlay.view.hidden = false;
    overlay.root.hidden = false;
    document.documentElement.classList.add("scan-open");
    overlay.close.focus();
    if (!window.isSecureContext) return showError({ name: "insecure" });
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return showError({ name: "unsupported" });
    }
    loadLibrary(libraryUrl)
      .then(function (ZX) {
        if (mine !== session) return null;
        var video = { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } };
        return reader(ZX).decodeFromConstraints({ audio: false, video: video }, overlay.video,
          function (result) { if (result && mine === session) found(result.getText()); });
      })
      .then(function (running) {
        if (!running) return;
        if (mine !== session) { running.stop(); return; } // closed while the camera started
        controls = running;
        overlay.status.textContent = "Apunte la cámara al código de la etiqueta o credencial.";
      })
      .catch(function (error) { if (mine === session) showError(error); });
  }

  function showError(error) {
    var name = (error && error.name) || "";
    var kind = MESSAGES[name] ? name : ERROR_KIND[name];
    var text = kind ? MESSAGES[kind] : MESSAGES.other + (name ? " (" + name + ")." : ".");
    stopCamera();
    overlay.status.textContent = "No se puede escanear con la cámara.";
    overlay.view.hidden = true;
    overlay.error.textContent = text;
    overlay.error.hidden = false;
  }

  function stopCamera() {
    if (controls) {
      try { controls.stop(); } catch (ignored) { /* already stopped */ }
      controls = null;
    }
  }

  function closeOverlay() {
    session += 1;
    stopCamera();
    if (!overlay) return;
    overlay.root.hidden = true;
    document.documentElement.classList.remove("scan-open");
  }

  function found(text) {
    var code = (text || "").trim();
    if (!code) return;
    closeOverlay();
    if (navigator.vibrate) navigator.vibrate(80);
    document.dispatchEvent(new CustomEvent("zeues:scanned", { detail: { code: code } }));
  }

  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-scan-camera]");
    if (!button) return;
    e.preventDefault();
    openOverlay(button.dataset.scanCamera);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && isOpen()) closeOverlay();
  });
  // A tablet put to sleep or another tab: give the camera back.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden && isOpen()) closeOverlay();
  });

  // --- Pages where a scan opens the spool -------------------------------------------------
  function openUrl() {
    var host = document.querySelector("[data-scan-open-url]");
    return host ? host.getAttribute("data-scan-open-url") : null;
  }

  // `/spools/` + the TAG, each segment encoded: a TAG may hold "/" (the URL keeps it).
  function spoolUrl(base, tag) {
    var path = tag.split("/").map(encodeURIComponent).join("/");
    return base.replace(/\/?$/, "/") + path + "/";
  }

  function openSpool(code) {
    var base = openUrl();
    code = (code || "").trim();
    if (base === null || !code) return false;
    window.location.assign(spoolUrl(base, code));
    return true;
  }

  document.addEventListener("zeues:scanned", function (e) {
    openSpool(e.detail && e.detail.code);
  });

})();
