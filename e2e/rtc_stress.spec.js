// Issue 14: every call connects, also on a busy machine and when signals arrive late and out of
// order. 50 calls in a row between fresh pages while a worker process keeps both cores busy;
// each call must open its data channel and pass a message both ways. The second test does the
// same through a server started with the test-only --test-rtc-jitter-ms, which delays every
// rtc signal by a random 0..N ms, so candidates overtake descriptions, answers come late and
// pickups arrive after the callee's answer.
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, expect, startServer } from './server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CALLS = Number(process.env.SWITCHBOARD_RTC_STRESS_CALLS || 50);

// One call may take long on a loaded machine, but a stuck one must end (the core's connect
// bound is 20 s); the whole test is bounded by CALLS of those.
test.describe.configure({ timeout: CALLS * 25_000 + 60_000 });

// A child process that spins every core until it is stopped.
async function spinCores() {
  const child = fork(path.join(here, 'spin_cores.cjs'), [], { stdio: 'ignore' });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('error', reject);
  });
  return () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
}

// A fresh page with a connected Realtime whose callback answers every rtc:incoming at once,
// as an app would: `e.connectRTC({}, cb)`. window.log collects what each side's RTC callback saw.
async function freshPage(context, server, user) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[${user}] pageerror`, e.message));
  await page.goto(`${server.url}/blank.html`);
  await page.evaluate(async (user) => {
    const { Realtime } = await import('/switchboard/index.js');
    window.log = [];
    window.got = [];
    window.ended = [];
    const onRtc = (e) => {
      window.log.push(`${e.type}:${e.state ?? e.label ?? ''}`);
      if (e.type === 'message') window.got.push(e.data);
      if (e.type === 'connectionstatechange' && e.state === 'closed') window.ended.push(e.code);
    };
    window.onRtc = onRtc;
    const token = async () => (await (await fetch(`/dev/token?user=${encodeURIComponent(user)}`)).json()).token;
    window.rt = new Realtime({ token });
    await window.rt.connectRealtime((e) => {
      if (e.type === 'rtc:incoming')
        e.connectRTC({}, onRtc).then((r) => (window.resolved = r), (err) => (window.failed = err.code));
    });
  }, user);
  return page;
}

// Waits until the page's text-chat channel is open (or the call failed); returns what happened.
function channelOpen(page, timeout) {
  return page
    .waitForFunction(
      () => {
        if (window.failed) return `failed: ${window.failed}`;
        if (window.ended.length) return `ended: ${window.ended[0]}`;
        const ch = window.resolved && window.resolved.channels['text-chat'];
        return ch && ch.readyState === 'open' ? 'open' : false;
      },
      null,
      { timeout, polling: 50 },
    )
    .then((h) => h.jsonValue())
    .catch(async () => `stuck: ${await page.evaluate(() => window.log.join(' '))}`);
}

async function oneCall(context, server, n) {
  const [a, b] = await Promise.all([freshPage(context, server, `caller${n}`), freshPage(context, server, `callee${n}`)]);
  try {
    const cid = await b.evaluate(() => window.rt.cid);
    await a.evaluate(async (cid) => {
      const { connection } = await window.rt.connectRTC({ cid, channels: ['text-chat'] }, window.onRtc);
      connection.then((r) => (window.resolved = r), (err) => (window.failed = err.code));
    }, cid);
    // 30 s: beyond the 20 s connect bound, so a call that cannot connect shows as ended.
    const [sa, sb] = await Promise.all([channelOpen(a, 30_000), channelOpen(b, 30_000)]);
    expect({ call: n, caller: sa, callee: sb }).toEqual({ call: n, caller: 'open', callee: 'open' });
    await a.evaluate(() => window.resolved.channels['text-chat'].send('hello from the caller'));
    await b.evaluate(() => window.resolved.channels['text-chat'].send('hello from the callee'));
    await b.waitForFunction(() => window.got.includes('hello from the caller'), null, { timeout: 10_000 });
    await a.waitForFunction(() => window.got.includes('hello from the callee'), null, { timeout: 10_000 });
    await a.evaluate(() => window.resolved.hangup());
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function stress(context, server) {
  const stop = await spinCores();
  try {
    for (let n = 1; n <= CALLS; n++) await oneCall(context, server, n);
  } finally {
    stop();
  }
}

test(`${CALLS} calls in a row connect and pass a message both ways while both cores are busy`, async ({ context, server }) => {
  await stress(context, server);
});

test(`${CALLS} calls connect with every signal delayed 0..150 ms at random (reordered) on a busy machine`, async ({ context }) => {
  const server = await startServer({ args: ['--test-rtc-jitter-ms', '150'] });
  try {
    await stress(context, server);
  } finally {
    await server.stop();
  }
});
