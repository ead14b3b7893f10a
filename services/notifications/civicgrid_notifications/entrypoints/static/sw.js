// Service worker: shows Web Push notifications (decrypted by the browser) and opens their link.
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { title: "社区通知", body: event.data.text() }; }
  event.waitUntil(self.registration.showNotification(data.title || "社区通知", {
    body: data.body || "", data: { link: data.link || "./" }, tag: (data.ids || [])[0],
  }));
});
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(clients.openWindow(event.notification.data.link || "./"));
});
