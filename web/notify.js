// "Notify me when I'm away": the steps of Skapi's notification guide. Registers /sw.js,
// subscribes with the server's VAPID key and hands the subscription to the server; private
// messages to this user then arrive as notifications while no page of theirs is connected.
// Needs a secure context (https, or http://localhost) and a browser that reaches a push service.
function urlBase64ToUint8Array(base64String) {
  const padding = '='.repeat((4 - (base64String.length % 4)) % 4);
  const raw = atob((base64String + padding).replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export async function notifyWhenAway(rt) {
  if (!('serviceWorker' in navigator) || !('PushManager' in window)) throw new Error('This browser has no Web Push.');
  if ((await Notification.requestPermission()) !== 'granted') throw new Error('Notifications are not allowed.');
  const { VAPIDPublicKey } = await rt.vapidPublicKey();
  const registration = await navigator.serviceWorker.register('/sw.js');
  await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: urlBase64ToUint8Array(VAPIDPublicKey),
  });
  return rt.subscribeNotification(subscription.toJSON());
}
