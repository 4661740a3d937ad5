// Web Push with Skapi's names, parameters, results and error codes (docs/api.md, Notifications):
// vapidPublicKey, subscribeNotification, unsubscribeNotification, pushNotification, and the
// notification check of postRealtime. The requests travel on the realtime connection.

const MAX_NOTIFICATION_BYTES = 3072;

function fail(RealtimeError, message) {
  throw new RealtimeError('INVALID_PARAMETER', message);
}

/** Skapi's check of postRealtime's `notification`: {title, body} strings, at most 3 KB as JSON. */
export function checkNotification(n, RealtimeError) {
  if (typeof n !== 'object' || n === null || Array.isArray(n))
    fail(RealtimeError, '"notification" must be { title: string, body: string, config? }.');
  if (typeof n.title !== 'string' || n.title === '') fail(RealtimeError, 'Missing parameter: message title');
  if (typeof n.body !== 'string' || n.body === '') fail(RealtimeError, 'Missing parameter: message body');
  if (n.config !== undefined && n.config !== null) {
    if (typeof n.config !== 'object' || Array.isArray(n.config)) fail(RealtimeError, '"notification.config" must be an object.');
    if (n.config.always !== undefined && typeof n.config.always !== 'boolean')
      fail(RealtimeError, '"notification.config.always" must be a boolean.');
  }
  // Skapi measures JSON.stringify({title, body}) in bytes.
  const text = JSON.stringify({ title: n.title, body: n.body });
  if (new TextEncoder().encode(text).length > MAX_NOTIFICATION_BYTES) fail(RealtimeError, 'Notification size exceeds 3kb.');
  const out = { title: n.title, body: n.body };
  if (n.config && n.config.always !== undefined) out.config = { always: n.config.always };
  return JSON.stringify(out);
}

// subscribeNotification(endpoint, keys) as Skapi's docs write it, or ({endpoint, keys}) as its
// 2.0 SDK takes it (PushSubscription.toJSON() fits).
function subscriptionOf(args, RealtimeError) {
  const [a, b] = args;
  const s = typeof a === 'string' || b !== undefined ? { endpoint: a, keys: b } : a || {};
  if (!s.endpoint || typeof s.endpoint !== 'string') fail(RealtimeError, 'Missing parameter: endpoint');
  const k = s.keys;
  if (!k || typeof k.p256dh !== 'string' || !k.p256dh || typeof k.auth !== 'string' || !k.auth)
    fail(RealtimeError, 'Missing parameter: keys.p256dh or keys.auth');
  return { endpoint: s.endpoint, keys: { p256dh: k.p256dh, auth: k.auth } };
}

async function request(rt, op, params) {
  const core = await rt._coreForCall();
  return rt._call((id) => core.pushRequest(id, op, JSON.stringify(params)));
}

export async function vapidPublicKey(rt) {
  const { data } = await request(rt, 'vapid', {});
  return { VAPIDPublicKey: data.VAPIDPublicKey };
}

export async function subscribeNotification(rt, RealtimeError, args) {
  await request(rt, 'subscribe', subscriptionOf(args, RealtimeError));
  return 'SUCCESS: Subscribed to receive notifications.';
}

export async function unsubscribeNotification(rt, RealtimeError, args) {
  await request(rt, 'unsubscribe', subscriptionOf(args, RealtimeError));
  return 'SUCCESS: Unsubscribed from notifications.';
}

export async function pushNotification(rt, RealtimeError, form, userIds) {
  const f = form || {};
  if (typeof f.title !== 'string' || f.title === '') fail(RealtimeError, 'Missing parameter: message title');
  if (typeof f.body !== 'string' || f.body === '') fail(RealtimeError, 'Missing parameter: message body');
  checkNotification({ title: f.title, body: f.body }, RealtimeError);
  let user_ids = 'all_users';
  if (userIds) {
    user_ids = typeof userIds === 'string' ? [userIds] : userIds;
    if (!Array.isArray(user_ids) || user_ids.some((u) => typeof u !== 'string' || u === ''))
      fail(RealtimeError, '"user_ids" must be a user id or an array of user ids.');
  }
  await request(rt, 'push', { title: f.title, body: f.body, user_ids });
  return 'SUCCESS: Notification sent.';
}
