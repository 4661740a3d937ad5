// The server API for app backends (docs/operations.md, Server API), from a backend's side (plain
// HTTP from Node) to browser pages: publishes reach them as message/private events from the
// server's identity; a wrong or missing key is refused; a disconnect closes the user's pages,
// which do not reconnect.
import { test as base, expect, startServer, connectUser, waitForEvent } from './server.js';

const KEY = 'e2e-api-key-0123456789abcdef';

const test = base.extend({
  apiServer: [
    async ({}, use) => {
      const s = await startServer({ args: ['--api-key', KEY, '--api-sender', 'backend'] });
      await use(s);
      await s.stop();
    },
    { scope: 'worker' },
  ],
});

async function api(server, path, body, key = KEY) {
  const headers = { 'content-type': 'application/json' };
  if (key !== null) headers.authorization = `apikey ${key}`;
  const res = await fetch(server.url + path, body === undefined ? { headers } : { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

test('publish to a group and to a user reaches the pages; a wrong or missing key is refused', async ({ context, apiServer }) => {
  const alice = await connectUser(context, apiServer, 'alice', { group: 'lobby' });
  const bob = await connectUser(context, apiServer, 'bob');

  for (const key of [null, 'wrong-key-0123456789abcdef', KEY.slice(0, -1)]) {
    const r = await api(apiServer, '/api/publish', { group: 'lobby', message: 'forged' }, key);
    expect(r.status).toBe(401);
    expect(r.body.code).toBe('UNAUTHORIZED');
  }
  expect((await api(apiServer, '/api/disconnect', { user: 'bob' }, 'nope')).status).toBe(401);

  expect(await api(apiServer, '/api/publish', { group: 'lobby', message: { text: 'hello', n: 1 } })).toEqual({ status: 200, body: { ok: true } });
  const m = await waitForEvent(alice, { type: 'message', message: { text: 'hello', n: 1 } });
  expect(m).toEqual({ type: 'message', message: { text: 'hello', n: 1 }, sender: 'backend', sender_cid: null, sender_rid: 'lobby', code: null });

  expect((await api(apiServer, '/api/publish', { user: 'bob', message: 'just you' })).status).toBe(200);
  const p = await waitForEvent(bob, { type: 'private', message: 'just you' });
  expect(p).toEqual({ type: 'private', message: 'just you', sender: 'backend', sender_cid: null, sender_rid: null, code: null });

  // The refused publishes delivered nothing, and the private one went to bob alone.
  expect(await alice.evaluate(() => window.events.filter((e) => e.type === 'message' || e.type === 'private').map((e) => e.message)))
    .toEqual([{ text: 'hello', n: 1 }]);

  const presence = await fetch(`${apiServer.url}/api/presence?group=lobby`, { headers: { authorization: `apikey ${KEY}` } });
  expect((await presence.json()).list.map((e) => e.user_id)).toEqual(['alice']);
});

test('disconnect closes every page of the user, and they stay closed', async ({ context, apiServer }) => {
  const carol1 = await connectUser(context, apiServer, 'carol');
  const carol2 = await connectUser(context, apiServer, 'carol');
  const dave = await connectUser(context, apiServer, 'dave', { group: 'lobby' });
  expect((await api(apiServer, '/api/disconnect', { user: 'carol' })).status).toBe(200);
  for (const page of [carol1, carol2]) {
    const e = await waitForEvent(page, { type: 'error', code: 'DISCONNECTED' });
    expect(e.message).toBe('Disconnected by the server.');
    // Closed, not reconnecting: no attempt is scheduled.
    expect(await page.evaluate(() => window.rt.state)).toBe('closed');
    expect(await page.evaluate(() => window.events.some((x) => x.type === 'reconnect'))).toBe(false);
  }
  // Others are untouched.
  expect(await dave.evaluate(() => window.rt.state)).toBe('open');
  await dave.evaluate(() => window.rt.postRealtime('still here', 'lobby'));
  await waitForEvent(dave, { type: 'message', message: 'still here' });
});
