// The end-to-end slice: two browsers chat through the server, in real Chromium.
import { test, expect, connectUser, waitForEvent, demoLogin } from './server.js';

test('two users chat on the demo page', async ({ browser, server }) => {
  const { page: alice, context: ctxA } = await demoLogin(browser, server, 'alice', 'lobby');
  const { page: bob, context: ctxB } = await demoLogin(browser, server, 'bob', 'lobby');
  await expect(alice.locator('#people')).toContainText('bob');
  await expect(bob.locator('#people')).toContainText('alice');  // joined before bob: listed from getRealtimeUsers
  await expect(alice.locator('#login')).toBeHidden();
  await alice.fill('#text', 'hello from alice');
  await alice.press('#text', 'Enter');
  await expect(bob.locator('#log li.message').last()).toHaveText('alicehello from alice');
  await expect(alice.locator('#log li.message.mine').last()).toHaveText('alicehello from alice');

  await bob.fill('#text', 'hi alice, 100% here');
  await bob.click('#send button');
  await expect(alice.locator('#log li.message').last()).toHaveText('bobhi alice, 100% here');

  // A private line to alice only.
  await bob.selectOption('#to', 'alice');
  await bob.fill('#text', 'just you');
  await bob.press('#text', 'Enter');
  await expect(alice.locator('#log li.private').last()).toHaveText('bob → youjust you');
  await expect(bob.locator('#log li.private.mine').last()).toHaveText('you → alicejust you');
  await ctxA.close();
  await ctxB.close();
});

test('a group message reaches every member with the server-set sender', async ({ context, server }) => {
  const alice = await connectUser(context, server, 'alice', { group: 'g1' });
  const bob = await connectUser(context, server, 'bob', { group: 'g1' });
  const bobCid = await bob.evaluate(() => window.rt.cid);
  expect(bobCid).toMatch(/^cid:/);
  const result = await bob.evaluate(() => window.rt.postRealtime({ text: 'hey', n: [1, 2] }, 'g1'));
  expect(result).toEqual({ type: 'success', message: 'Message sent.' });
  for (const page of [alice, bob]) {
    const ev = await waitForEvent(page, { type: 'message', sender: 'bob' });
    expect(ev).toEqual({ type: 'message', message: { text: 'hey', n: [1, 2] }, sender: 'bob', sender_cid: bobCid, sender_rid: 'g1', code: null });
  }
});

test('a private message reaches only its recipient', async ({ context, server }) => {
  const alice = await connectUser(context, server, 'alice', { group: 'g2' });
  const bob = await connectUser(context, server, 'bob', { group: 'g2' });
  const carol = await connectUser(context, server, 'carol', { group: 'g2' });
  await alice.evaluate(() => window.rt.postRealtime('just for bob', 'bob'));
  // A group message after it: once carol has this one, the private one would have come first.
  await alice.evaluate(() => window.rt.postRealtime('marker', 'g2'));
  const got = await waitForEvent(bob, { type: 'private' });
  expect(got).toMatchObject({ type: 'private', message: 'just for bob', sender: 'alice', sender_rid: 'g2' });
  await waitForEvent(carol, { type: 'message', message: 'marker' });
  const carolPrivate = await carol.evaluate(() => window.events.filter((e) => e.type === 'private'));
  expect(carolPrivate).toEqual([]);
  const alicePrivate = await alice.evaluate(() => window.events.filter((e) => e.type === 'private'));
  expect(alicePrivate).toEqual([]);
});

test('closing a page tells the group within 2 seconds', async ({ context, server }) => {
  const alice = await connectUser(context, server, 'alice', { group: 'g3' });
  const bob = await connectUser(context, server, 'bob', { group: 'g3' });
  await waitForEvent(alice, { type: 'notice', code: 'USER_JOINED', sender: 'bob' });
  await bob.close();
  const ev = await alice.waitForFunction(
    () => window.events.find((e) => e.type === 'notice' && e.sender === 'bob' && (e.code === 'USER_LEFT' || e.code === 'USER_DISCONNECTED')),
    null,
    { timeout: 2000 },
  );
  expect((await ev.jsonValue()).sender_rid).toBe('g3');
});
