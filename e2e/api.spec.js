// Every method, event and error path of the Skapi-compatible API, in Chromium, on a real server.
import { test, expect, connectUser, waitForEvent, outcome, startServer } from './server.js';

test.describe('connectRealtime', () => {
  test('resolves with the browser WebSocket, fires success, and a second call opens nothing new', async ({ page, server }) => {
    const sockets = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(`${server.url}/blank.html`);
    const r = await page.evaluate(async () => {
      const { Realtime } = await import('/switchboard/index.js');
      const events = [];
      const token = async () => (await (await fetch('/dev/token?user=alice')).json()).token;
      const rt = new Realtime({ token });
      const [a, b] = await Promise.all([rt.connectRealtime((e) => events.push(e)), rt.connectRealtime((e) => events.push(e))]);
      const c = await rt.connectRealtime((e) => events.push(e));
      await new Promise((res) => setTimeout(res, 50));
      return { isWs: a instanceof WebSocket, same: a === b && b === c, open: a.readyState === WebSocket.OPEN, events, state: rt.state, cid: rt.cid };
    });
    expect(r.isWs).toBe(true);
    expect(r.same).toBe(true);
    expect(r.open).toBe(true);
    expect(r.state).toBe('open');
    expect(r.cid).toMatch(/^cid:[0-9a-f]{32}$/);
    expect(r.events).toEqual([{ type: 'success', message: 'Connected to WebSocket server.' }]);
    expect(sockets).toHaveLength(1);
  });

  test('rejects, never hangs, without a callback, without a token, or with a refused token', async ({ page, server }) => {
    await page.goto(`${server.url}/blank.html`);
    const r = await page.evaluate(async () => {
      const { Realtime } = await import('/switchboard/index.js');
      const grab = async (p) => p.then(() => 'resolved', (e) => ({ name: e.name, code: e.code, message: e.message }));
      return {
        noCallback: await grab(new Realtime({ token: 'x' }).connectRealtime('nope')),
        noToken: await grab(new Realtime({}).connectRealtime(() => {})),
        badToken: await grab(new Realtime({ token: 'not.a.jwt' }).connectRealtime(() => {})),
        throwingToken: await grab(new Realtime({ token: () => { throw new Error('logged out'); } }).connectRealtime(() => {})),
      };
    });
    expect(r.noCallback).toMatchObject({ name: 'RealtimeError', code: 'INVALID_REQUEST' });
    expect(r.noToken).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(r.badToken).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(r.badToken.message).toContain('Invalid token');
    expect(r.throwingToken).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(r.throwingToken.message).toContain('logged out');
  });

  test('calls before connecting reject with NOT_CONNECTED; lists go over HTTP', async ({ page, server }) => {
    await page.goto(`${server.url}/blank.html`);
    const r = await page.evaluate(async () => {
      const { Realtime } = await import('/switchboard/index.js');
      const rt = new Realtime({ token: 'x' });
      const grab = async (p) => p.then(() => 'resolved', (e) => e.code);
      return [await grab(rt.joinRealtime({ group: 'g' })), await grab(rt.postRealtime(1, 'g')), await grab(rt.getRealtimeGroups())];
    });
    expect(r).toEqual(['NOT_CONNECTED', 'NOT_CONNECTED', 'UNAUTHORIZED']);  // token 'x' is refused
  });
});

test.describe('joinRealtime', () => {
  test('confirms with Skapi texts, switching groups tells the old group USER_LEFT', async ({ context, server }) => {
    const alice = await connectUser(context, server, 'alice', { group: 'j1' });
    const bob = await connectUser(context, server, 'bob');
    const joined = await bob.evaluate(() => window.rt.joinRealtime({ group: 'j1' }));
    expect(joined).toEqual({ type: 'success', message: 'Joined realtime message group: "j1".' });
    expect(await bob.evaluate(() => window.rt.group)).toBe('j1');
    await waitForEvent(bob, { type: 'notice', code: 'USER_JOINED', sender: 'bob', sender_rid: 'j1' });
    await waitForEvent(alice, { type: 'notice', code: 'USER_JOINED', sender: 'bob' });
    await bob.evaluate(() => window.rt.joinRealtime({ group: 'j2' }));
    const left = await waitForEvent(alice, { type: 'notice', code: 'USER_LEFT' });
    expect(left).toMatchObject({ sender: 'bob', sender_rid: 'j1', message: 'User "bob" has left the message group.' });
    expect(left.sender_cid).toMatch(/^cid:/);
    const out = await bob.evaluate(() => window.rt.joinRealtime({ group: null }));
    expect(out).toEqual({ type: 'success', message: 'Left realtime message group.' });
    expect(await bob.evaluate(() => window.rt.group)).toBe(null);
    await bob.evaluate(() => window.rt.joinRealtime({ group: 'j1' }));
    expect((await bob.evaluate(() => window.rt.joinRealtime({ group: '' }))).message).toBe('Left realtime message group.');
  });

  test('bad group names are typed errors and the connection keeps working', async ({ context, server }) => {
    const alice = await connectUser(context, server, 'alice');
    expect(await outcome(alice, () => window.rt.joinRealtime({ group: 42 }))).toMatchObject({ code: 'INVALID_PARAMETER' });
    expect(await outcome(alice, () => window.rt.joinRealtime({ group: 'a\u0001b' }))).toMatchObject({ code: 'INVALID_PARAMETER' });
    expect(await outcome(alice, () => window.rt.joinRealtime({ group: 'x'.repeat(129) }))).toMatchObject({ code: 'INVALID_PARAMETER' });
    expect(await outcome(alice, () => window.rt.joinRealtime({ group: 'fine' }))).toEqual({ ok: { type: 'success', message: 'Joined realtime message group: "fine".' } });
  });
});

test.describe('postRealtime', () => {
  test('delivers every JSON value intact, including the ones Skapi drops', async ({ context, server }) => {
    const alice = await connectUser(context, server, 'alice', { group: 'p1' });
    const bob = await connectUser(context, server, 'bob', { group: 'p1' });
    const values = [0, '', false, null, '100% sure', '%E0%A4%A', 'héllo ✓ 한국어 😀', { nested: { deep: [1, { x: null }] } }, [], 3.25];
    for (const v of values) {
      expect(await alice.evaluate((v) => window.rt.postRealtime(v, 'p1'), v)).toEqual({ type: 'success', message: 'Message sent.' });
    }
    await bob.waitForFunction((n) => window.events.filter((e) => e.type === 'message').length >= n, values.length);
    const got = await bob.evaluate(() => window.events.filter((e) => e.type === 'message').map((e) => e.message));
    expect(got).toEqual(values);
    // Private messages too.
    for (const v of [0, false, '']) await alice.evaluate((v) => window.rt.postRealtime(v, 'bob'), v);
    await bob.waitForFunction(() => window.events.filter((e) => e.type === 'private').length >= 3);
    expect(await bob.evaluate(() => window.events.filter((e) => e.type === 'private').map((e) => e.message))).toEqual([0, false, '']);
  });

  test('refusals are typed: offline recipient, too large, bad notification, bad arguments', async ({ context, server }) => {
    const alice = await connectUser(context, server, 'alice', { group: 'p2' });
    expect(await outcome(alice, () => window.rt.postRealtime('hi', 'nobody-here'))).toMatchObject({ code: 'RECIPIENT_OFFLINE' });
    expect(await outcome(alice, () => window.rt.postRealtime('x'.repeat(70000), 'p2'))).toMatchObject({ code: 'TOO_LARGE' });
    expect(await outcome(alice, () => window.rt.postRealtime('hi', 'p2', { title: 't', body: 'b'.repeat(4000) }))).toMatchObject({ code: 'INVALID_PARAMETER' });
    expect(await outcome(alice, () => window.rt.postRealtime('hi', 'p2', { title: 1 }))).toMatchObject({ code: 'INVALID_PARAMETER' });
    expect(await outcome(alice, () => window.rt.postRealtime(undefined, 'p2'))).toMatchObject({ code: 'INVALID_PARAMETER' });
    expect(await outcome(alice, () => window.rt.postRealtime('hi', ''))).toMatchObject({ code: 'INVALID_PARAMETER' });
    // The connection is unharmed.
    expect(await outcome(alice, () => window.rt.postRealtime('still here', 'p2', { title: 'New message', body: 'still here' }))).toEqual({ ok: { type: 'success', message: 'Message sent.' } });
    await waitForEvent(alice, { type: 'message', message: 'still here' });
  });
});

test.describe('lists', () => {
  test('getRealtimeUsers: default group, user filter, pages with fetchMore', async ({ context, server }) => {
    const alice = await connectUser(context, server, 'alice');
    expect(await outcome(alice, () => window.rt.getRealtimeUsers())).toMatchObject({ code: 'INVALID_PARAMETER' });
    await alice.evaluate(() => window.rt.joinRealtime({ group: 'u1' }));
    // Four more connections: bob twice, carol, dave, in other Realtime instances of this page.
    await alice.evaluate(async () => {
      window.others = [];
      for (const u of ['bob', 'bob', 'carol', 'dave']) {
        const rt = new window.Realtime({ token: () => window.tokenFor(u) });
        await rt.connectRealtime(() => {});
        await rt.joinRealtime({ group: 'u1' });
        window.others.push(rt);
      }
    });
    const all = await alice.evaluate(() => window.rt.getRealtimeUsers());
    expect(all.list.map((u) => u.user_id)).toEqual(['alice', 'bob', 'bob', 'carol', 'dave']);
    expect(all.endOfList).toBe(true);
    expect(all.startKey).toBe('end');
    for (const u of all.list) expect(u.cid).toMatch(/^cid:/);
    const bobs = await alice.evaluate(() => window.rt.getRealtimeUsers({ group: 'u1', user_id: 'bob' }));
    expect(bobs.list).toHaveLength(2);
    const pages = await alice.evaluate(async () => {
      const out = [await window.rt.getRealtimeUsers({}, { limit: 2 })];
      for (let i = 0; i < 3; i++) out.push(await window.rt.getRealtimeUsers({}, { limit: 2, fetchMore: true }));
      return out;
    });
    expect(pages.map((p) => p.list.map((u) => u.user_id))).toEqual([['alice', 'bob'], ['bob', 'carol'], ['dave'], []]);
    expect(pages.map((p) => p.endOfList)).toEqual([false, false, true, true]);
    expect(pages[2].startKeyHistory).toHaveLength(2);
    const desc = await alice.evaluate(() => window.rt.getRealtimeUsers({}, { ascending: false, limit: 1 }));
    expect(desc.list[0].user_id).toBe('dave');
    expect(await outcome(alice, () => window.rt.getRealtimeUsers({}, { limit: 1001 }))).toMatchObject({ code: 'INVALID_PARAMETER' });
  });

  test('getRealtimeGroups: counts, every search form, pages', async ({ context, server }) => {
    const page = await connectUser(context, server, 'alice', { group: 'ga' });
    await page.evaluate(async () => {
      window.others = [];
      const plan = { gb: 2, gc: 3, gd: 1 };
      for (const [g, n] of Object.entries(plan))
        for (let i = 0; i < n; i++) {
          const rt = new window.Realtime({ token: () => window.tokenFor(`${g}-${i}`) });
          await rt.connectRealtime(() => {});
          await rt.joinRealtime({ group: g });
          window.others.push(rt);
        }
    });
    const all = await page.evaluate(() => window.rt.getRealtimeGroups());
    expect(all.list).toEqual([
      { group: 'ga', number_of_users: 1 }, { group: 'gb', number_of_users: 2 },
      { group: 'gc', number_of_users: 3 }, { group: 'gd', number_of_users: 1 },
    ]);
    const q = (params, opts) => page.evaluate(([p, o]) => window.rt.getRealtimeGroups(p, o).then((r) => r.list.map((g) => g.group)), [params, opts]);
    expect(await q({ searchFor: 'number_of_users', value: 2, condition: '>=' })).toEqual(['gb', 'gc']);
    expect(await q({ searchFor: 'number_of_users', value: 1, condition: 'gt' })).toEqual(['gb', 'gc']);
    expect(await q({ searchFor: 'number_of_users', value: 1, condition: '=' })).toEqual(['ga', 'gd']);
    expect(await q({ searchFor: 'number_of_users', value: 3, condition: '<' })).toEqual(['ga', 'gd', 'gb']);
    expect(await q({ searchFor: 'number_of_users', value: 2, condition: 'lte' })).toEqual(['ga', 'gd', 'gb']);
    expect(await q({ searchFor: 'number_of_users', value: 1, condition: '!=' })).toEqual(['gb', 'gc']);
    expect(await q({ searchFor: 'number_of_users', value: 2, range: 3 })).toEqual(['gb', 'gc']);
    expect(await q({ searchFor: 'group', value: 'gc' })).toEqual(['gc']);
    expect(await q({ searchFor: 'group', value: 'gb', condition: '>' })).toEqual(['gc', 'gd']);
    expect(await q({ searchFor: 'group', value: 'gb', range: 'gc' })).toEqual(['gb', 'gc']);
    expect(await q(null, { ascending: false })).toEqual(['gd', 'gc', 'gb', 'ga']);
    const pages = await page.evaluate(async () => [
      await window.rt.getRealtimeGroups(null, { limit: 3 }),
      await window.rt.getRealtimeGroups(null, { limit: 3, fetchMore: true }),
    ]);
    expect(pages[0].list.map((g) => g.group)).toEqual(['ga', 'gb', 'gc']);
    expect(pages[1].list.map((g) => g.group)).toEqual(['gd']);
    expect(pages[1].endOfList).toBe(true);
    expect(await outcome(page, () => window.rt.getRealtimeGroups({ searchFor: 'size', value: 1 }))).toMatchObject({ code: 'INVALID_PARAMETER' });
  });
});

test.describe('closeRealtime and lifecycle', () => {
  test('leaves first (USER_LEFT), fires close, is safe twice and before connecting', async ({ context, server }) => {
    const alice = await connectUser(context, server, 'alice', { group: 'c1' });
    const bob = await connectUser(context, server, 'bob', { group: 'c1' });
    await waitForEvent(alice, { type: 'notice', code: 'USER_JOINED', sender: 'bob' });
    await bob.evaluate(async () => {
      await window.rt.closeRealtime();
      await window.rt.closeRealtime();
    });
    await waitForEvent(alice, { type: 'notice', code: 'USER_LEFT', sender: 'bob' });
    const bobEvents = await bob.evaluate(() => window.events.filter((e) => e.type === 'close'));
    expect(bobEvents).toEqual([{ type: 'close', message: 'WebSocket connection closed.' }]);
    expect(await bob.evaluate(() => window.rt.state)).toBe('closed');
    expect(await outcome(bob, () => window.rt.postRealtime(1, 'c1'))).toMatchObject({ code: 'NOT_CONNECTED' });
    const disconnects = await alice.evaluate(() => window.events.filter((e) => e.code === 'USER_DISCONNECTED'));
    expect(disconnects).toEqual([]);
    expect(await outcome(bob, () => new window.Realtime({ token: 'x' }).closeRealtime())).toEqual({ ok: undefined });
    // And it can connect again.
    await bob.evaluate(() => window.rt.connectRealtime((e) => window.events.push(e)));
    expect(await bob.evaluate(() => window.rt.state)).toBe('open');
  });

  test('reloading a page tells the group at once', async ({ context, server }) => {
    const alice = await connectUser(context, server, 'alice', { group: 'c2' });
    const bob = await connectUser(context, server, 'bob', { group: 'c2' });
    await waitForEvent(alice, { type: 'notice', code: 'USER_JOINED', sender: 'bob' });
    await bob.reload();
    await alice.waitForFunction(() => window.events.some((e) => e.sender === 'bob' && (e.code === 'USER_LEFT' || e.code === 'USER_DISCONNECTED')), null, { timeout: 1000 });
  });

  test('two instances on one page each have their own connection', async ({ page, server }) => {
    await page.goto(`${server.url}/blank.html`);
    const r = await page.evaluate(async () => {
      const { Realtime } = await import('/switchboard/index.js');
      const tok = (u) => async () => (await (await fetch(`/dev/token?user=${u}`)).json()).token;
      const a = new Realtime({ token: tok('ann') });
      const b = new Realtime({ token: tok('ben') });
      const ea = [], eb = [];
      const [wa, wb] = await Promise.all([a.connectRealtime((e) => ea.push(e)), b.connectRealtime((e) => eb.push(e))]);
      await a.joinRealtime({ group: 'two' });
      await b.joinRealtime({ group: 'other' });
      await a.postRealtime('to ben', 'ben');
      await b.postRealtime('in other', 'other');
      await new Promise((res) => setTimeout(res, 200));
      await a.closeRealtime();
      return { distinct: wa !== wb && a.cid !== b.cid, ea, eb, bState: b.state };
    });
    expect(r.distinct).toBe(true);
    expect(r.eb.filter((e) => e.type === 'private')).toEqual([expect.objectContaining({ message: 'to ben', sender: 'ann' })]);
    expect(r.ea.filter((e) => e.type === 'message' || e.type === 'private')).toEqual([]);
    expect(r.eb.filter((e) => e.type === 'message').map((e) => e.message)).toEqual(['in other']);
    expect(r.bState).toBe('open');
  });

  test('keep-alive pings flow, with a Web Worker ticking (not throttled in hidden tabs)', async ({ page, server }) => {
    const sent = [];
    const workers = [];
    page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));
    page.on('worker', (w) => workers.push(w));
    await page.goto(`${server.url}/blank.html`);
    await page.evaluate(async () => {
      const { Realtime } = await import('/switchboard/index.js');
      window.rt = new Realtime({ keepAlive: 300, token: async () => (await (await fetch('/dev/token?user=k')).json()).token });
      await window.rt.connectRealtime(() => {});
    });
    await expect.poll(() => sent.filter((f) => f.includes('"op":"ping"')).length, { timeout: 5000 }).toBeGreaterThan(1);
    expect(workers).toHaveLength(1);  // the keep-alive ticker; gone again after closeRealtime
    const gone = new Promise((resolve) => workers[0].once('close', resolve));
    await page.evaluate(() => window.rt.closeRealtime());
    await gone;
  });
});

test('server restart: clients reconnect with fresh tokens, rejoin, and deliver what was posted meanwhile', async ({ context }) => {
  let server = await startServer();
  const port = Number(new URL(server.url).port);
  const options = { reconnect: { initialDelay: 200, maxDelay: 1000 }, requestTimeout: 20000 };
  const alice = await connectUser(context, server, 'alice', { group: 'r1', options });
  const bob = await connectUser(context, server, 'bob', { group: 'r1', options });
  await server.stop();
  await waitForEvent(alice, { type: 'error', message: 'Skapi: WebSocket unexpected close.' });
  await waitForEvent(alice, { type: 'reconnect', message: 'Reconnecting to WebSocket server...1' });
  // Posted while the server is down: waits for the connection instead of getting lost.
  const pending = alice.evaluate(() => window.rt.postRealtime('sent while down', 'r1'));
  server = await startServer({ port });  // a new process (the dev secret is kept in .switchboard/dev-secret)
  try {
    expect(await pending).toEqual({ type: 'success', message: 'Message sent.' });
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => window.events.filter((e) => e.type === 'success').length >= 2, null, { timeout: 15000 });
      expect(await page.evaluate(() => window.rt.group)).toBe('r1');
    }
    await bob.waitForFunction(() => window.rt.state === 'open');
    await bob.evaluate(() => window.rt.postRealtime('after restart', 'r1'));
    await waitForEvent(alice, { type: 'message', message: 'after restart', sender: 'bob' });
    const users = await alice.evaluate(() => window.rt.getRealtimeUsers());
    expect(users.list.map((u) => u.user_id).sort()).toEqual(['alice', 'bob']);
  } finally {
    await server.stop();
  }
});

test('a call made while the server stays down rejects with TIMEOUT', async ({ context }) => {
  const server = await startServer();
  const alice = await connectUser(context, server, 'alice', { group: 't1', options: { requestTimeout: 1500, reconnect: { initialDelay: 200, maxDelay: 500 } } });
  await server.stop();
  await waitForEvent(alice, { type: 'reconnect' });
  expect(await outcome(alice, () => window.rt.postRealtime('lost?', 't1'))).toMatchObject({ code: 'TIMEOUT' });
});

test('a frozen server is detected as dead and replaced once it answers again', async ({ context }) => {
  const server = await startServer();
  try {
    const alice = await connectUser(context, server, 'alice', {
      group: 'd1',
      options: { keepAlive: 300, deadAfter: 1500, connectTimeout: 1000, reconnect: { initialDelay: 100, maxDelay: 400 } },
    });
    server.proc.kill('SIGSTOP');  // the socket stays open, nothing answers
    await waitForEvent(alice, { type: 'error', message: 'Skapi: WebSocket unexpected close.' }, 8000);
    await waitForEvent(alice, { type: 'reconnect' });
    server.proc.kill('SIGCONT');
    await alice.waitForFunction(() => window.events.filter((e) => e.type === 'success').length >= 2, null, { timeout: 15000 });
    await alice.waitForFunction(() => window.rt.state === 'open');
    expect(await alice.evaluate(() => window.rt.postRealtime('alive', 'd1'))).toEqual({ type: 'success', message: 'Message sent.' });
  } finally {
    server.proc.kill('SIGCONT');
    await server.stop();
  }
});

for (const [name, wake] of [
  ['the online event', () => window.dispatchEvent(new Event('online'))],
  ['the tab becoming visible', () => document.dispatchEvent(new Event('visibilitychange'))],
]) {
  test(`${name} reconnects at once instead of waiting out the backoff`, async ({ context }) => {
    let server = await startServer();
    const port = Number(new URL(server.url).port);
    const alice = await connectUser(context, server, 'alice', {
      group: 'o1',
      options: { reconnect: { initialDelay: 60000, maxDelay: 60000, jitter: false }, connectTimeout: 2000 },
    });
    await server.stop();
    await waitForEvent(alice, { type: 'error', message: 'Skapi: WebSocket unexpected close.' });
    server = await startServer({ port });
    try {
      // Without jitter the first retry is a whole minute away; the browser says the network or tab is back.
      expect(await alice.evaluate(() => document.visibilityState)).toBe('visible');
      await alice.evaluate(wake);
      await alice.waitForFunction(() => window.events.filter((e) => e.type === 'success').length >= 2, null, { timeout: 5000 });
      expect(await alice.evaluate(() => window.rt.group)).toBe('o1');
    } finally {
      await server.stop();
    }
  });
}

test('wasmUrl overrides where the wasm core is loaded from', async ({ page, server }) => {
  const wasm = [];
  page.on('request', (r) => { if (r.url().includes('.wasm')) wasm.push(new URL(r.url()).pathname + new URL(r.url()).search); });
  await page.goto(`${server.url}/blank.html`);
  const state = await page.evaluate(async () => {
    const { Realtime } = await import('/switchboard/index.js');
    const rt = new Realtime({ wasmUrl: '/switchboard/switchboard_core.wasm?from=option', token: async () => (await (await fetch('/dev/token?user=w')).json()).token });
    await rt.connectRealtime(() => {});
    return rt.state;
  });
  expect(state).toBe('open');
  expect(wasm).toEqual(['/switchboard/switchboard_core.wasm?from=option']);
});
