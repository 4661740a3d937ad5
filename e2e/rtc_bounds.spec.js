// Calls that cannot connect end on both sides with a typed code (issue 14), and the ICE servers
// the server hands out at connect are used when connectRTC is given none (issue 15, item 8).
import { test, expect, startServer, connectUser } from './server.js';

test.describe.configure({ timeout: 60_000 });

// A page whose Realtime answers every call at once; window.log gets each side's RTC events.
async function page(context, server, user, options = {}) {
  const p = await connectUser(context, server, user, { options });
  await p.evaluate(() => {
    window.log = [];
    window.onRtc = (e) => window.log.push({ type: e.type, state: e.state, code: e.code, iceState: e.iceState, signalingState: e.signalingState });
    const push = window.events.push.bind(window.events);
    window.events.push = (e) => {
      if (e.type === 'rtc:incoming') e.connectRTC({ ice: window.calleeIce }, window.onRtc).then((r) => (window.resolved = r), () => {});
      return push(e);
    };
  });
  return p;
}

test('a call that does not connect within rtcConnectTimeout ends with RTC_CONNECT_TIMEOUT on both sides', async ({ context, server }) => {
  const options = { rtcConnectTimeout: 3000 };
  const alice = await page(context, server, 'alice', options);
  const bob = await page(context, server, 'bob', options);
  const bobCid = await bob.evaluate(() => window.rt.cid);
  // Relay-only without a relay: no candidate is ever gathered, so ICE never connects.
  const noPath = { iceServers: [], iceTransportPolicy: 'relay' };
  await bob.evaluate((ice) => (window.calleeIce = ice), noPath);
  await alice.evaluate(
    async ({ cid, ice }) => {
      const { connection } = await window.rt.connectRTC({ cid, ice, channels: ['text-chat'] }, window.onRtc);
      window.resolved = await connection;
    },
    { cid: bobCid, ice: noPath },
  );
  const closed = (p) =>
    p.waitForFunction(() => window.log.find((e) => e.type === 'connectionstatechange' && e.state === 'closed'), null, { timeout: 20_000 })
      .then((h) => h.jsonValue());
  expect(await closed(alice)).toMatchObject({ code: 'RTC_CONNECT_TIMEOUT', signalingState: 'closed' });
  expect(await closed(bob)).toMatchObject({ code: 'RTC_CONNECT_TIMEOUT' });
  // (Both bounds run from about the same moment, so either side may end the call first; the
  // other then hears it in the hangup, which carries the code: tests/rtc_signaling_test.cpp.)
  // The peer connections are closed, not left connecting.
  for (const p of [alice, bob]) expect(await p.evaluate(() => window.resolved.target.connectionState)).toBe('closed');
});

// Issue 15, item 8. Skapi's realtime/webRTC.md calls connectRTC({cid, ...}) without ICE servers;
// such calls work across networks because skapi-js (src/methods/webrtc.ts) defaults `ice` to
// 'stun:stun.skapi.com:3468'. Ours fall back to what the server hands out (--ice-servers).
test('--ice-servers: the server hands clients their ICE servers, used when connectRTC gives none', async ({ context }) => {
  const iceArg = '[{"urls":"stun:stun.example.test:3478"},{"urls":["turn:turn.example.test:3478?transport=udp"],"username":"u","credential":"p"}]';
  const server = await startServer({ args: ['--ice-servers', iceArg] });
  try {
    const alice = await page(context, server, 'alice');
    const bob = await page(context, server, 'bob');
    const bobCid = await bob.evaluate(() => window.rt.cid);
    const config = await alice.evaluate(async (cid) => {
      const { hangup, connection } = await window.rt.connectRTC({ cid }, window.onRtc);
      window.resolved = await connection;
      const own = await window.rt.connectRTC({ cid, ice: 'stun:own.example.test:3478' }, null);
      await own.hangup();
      hangup();
      return window.resolved.target.getConfiguration().iceServers;
    }, bobCid);
    expect(config).toMatchObject([
      { urls: ['stun:stun.example.test:3478'] },
      { urls: ['turn:turn.example.test:3478?transport=udp'], username: 'u', credential: 'p' },
    ]);
    expect(config.length).toBe(2);
    // The callee too.
    await bob.waitForFunction(() => window.resolved);
    expect(await bob.evaluate(() => window.resolved.target.getConfiguration().iceServers.map((s) => s.urls[0]))).toEqual([
      'stun:stun.example.test:3478',
      'turn:turn.example.test:3478?transport=udp',
    ]);
  } finally {
    await server.stop();
  }
});

test('--ice-servers refuses what is not a STUN/TURN list', async () => {
  for (const bad of ['http://x', '[{"urls":"stun:a","extra":1}]', '[1]', 'stun:a,']) {
    const err = await startServer({ args: ['--ice-servers', bad] }).then(
      async (s) => {
        await s.stop();
        return 'started';
      },
      (e) => e.message,
    );
    expect(err).toContain('--ice-servers:');
  }
});
