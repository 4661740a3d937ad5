// Appended inside the module factory (--post-js): the module's JS side.
// - WasmClient: the class js/index.js drives, over the plain C exports of src/wasm/bindings.cpp
//   (no embind: strings go into the heap for the length of one call).
// - sbHook: how text frames reach the core (browser_platform.cpp). Emscripten's WebSocket layer
//   would copy every message into the heap; here a frame's envelope (the text before `,"msg":`)
//   is written into one reused buffer and the core decides from it alone.
//   A message or private frame becomes an event built from the frame's own string (one
//   JSON.parse in js/index.js); any other frame is then passed whole.
// - socketById: the browser WebSocket behind a socket id, which connectRealtime() returns.
Module['socketById'] = function (id) {
  return (typeof WS !== 'undefined' && WS.sockets[id]) || null;
};

// js/index.js's handler objects, by the index the core was made with.
var sbHandlers = (Module['sbHandlers'] = []);

// name: [export, argument kinds (s: string, else number), result (s: string, b: boolean)]
var sbMethods = {
  connect: [_sb_connect, 'ns'], close: [_sb_close, 'n'], join: [_sb_join, 'ns'], post: [_sb_post, 'nsss'],
  pushRequest: [_sb_push_request, 'nss'], users: [_sb_users, 'ns'], groups: [_sb_groups, 'ns'],
  provideToken: [_sb_provide_token, 'ns'], tokenFailed: [_sb_token_failed, 'ns'], wake: [_sb_wake, ''],
  pageHide: [_sb_page_hide, ''], tick: [_sb_tick, ''], tickInterval: [_sb_tick_interval, ''],
  pageBegin: [_sb_page_begin, 'sss', 's'], pageDone: [_sb_page_done, 'ss', 's'], socketId: [_sb_socket_id, ''],
  state: [_sb_state, '', 's'], cid: [_sb_cid, '', 's'], user: [_sb_user, '', 's'], group: [_sb_group, '', 's'],
  rtcCall: [_sb_rtc_call, 'sns'], rtcAccept: [_sb_rtc_accept, 'n', 'b'], rtcHangup: [_sb_rtc_hangup, 'n', 'b'],
  rtcHangupAll: [_sb_rtc_hangup_all, ''], rtcSignal: [_sb_rtc_signal, 'nss', 'b'],
  rtcPeerState: [_sb_rtc_peer_state, 'ns', 'b'], iceServers: [_sb_ice_servers, '', 's'],
};
// The core's options, in bindings.cpp's order (enum Opt); NaN where not given.
var sbOptionNames = ['initialDelay', 'maxDelay', 'maxAttempts', 'jitter', 'connectTimeout', 'requestTimeout',
  'keepAlive', 'deadAfter', 'rtcConnectTimeout'];

function WasmClient(handlers, options) {
  var h = sbHandlers.indexOf(null);
  if (h < 0) h = sbHandlers.length;
  sbHandlers[h] = handlers;
  var o = _malloc(8 * sbOptionNames.length);
  sbOptionNames.forEach(function (k, i) {
    var v = options && options[k];
    HEAPF64[(o >> 3) + i] = k === 'jitter' ? (v === false ? 0 : NaN) : typeof v === 'number' ? v : NaN;
  });
  this.p = _sb_new(h, o);
  this.h = h;
  _free(o);
}
Object.keys(sbMethods).forEach(function (name) {
  var m = sbMethods[name], f = m[0], kinds = m[1], result = m[2];
  WasmClient.prototype[name] = function () {
    var args = [this.p], temp = [];
    for (var i = 0; i < kinds.length; i++) {
      var v = arguments[i];
      if (kinds[i] === 's') {
        v = v === undefined || v === null ? '' : String(v);
        var n = lengthBytesUTF8(v) + 1, p = _malloc(n);
        stringToUTF8(v, p, n);
        temp.push((v = p));
      }
      args.push(v);
    }
    try {
      var r = f.apply(null, args);
    } finally {
      temp.forEach(_free);
    }
    return result === 's' ? UTF8ToString(r) : result === 'b' ? !!r : r;
  };
});
WasmClient.prototype['delete'] = function () {
  if (!this.p) return;
  _sb_delete(this.p);
  sbHandlers[this.h] = null;
  this.p = 0;
};
Module['WasmClient'] = WasmClient;

// ---- receiving ------------------------------------------------------------------------------
var sbBuf = 0, sbCap = 0;
function sbReserve(bytes) {
  if (bytes <= sbCap) return;
  if (sbBuf) _free(sbBuf);
  sbCap = Math.max(bytes, 1024);
  sbBuf = _malloc(sbCap);
}

// The whole text (whole = 1), or the envelope of a frame whose payload starts at `end`, closed
// with '}' here; both as UTF-8 in the reused buffer. (A plain loop: for envelopes of about a
// hundred characters it beats TextEncoder.encodeInto, whose call costs more than the copy.)
function sbReceive(transport, text, whole, end) {
  var n = -1;
  if (!whole) {  // the envelope, byte by byte while it is ASCII
    sbReserve(end + 1);
    var heap = HEAPU8, at = sbBuf;  // locals: the loop then loads no module variables
    for (var i = 0; i < end; i++) {
      var c = text.charCodeAt(i);
      if (c > 127) break;
      heap[at + i] = c;
    }
    if (i === end) {
      heap[at + end] = 125;  // '}'
      n = end + 1;
    } else {
      text = text.slice(0, end) + '}';
    }
  }
  if (n < 0) {
    sbReserve(text.length * 3 + 1);
    n = stringToUTF8(text, sbBuf, sbCap);
  }
  return _sb_receive(transport, sbBuf, n, whole);
}

function sbFrame(transport, h, text) {
  var end = text.indexOf(',"msg":');
  var kind = end < 0 ? -1 : sbReceive(transport, text, 0, end);
  if (kind < 0) kind = sbReceive(transport, text, 1, 0);
  if (kind > 0 && sbHandlers[h]) sbHandlers[h]['frame'](kind, text);
}

Module['sbHook'] = function (id, transport, h) {
  WS.sockets[id].onmessage = function (e) {
    var d = e.data;
    if (typeof d !== 'string') return;  // no binary frames in this protocol
    // The server may batch frames into one message, separated by '\n' (docs/protocol.md).
    if (d.indexOf('\n') < 0) return sbFrame(transport, h, d);
    var parts = d.split('\n');
    for (var i = 0; i < parts.length; i++) if (parts[i]) sbFrame(transport, h, parts[i]);
  };
};
