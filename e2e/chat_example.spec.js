// The chat example (web/examples/chat/), written the way Skapi's is (skapi-documentation
// realtime/chat-example.md), used by two people in two browser contexts: sign in, see the group
// table, open a group through the form, chat, see each other arrive and leave, send a private
// message. Everything goes through the page's own buttons and fields.
import { test, expect } from './server.js';

export async function signIn(browser, server, name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[${name}] pageerror`, e.message));
  await page.goto(`${server.url}/examples/chat/`);
  await page.fill('#signin input[name=user]', name);
  await page.click('#signin button');
  await expect(page.locator('#welcome')).toHaveText(`Welcome, ${name}!`);
  return { context, page };
}

export async function chatExample(browser, server) {
  const alice = await signIn(browser, server, 'alice');
  // The group table is filled at load, before the socket is up (over HTTP).
  await expect(alice.page.locator('#groups')).toContainText('No groups yet.');
  // The form's SubmitEvent is the search; the page then follows action="#{value}".
  await alice.page.fill('#groupList input[name=value]', 'Lobby');
  await alice.page.click('#groupList button');
  await expect(alice.page).toHaveURL(/#Lobby$/);
  await expect(alice.page.locator('#groupName')).toHaveText('"Lobby"');
  await expect(alice.page.locator('#participants')).toContainText('alice (you)');

  const bob = await signIn(browser, server, 'bob');
  await expect(bob.page.locator('#groups')).toContainText('Lobby');
  await expect(bob.page.locator('#groups tr', { hasText: 'Lobby' })).toContainText('1');
  await bob.page.click('#groups a:text("Lobby")');
  await expect(bob.page.locator('#participants')).toContainText('alice');
  // Presence: alice's list learns bob from the notice text.
  await expect(alice.page.locator('#messages')).toContainText('User "bob" has joined the message group.');
  await expect(alice.page.locator('#participants')).toContainText('bob');

  // A group message, sent with the form; own messages are told apart by sender.
  await bob.page.fill('#send input[name=chatmsg]', 'hello from bob');
  await bob.page.click('#send button');
  await expect(alice.page.locator('#messages .msg:not(.mine)')).toContainText('hello from bob');
  await expect(bob.page.locator('#messages .msg.mine')).toContainText('hello from bob');
  await expect(bob.page.locator('#send input[name=chatmsg]')).toHaveValue('');
  const url = bob.page.url();

  // A private message: click the name, write, send.
  await alice.page.click('#participants button:text("bob")');
  await alice.page.fill('#privateTo input[name=msg]', 'psst, bob');
  await alice.page.click('#privateTo button[type=submit]');
  await expect(bob.page.locator('#privateFrom')).toBeVisible();
  await expect(bob.page.locator('#privateFromName')).toHaveText('alice');
  await expect(bob.page.locator('#privateText')).toHaveText('psst, bob');
  await expect(alice.page.locator('#privateTo')).toBeHidden();
  expect(bob.page.url()).toBe(url);  // no form navigated anywhere

  // bob goes back to the group list: alice sees him leave.
  await bob.page.click('#privateFrom button');
  await bob.page.click('text=Back to the group list');
  await expect(alice.page.locator('#messages')).toContainText('User "bob" has left the message group.');
  await expect(alice.page.locator('#participants')).not.toContainText('bob');
  // and closes the tab while back in the group: alice sees that too.
  await bob.page.click('#groups a:text("Lobby")');
  await expect(alice.page.locator('#participants')).toContainText('bob');
  await bob.context.close();
  await expect(alice.page.locator('#participants')).not.toContainText('bob');
  await alice.context.close();
}

test('two people chat in the example page: group table, presence, group and private messages', async ({ browser, server }) => {
  await chatExample(browser, server);
});
