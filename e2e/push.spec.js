// Web Push end to end: Chromium pages subscribe with subscriptions whose endpoint is a local
// push-service stand-in (e2e/push_standin.js; the headless browser cannot reach a real push
// service, so the test makes the p256dh/auth keys), a real server sends, the stand-in checks
// VAPID and decrypts (our code and http_ece).
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect, startServer, connectUser, outcome, waitForEvent } from './server.js';
import { startPushStandin } from './push_standin.js';

const SECRET = crypto.randomBytes(32).toString('hex');
function sign(claims) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${input}.${crypto.createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}
const adminToken = () => sign({ sub: 'root', admin: true, exp: Math.floor(Date.now() / 1000) + 3600 });

test.describe.configure({ mode: 'serial' });
let push, server, keyDir;

test.beforeAll(async () => {
  push = await startPushStandin();
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-vapid-'));
  server = await startServer({
    args: ['--jwt-secret', SECRET, '--push-ca-file', push.caFile, '--vapid-key-file', path.join(keyDir, 'vapid.pem'),
      '--push-allowed-hosts', 'localhost',
      '--push-attempts', '3', '--push-retry-ms', '100', '--push-timeout-ms', '1500'],
  });
});
test.afterAll(async () => {
  await server?.stop();
  await push?.stop();
  fs.rmSync(keyDir, { recursive: true, force: true });
});

async function metric(name) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}
async function waitMetric(name, atLeast) {
  await expect.poll(() => metric(name), { timeout: 15000 }).toBeGreaterThanOrEqual(atLeast);
}

// `user` subscribes every subscription in `subs` and goes away (page closed); resolves once the
// server has noticed (a plain post to them is RECIPIENT_OFFLINE).
async function subscribeAndLeave(context, sender, user, subs) {
  const page = await connectUser(context, server, user);
  const { VAPIDPublicKey } = await page.evaluate(() => window.rt.vapidPublicKey());
  push.setVapidKey(VAPIDPublicKey);
  for (const s of subs) {
    expect(await page.evaluate((s) => window.rt.subscribeNotification(s.endpoint, s.keys), s))
      .toBe('SUCCESS: Subscribed to receive notifications.');
  }
  await page.close();
  await expect.poll(() => outcome(sender, (u) => window.rt.postRealtime('ping', u), user).then((r) => r.code), { timeout: 10000 })
    .toBe('RECIPIENT_OFFLINE');
}

test('an offline recipient gets exactly {title, body}, VAPID-signed, decrypted by us and by http_ece', async ({ context }) => {
  const alice = await connectUser(context, server, 'alice');
  await subscribeAndLeave(context, alice, 'bob', [push.subscription('bob-1')]);
  const note = { title: 'New Message', body: 'Someone sent you a message! ✓' };
  const r = await outcome(alice, (n) => window.rt.postRealtime({ msg: 'Hello World!' }, 'bob', n), note);
  expect(r).toEqual({ ok: { type: 'success', message: 'Message sent.' } });
  const [rec] = await push.waitFor('bob-1');
  expect(rec.problems).toEqual([]);
  expect(rec.method).toBe('POST');
  expect(rec.payload).toEqual(note);
  expect(rec.payloadByHttpEce).toEqual(note);
  expect(rec.headers.ttl).toBe('86400');
  expect(rec.headers.urgency).toBe('normal');
  await waitMetric('switchboard_push_sent_total', 1);
});

test('config.always pushes to a connected recipient too; without it a connected one gets no push', async ({ context }) => {
  const alice = await connectUser(context, server, 'alice');
  const carol = await connectUser(context, server, 'carol');
  await carol.evaluate((s) => window.rt.subscribeNotification(s), push.subscription('carol-1'));
  const queued = await metric('switchboard_push_queued_total');
  await alice.evaluate(() => window.rt.postRealtime('one', 'carol', { title: 'quiet', body: 'not pushed' }));
  await waitForEvent(carol, { type: 'private', message: 'one' });
  expect(await metric('switchboard_push_queued_total')).toBe(queued);
  await alice.evaluate(() => window.rt.postRealtime('two', 'carol', { title: 'loud', body: 'pushed', config: { always: true } }));
  await waitForEvent(carol, { type: 'private', message: 'two' });
  const recs = await push.waitFor('carol-1');
  expect(recs.map((r) => r.payload)).toEqual([{ title: 'loud', body: 'pushed' }]);
  expect(recs[0].problems).toEqual([]);
});

test('a group post pushes only with config.always, to the other members', async ({ context }) => {
  const kim = await connectUser(context, server, 'kim', { group: 'team' });
  const lee = await connectUser(context, server, 'lee', { group: 'team' });
  await kim.evaluate((s) => window.rt.subscribeNotification(s), push.subscription('kim-1'));
  await lee.evaluate((s) => window.rt.subscribeNotification(s), push.subscription('lee-1'));
  const queued = await metric('switchboard_push_queued_total');
  await kim.evaluate(() => window.rt.postRealtime('hi team', 'team', { title: 'team', body: 'quiet' }));
  await waitForEvent(lee, { type: 'message', message: 'hi team' });
  expect(await metric('switchboard_push_queued_total')).toBe(queued);
  await kim.evaluate(() => window.rt.postRealtime('all hands', 'team', { title: 'team', body: 'loud', config: { always: true } }));
  await waitForEvent(lee, { type: 'message', message: 'all hands' });
  expect(await metric('switchboard_push_queued_total')).toBe(queued + 1);
  expect((await push.waitFor('lee-1'))[0].payload).toEqual({ title: 'team', body: 'loud' });
  expect(push.count('kim-1')).toBe(0);  // not the sender
});

test('unsubscribing stops pushes to that subscription', async ({ context }) => {
  const alice = await connectUser(context, server, 'alice');
  const d1 = push.subscription('dave-1');
  const d2 = push.subscription('dave-2');
  const dave = await connectUser(context, server, 'dave');
  await dave.evaluate(({ d1, d2 }) => Promise.all([window.rt.subscribeNotification(d1), window.rt.subscribeNotification(d2)]), { d1, d2 });
  expect(await dave.evaluate((s) => window.rt.unsubscribeNotification(s), d1)).toBe('SUCCESS: Unsubscribed from notifications.');
  await dave.close();
  await expect.poll(() => outcome(alice, () => window.rt.postRealtime('ping', 'dave')).then((r) => r.code)).toBe('RECIPIENT_OFFLINE');
  const queued = await metric('switchboard_push_queued_total');
  await alice.evaluate(() => window.rt.postRealtime('x', 'dave', { title: 'to dave', body: 'one device' }));
  expect(await metric('switchboard_push_queued_total')).toBe(queued + 1);
  await push.waitFor('dave-2');
  expect(push.count('dave-1')).toBe(0);
});

test('410 from the push service removes the subscription', async ({ context }) => {
  const alice = await connectUser(context, server, 'alice');
  await subscribeAndLeave(context, alice, 'erin', [push.subscription('erin-1', 410)]);
  const gone = await metric('switchboard_push_gone_total');
  await alice.evaluate(() => window.rt.postRealtime('x', 'erin', { title: 't', body: 'b' }));
  await push.waitFor('erin-1');
  await waitMetric('switchboard_push_gone_total', gone + 1);
  const queued = await metric('switchboard_push_queued_total');
  await alice.evaluate(() => window.rt.postRealtime('x', 'erin', { title: 't', body: 'b' }));
  expect(await metric('switchboard_push_queued_total')).toBe(queued);
  expect(push.count('erin-1')).toBe(1);
});

test('pushNotification: refused without the admin claim; an admin reaches given users or every subscriber', async ({ context }) => {
  const alice = await connectUser(context, server, 'alice');
  const refused = await outcome(alice, () => window.rt.pushNotification({ title: 'Hello', body: 'Hi there!' }));
  expect(refused).toMatchObject({ code: 'FORBIDDEN' });
  await subscribeAndLeave(context, alice, 'frank', [push.subscription('frank-1')]);
  await subscribeAndLeave(context, alice, 'gina', [push.subscription('gina-1')]);
  const admin = await connectUser(context, server, 'root');
  await admin.evaluate(async (token) => {
    await window.rt.closeRealtime();
    window.rt = new window.Realtime({ token });
    await window.rt.connectRealtime(() => {});
  }, adminToken());
  expect(await admin.evaluate(() => window.rt.pushNotification({ title: 'Admin Alert', body: 'Only for selected users' }, ['frank'])))
    .toBe('SUCCESS: Notification sent.');
  expect((await push.waitFor('frank-1'))[0].payload).toEqual({ title: 'Admin Alert', body: 'Only for selected users' });
  expect(push.count('gina-1')).toBe(0);
  await admin.evaluate(() => window.rt.pushNotification({ title: 'Hello', body: 'Hi there!' }));
  expect((await push.waitFor('gina-1'))[0].payload).toEqual({ title: 'Hello', body: 'Hi there!' });
  expect((await push.waitFor('frank-1', 2))[1].payload).toEqual({ title: 'Hello', body: 'Hi there!' });
  expect(push.received.every((r) => r.id.startsWith('gr-') || r.problems.length === 0)).toBe(true);
});

test('bad input is refused with typed errors, on the client and on the server', async ({ context }) => {
  const page = await connectUser(context, server, 'hana');
  const good = push.subscription('hana-1');
  const c = (fn, arg) => outcome(page, fn, arg);
  expect(await c((s) => window.rt.subscribeNotification('', s.keys), good)).toMatchObject({ code: 'INVALID_PARAMETER', message: 'Missing parameter: endpoint' });
  expect(await c((s) => window.rt.subscribeNotification({ endpoint: s.endpoint, keys: { p256dh: s.keys.p256dh } }), good))
    .toMatchObject({ code: 'INVALID_PARAMETER', message: 'Missing parameter: keys.p256dh or keys.auth' });
  expect(await c((s) => window.rt.subscribeNotification(s.endpoint.replace('https:', 'http:'), s.keys), good))
    .toMatchObject({ code: 'INVALID_PARAMETER', message: '"endpoint" must be an https:// URL.' });
  expect(await c((s) => window.rt.subscribeNotification(s.endpoint.replace('localhost', '127.0.0.1'), s.keys), good))
    .toMatchObject({ code: 'INVALID_PARAMETER', message: '"endpoint" is not on a push service this server sends to.' });
  expect(await c((s) => window.rt.subscribeNotification(s.endpoint, { p256dh: 'AAAA', auth: s.keys.auth }), good))
    .toMatchObject({ code: 'INVALID_PARAMETER' });
  expect(await c((s) => window.rt.subscribeNotification(s.endpoint, { p256dh: s.keys.p256dh, auth: 'short' }), good))
    .toMatchObject({ code: 'INVALID_PARAMETER' });
  const huge = { title: 't', body: 'x'.repeat(3100) };
  expect(await c((n) => window.rt.postRealtime('m', 'hana', n), huge)).toMatchObject({ code: 'INVALID_PARAMETER', message: 'Notification size exceeds 3kb.' });
  expect(await c((n) => window.rt.pushNotification(n), huge)).toMatchObject({ code: 'INVALID_PARAMETER', message: 'Notification size exceeds 3kb.' });
  expect(await c(() => window.rt.postRealtime('m', 'hana', { title: 't' }))).toMatchObject({ code: 'INVALID_PARAMETER', message: 'Missing parameter: message body' });
  // The same refusals from the server, for a client that skips the module's checks.
  const raw = await page.evaluate(async ({ endpoint, keys, body }) => {
    const token = await window.tokenFor('hana');
    const ws = new WebSocket(`${location.origin.replace('http', 'ws')}/realtime?token=${token}`);
    const replies = new Map();
    ws.onmessage = (m) => m.data.split('\n').forEach((t) => { const f = JSON.parse(t); if (f.id) replies.set(f.id, f); });
    await new Promise((r) => (ws.onopen = r));
    ws.send(JSON.stringify({ op: 'subscribe', id: 1, endpoint: endpoint.replace('https:', 'http:'), keys }));
    ws.send(JSON.stringify({ op: 'subscribe', id: 2, endpoint, keys: { p256dh: keys.auth, auth: keys.auth } }));
    ws.send(JSON.stringify({ op: 'subscribe', id: 3, endpoint, keys: 'nope' }));
    ws.send(JSON.stringify({ op: 'private', id: 4, user: 'nobody', notification: { title: 't', body }, msg: 1 }));
    ws.send(JSON.stringify({ op: 'private', id: 5, user: 'nobody', notification: 'x', msg: 1 }));
    ws.send(JSON.stringify({ op: 'push', id: 6, title: 't', body: 'b' }));
    ws.send(JSON.stringify({ op: 'subscribe', id: 7, endpoint: 'https://' + 'a'.repeat(3000), keys }));
    ws.send(JSON.stringify({ op: 'ping', id: 8 }));
    for (let i = 0; i < 200 && !replies.has(8); i++) await new Promise((r) => setTimeout(r, 25));
    ws.close();
    return [1, 2, 3, 4, 5, 6, 7, 8].map((id) => replies.get(id) && [replies.get(id).op, replies.get(id).code]);
  }, { ...good, body: 'y'.repeat(3100) });
  expect(raw).toEqual([
    ['error', 'INVALID_PARAMETER'], ['error', 'INVALID_PARAMETER'], ['error', 'INVALID_PARAMETER'],
    ['error', 'INVALID_PARAMETER'], ['error', 'INVALID_PARAMETER'], ['error', 'FORBIDDEN'], ['error', 'INVALID_PARAMETER'],
    ['ok', undefined],
  ]);
});

test('a push service that hangs or answers 500: bounded retries, and the server keeps serving', async ({ context }) => {
  const alice = await connectUser(context, server, 'alice');
  await subscribeAndLeave(context, alice, 'ivan', [push.subscription('gr-hang', 'hang'), push.subscription('gr-500', 500)]);
  const failed = await metric('switchboard_push_failed_total');
  await alice.evaluate(() => window.rt.postRealtime('x', 'ivan', { title: 't', body: 'b' }));
  // Meanwhile realtime traffic flows as before.
  const jo = await connectUser(context, server, 'jo');
  await alice.evaluate(() => window.rt.postRealtime('still here', 'jo'));
  await waitForEvent(jo, { type: 'private', message: 'still here' });
  await push.waitFor('gr-500', 3);
  await push.waitFor('gr-hang', 3);
  await waitMetric('switchboard_push_failed_total', failed + 2);
  expect(push.count('gr-500')).toBe(3);  // --push-attempts 3, then given up
  expect(push.count('gr-hang')).toBe(3);
  expect(await metric('switchboard_push_retries_total')).toBeGreaterThanOrEqual(4);
});

test('the VAPID key is kept in its file across restarts', async ({ context }) => {
  const file = path.join(keyDir, 'vapid.pem');
  expect(fs.statSync(file).mode & 0o077).toBe(0);
  const again = await startServer({ args: ['--jwt-secret', SECRET, '--vapid-key-file', file] });
  try {
    const key = async (s) => (await connectUser(context, s, 'k')).evaluate(() => window.rt.vapidPublicKey());
    const a = await key(server);
    expect(a.VAPIDPublicKey).toMatch(/^B[A-Za-z0-9_-]{86}$/);
    expect(await key(again)).toEqual(a);
  } finally {
    await again.stop();
  }
});
