// The demo's service worker, as in Skapi's notification guide: shows each push as a
// notification ({title, body} from the server) and opens the chat when it is clicked.
self.addEventListener('push', function (event) {
  const data = event.data ? event.data.json() : {};
  const title = data.title || 'Switchboard chat';
  const options = {
    body: data.body || '',
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', function (event) {
  event.notification.close();
  event.waitUntil(clients.openWindow(self.location.origin));
});
