// Token lifetime in Chromium against a real server started with --jwt-leeway 0: 4-second tokens
// from /dev/token?ttl=4 are refreshed on the open connection without the app noticing, and a
// refresh that cannot get a token ends in the server's close 4002 and an ordinary reconnect.
import { test, expect, connectUser, waitForEvent, startServer } from './server.js';

// Opens a page for alice whose token function hands out `ttl`-second tokens, counts its calls and
// throws while window.failing is set. Records events, and the close codes of the first socket.
async function connectShortLived(context, server, { ttl = 4, group, options = {} } = {}) {
  const page = await context.newPage();
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  page.on('pageerror', (e) => console.log('[alice] pageerror', e.message));
  await page.goto(`${server.url}/blank.html`);
  await page.evaluate(
    async ({ ttl, group, options }) => {
      const { Realtime } = await import('/switchboard/index.js');
      window.events = [];
      window.closes = [];
      window.tokenCalls = 0;
      window.failing = false;
      const token = async () => {
        window.tokenCalls++;
        if (window.failing) throw new Error('token service down');
        return (await (await fetch(`/dev/token?user=alice&ttl=${ttl}`)).json()).token;
      };
      window.rt = new Realtime({ ...options, token });
      const ws = await window.rt.connectRealtime((e) => window.events.push(e));
      ws.addEventListener('close', (e) => window.closes.push(e.code));
      if (group) await window.rt.joinRealtime({ group });
      window.firstCid = window.rt.cid;
    },
    { ttl, group, options },
  );
  return { page, sockets };
}

test('4-second tokens are refreshed on the open connection: same cid, no close, no event, messages flow', async ({ context }) => {
  test.setTimeout(60_000);
  const server = await startServer({ args: ['--jwt-leeway', '0'] });
  try {
    const { page: alice, sockets } = await connectShortLived(context, server, { group: 'fresh' });
    const bob = await connectUser(context, server, 'bob', { group: 'fresh' });
    await alice.waitForTimeout(12_000);  // three token lifetimes
    const r = await alice.evaluate(() => ({
      state: window.rt.state,
      cid: window.rt.cid,
      firstCid: window.firstCid,
      group: window.rt.group,
      closes: window.closes,
      tokenCalls: window.tokenCalls,
      types: window.events.map((e) => e.type),
    }));
    expect(r.state).toBe('open');
    expect(r.cid).toBe(r.firstCid);
    expect(r.group).toBe('fresh');
    expect(r.closes).toEqual([]);
    expect(sockets).toHaveLength(1);
    expect(r.tokenCalls).toBeGreaterThanOrEqual(4);  // the connect, then a refresh per lifetime
    expect(r.types.filter((t) => t === 'success')).toHaveLength(1);
    expect(r.types).not.toContain('error');
    expect(r.types).not.toContain('reconnect');
    expect(r.types).not.toContain('close');
    // Still the same connection on the server, and messages flow both ways.
    const users = await bob.evaluate(() => window.rt.getRealtimeUsers({ user_id: 'alice' }));
    expect(users.list).toEqual([{ user_id: 'alice', cid: r.firstCid }]);
    await alice.evaluate(() => window.rt.postRealtime('after three expiries', 'fresh'));
    await waitForEvent(bob, { type: 'message', message: 'after three expiries', sender: 'alice', sender_cid: r.firstCid });
    await bob.evaluate(() => window.rt.postRealtime('hello alice', 'fresh'));
    await waitForEvent(alice, { type: 'message', message: 'hello alice', sender: 'bob' });
  } finally {
    await server.stop();
  }
});

test('a token function failing at refresh time: close 4002, then the client reconnects once tokens come back', async ({ context }) => {
  test.setTimeout(60_000);
  const server = await startServer({ args: ['--jwt-leeway', '0'] });
  try {
    const { page: alice } = await connectShortLived(context, server, {
      group: 'stale',
      options: { reconnect: { initialDelay: 200, maxDelay: 1000 } },
    });
    const bob = await connectUser(context, server, 'bob', { group: 'stale' });
    await alice.evaluate(() => { window.failing = true; });
    await alice.waitForFunction(() => window.closes.length > 0, null, { timeout: 10_000 });
    expect(await alice.evaluate(() => window.closes)).toEqual([4002]);
    await waitForEvent(alice, { type: 'error', message: 'Skapi: WebSocket unexpected close.' });
    await waitForEvent(bob, { type: 'notice', code: 'USER_DISCONNECTED', sender: 'alice' });
    // Reconnect attempts fail while the token function throws; the client keeps trying.
    const failed = await waitForEvent(alice, { type: 'error', code: 'UNAUTHORIZED' });
    expect(failed.message).toContain('token service down');
    expect(await alice.evaluate(() => window.rt.state)).not.toBe('closed');
    await alice.evaluate(() => { window.failing = false; });
    await alice.waitForFunction(() => window.events.filter((e) => e.type === 'success').length >= 2, null, { timeout: 10_000 });
    await alice.waitForFunction(() => window.rt.state === 'open');
    const r = await alice.evaluate(() => ({ cid: window.rt.cid, firstCid: window.firstCid, group: window.rt.group }));
    expect(r.cid).not.toBe(r.firstCid);
    expect(r.group).toBe('stale');  // rejoined
    await alice.evaluate(() => window.rt.postRealtime('back again', 'stale'));
    await waitForEvent(bob, { type: 'message', message: 'back again', sender: 'alice', sender_cid: r.cid });
  } finally {
    await server.stop();
  }
});
