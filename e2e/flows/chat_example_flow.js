// Two people use the chat example (web/examples/chat/, written the way Skapi's chat example is:
// skapi-documentation realtime/chat-example.md) through its own fields and buttons: sign in, see
// the group table, open a group through the form, chat, see each other arrive and leave, send a
// private message. Run by e2e/chat_example.spec.js (Chromium) and e2e/firefox/run.mjs (Firefox).
import { hasText } from './driver.js';

async function signIn(driver, server, name) {
  const ui = await driver.newPage();
  await ui.goto(`${server.url}/examples/chat/`);
  await ui.fill('#signin input[name=user]', name);
  await ui.click('#signin button');
  await hasText(ui, '#welcome', `Welcome, ${name}!`);
  return ui;
}

export async function chatExampleFlow(driver, server) {
  const alice = await signIn(driver, server, 'alice');
  // The group table is filled at load (over the socket that is coming up; over HTTP without one).
  await hasText(alice, '#groups', 'No groups yet.');
  // The form's SubmitEvent is the search; the page then follows action="#{value}".
  await alice.fill('#groupList input[name=value]', 'Lobby');
  await alice.click('#groupList button');
  await alice.waitFor('the #Lobby hash', () => location.hash === '#Lobby');
  await hasText(alice, '#groupName', '"Lobby"');
  await hasText(alice, '#participants', 'alice (you)');

  const bob = await signIn(driver, server, 'bob');
  await hasText(bob, '#groups', 'Lobby');
  await bob.click('#groups a[href="#Lobby"]');
  await hasText(bob, '#participants', 'alice');
  // Presence: alice's list learns bob from the notice text.
  await hasText(alice, '#messages', 'User "bob" has joined the message group.');
  await hasText(alice, '#participants', 'bob');

  // A group message, sent with the form; own messages are told apart by sender.
  await bob.fill('#send input[name=chatmsg]', 'hello from bob');
  await bob.click('#send button');
  await hasText(alice, '#messages .msg:not(.mine)', 'hello from bob');
  await hasText(bob, '#messages .msg.mine', 'hello from bob');
  await bob.waitFor('the form reset', () => document.querySelector('#send input').value === '');
  const url = bob.url();

  // A private message: click the name, write, send.
  await alice.click('#participants button[data-user="bob"]');
  await alice.fill('#privateTo input[name=msg]', 'psst, bob');
  await alice.click('#privateTo button[type=submit]');
  await bob.waitFor('the private message dialog', () => document.getElementById('privateFrom').open);
  await hasText(bob, '#privateFromName', 'alice');
  await hasText(bob, '#privateText', 'psst, bob');
  await alice.waitFor('the sender dialog to close', () => !document.getElementById('privateTo').open);
  if (bob.url() !== url) throw new Error(`a form navigated: ${bob.url()}`);

  // bob goes back to the group list: alice sees him leave.
  await bob.click('#privateFrom button');
  await bob.click('#back');
  await hasText(alice, '#messages', 'User "bob" has left the message group.');
  await hasText(alice, '#participants', 'bob', true);
  // ... comes back, and closes the tab: alice sees that too.
  await bob.click('#groups a[href="#Lobby"]');
  await hasText(alice, '#participants', 'bob');
  await bob.close();
  await hasText(alice, '#participants', 'bob', true);
  await alice.close();
}
