// Skapi's own RTC example, run as a person would: the page of skapi-documentation
// realtime/rtc-example.md ("Skapi HTML Video Call Example", welcome.html), served unchanged at
// /examples/rtc/ with `skapi` swapped for a Switchboard Realtime (web/examples/rtc/service.js).
// Two users log in, see each other in the list, call with camera and microphone (Chromium's fake
// devices), chat over the default channel, and hang up, once from each side; the call view must
// be torn down on both pages each time (issue 15, item 7: the synthetic connectionstatechange
// 'closed' of Skapi's closeRTC).
import { test, expect } from './server.js';

test.describe.configure({ timeout: 90_000 });

async function login(browser, server, name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[${name}] pageerror`, e.message));
  page.on('dialog', (d) => {
    console.log(`[${name}] alert:`, d.message());
    d.dismiss().catch(() => {});
  });
  await page.goto(`${server.url}/examples/rtc/login.html`);
  await page.fill('input[name=user]', name);
  await page.click('input[type=submit]');
  await expect(page.locator('#WelcomeMessage')).toHaveText(`Welcome, ${name}!`);
  return { page, context };
}

const inCall = (page) => Promise.all([
  expect(page.locator('#el_video_call')).toBeVisible({ timeout: 20_000 }),
  expect(page.locator('#el_dl_calllist')).toBeHidden(),
]);
const torndown = (page) => Promise.all([
  expect(page.locator('#el_video_call')).toBeHidden({ timeout: 15_000 }),
  expect(page.locator('#el_dl_calllist')).toBeVisible(),
  expect(page.locator('#el_dl_calling')).not.toHaveAttribute('open', ''),
  expect(page.locator('#el_dl_incoming')).not.toHaveAttribute('open', ''),
]);

// `caller` calls `callee` from the list, the callee accepts, both chat, then `hanger` hangs up.
async function callAndHangUp(caller, callee, calleeName, hanger, text) {
  const row = caller.locator('#RealtimeParticipants tr', { hasText: calleeName });
  await row.getByRole('button', { name: 'Call' }).click();
  await expect(caller.locator('#el_dl_calling')).toContainText('Calling');
  await expect(callee.locator('#el_dl_incoming')).toContainText('Incoming call', { timeout: 15_000 });
  await callee.locator('#el_dl_incoming').getByRole('button', { name: 'Accept' }).click();
  await inCall(caller);
  await inCall(callee);
  // The remote video plays (the callee's fake camera on the caller's page and back).
  for (const p of [caller, callee])
    await p.waitForFunction(() => document.getElementById('remote').videoWidth > 0, null, { timeout: 20_000 });
  // A chat message over the default data channel, once the channel is open on the sender.
  // (rtcConnection is the example's top-level `let`: a global binding, not a window property.)
  await caller.waitForFunction("rtcConnection && rtcConnection.channels.default.readyState === 'open'", null, { timeout: 20_000 });
  await caller.fill('#el_input_rtcMessage', text);
  await caller.locator('#el_video_call input[type=submit]').click();
  await expect(callee.locator('#el_pre_rtcLog')).toContainText(new RegExp(`Data Channel:default:message\\s*"${text}"`), { timeout: 15_000 });
  await hanger.getByRole('button', { name: 'Disconnect' }).click();
  await torndown(caller);
  await torndown(callee);
}

test('Skapi\'s RTC example: two users call each other; a call hung up from either side ends on both', async ({ browser, server }) => {
  const alice = await login(browser, server, 'alice');
  const bob = await login(browser, server, 'bob');
  try {
    // Each sees the other in the list: bob through getRealtimeUsers, alice through the notice.
    await expect(alice.page.locator('#RealtimeParticipants')).toContainText('bob', { timeout: 15_000 });
    await expect(bob.page.locator('#RealtimeParticipants')).toContainText('alice', { timeout: 15_000 });
    await callAndHangUp(alice.page, bob.page, 'bob', alice.page, 'hi bob');
    await callAndHangUp(alice.page, bob.page, 'bob', bob.page, 'hi again');
    await callAndHangUp(bob.page, alice.page, 'alice', alice.page, 'hi alice');
    // A rejected call closes the caller's dialog too.
    await bob.page.locator('#RealtimeParticipants tr', { hasText: 'alice' }).getByRole('button', { name: 'Call' }).click();
    await expect(alice.page.locator('#el_dl_incoming')).toContainText('Incoming call', { timeout: 15_000 });
    await alice.page.locator('#el_dl_incoming').getByRole('button', { name: 'Reject' }).click();
    await expect(bob.page.locator('#el_dl_calling')).not.toHaveAttribute('open', '', { timeout: 15_000 });
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});
