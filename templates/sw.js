{% load static %}/* ZEUES service worker (served at {% url 'service-worker' %}, registered by static/js/offline.js).

   What a floor tablet needs to reload its start screen with the Wi-Fi down: the static
   files the pages use (precached under the URLs the pages really ask for: hashed names when
   DEBUG is off) and the start screen itself (network first, the last good copy when
   offline). Any other page asked offline goes to the start screen: the confirmations kept
   there are sent by offline.js when the network returns. It never touches a POST (so never
   /acciones/), a fragment, or a socket. */
"use strict";

// Bump when this file's logic changes; the assets' hashed names change its bytes anyway.
var VERSION = "zeues-offline-v1";
var START = "{% url 'home' %}";
var LOGIN = "{% url 'login' %}";
var STATIC = "{% get_static_prefix %}";
var ASSETS = [
  "{% static 'css/zeues.css' %}",
  "{% static 'css/scan.css' %}",
  "{% static 'css/notes.css' %}",
  "{% static 'vendor/htmx/htmx-2.0.11.min.js' %}",
  "{% static 'vendor/htmx/htmx-ext-ws-2.0.4.min.js' %}",
  "{% static 'js/zeues.js' %}",
  "{% static 'js/scan.js' %}",
  "{% static 'js/notes.js' %}",
  "{% static 'js/offline.js' %}"
];
var PAGE_TIMEOUT_MS = 6000; // a Wi-Fi that is "connected" but dead: the cached start screen

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(VERSION).then(function (cache) {
      return cache.addAll(ASSETS).then(function () { return keepStart(cache); });
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n !== VERSION; }).map(function (n) {
        return caches.delete(n);
      }));
    }).then(pruneAssets).then(function () { return self.clients.claim(); })
  );
});

// Old hashed names of files that changed: dropped, the cache stays the size of one release.
function pruneAssets() {
  var wanted = ASSETS.map(function (a) { return new URL(a, self.location).href; });
  return caches.open(VERSION).then(function (cache) {
    return cache.keys().then(function (requests) {
      return Promise.all(requests.filter(function (r) {
        return new URL(r.url).pathname.indexOf(STATIC) === 0 && wanted.indexOf(r.url) < 0;
      }).map(function (r) { return cache.delete(r); }));
    });
  });
}

// The start screen, only as a logged-in tablet sees it (not the login page it redirects to).
function keepStart(cache) {
  return fetch(START, { credentials: "same-origin" }).then(function (response) {
    return remember(cache, response);
  }).catch(function () {});
}

function remember(cache, response) {
  if (response.ok && !response.redirected) return cache.put(START, response);
  if (response.redirected && new URL(response.url).pathname.indexOf(LOGIN) === 0) {
    return cache.delete(START); // logged out: the old start screen is not this tablet's now
  }
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") event.respondWith(page(request, url));
  else if (url.pathname.indexOf(STATIC) === 0) event.respondWith(asset(request));
});

function page(request, url) {
  var isStart = url.pathname === START;
  return withTimeout(fetch(request), isStart ? PAGE_TIMEOUT_MS : 0).then(function (response) {
    if (isStart || response.redirected) {
      var copy = response.clone(); // now: the page reads the body
      caches.open(VERSION).then(function (cache) { remember(cache, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(START, { cacheName: VERSION }).then(function (cached) {
      if (!cached) return offlinePage();
      return isStart ? cached : Response.redirect(START, 302);
    });
  });
}

function asset(request) {
  return fetch(request).catch(function () {
    return caches.match(request, { cacheName: VERSION }).then(function (cached) {
      return cached || Response.error();
    });
  });
}

function withTimeout(promise, ms) {
  if (!ms) return promise;
  return new Promise(function (resolve, reject) {
    var timer = setTimeout(function () { reject(new Error("timeout")); }, ms);
    promise.then(function (r) { clearTimeout(timer); resolve(r); }, function (e) {
      clearTimeout(timer);
      reject(e);
    });
  });
}

function offlinePage() {
  var html = "<!doctype html><html lang=\"es-CL\"><meta charset=\"utf-8\">" +
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">" +
    "<title>Sin conexión · ZEUES</title><body style=\"font: 24px system-ui, sans-serif; padding: 2rem\">" +
    "<h1>Sin conexión</h1><p>ZEUES no responde. Vuelva a intentar cuando vuelva la red.</p></body></html>";
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}
