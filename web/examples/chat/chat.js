// The page's logic, in the style of Skapi's chat example: every call goes to `skapi` (service.js).
let currentGroup = null;
let sendTo = null;
const $ = (id) => document.getElementById(id);

function line(cls, text) {
  const p = document.createElement('p');
  p.className = cls;
  p.textContent = text;
  $('messages').append(p);
  $('messages').scrollTop = $('messages').scrollHeight;
}

function addParticipant(user_id) {
  if (document.querySelector(`#participants [data-user="${CSS.escape(user_id)}"]`)) return;
  const b = document.createElement('button');
  b.type = 'button';
  b.dataset.user = user_id;
  b.textContent = user_id === skapi.user.user_id ? `${user_id} (you)` : user_id;
  if (user_id !== skapi.user.user_id)
    b.onclick = () => {
      sendTo = user_id;
      $('privateToName').textContent = user_id;
      $('privateTo').showModal();
    };
  $('participants').append(b);
}

function removeParticipant(user_id) {
  const b = document.querySelector(`#participants [data-user="${CSS.escape(user_id)}"]`);
  if (b) b.remove();
}

function RealtimeCallback(rt) {
  if (rt.type === 'message') {
    const mine = rt.sender === skapi.user.user_id;  // tell our own messages apart
    const div = document.createElement('div');
    div.className = mine ? 'msg mine' : 'msg';
    const who = document.createElement('strong');
    who.textContent = rt.sender;
    const p = document.createElement('p');
    p.textContent = rt.message.chatmsg;
    div.append(who, document.createElement('br'), p);
    $('messages').append(div);
    $('messages').scrollTop = $('messages').scrollHeight;
  } else if (rt.type === 'private') {
    $('privateFromName').textContent = rt.sender;
    $('privateText').textContent = rt.message.msg;
    $('privateFrom').showModal();
  } else if (rt.type === 'notice') {  // joined / left / disconnected, in Skapi's texts
    const user_id = rt.message.match(/"([^"]+)"/)[1];  // the id is the quoted part of the text
    if (rt.code === 'USER_JOINED') addParticipant(user_id);
    else removeParticipant(user_id);
    line('notice', rt.message);
  } else if (rt.type === 'error') {
    console.error(rt.message);
  }
}

function showGroups() {
  // Works before and without a connection: over HTTP when no socket is open.
  skapi.getRealtimeGroups({ searchFor: 'group', condition: '>', value: ' ' }).then((res) => {
    const body = $('groups');
    body.textContent = '';
    if (!res.list.length) body.innerHTML = '<tr><td colspan="2">No groups yet.</td></tr>';
    for (const g of res.list) {
      const tr = body.insertRow();
      const a = document.createElement('a');
      a.href = '#' + encodeURIComponent(g.group);
      a.textContent = g.group;
      tr.insertCell().append(a);
      tr.insertCell().textContent = g.number_of_users;
    }
  });
}

function joinGroup() {
  $('participants').textContent = '';
  $('messages').textContent = '';
  currentGroup = decodeURIComponent(location.hash.slice(1)) || null;
  $('chatbox').hidden = !currentGroup;
  $('groupList').hidden = !!currentGroup;
  $('groupName').textContent = currentGroup ? `"${currentGroup}"` : '';
  if (!currentGroup) {
    showGroups();
    return skapi.joinRealtime({ group: null });
  }
  // Not awaited: the calls wait for the pending connection and run in this order.
  skapi.getRealtimeUsers({ group: currentGroup }).then((u) => u.list.forEach((x) => addParticipant(x.user_id)));
  return skapi.joinRealtime({ group: currentGroup });
}

if (!skapi.user) {
  $('signin').hidden = false;
} else {
  $('app').hidden = false;
  skapi.getProfile().then((u) => ($('welcome').textContent = `Welcome, ${u.name}!`));
  skapi.connectRealtime(RealtimeCallback);
  window.addEventListener('hashchange', joinGroup);
  joinGroup();
}
