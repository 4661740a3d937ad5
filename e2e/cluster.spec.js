// Several nodes on one Redis (docs/scaling.md), through the real wasm client in Chromium: pages
// connected to two different nodes chat, and a page whose node is killed (SIGKILL) moves to the
// next URL of its list by itself and rejoins its group.
import { test, expect, startServer, startRedis, connectUser, waitForEvent } from './server.js';

test.describe.configure({ mode: 'serial' });

let redis, nodeA, nodeB;
const nodeArgs = (id) => ['--redis', redis.url, '--presence-ttl', '1', '--node-id', id];
const wsOf = (node) => node.url.replace(/^http/, 'ws') + '/realtime';

test.beforeAll(async () => {
  redis = await startRedis();
  nodeA = await startServer({ args: nodeArgs('e2e-a') });
  nodeB = await startServer({ args: nodeArgs('e2e-b') });
});

test.afterAll(async () => {
  await nodeA?.stop();
  await nodeB?.stop();
  await redis?.stop();
});

test('two pages on two nodes chat through Redis', async ({ context }) => {
  const alice = await connectUser(context, nodeA, 'alice', { group: 'across' });
  const bob = await connectUser(context, nodeB, 'bob', { group: 'across' });
  await bob.evaluate(() => window.rt.postRealtime({ text: 'hi from node b' }, 'across'));
  const got = await waitForEvent(alice, { type: 'message', sender: 'bob' });
  expect(got.message).toEqual({ text: 'hi from node b' });
  await alice.evaluate(() => window.rt.postRealtime('just you', 'bob'));
  expect((await waitForEvent(bob, { type: 'private', sender: 'alice' })).message).toBe('just you');
  // Both nodes list both users.
  for (const page of [alice, bob]) {
    const users = await page.evaluate(async () => (await window.rt.getRealtimeUsers({ group: 'across' })).list.map((u) => u.user_id).sort());
    expect(users).toEqual(['alice', 'bob']);
  }
});

test('a page whose node is killed moves to the next node by itself', async ({ context }) => {
  const nodeC = await startServer({ args: nodeArgs('e2e-c') });
  try {
    const bob = await connectUser(context, nodeB, 'bob', { group: 'moving' });
    const carol = await connectUser(context, nodeA, 'carol', { group: 'moving', options: { url: [wsOf(nodeC), wsOf(nodeA)] } });
    await carol.evaluate(() => window.rt.postRealtime('from c', 'moving'));
    await waitForEvent(bob, { type: 'message', message: 'from c' });

    nodeC.proc.kill('SIGKILL');
    // The client reconnects to node A, rejoins the group, and its post gets through.
    await expect.poll(async () => carol.evaluate(async () => {
      try {
        await window.rt.postRealtime('from a', 'moving');
        return 'ok';
      } catch (e) {
        return e.code;
      }
    }), { timeout: 15_000 }).toBe('ok');
    await waitForEvent(bob, { type: 'message', message: 'from a' }, 10_000);
  } finally {
    await nodeC.stop();
  }
});
