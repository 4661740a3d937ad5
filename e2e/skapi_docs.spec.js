// Skapi's own documentation pages (broadwayinc/skapi-documentation), run against Switchboard
// with `skapi` replaced by a Realtime: each test cites the page its code is taken from.
import { test, expect, connectUser, waitForEvent, outcome, startServer } from './server.js';

// A page on the server with `skapi` = a Realtime for `user` (not connected) and window.events.
async function skapiPage(context, server, user) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[${user}] pageerror`, e.message));
  await page.goto(`${server.url}/blank.html`);
  await page.evaluate(async (user) => {
    const { Realtime } = await import('/switchboard/index.js');
    window.events = [];
    window.RealtimeCallback = (rt) => window.events.push(rt);
    window.tokenFor = async (u) => (await (await fetch(`/dev/token?user=${encodeURIComponent(u)}`)).json()).token;
    window.skapi = new Realtime({ token: () => window.tokenFor(user) });
  }, user);
  return page;
}

const settle = (p) => p.then((v) => ({ ok: v }), (e) => ({ code: e.code, message: e.message }));

test.describe('call order (item 1)', () => {
  // realtime/connecting.md: `skapi.connectRealtime(RealtimeCallback);` is not awaited; then
  // realtime/group.md: joinRealtime({ group: "HelloWorld" }), postRealtime({ msg: "Hello World!" }, "HelloWorld"),
  // getRealtimeUsers({ group: "HelloWorld" }) are called at once, as the chat example does.
  test('methods called before connectRealtime resolves wait for it; the post goes to the group being joined', async ({ context, server }) => {
    const page = await skapiPage(context, server, 'alice');
    const r = await page.evaluate(async () => {
      const settle = (p) => p.then((v) => ({ ok: v }), (e) => ({ code: e.code, message: e.message }));
      skapi.connectRealtime(RealtimeCallback);
      const joined = skapi.joinRealtime({ group: 'HelloWorld' });
      const sent = skapi.postRealtime({ msg: 'Hello World!' }, 'HelloWorld');
      const users = skapi.getRealtimeUsers({ group: 'HelloWorld' });
      return { joined: await settle(joined), sent: await settle(sent), users: await settle(users) };
    });
    expect(r.joined).toEqual({ ok: { type: 'success', message: 'Joined realtime message group: "HelloWorld".' } });
    expect(r.sent).toEqual({ ok: { type: 'success', message: 'Message sent.' } });
    expect(r.users.ok.list.map((u) => u.user_id)).toEqual(['alice']);
    await waitForEvent(page, { type: 'message', message: { msg: 'Hello World!' }, sender: 'alice', sender_rid: 'HelloWorld' });
  });
});

test.describe('presence notices (item 2)', () => {
  // realtime/chat-example.md: `rt.message.includes("message group")`, the user id pulled out
  // with /"([^"]+)"/, and the code telling joined from left/disconnected.
  test('notice texts are Skapi\'s, and the chat example\'s parsing finds the user id', async ({ context, server }) => {
    const alice = await connectUser(context, server, 'alice', { group: 'lobby' });
    const bob = await connectUser(context, server, 'bob', { group: 'lobby' });
    const parse = (page, code) =>
      page.waitForFunction((code) => {
        const rt = window.events.find((e) => e.type === 'notice' && e.code === code && e.sender === 'bob');
        if (!rt || !rt.message.includes('message group') && code !== 'USER_DISCONNECTED') return null;
        return { message: rt.message, id: rt.message.match(/"([^"]+)"/)[1] };
      }, code).then((h) => h.jsonValue());
    expect(await parse(alice, 'USER_JOINED')).toEqual({ message: 'User "bob" has joined the message group.', id: 'bob' });
    await bob.evaluate(() => window.rt.joinRealtime({ group: null }));
    expect(await parse(alice, 'USER_LEFT')).toEqual({ message: 'User "bob" has left the message group.', id: 'bob' });
    await bob.evaluate(() => window.rt.joinRealtime({ group: 'lobby' }));
    // A connection that drops while in the group: bob's socket closes under the client.
    await bob.evaluate(() => window.rt._socket().close());
    expect(await parse(alice, 'USER_DISCONNECTED')).toEqual({ message: 'User "bob" has been disconnected.', id: 'bob' });
  });
});

test.describe('HTML forms (item 3)', () => {
  // realtime/group.md and realtime/post.md, the [Form] tabs:
  // <form onsubmit="skapi.postRealtime(event, 'HelloWorld').then(u=>console.log(u))">
  test('postRealtime(event, recipient) sends the form fields and the page stays', async ({ context, server }) => {
    const alice = await connectUser(context, server, 'alice');
    const page = await skapiPage(context, server, 'bob');
    await page.evaluate(async () => {
      await skapi.connectRealtime(RealtimeCallback);
      await skapi.joinRealtime({ group: 'HelloWorld' });
      window.logged = [];
      document.body.innerHTML = `
        <form id="group" onsubmit="skapi.postRealtime(event, 'HelloWorld').then(u=>logged.push(u))">
          <input name="msg" required /><input type="submit" value="Send" />
        </form>
        <form id="private" onsubmit="skapi.postRealtime(event, 'alice').then(u=>logged.push(u))">
          <input name="msg" required /><input type="number" name="n" /><input type="checkbox" name="urgent" checked />
          <input name="tags[0]" value="a" /><input name="tags[1]" value="b" /><input type="file" name="f" />
          <select name="tone"><option>warm</option></select><textarea name="note">hi</textarea>
          <input type="submit" value="Send" />
        </form>`;
    });
    const url = page.url();
    await page.fill('#group input[name=msg]', 'Hello World!');
    await page.click('#group input[type=submit]');
    await waitForEvent(page, { type: 'message', message: { msg: 'Hello World!' }, sender_rid: 'HelloWorld' });
    await page.fill('#private input[name=msg]', 'psst');
    await page.fill('#private input[name=n]', '42');
    await page.click('#private input[type=submit]');
    const got = await waitForEvent(alice, { type: 'private', sender: 'bob' });
    expect(got.message).toEqual({ msg: 'psst', n: 42, urgent: true, tags: ['a', 'b'], tone: 'warm', note: 'hi' });
    await page.waitForFunction(() => window.logged.length === 2);
    expect(await page.evaluate(() => window.logged)).toEqual([
      { type: 'success', message: 'Message sent.' },
      { type: 'success', message: 'Message sent.' },
    ]);
    expect(page.url()).toBe(url);
  });

  // realtime/chat-example.md: <form action="#{value}" onsubmit="checkIfGroupExists(event)"> with
  // `skapi.getRealtimeGroups(event)`: the fields are the params, and the page follows the action
  // with {value} filled in once the call resolves.
  test('getRealtimeGroups(event) reads params from the form and follows its action', async ({ context, server }) => {
    await connectUser(context, server, 'carol', { group: 'Existing' });
    const page = await skapiPage(context, server, 'bob');
    await page.evaluate(() => {
      window.found = null;
      window.checkIfGroupExists = async (event) => {
        window.found = (await skapi.getRealtimeGroups(event)).list;
      };
      document.body.innerHTML = `
        <form action="#{value}" onsubmit="checkIfGroupExists(event)">
          <input name="searchFor" value="group" hidden /><input name="condition" value="=" hidden />
          <input type="text" name="value" required /><button type="submit">Create</button>
        </form>`;
    });
    await page.fill('input[name=value]', 'Existing');
    await page.click('button');
    await page.waitForFunction(() => location.hash === '#Existing');
    expect(await page.evaluate(() => window.found)).toEqual([{ group: 'Existing', number_of_users: 1 }]);
    await page.fill('input[name=value]', 'Brand new');
    await page.click('button');
    await page.waitForFunction(() => decodeURIComponent(location.hash) === '#Brand new');
    expect(await page.evaluate(() => window.found)).toEqual([]);
  });

  // realtime/group.md: joinRealtime(params) takes a form too (Skapi reads empty fields as null).
  test('joinRealtime(form element) joins the group named in the form; an empty field leaves', async ({ context, server }) => {
    const page = await skapiPage(context, server, 'bob');
    const r = await page.evaluate(async () => {
      await skapi.connectRealtime(RealtimeCallback);
      document.body.innerHTML = '<form id="f"><input name="group" value="FromForm" /></form>';
      const form = document.getElementById('f');
      const joined = await skapi.joinRealtime(form);
      const group = skapi.group;
      form.group.value = '';
      const left = await skapi.joinRealtime(form);
      return { joined, group, left, after: skapi.group };
    });
    expect(r).toEqual({
      joined: { type: 'success', message: 'Joined realtime message group: "FromForm".' },
      group: 'FromForm',
      left: { type: 'success', message: 'Left realtime message group.' },
      after: null,
    });
  });
});

test.describe('listing without a socket (item 4)', () => {
  // realtime/chat-example.md fills its group table at page load, before any connection:
  // skapi.getRealtimeGroups({ searchFor: "group", condition: ">", value: " " }); its joinGroup()
  // calls getRealtimeUsers({ group: currentGroup }) before joinRealtime.
  test('getRealtimeGroups and getRealtimeUsers work before connectRealtime, over HTTP', async ({ context, server }) => {
    await connectUser(context, server, 'carol', { group: 'Table A' });
    await connectUser(context, server, 'dave', { group: 'Table A' });
    const page = await skapiPage(context, server, 'bob');
    const r = await page.evaluate(async () => ({
      groups: await skapi.getRealtimeGroups({ searchFor: 'group', condition: '>', value: ' ' }),
      users: await skapi.getRealtimeUsers({ group: 'Table A' }),
      page1: await skapi.getRealtimeUsers({ group: 'Table A' }, { limit: 1 }),
      page2: await skapi.getRealtimeUsers({ group: 'Table A' }, { limit: 1, fetchMore: true }),
      noGroup: await skapi.getRealtimeUsers().then(() => 'resolved', (e) => e.code),
      tooMany: await skapi.getRealtimeGroups(null, { limit: 1001 }).then(() => 'resolved', (e) => e.code),
      state: skapi.state,
    }));
    expect(r.groups.list).toContainEqual({ group: 'Table A', number_of_users: 2 });
    expect(r.users.list.map((u) => u.user_id)).toEqual(['carol', 'dave']);
    expect(r.users.list[0].cid).toMatch(/^cid:/);
    expect(r.page1.list.map((u) => u.user_id)).toEqual(['carol']);
    expect(r.page2.list.map((u) => u.user_id)).toEqual(['dave']);
    expect(r.page2.startKeyHistory).toHaveLength(1);
    expect(r.noGroup).toBe('INVALID_PARAMETER');
    expect(r.tooMany).toBe('INVALID_PARAMETER');
    expect(r.state).toBe('idle');
  });

  test('a page on another origin lists over HTTP too (CORS for the origins the socket accepts)', async ({ context, server, request }) => {
    const other = await startServer();
    try {
      await connectUser(context, other, 'carol', { group: 'Elsewhere' });
      const token = (await (await request.get(`${other.url}/dev/token?user=bob`)).json()).token;
      const page = await skapiPage(context, server, 'bob');
      const list = await page.evaluate(async ({ url, token }) => {
        const rt = new skapi.constructor({ url, token });
        return (await rt.getRealtimeGroups()).list;
      }, { url: other.url.replace(/^http/, 'ws') + '/realtime', token });
      expect(list).toEqual([{ group: 'Elsewhere', number_of_users: 1 }]);
    } finally {
      await other.stop();
    }
  });

  test('the HTTP endpoints refuse a missing or bad token', async ({ request, server }) => {
    const res = await request.post(`${server.url}/realtime/groups`, { data: {} });
    expect(res.status()).toBe(401);
    expect((await res.json()).code).toBe('UNAUTHORIZED');
    const bad = await request.post(`${server.url}/realtime/users`, { data: { group: 'x' }, headers: { authorization: 'Bearer not.a.jwt' } });
    expect(bad.status()).toBe(401);
  });
});

test.describe('own identity (item 5)', () => {
  // realtime/chat-example.md compares `rt.sender === skapi.user.user_id` to tell its own messages apart.
  test('the authenticated user id is known after connect', async ({ context, server }) => {
    const page = await skapiPage(context, server, 'alice');
    const r = await page.evaluate(async () => {
      const before = skapi.userId;
      await skapi.connectRealtime(RealtimeCallback);
      await skapi.joinRealtime({ group: 'me' });
      await skapi.postRealtime({ chatmsg: 'mine' }, 'me');
      return { before, after: skapi.userId };
    });
    expect(r).toEqual({ before: null, after: 'alice' });
    const ev = await waitForEvent(page, { type: 'message', message: { chatmsg: 'mine' } });
    expect(ev.sender).toBe(r.after);
  });
});

test.describe('event fields (item 6)', () => {
  // realtime/group.md shows a group message with "code": null; realtime/post.md a private one
  // with "sender_rid": null, "code": null.
  test('fields that do not apply are null, as in the documented events', async ({ context, server }) => {
    const alice = await connectUser(context, server, 'alice', { group: 'HelloWorld' });
    const bob = await connectUser(context, server, 'bob', { group: 'HelloWorld' });
    await bob.evaluate(() => window.rt.postRealtime({ msg: 'Hello World!' }, 'HelloWorld'));
    const m = await waitForEvent(alice, { type: 'message', sender: 'bob' });
    expect(m).toMatchObject({ message: { msg: 'Hello World!' }, sender_rid: 'HelloWorld', code: null });
    expect(m.sender_cid).toMatch(/^cid:/);
    // From a user in no group (Switchboard puts the sender's group, if any, in sender_rid).
    const carol = await connectUser(context, server, 'carol');
    await carol.evaluate(() => window.rt.postRealtime({ msg: 'Hello World!' }, 'alice'));
    const p = await waitForEvent(alice, { type: 'private', sender: 'carol' });
    expect(p).toMatchObject({ message: { msg: 'Hello World!' }, sender_rid: null, code: null });
    const n = await waitForEvent(alice, { type: 'notice', sender: 'bob' });
    expect(n.code).toBe('USER_JOINED');
  });

  // realtime/connecting.md: "error": "Usually websocket connection has an error and will be disconnected."
  test('a socket error is an `error` event with Skapi\'s text', async ({ context }) => {
    const own = await startServer();
    try {
      const page = await context.newPage();
      await page.goto(`${own.url}/blank.html`);
      await page.evaluate(async () => {
        const { Realtime } = await import('/switchboard/index.js');
        window.events = [];
        const token = (await (await fetch('/dev/token?user=alice')).json()).token;  // fixed: no fetch later
        window.rt = new Realtime({ token, reconnect: { initialDelay: 50, maxDelay: 200, jitter: false } });
        await window.rt.connectRealtime((e) => window.events.push(e));
      });
      await own.stop();  // the reconnect attempts now fail at the socket
      const ev = await waitForEvent(page, { type: 'error', message: 'Skapi: WebSocket connection error.' }, 15000);
      expect(ev).toEqual({ type: 'error', message: 'Skapi: WebSocket connection error.' });
    } finally {
      await own.stop();
    }
  });
});

test.describe('notification size (item 9)', () => {
  // realtime/post.md: postRealtime(message, recipient, notification?): the notification is at
  // most 3 KB, measured as Skapi does: JSON of { title, body } only.
  test('"Notification size exceeds 3kb." measures {title, body}', async ({ context, server }) => {
    const alice = await connectUser(context, server, 'alice', { group: 'n' });
    const over = await outcome(alice, () => window.rt.postRealtime('hi', 'n', { title: 't'.repeat(3000), body: 'b'.repeat(60) }));
    expect(over).toMatchObject({ code: 'INVALID_PARAMETER', message: 'Notification size exceeds 3kb.' });
    // 3061 bytes of {title, body}; the config does not count.
    const under = await outcome(alice, () =>
      window.rt.postRealtime('hi', 'n', { title: 't'.repeat(3000), body: 'b'.repeat(40), config: { always: true } }),
    );
    expect(under).toEqual({ ok: { type: 'success', message: 'Message sent.' } });
  });
});
