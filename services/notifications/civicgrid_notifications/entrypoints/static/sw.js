// Service worker: the app shell and the member's last pages for offline use; Web Push notifications.
"use strict";
const SHELL = "civicgrid-shell-v2";
const DATA = "civicgrid-data-v1";
const SHELL_FILES = [
  "./", "index.html", "app.js", "style.css", "manifest.webmanifest",
  "icons/icon-192.png", "icons/icon-512.png", "icons/icon-maskable-512.png", "icons/apple-touch-icon-180.png",
];
// Reads the app shows offline (its last feed page, who is signed in, settings, opened notices).
const CACHED_READS = /\/(me|delivery-channels|members\/[^/]+\/(feed(\/[^/]+)?|preferences))$/;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== SHELL && name !== DATA) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "signed-out") event.waitUntil(caches.delete(DATA));
});

function offline(response) {
  // Mark an answer from the cache so the page can say it is showing saved data.
  const headers = new Headers(response.headers);
  headers.set("X-Served-From", "offline-cache");
  return response.blob().then((body) => new Response(body, { status: response.status, statusText: response.statusText, headers }));
}

async function networkFirst(request, cacheName, fallbackKey) {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = (await cache.match(request, { ignoreVary: true })) || (fallbackKey && (await cache.match(fallbackKey)));
    if (cached) return offline(cached);
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") { event.respondWith(networkFirst(request, SHELL, "./")); return; }
  if (url.pathname.startsWith(new URL("./", self.registration.scope).pathname)) {
    event.respondWith(networkFirst(request, SHELL));
    return;
  }
  if (CACHED_READS.test(url.pathname) && request.headers.get("Accept") !== "text/event-stream") {
    event.respondWith(networkFirst(request, DATA));
  }
});

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { title: "社区通知", body: event.data.text() }; }
  const first = (data.ids || [])[0];
  event.waitUntil(self.registration.showNotification(data.title || "社区通知", {
    body: data.body || "", icon: "icons/icon-192.png", badge: "icons/icon-192.png",
    data: { link: first ? `./#/item/${encodeURIComponent(first)}` : "./" }, tag: first,
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(clients.openWindow(event.notification.data.link || "./"));
});
