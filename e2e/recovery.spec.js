// Issue 11 in Chromium against real server processes: messages arrive once each and in order
// across cut connections (stream offsets, recovery, idempotent re-sends), an in-memory restart
// says RECOVERY_FAILED once and goes on live, and posts made while the server is down wait in the
// offline queue, bounded, and are delivered after it returns.
import { test, expect, connectUser, outcome, waitForEvent, startServer } from './server.js';
import { startProxy } from './tcp_proxy.js';

const FAST_RECONNECT = { initialDelay: 50, maxDelay: 300 };

// Resolves after `ms`, for pacing the cuts (not to wait for anything).
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

test('flapping network: 10,000 messages reach the receiver once each and in order while both sides are cut at random', async ({ context }) => {
  test.setTimeout(90_000);
  const total = 10_000;
  const server = await startServer({ args: ['--rate', '0', '--history-size', String(2 * total)] });
  const toReceiver = await startProxy(server.url);
  const toSender = await startProxy(server.url);
  try {
    const options = { reconnect: FAST_RECONNECT, requestTimeout: 60_000 };
    const receiver = await connectUser(context, server, 'rita', { group: 'flap', options: { ...options, url: toReceiver.wsUrl } });
    const sender = await connectUser(context, server, 'sam', { group: 'flap', options: { ...options, url: toSender.wsUrl } });
    await receiver.evaluate(() => {
      window.seen = [];
      const events = window.events;
      window.events = { push: (e) => (e.type === 'message' && e.message && 'n' in e.message ? window.seen.push(e.message.n) : events.push(e)) };
      window.otherEvents = events;
    });
    // The sender keeps 50 posts in flight, in call order; a post the cut took is re-sent with its key.
    const sending = sender.evaluate(async (total) => {
      let next = 0;
      const failed = [];
      const worker = async () => {
        while (next < total) {
          const n = next++;
          await window.rt.postRealtime({ n }, 'flap').catch((e) => failed.push([n, e.code]));
        }
      };
      await Promise.all(Array.from({ length: 50 }, worker));
      return failed;
    }, total);
    let done = false;
    sending.finally(() => (done = true));
    // Cut at random moments while the stream flows: the receiver often, the sender now and then.
    let cuts = 0;
    while (!done) {
      await pause(50 + Math.random() * 400);
      toReceiver.cut();
      cuts++;
      if (Math.random() < 0.3) toSender.cut();
    }
    expect(await sending).toEqual([]);
    await receiver.waitForFunction((total) => window.seen.length >= total, total, { timeout: 30_000 });
    const r = await receiver.evaluate(() => ({
      seen: window.seen,
      notices: window.otherEvents.filter((e) => e.code === 'RECOVERY_FAILED'),
      reconnects: window.otherEvents.filter((e) => e.type === 'success').length,
    }));
    expect(r.seen.length).toBe(total);
    expect(r.seen.every((n, i) => n === i)).toBe(true);  // each once, in order
    // Every recovery worked, the group's and the private stream's (a user stream that never had
    // a message keeps its epoch when the server drops it: memory_streams.cpp, tombstones).
    expect(r.notices).toEqual([]);
    expect(toReceiver.cuts).toBeGreaterThanOrEqual(3);  // it really flapped
    expect(r.reconnects).toBeGreaterThanOrEqual(3);
    console.log(`flapping: ${total} messages, ${cuts} cuts tried, ${toReceiver.cuts} receiver and ${toSender.cuts} sender connections cut, ${r.reconnects - 1} receiver reconnects`);
  } finally {
    await toReceiver.stop();
    await toSender.stop();
    await server.stop();
  }
});

test('in-memory restart: one RECOVERY_FAILED for the group, then live messages again', async ({ context }) => {
  test.setTimeout(60_000);
  let server = await startServer();
  const port = Number(new URL(server.url).port);
  try {
    const options = { reconnect: FAST_RECONNECT };
    const alice = await connectUser(context, server, 'alice', { group: 'restart', options });
    const bob = await connectUser(context, server, 'bob', { group: 'restart', options });
    await bob.evaluate(() => window.rt.postRealtime('before', 'restart'));
    await waitForEvent(alice, { type: 'message', message: 'before' });

    await server.stop();
    server = await startServer({ port });
    const notice = await waitForEvent(alice, { type: 'notice', code: 'RECOVERY_FAILED', sender_rid: 'restart' }, 15_000);
    expect(notice).toMatchObject({ message: 'Messages sent while disconnected could not be recovered.', sender: null, sender_cid: null });
    await bob.waitForFunction(() => window.rt.state === 'open' && window.rt.group === 'restart', null, { timeout: 15_000 });
    await alice.waitForFunction(() => window.rt.state === 'open' && window.rt.group === 'restart', null, { timeout: 15_000 });
    await bob.evaluate(() => window.rt.postRealtime('after', 'restart'));
    await waitForEvent(alice, { type: 'message', message: 'after' });
    const r = await alice.evaluate(() => ({
      group: window.events.filter((e) => e.code === 'RECOVERY_FAILED' && e.sender_rid === 'restart').length,
      private: window.events.filter((e) => e.code === 'RECOVERY_FAILED' && e.sender_rid === null).length,
      messages: window.events.filter((e) => e.type === 'message').map((e) => e.message),
    }));
    expect(r.group).toBe(1);
    expect(r.private).toBeLessThanOrEqual(1);  // the private stream's history went too
    expect(r.messages).toEqual(['before', 'after']);
  } finally {
    await server.stop();
  }
});

test('offline queue: posts made while the server is down arrive once each, in order, after it returns; past the bound they fail at once', async ({ context }) => {
  test.setTimeout(60_000);
  let server = await startServer();
  const port = Number(new URL(server.url).port);
  const proxy = await startProxy(server.url);
  try {
    const alice = await connectUser(context, server, 'alice', {
      group: 'queue',
      options: { url: proxy.wsUrl, reconnect: FAST_RECONNECT, requestTimeout: 30_000, offlineQueue: { maxCount: 5, maxBytes: 4000 } },
    });
    await server.stop();
    await alice.waitForFunction(() => window.rt.state === 'reconnecting' || window.rt.state === 'connecting');
    // Five posts wait; a sixth, and one larger than maxBytes, are refused at once.
    await alice.evaluate(() => {
      window.queued = [1, 2, 3, 4, 5].map((n) => window.rt.postRealtime({ n }, 'queue').then((r) => r.message, (e) => e.code));
    });
    const over = await outcome(alice, () => window.rt.postRealtime({ n: 6 }, 'queue'));
    expect(over.code).toBe('QUEUE_FULL');
    expect(await alice.evaluate(() => window.rt.state)).not.toBe('open');

    // The server comes back; alice's way to it stays held until bob listens there.
    proxy.hold();
    proxy.cut();
    server = await startServer({ port });
    const bob = await connectUser(context, server, 'bob', { group: 'queue' });
    proxy.release();
    expect(await alice.evaluate(() => Promise.all(window.queued))).toEqual(Array(5).fill('Message sent.'));
    await bob.waitForFunction(() => window.events.filter((e) => e.type === 'message').length >= 5);
    // Anything more would have arrived with or before this one (one connection, in order).
    await alice.evaluate(() => window.rt.postRealtime({ n: 'end' }, 'queue'));
    await waitForEvent(bob, { type: 'message', message: { n: 'end' } });
    const got = await bob.evaluate(() => window.events.filter((e) => e.type === 'message' && e.sender === 'alice').map((e) => e.message.n));
    expect(got).toEqual([1, 2, 3, 4, 5, 'end']);

    // The byte bound: with the server down again, one large post fits, the next does not.
    proxy.hold();
    proxy.cut();
    await alice.waitForFunction(() => window.rt.state !== 'open');
    const big = 'x'.repeat(2500);
    await alice.evaluate((big) => { window.bigOne = window.rt.postRealtime(big, 'queue').then((r) => r.message, (e) => e.code); }, big);
    const tooBig = await outcome(alice, (big) => window.rt.postRealtime(big, 'queue'), big);
    expect(tooBig.code).toBe('QUEUE_FULL');
    proxy.release();
    expect(await alice.evaluate(() => window.bigOne)).toBe('Message sent.');
    await waitForEvent(bob, { type: 'message', message: big });
  } finally {
    await proxy.stop();
    await server.stop();
  }
});
