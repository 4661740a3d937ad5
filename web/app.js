// The demo chat: dev login, one room, group and private messages, presence from notices.
import { Realtime } from '/switchboard/index.js';
import { initCalls, startCall, onIncoming, onClosed, endCalls } from '/call.js';
import { notifyWhenAway } from '/notify.js';

const $ = (id) => document.getElementById(id);
let rt = null;
let me = '';
let connectedAs = '';
const people = new Set();
const away = new Set(); // left the room: private messages to them go out as push notifications
const cids = new Map(); // user -> a connection id of theirs, for the Call buttons

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status').textContent = text || state;
}

function line(cls, who, text) {
  const li = document.createElement('li');
  li.className = cls;
  if (who) {
    const w = document.createElement('span');
    w.className = 'who';
    w.textContent = who;
    li.append(w);
  }
  li.append(document.createTextNode(text));
  $('log').append(li);
  li.scrollIntoView({ block: 'end' });
}

function renderPeople() {
  const ul = $('people');
  ul.replaceChildren(...[...people].sort().map((p) => {
    const li = document.createElement('li');
    li.textContent = p === me ? `${p} (you)` : p;
    if (p !== me && cids.has(p)) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'call';
      b.textContent = 'Call';
      b.title = `Video call ${p}`;
      b.addEventListener('click', () => startCall(p, cids.get(p)));
      li.append(' ', b);
    }
    return li;
  }));
  const to = $('to');
  const chosen = to.value;
  to.replaceChildren(new Option('Everyone in the room', ''),
    ...[...people].filter((p) => p !== me).sort().map((p) => new Option(`Only ${p}`, p)),
    ...[...away].filter((p) => p !== me && !people.has(p)).sort().map((p) => new Option(`Only ${p} (away)`, p)));
  to.value = [...to.options].some((o) => o.value === chosen) ? chosen : '';
}

// Who is here already: the notices only tell what changes after we joined.
async function refreshPeople() {
  if (!rt || !rt.group) return;
  people.clear();
  let page = await rt.getRealtimeUsers({}, { limit: 1000 });
  for (;;) {
    for (const u of page.list) {
      people.add(u.user_id);
      if (u.user_id !== me && !cids.has(u.user_id)) cids.set(u.user_id, u.cid);
    }
    if (page.endOfList) break;
    page = await rt.getRealtimeUsers({}, { limit: 1000, fetchMore: true });
  }
  renderPeople();
}

function onEvent(ev) {
  if (ev.sender && ev.sender_cid && ev.sender !== me && (ev.type === 'message' || ev.type === 'private')) {
    if (!cids.has(ev.sender)) {
      cids.set(ev.sender, ev.sender_cid);
      renderPeople();
    }
  }
  switch (ev.type) {
    case 'rtc:incoming': onIncoming(ev); break;
    case 'rtc:closed': onClosed(ev); break;
    case 'success':
      setStatus('open', `connected as ${me}`);
      // After a reconnect the client rejoins by itself; the room may have changed meanwhile.
      setTimeout(() => refreshPeople().catch(() => {}), 100);
      break;
    case 'reconnect': setStatus('reconnecting', ev.message); break;
    case 'close': setStatus('closed', 'disconnected'); break;
    case 'error': line('error', '', ev.message); break;
    case 'message': {
      const text = typeof ev.message === 'string' ? ev.message : JSON.stringify(ev.message);
      line(ev.sender === me ? 'message mine' : 'message', ev.sender, text);
      break;
    }
    case 'private': {
      const text = typeof ev.message === 'string' ? ev.message : JSON.stringify(ev.message);
      line('private', `${ev.sender} → you`, text);
      break;
    }
    case 'notice':
      if (ev.code === 'USER_JOINED') {
        people.add(ev.sender);
        away.delete(ev.sender);
        if (ev.sender_cid) cids.set(ev.sender, ev.sender_cid);
      } else {
        people.delete(ev.sender);
        cids.delete(ev.sender);
        away.add(ev.sender);
      }
      line('notice', '', ev.message);
      renderPeople();
      break;
  }
}

async function tokenFor(name) {
  const res = await fetch(`/dev/token?user=${encodeURIComponent(name)}`);
  if (!res.ok) throw new Error((await res.json().catch(() => ({}))).message || `login failed (${res.status})`);
  return (await res.json()).token;
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const button = e.submitter || $('login').querySelector('button');
  button.disabled = true;
  try {
    me = $('name').value.trim();
    const room = $('room').value.trim();
    if (rt && connectedAs !== me) {
      await endCalls();
      await rt.closeRealtime();
      rt = null;
    }
    if (!rt) {
      const name = me;
      connectedAs = name;
      rt = new Realtime({ token: () => tokenFor(name) });
      initCalls(rt, line);
      setStatus('connecting', 'connecting…');
      await rt.connectRealtime(onEvent);
    }
    people.clear();
    cids.clear();
    await rt.joinRealtime({ group: room });
    await refreshPeople();
    $('room-title').textContent = `# ${room}`;
    $('chat').hidden = false;
    $('login').hidden = true;
    $('text').focus();
  } catch (err) {
    line('error', '', `${err.code || 'ERROR'}: ${err.message}`);
    $('chat').hidden = false;
  } finally {
    button.disabled = false;
  }
});

$('send').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = $('text').value;
  const to = $('to').value;
  if (!text) return;
  try {
    // A private message carries a notification, pushed when the recipient has no connection.
    const notification = to ? { title: `${me} (Switchboard chat)`, body: text.slice(0, 1000) } : undefined;
    await rt.postRealtime(text, to || rt.group, notification);
    $('text').value = '';
    if (to) line('private mine', `you → ${to}`, text);
  } catch (err) {
    line('error', '', `${err.code}: ${err.message}`);
  }
});

$('notify').addEventListener('click', async () => {
  try {
    await notifyWhenAway(rt);
    line('notice', '', 'You will be notified of private messages while you are away.');
  } catch (err) {
    line('error', '', `${err.code || 'ERROR'}: ${err.message}`);
  }
});

$('leave').addEventListener('click', async () => {
  await endCalls();
  await rt.joinRealtime({ group: null });
  people.clear();
  renderPeople();
  $('chat').hidden = true;
  $('login').hidden = false;
});
