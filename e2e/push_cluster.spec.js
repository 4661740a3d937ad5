// Web Push across a cluster (docs/scaling.md, What is stored where): two nodes on one Redis share
// the push subscriptions and the VAPID key. A page subscribes through node A and leaves; a
// private message with a notification posted on node B reaches the push-service stand-in,
// decrypts to {title, body}, and its VAPID signature verifies with the one shared key.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect, startServer, startRedis, connectUser, outcome } from './server.js';
import { startPushStandin } from './push_standin.js';

test.describe.configure({ mode: 'serial' });
let redis, push, keyDir, nodeA, nodeB;

// Each node its own key file, as on two hosts: with --redis the key in Redis wins.
const nodeArgs = (id) => ['--redis', redis.url, '--node-id', id, '--push-ca-file', push.caFile,
  '--vapid-key-file', path.join(keyDir, `${id}.pem`), '--push-allowed-hosts', 'localhost',
  '--push-attempts', '3', '--push-retry-ms', '100', '--push-timeout-ms', '1500'];

test.beforeAll(async () => {
  redis = await startRedis();
  push = await startPushStandin();
  keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-vapid-cluster-'));
  nodeA = await startServer({ args: nodeArgs('push-a') });
  nodeB = await startServer({ args: nodeArgs('push-b') });
});
test.afterAll(async () => {
  await nodeA?.stop();
  await nodeB?.stop();
  await push?.stop();
  await redis?.stop();
  fs.rmSync(keyDir, { recursive: true, force: true });
});

test('subscribed through node A, pushed for a post on node B, signed with the one shared VAPID key', async ({ context }) => {
  const bob = await connectUser(context, nodeA, 'bob');
  const alice = await connectUser(context, nodeB, 'alice');
  const keyA = (await bob.evaluate(() => window.rt.vapidPublicKey())).VAPIDPublicKey;
  const keyB = (await alice.evaluate(() => window.rt.vapidPublicKey())).VAPIDPublicKey;
  expect(keyB).toBe(keyA);
  push.setVapidKey(keyA);
  expect(await bob.evaluate((s) => window.rt.subscribeNotification(s.endpoint, s.keys), push.subscription('bob-a')))
    .toBe('SUCCESS: Subscribed to receive notifications.');
  await bob.close();
  await expect.poll(() => outcome(alice, () => window.rt.postRealtime('ping', 'bob')).then((r) => r.code), { timeout: 10000 })
    .toBe('RECIPIENT_OFFLINE');
  const note = { title: 'From node B', body: 'across the cluster ✓' };
  const r = await outcome(alice, (n) => window.rt.postRealtime({ msg: 'hi' }, 'bob', n), note);
  expect(r).toEqual({ ok: { type: 'success', message: 'Message sent.' } });
  const [rec] = await push.waitFor('bob-a');
  expect(rec.problems).toEqual([]);
  expect(rec.payload).toEqual(note);
  expect(rec.payloadByHttpEce).toEqual(note);
});
