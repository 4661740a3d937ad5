// The demo's video calls: a "Call" button per person, an incoming-call prompt, two <video>s.
// One call at a time; a second incoming call while busy is rejected.
const $ = (id) => document.getElementById(id);
const MEDIA = { video: true, audio: true };

let rt = null;
let log = () => {};
let current = null; // {peer, cid, hangup, resolved, stream}
let ringing = null; // the rtc:incoming event on screen

export function initCalls(realtime, logLine) {
  rt = realtime;
  log = logLine;
}

function show(state, text) {
  $('call').hidden = state === 'idle';
  $('call').dataset.state = state;
  $('call-status').textContent = text || '';
}

function attach(resolved) {
  $('remote-video').srcObject = resolved.remote || null;
}

// The camera and microphone, or what of them there is; null: receive only. The stream is
// passed to connectRTC as is, so this page shows it at once and stops it itself.
async function openMedia() {
  for (const constraints of [MEDIA, { audio: true }]) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch {}
  }
  return null;
}

function onRtcEvent(ev) {
  if (ev.type === 'track') {
    const v = $('remote-video');
    const stream = (ev.streams && ev.streams[0]) || (current && current.resolved && current.resolved.remote);
    if (stream && v.srcObject !== stream) v.srcObject = stream;
    v.play().catch(() => {});
  } else if (ev.type === 'connectionstatechange' && current) {
    if (ev.state === 'connected') show('active', `In a call with ${current.peer}`);
  }
}

function reset(text) {
  if (current && current.stream) current.stream.getTracks().forEach((t) => t.stop());
  current = null;
  $('local-video').srcObject = null;
  $('remote-video').srcObject = null;
  show('idle');
  if (text) log('notice', '', text);
}

/** Starts a video call to `peer` at connection `cid`. */
export async function startCall(peer, cid) {
  if (current) return;
  current = { peer, cid };
  show('calling', `Calling ${peer}…`);
  try {
    const stream = await openMedia();
    if (!current || current.cid !== cid) return stream && stream.getTracks().forEach((t) => t.stop());
    current.stream = stream;
    $('local-video').srcObject = stream;
    const { hangup, connection } = await rt.connectRTC({ cid, media: stream || undefined }, onRtcEvent);
    current.hangup = hangup;
    const resolved = await connection;
    if (!current || current.cid !== cid) return;
    current.resolved = resolved;
    attach(resolved);
    show('active', `In a call with ${peer}`);
  } catch (err) {
    if (current && current.cid === cid) reset();
    const why = { RTC_REJECTED: `${peer} declined the call.`, TIMEOUT: `${peer} did not answer.`, RTC_CANCELLED: 'Call cancelled.' };
    log('error', '', why[err.code] || `Call failed: ${err.code || ''} ${err.message}`);
  }
}

export function onIncoming(ev) {
  if (current || ringing) {
    ev.hangup(); // busy
    return;
  }
  ringing = ev;
  $('incoming-text').textContent = `${ev.sender} is calling${ev.media && ev.media.video ? ' (video)' : ''}`;
  $('incoming').hidden = false;
}

export function onClosed(ev) {
  if (ringing && ringing.sender_cid === ev.sender_cid) {
    ringing = null;
    $('incoming').hidden = true;
    log('notice', '', `Missed call from ${ev.sender}.`);
  } else if (current && current.cid === ev.sender_cid) {
    reset(`${ev.sender} hung up.`);
  }
}

async function accept() {
  const ev = ringing;
  ringing = null;
  $('incoming').hidden = true;
  if (!ev) return;
  current = { peer: ev.sender, cid: ev.sender_cid, hangup: ev.hangup };
  show('calling', `Connecting to ${ev.sender}…`);
  try {
    const stream = await openMedia();
    current.stream = stream;
    $('local-video').srcObject = stream;
    const resolved = await ev.connectRTC({ media: stream || undefined }, onRtcEvent);
    current.resolved = resolved;
    current.hangup = resolved.hangup;
    attach(resolved);
    show('active', `In a call with ${ev.sender}`);
  } catch (err) {
    reset();
    log('error', '', `Could not answer: ${err.code || ''} ${err.message}`);
  }
}

function reject() {
  const ev = ringing;
  ringing = null;
  $('incoming').hidden = true;
  if (ev) ev.hangup();
}

async function hangup() {
  const c = current;
  reset('Call ended.');
  if (c && c.hangup) await c.hangup();
}

/** Ends any call (leaving the room, switching user). */
export async function endCalls() {
  ringing = null;
  $('incoming').hidden = true;
  if (current) await hangup();
}

$('accept').addEventListener('click', accept);
$('reject').addEventListener('click', reject);
$('hangup').addEventListener('click', hangup);
