// The module's core e2e subset and the chat example in Firefox (Debian's firefox-esr, headless,
// driven by puppeteer-core over WebDriver BiDi): connect, join, group and private messages,
// presence notices, close on page unload, reconnect after a server restart.
// Run: node --test e2e/firefox/run.mjs   (scripts/test.sh runs it as its own stage)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import puppeteer from 'puppeteer-core';
import { startServer } from '../server.js';
import { puppeteerDriver } from '../flows/driver.js';
import { chatExampleFlow } from '../flows/chat_example_flow.js';

let browser, server, driver;

before(async () => {
  browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: process.env.FIREFOX_PATH || '/usr/bin/firefox-esr',
    protocol: 'webDriverBiDi',
    headless: true,
  });
  driver = puppeteerDriver(browser);
  server = await startServer();
});

after(async () => {
  await server?.stop();
  await browser?.close();
});

// A page on `srv` with a connected Realtime for `user` (joined to `group` if given); every
// callback event lands in window.events.
async function connectUser(srv, user, group) {
  const ui = await driver.newPage();
  await ui.goto(`${srv.url}/blank.html`);
  await ui.evaluate(async ({ user, group }) => {
    const { Realtime } = await import('/switchboard/index.js');
    window.events = [];
    window.rt = new Realtime({
      token: async () => (await (await fetch(`/dev/token?user=${user}`)).json()).token,
      reconnect: { initialDelay: 100, maxDelay: 500, jitter: false },
    });
    await window.rt.connectRealtime((e) => window.events.push(e));
    if (group) await window.rt.joinRealtime({ group });
  }, { user, group });
  return ui;
}

// Waits for an event whose fields include all of `match`; returns it.
async function waitEvent(ui, match) {
  await ui.waitFor(JSON.stringify(match), (m) =>
    window.events.some((e) => Object.entries(m).every(([k, v]) => JSON.stringify(e[k]) === JSON.stringify(v))), match);
  return ui.evaluate((m) =>
    window.events.find((e) => Object.entries(m).every(([k, v]) => JSON.stringify(e[k]) === JSON.stringify(v))), match);
}

test('connect, join, group and private messages, notices', async () => {
  const alice = await connectUser(server, 'alice', 'ff1');
  const bob = await connectUser(server, 'bob', 'ff1');
  assert.deepEqual(await alice.evaluate(() => window.events[0]), { type: 'success', message: 'Connected to WebSocket server.' });
  assert.equal(await bob.evaluate(() => window.rt.userId), 'bob');
  const joined = await waitEvent(alice, { type: 'notice', code: 'USER_JOINED', sender: 'bob' });
  assert.equal(joined.message, 'User "bob" has joined the message group.');
  await bob.evaluate(() => window.rt.postRealtime({ text: 'héllo ✓' }, 'ff1'));
  const m = await waitEvent(alice, { type: 'message', sender: 'bob' });
  assert.deepEqual(m.message, { text: 'héllo ✓' });
  assert.equal(m.sender_rid, 'ff1');
  await alice.evaluate(() => window.rt.postRealtime('just for bob', 'bob'));
  const p = await waitEvent(bob, { type: 'private', sender: 'alice' });
  assert.equal(p.message, 'just for bob');
  await bob.evaluate(() => window.rt.joinRealtime({ group: null }));
  await waitEvent(alice, { type: 'notice', code: 'USER_LEFT', sender: 'bob', message: 'User "bob" has left the message group.' });
  await alice.close();
  await bob.close();
});

test('closing the page leaves the group', async () => {
  const alice = await connectUser(server, 'alice', 'ff2');
  const bob = await connectUser(server, 'bob', 'ff2');
  await waitEvent(alice, { type: 'notice', code: 'USER_JOINED', sender: 'bob' });
  await bob.goto(`${server.url}/blank.html?away`);  // unload: pagehide sends the leave
  await waitEvent(alice, { type: 'notice', code: 'USER_LEFT', sender: 'bob' });
  await alice.close();
  await bob.close();
});

test('reconnects after a server restart and rejoins the group', async () => {
  const own = await startServer();
  const port = Number(new URL(own.url).port);
  let again;
  try {
    const alice = await connectUser(own, 'alice', 'ff3');
    await own.stop();
    await waitEvent(alice, { type: 'error', message: 'Skapi: WebSocket unexpected close.' });
    again = await startServer({ port });
    await alice.waitFor('a second success', () => window.events.filter((e) => e.type === 'success').length >= 2);
    const bob = await connectUser(again, 'bob', 'ff3');
    await bob.evaluate(() => window.rt.postRealtime('after the restart', 'ff3'));
    await waitEvent(alice, { type: 'message', message: 'after the restart', sender_rid: 'ff3' });
    await alice.close();
    await bob.close();
  } finally {
    await own.stop();
    await again?.stop();
  }
});

test('the chat example: two people, presence, group and private messages', async () => {
  await chatExampleFlow(driver, server);
});
