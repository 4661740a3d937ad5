// WebRTC calls between pages through a real server, in Chromium with its fake camera: data
// channels, video, reject, hang-up, page close, two calls at once, renegotiation.
import { test, expect, connectUser, demoLogin } from './server.js';

// WebRTC set-up and video decoding are slow on a loaded 2-core machine.
test.describe.configure({ timeout: 60_000 });

// Page-side helpers: every RTC event is logged as plain data in window.rtcLog; each side's call
// is kept in window.calls[name].
function installHelpers(page) {
  return page.evaluate(() => {
    window.rtcLog = [];
    window.calls = {};
    window.logRtc = (who) => (e) =>
      window.rtcLog.push({
        who,
        type: e.type,
        channel: e.channel,
        data: typeof e.data === 'string' ? e.data : undefined,
        state: e.state,
        kind: e.track ? e.track.kind : undefined,
        code: e.code,
      });
    window.incoming = () => window.events.filter((e) => e.type === 'rtc:incoming');
  });
}

async function setup(context, server, ...names) {
  const pages = [];
  for (const n of names) {
    const p = await connectUser(context, server, n);
    await installHelpers(p);
    pages.push(p);
  }
  return pages;
}

const cidOf = (page) => page.evaluate(() => window.rt.cid);

// Caller: starts a call to `cid`; the outcome lands in window.calls[name].
function call(page, name, cid, params = {}) {
  return page.evaluate(
    async ({ name, cid, params }) => {
      const c = (window.calls[name] = { outcome: null });
      const { hangup, connection } = await window.rt.connectRTC({ cid, ...params }, window.logRtc(name));
      c.hangup = hangup;
      connection.then(
        (r) => {
          c.resolved = r;
          c.outcome = 'connected';
        },
        (e) => {
          c.outcome = e.code;
          c.error = e.message;
        },
      );
    },
    { name, cid, params },
  );
}

// Callee: waits for the call from `fromCid` and answers it (or rejects it with hangup()).
async function answer(page, name, fromCid, params = {}, { reject = false } = {}) {
  await page.waitForFunction((cid) => window.incoming().some((e) => e.sender_cid === cid), fromCid, { timeout: 10_000 });
  return page.evaluate(
    async ({ name, fromCid, params, reject }) => {
      const inc = window.incoming().filter((e) => e.sender_cid === fromCid).pop();
      const c = (window.calls[name] = { outcome: null });
      if (reject) return inc.hangup();
      c.resolved = await inc.connectRTC(params, window.logRtc(name));
      c.outcome = 'connected';
    },
    { name, fromCid, params, reject },
  );
}

function outcome(page, name) {
  return page.waitForFunction((n) => window.calls[n] && window.calls[n].outcome, name, { timeout: 15_000 }).then((h) => h.jsonValue());
}

function channelOpen(page, name, protocol) {
  return page.waitForFunction(
    ({ n, p }) => window.calls[n] && window.calls[n].resolved && window.calls[n].resolved.channels[p] && window.calls[n].resolved.channels[p].readyState === 'open',
    { n: name, p: protocol },
    { timeout: 15_000 },
  );
}

function send(page, name, protocol, text) {
  return page.evaluate(({ n, p, t }) => window.calls[n].resolved.channels[p].send(t), { n: name, p: protocol, t: text });
}

function received(page, who, text) {
  return page.waitForFunction(
    ({ who, text }) => window.rtcLog.some((e) => e.who === who && e.type === 'message' && e.data === text),
    { who, text },
    { timeout: 10_000 },
  );
}

function rtcClosed(page, fromCid, timeout = 5000) {
  return page
    .waitForFunction((cid) => window.events.find((e) => e.type === 'rtc:closed' && e.sender_cid === cid), fromCid, { timeout })
    .then((h) => h.evaluate((e) => ({ type: e.type, sender: e.sender, sender_cid: e.sender_cid, code: e.code })));
}

test('a text-chat call exchanges messages both ways', async ({ context, server }) => {
  const [alice, bob] = await setup(context, server, 'alice', 'bob');
  const [aliceCid, bobCid] = [await cidOf(alice), await cidOf(bob)];
  await call(alice, 'a', bobCid, { channels: ['text-chat'] });
  await bob.waitForFunction(() => window.incoming().length === 1);
  const inc = await bob.evaluate(() => {
    const e = window.incoming()[0];
    return { sender: e.sender, sender_cid: e.sender_cid, media: e.media, fns: [typeof e.connectRTC, typeof e.hangup] };
  });
  expect(inc).toEqual({ sender: 'alice', sender_cid: aliceCid, media: { audio: false, video: false }, fns: ['function', 'function'] });
  await answer(bob, 'b', aliceCid);
  expect(await outcome(alice, 'a')).toBe('connected');

  await channelOpen(alice, 'a', 'text-chat');
  await channelOpen(bob, 'b', 'text-chat');
  for (const [page, n] of [[alice, 'a'], [bob, 'b']]) {
    const ch = await page.evaluate((n) => {
      const r = window.calls[n].resolved;
      const c = r.channels['text-chat'];
      return {
        names: Object.keys(r.channels),
        label: c.label,
        protocol: c.protocol,
        ordered: c.ordered,
        maxRetransmits: c.maxRetransmits,
        pc: r.target instanceof RTCPeerConnection,
        hangup: typeof r.hangup,
      };
    }, n);
    expect(ch).toEqual({ names: ['text-chat'], label: 'text-chat', protocol: 'text-chat', ordered: true, maxRetransmits: 10, pc: true, hangup: 'function' });
  }
  await send(alice, 'a', 'text-chat', 'hello bob');
  await received(bob, 'b', 'hello bob');
  await send(bob, 'b', 'text-chat', 'hi alice');
  await received(alice, 'a', 'hi alice');
  const events = await alice.evaluate(() => [...new Set(window.rtcLog.map((e) => e.type))]);
  for (const t of ['negotiationneeded', 'signalingstatechange', 'icegatheringstatechange', 'icecandidate', 'connectionstatechange', 'iceconnectionstatechange', 'open', 'message'])
    expect(events).toContain(t);
  expect(await alice.evaluate(() => window.rtcLog.some((e) => e.type === 'connectionstatechange' && e.state === 'connected'))).toBe(true);
});

test('the default channel and presets have the spec settings; duplicates are refused', async ({ context, server }) => {
  const [alice, bob] = await setup(context, server, 'alice', 'bob');
  const [aliceCid, bobCid] = [await cidOf(alice), await cidOf(bob)];
  const dup = await alice.evaluate((cid) => window.rt.connectRTC({ cid, channels: ['gaming', { protocol: 'gaming' }] }).catch((e) => e.code), bobCid);
  expect(dup).toBe('INVALID_PARAMETER');
  const badPreset = await alice.evaluate((cid) => window.rt.connectRTC({ cid, channels: ['nope'] }).catch((e) => e.code), bobCid);
  expect(badPreset).toBe('INVALID_PARAMETER');
  expect(await bob.evaluate(() => window.incoming().length)).toBe(0);

  await call(alice, 'a', bobCid, { channels: [undefined, 'file-transfer', 'gaming', 'video-chat', 'voice-chat'].filter(Boolean) });
  await answer(bob, 'b', aliceCid);
  expect(await outcome(alice, 'a')).toBe('connected');
  const settings = (page, n) =>
    page.evaluate((n) => {
      const out = {};
      for (const [k, c] of Object.entries(window.calls[n].resolved.channels))
        out[k] = [c.label, c.ordered, c.maxRetransmits, c.maxPacketLifeTime];
      return out;
    }, n);
  const expected = {
    'file-transfer': ['file-transfer', false, null, 3000],
    gaming: ['gaming', false, null, 100],
    'video-chat': ['video-chat', true, 10, null],
    'voice-chat': ['voice-chat', true, 10, null],
  };
  expect(await settings(alice, 'a')).toEqual(expected);
  expect(await settings(bob, 'b')).toEqual(expected);

  await call(alice, 'a2', bobCid);
  await bob.waitForFunction(() => window.incoming().length === 2);
  await bob.evaluate(async () => {
    window.calls.b2 = { resolved: await window.incoming()[1].connectRTC({}, window.logRtc('b2')) };
  });
  expect(await outcome(alice, 'a2')).toBe('connected');
  const def = await alice.evaluate(() => {
    const c = window.calls.a2.resolved.channels.default;
    return [Object.keys(window.calls.a2.resolved.channels), c.label, c.protocol, c.ordered, c.maxPacketLifeTime];
  });
  expect(def).toEqual([['default'], 'default', 'default', true, 10]);
  await channelOpen(bob, 'b2', 'default');
  await send(bob, 'b2', 'default', 'on the default channel');
  await received(alice, 'a2', 'on the default channel');
});

test('a video call plays the caller\'s camera in a <video> on the other side', async ({ context, server }) => {
  const [alice, bob] = await setup(context, server, 'alice', 'bob');
  const [aliceCid, bobCid] = [await cidOf(alice), await cidOf(bob)];
  await bob.evaluate(() => {
    const v = document.createElement('video');
    v.id = 'remote';
    v.muted = true;
    v.autoplay = true;
    v.playsInline = true;
    document.body.append(v);
  });
  await call(alice, 'a', bobCid, { media: { video: true, audio: true } });
  await bob.waitForFunction(() => window.incoming().length === 1);
  expect(await bob.evaluate(() => window.incoming()[0].media)).toEqual({ audio: true, video: true });
  await bob.evaluate(async (cid) => {
    const inc = window.incoming()[0];
    const log = window.logRtc('b');
    window.calls.b = {};
    window.calls.b.resolved = await inc.connectRTC({ media: { video: false, audio: false } }, (e) => {
      log(e);
      if (e.type === 'track' && e.track.kind === 'video') {
        const v = document.getElementById('remote');
        v.srcObject = e.streams[0] || new MediaStream([e.track]);
        v.play().catch(() => {});
      }
    });
  }, aliceCid);
  expect(await outcome(alice, 'a')).toBe('connected');
  expect(await alice.evaluate(() => window.calls.a.resolved.media.getVideoTracks().length)).toBe(1);
  await bob.waitForFunction(() => window.rtcLog.some((e) => e.who === 'b' && e.type === 'track' && e.kind === 'video'), null, { timeout: 10_000 });
  await bob.waitForFunction(() => document.getElementById('remote').videoWidth > 0, null, { timeout: 10_000 });
  const t0 = await bob.evaluate(() => document.getElementById('remote').currentTime);
  await bob.waitForFunction((t0) => document.getElementById('remote').currentTime > t0 + 0.3, t0, { timeout: 10_000 });
  expect(await bob.evaluate(() => window.calls.b.resolved.remote.getTracks().map((t) => t.kind).sort())).toEqual(['audio', 'video']);
  // Hanging up stops the camera this module opened.
  await alice.evaluate(() => window.calls.a.hangup());
  await alice.waitForFunction(() => window.calls.a.resolved.media.getTracks().every((t) => t.readyState === 'ended'));
  expect(await rtcClosed(bob, aliceCid)).toEqual({ type: 'rtc:closed', sender: 'alice', sender_cid: aliceCid, code: 'RTC_HANGUP' });
});

test('adding a track during a call renegotiates without a second rtc:incoming', async ({ context, server }) => {
  const [alice, bob] = await setup(context, server, 'alice', 'bob');
  const [aliceCid, bobCid] = [await cidOf(alice), await cidOf(bob)];
  await call(alice, 'a', bobCid, { channels: ['text-chat'] });
  await answer(bob, 'b', aliceCid);
  await channelOpen(alice, 'a', 'text-chat');
  // The callee (the polite side) adds its camera; then the caller adds one too.
  await bob.evaluate(async () => {
    const s = await navigator.mediaDevices.getUserMedia({ video: true });
    for (const t of s.getTracks()) window.calls.b.resolved.target.addTrack(t, s);
  });
  await alice.waitForFunction(() => window.rtcLog.some((e) => e.who === 'a' && e.type === 'track' && e.kind === 'video'), null, { timeout: 10_000 });
  await alice.evaluate(async () => {
    const s = await navigator.mediaDevices.getUserMedia({ audio: true });
    for (const t of s.getTracks()) window.calls.a.resolved.target.addTrack(t, s);
  });
  await bob.waitForFunction(() => window.rtcLog.some((e) => e.who === 'b' && e.type === 'track' && e.kind === 'audio'), null, { timeout: 10_000 });
  expect(await bob.evaluate(() => window.incoming().length)).toBe(1);
  expect(await alice.evaluate(() => window.incoming().length)).toBe(0);
  await send(bob, 'b', 'text-chat', 'still here');
  await received(alice, 'a', 'still here');
});

test('a rejected call rejects `connection`; unanswered and offline calls do too', async ({ context, server }) => {
  const [alice, bob] = await setup(context, server, 'alice', 'bob');
  const [aliceCid, bobCid] = [await cidOf(alice), await cidOf(bob)];
  await call(alice, 'a', bobCid);
  await answer(bob, 'b', aliceCid, {}, { reject: true });
  expect(await outcome(alice, 'a')).toBe('RTC_REJECTED');
  expect(await alice.evaluate(() => window.events.filter((e) => e.type === 'rtc:closed').length)).toBe(0);

  await call(alice, 'timeout', bobCid, { timeout: 1000 });
  expect(await outcome(alice, 'timeout')).toBe('TIMEOUT');
  // bob's ringing call goes away with it.
  expect((await rtcClosed(bob, aliceCid)).code).toBe('RTC_HANGUP');

  await call(alice, 'offline', 'cid:0000000000000000');
  expect(await outcome(alice, 'offline')).toBe('RECIPIENT_OFFLINE');

  // Hanging up before the callee answers.
  await call(alice, 'cancel', bobCid);
  await bob.waitForFunction(() => window.incoming().length === 3);
  await alice.evaluate(() => window.calls.cancel.hangup());
  expect(await outcome(alice, 'cancel')).toBe('RTC_CANCELLED');
  await bob.waitForFunction(() => window.events.filter((e) => e.type === 'rtc:closed').length === 2);
  const late = await bob.evaluate(() => window.incoming()[2].connectRTC({}).then(() => 'answered', (e) => e.code));
  expect(late).toBe('RTC_HANGUP');
});

test('hanging up gives the other side rtc:closed', async ({ context, server }) => {
  const [alice, bob] = await setup(context, server, 'alice', 'bob');
  const [aliceCid, bobCid] = [await cidOf(alice), await cidOf(bob)];
  await call(alice, 'a', bobCid, { channels: ['text-chat'] });
  await answer(bob, 'b', aliceCid);
  await channelOpen(bob, 'b', 'text-chat');
  // The callee hangs up through closeRTC({cid}).
  await bob.evaluate((cid) => window.rt.closeRTC({ cid }), aliceCid);
  expect(await rtcClosed(alice, bobCid)).toEqual({ type: 'rtc:closed', sender: 'bob', sender_cid: bobCid, code: 'RTC_HANGUP' });
  expect(await bob.evaluate(() => window.events.filter((e) => e.type === 'rtc:closed').length)).toBe(0);
  expect(await alice.evaluate(() => window.calls.a.resolved.target.signalingState)).toBe('closed');
  expect(await bob.evaluate(() => window.calls.b.resolved.target.signalingState)).toBe('closed');
  // As Skapi's closeRTC: a synthetic connectionstatechange 'closed' on both sides (issue 15, 7).
  const closed = (page, who) =>
    page.waitForFunction((who) => window.rtcLog.find((e) => e.who === who && e.type === 'connectionstatechange' && e.state === 'closed'), who)
      .then((h) => h.jsonValue());
  expect(await closed(alice, 'a')).toMatchObject({ code: 'RTC_HANGUP' });
  expect(await closed(bob, 'b')).toMatchObject({ code: 'RTC_HANGUP' });
});

test('closing the page ends the call for the other side', async ({ context, server }) => {
  const [alice, bob] = await setup(context, server, 'alice', 'bob');
  const [aliceCid, bobCid] = [await cidOf(alice), await cidOf(bob)];
  await call(alice, 'a', bobCid, { channels: ['text-chat'] });
  await answer(bob, 'b', aliceCid);
  await channelOpen(alice, 'a', 'text-chat');
  await bob.close();
  expect(await rtcClosed(alice, bobCid, 3000)).toMatchObject({ sender: 'bob', sender_cid: bobCid });
});

test('two calls at once from one user; one hung up, the other keeps working', async ({ context, server }) => {
  const [alice, bob, carol] = await setup(context, server, 'alice', 'bob', 'carol');
  const [aliceCid, bobCid, carolCid] = [await cidOf(alice), await cidOf(bob), await cidOf(carol)];
  await call(alice, 'toBob', bobCid, { channels: ['text-chat'] });
  await call(alice, 'toCarol', carolCid, { channels: ['text-chat'] });
  await answer(bob, 'b', aliceCid);
  await answer(carol, 'c', aliceCid);
  expect(await outcome(alice, 'toBob')).toBe('connected');
  expect(await outcome(alice, 'toCarol')).toBe('connected');
  await channelOpen(alice, 'toBob', 'text-chat');
  await channelOpen(alice, 'toCarol', 'text-chat');
  await send(alice, 'toBob', 'text-chat', 'to bob');
  await send(alice, 'toCarol', 'text-chat', 'to carol');
  await received(bob, 'b', 'to bob');
  await received(carol, 'c', 'to carol');

  await alice.evaluate((cid) => window.rt.closeRTC({ cid }), bobCid);
  expect(await rtcClosed(bob, aliceCid)).toMatchObject({ sender: 'alice', code: 'RTC_HANGUP' });
  expect(await alice.evaluate(() => window.calls.toBob.resolved.target.signalingState)).toBe('closed');
  expect(await alice.evaluate(() => window.calls.toCarol.resolved.target.connectionState)).toBe('connected');
  await send(alice, 'toCarol', 'text-chat', 'still there?');
  await received(carol, 'c', 'still there?');
  await send(carol, 'c', 'text-chat', 'yes');
  await received(alice, 'toCarol', 'yes');
  expect(await carol.evaluate(() => window.events.filter((e) => e.type === 'rtc:closed').length)).toBe(0);

  // close_all, then closeRealtime with nothing left: carol hears of it once.
  await alice.evaluate(() => window.rt.closeRTC({ close_all: true }));
  await rtcClosed(carol, aliceCid);
});

test('two connections of one user can call each other; closeRealtime hangs up', async ({ context, server }) => {
  const [a1, a2] = await setup(context, server, 'alice', 'alice');
  const [cid1, cid2] = [await cidOf(a1), await cidOf(a2)];
  await call(a1, 'x', cid2, { channels: ['text-chat'] });
  await answer(a2, 'y', cid1);
  await channelOpen(a1, 'x', 'text-chat');
  await send(a2, 'y', 'text-chat', 'me to me');
  await received(a1, 'x', 'me to me');
  await a1.evaluate(() => window.rt.closeRealtime());
  expect(await rtcClosed(a2, cid1)).toMatchObject({ sender: 'alice', code: 'RTC_HANGUP' });
});

test('media is refused with NOT_SUPPORTED on a page that is neither https: nor localhost', async ({ browser, context, server }) => {
  const [bob] = await setup(context, server, 'bob');
  const bobCid = await cidOf(bob);
  // An http: origin that is not localhost: the same server under another name (its own browser,
  // so the name can resolve to loopback).
  const port = new URL(server.url).port;
  const other = await browser.browserType().launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--host-resolver-rules=MAP insecure.test 127.0.0.1'],
  });
  try {
    const page = await other.newPage();
    await page.goto(`http://insecure.test:${port}/blank.html`);
    const result = await page.evaluate(async (bobCid) => {
      const { Realtime } = await import('/switchboard/index.js');
      const rt = new Realtime({ token: async () => (await (await fetch('/dev/token?user=eve')).json()).token });
      await rt.connectRealtime(() => {});
      const media = await rt.connectRTC({ cid: bobCid, media: { video: true } }).then(() => 'ok', (e) => [e.code, e.message]);
      const stream = await rt.connectRTC({ cid: bobCid, media: new MediaStream() }).then(() => 'ok', (e) => e.code);
      const none = await rt.connectRTC({ cid: bobCid, media: { video: false, audio: false } }).then(() => 'ok', (e) => e.code);
      return { secure: window.isSecureContext, media, stream, none };
    }, bobCid);
    expect(result.secure).toBe(false);
    expect(result.media[0]).toBe('NOT_SUPPORTED');
    expect(result.media[1]).toMatch(/https|localhost/);
    expect(result.stream).toBe('NOT_SUPPORTED');
    expect(result.none).toBe('ok'); // data-only calls need no secure page
    await bob.waitForFunction(() => window.incoming().length === 1);
  } finally {
    await other.close();
  }
});

test('the demo page: Call, Accept, two videos playing, Hang up', async ({ browser, server }) => {
  const { page: alice, context: ctxA } = await demoLogin(browser, server, 'alice', 'callroom');
  const { page: bob, context: ctxB } = await demoLogin(browser, server, 'bob', 'callroom');
  const callBob = alice.locator('#people li', { hasText: 'bob' }).getByRole('button', { name: 'Call' });
  await expect(callBob).toBeVisible();

  // A rejected call first.
  await callBob.click();
  await expect(bob.locator('#incoming')).toBeVisible();
  await expect(bob.locator('#incoming-text')).toHaveText('alice is calling (video)');
  await bob.click('#reject');
  await expect(alice.locator('#log li.error').last()).toHaveText('bob declined the call.');
  await expect(alice.locator('#call')).toBeHidden();

  await callBob.click();
  await expect(alice.locator('#call-status')).toHaveText('Calling bob…');
  await bob.click('#accept');
  for (const [page, other] of [[alice, 'bob'], [bob, 'alice']]) {
    await expect(page.locator('#call-status')).toHaveText(`In a call with ${other}`);
    await page.waitForFunction(() => document.getElementById('remote-video').videoWidth > 0, null, { timeout: 10_000 });
    await page.waitForFunction(() => document.getElementById('local-video').videoWidth > 0, null, { timeout: 10_000 });
    const t0 = await page.evaluate(() => document.getElementById('remote-video').currentTime);
    await page.waitForFunction((t0) => document.getElementById('remote-video').currentTime > t0, t0, { timeout: 10_000 });
  }
  await bob.click('#hangup');
  await expect(bob.locator('#call')).toBeHidden();
  await expect(alice.locator('#call')).toBeHidden();
  await expect(alice.locator('#log li.notice').last()).toHaveText('bob hung up.');
  await ctxA.close();
  await ctxB.close();
});
