/* AudioFetch's service worker: only what installing the app needs, and the click on a job's notification.
   No fetch handler on purpose: every request goes to the network exactly as without a worker (Chromium
   needs no handler to install an app since version 108 on phones and 112 on desktops), and nothing is
   cached or fetched from anywhere else. */
"use strict";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

/* A notification (shown by notify.js through this worker where pages may not show one themselves, as on
   Android) opens its job's page: an open tab of it is focused, else a new one is opened. */
self.addEventListener("notificationclick", function (event) {
  var target = event.notification.data && event.notification.data.url;
  event.notification.close();
  if (!target) return;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (tabs) {
      for (var i = 0; i < tabs.length; i++) {
        if (tabs[i].url === target && "focus" in tabs[i]) return tabs[i].focus();
      }
      return self.clients.openWindow(target);
    })
  );
});
