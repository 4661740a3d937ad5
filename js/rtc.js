// WebRTC calls for switchboard-realtime: the browser half. The signalling state machine (ringing,
// pickup, hangup, routing and buffering of offers/answers/candidates, the no-answer timeout)
// lives in the wasm core (src/client/rtc_signaling.*); this file drives RTCPeerConnection,
// RTCDataChannel and getUserMedia, and turns the core's call events into Skapi's shapes.
//
// Negotiation is "perfect negotiation" (W3C webrtc-pc §10.7): the caller is the impolite peer,
// the callee the polite one, so either side may add tracks or channels during a call and the
// new offer travels as an ordinary signal of the same call (no second rtc:incoming).
// The data channels of connectRTC are created on both sides as negotiated channels with the same
// ids (the caller sends their settings in its ring), so both RTCResolved carry them at once.

/** Data channel presets (Skapi's). The label and protocol of each channel is its preset name. */
// Calls an app callback; an exception in app code is reported, never thrown into the client.
export function callSafely(cb, arg, label) {
  if (!cb) return;
  try {
    cb(arg);
  } catch (e) {
    console.error(`switchboard: ${label} threw`, e);
  }
}

export const CHANNEL_PRESETS = Object.freeze({
  'text-chat': { ordered: true, maxRetransmits: 10 },
  'file-transfer': { ordered: false, maxPacketLifeTime: 3000 },
  'video-chat': { ordered: true, maxRetransmits: 10 },
  'voice-chat': { ordered: true, maxRetransmits: 10 },
  gaming: { ordered: false, maxPacketLifeTime: 100 },
});
const DEFAULT_CHANNEL = Object.freeze({ ordered: true, maxPacketLifeTime: 10, protocol: 'default' });

// Turns connectRTC's `channels` into [{protocol, ordered, maxRetransmits?, maxPacketLifeTime?}].
export function normalizeChannels(channels, fail) {
  if (channels === undefined || channels === null) return [{ ...DEFAULT_CHANNEL }];
  if (!Array.isArray(channels)) throw fail('INVALID_PARAMETER', '"channels" must be an array of presets or RTCDataChannelInit objects.');
  const out = [];
  const seen = new Set();
  for (const c of channels) {
    let spec;
    if (typeof c === 'string') {
      if (!Object.prototype.hasOwnProperty.call(CHANNEL_PRESETS, c))
        throw fail('INVALID_PARAMETER', `Unknown channel preset "${c}" (one of ${Object.keys(CHANNEL_PRESETS).join(', ')}).`);
      spec = { protocol: c, ...CHANNEL_PRESETS[c] };
    } else if (c && typeof c === 'object') {
      spec = { protocol: c.protocol === undefined || c.protocol === '' ? 'default' : c.protocol };
      if (typeof spec.protocol !== 'string') throw fail('INVALID_PARAMETER', 'A channel\'s "protocol" must be a string.');
      if (c.ordered !== undefined) spec.ordered = !!c.ordered;
      for (const k of ['maxRetransmits', 'maxPacketLifeTime']) {
        if (c[k] === undefined || c[k] === null) continue;
        if (!Number.isInteger(c[k]) || c[k] < 0 || c[k] > 65535) throw fail('INVALID_PARAMETER', `A channel's "${k}" must be an integer in 0..65535.`);
        spec[k] = c[k];
      }
      if (spec.maxRetransmits !== undefined && spec.maxPacketLifeTime !== undefined)
        throw fail('INVALID_PARAMETER', 'A channel cannot have both "maxRetransmits" and "maxPacketLifeTime".');
      if (c.negotiated !== undefined || c.id !== undefined)
        throw fail('INVALID_PARAMETER', 'Channels of connectRTC are negotiated by Switchboard: leave out "negotiated" and "id".');
    } else {
      throw fail('INVALID_PARAMETER', '"channels" items must be preset names or RTCDataChannelInit objects.');
    }
    if (seen.has(spec.protocol)) throw fail('INVALID_PARAMETER', `Two channels have the protocol "${spec.protocol}".`);
    seen.add(spec.protocol);
    out.push(spec);
  }
  if (out.length > 64) throw fail('INVALID_PARAMETER', 'At most 64 channels.');
  return out;
}

// `ice`: a STUN/TURN URL (Skapi), an RTCIceServer, an array of either, or an RTCConfiguration.
// Without it, the ICE servers the server handed out at connect (`--ice-servers`), else none.
export function rtcConfiguration(ice, fail, serverIce = []) {
  const server = (s) => {
    if (typeof s === 'string' && s) return { urls: s };
    if (s && typeof s === 'object' && (typeof s.urls === 'string' || Array.isArray(s.urls))) return s;
    throw fail('INVALID_PARAMETER', '"ice" must be a URL, an RTCIceServer ({urls, username?, credential?}), an array of them, or {iceServers}.');
  };
  if (ice === undefined || ice === null || ice === '') return { iceServers: serverIce };
  if (typeof ice === 'string') return { iceServers: [server(ice)] };
  if (Array.isArray(ice)) return { iceServers: ice.map(server) };
  if (typeof ice === 'object' && Array.isArray(ice.iceServers)) return { ...ice, iceServers: ice.iceServers.map(server) };
  return { iceServers: [server(ice)] };
}

function mediaAllowedHere() {
  if (typeof location === 'undefined') return false;
  if (location.protocol === 'https:') return true;
  const h = location.hostname;
  return h === 'localhost' || h.endsWith('.localhost') || h === '127.0.0.1' || h === '[::1]' || h === '::1';
}

// {stream, owned}: the local media to send, or none. A MediaStream is used as is (and left
// running at hangup); constraints go to getUserMedia (and the tracks stop at hangup).
// {audio:false, video:false} or no `media`: no media at all (Skapi sends a 1x1 canvas track
// instead; Switchboard sends nothing, and the other side may still send to this one).
async function localMedia(media, fail) {
  if (media === undefined || media === null || media === false) return { stream: null, owned: false };
  const isStream = typeof MediaStream !== 'undefined' && media instanceof MediaStream;
  if (!isStream && typeof media !== 'object')
    throw fail('INVALID_PARAMETER', '"media" must be {audio, video}, MediaStreamConstraints or a MediaStream.');
  if (!isStream && !media.audio && !media.video) return { stream: null, owned: false };
  if (!mediaAllowedHere())
    throw fail('NOT_SUPPORTED', 'Media needs a secure page: serve it over https: or from localhost.');
  if (isStream) return { stream: media, owned: false };
  if (typeof navigator === 'undefined' || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia)
    throw fail('NOT_SUPPORTED', 'This browser has no getUserMedia.');
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ ...media, audio: media.audio || false, video: media.video || false });
    return { stream, owned: true };
  } catch (e) {
    throw fail('MEDIA_UNAVAILABLE', `Could not get the camera or microphone: ${(e && e.name) || ''} ${(e && e.message) || e}`.trim());
  }
}

function describeMedia(stream) {
  if (!stream) return { audio: false, video: false };
  return { audio: stream.getAudioTracks().length > 0, video: stream.getVideoTracks().length > 0 };
}

/** One Realtime's calls. Created lazily by Realtime; not part of the public API.
 * The call's state and how it ended are the core's (src/client/rtc_signaling.*); a record here
 * only holds the browser objects of a call the core still knows. */
export class RtcCalls {
  constructor(realtime, ErrorClass) {
    this._rt = realtime;
    this._Error = ErrorClass;
    this._calls = new Map(); // core handle -> call record, while the core has the call
    this._fail = (code, message) => new ErrorClass(code, message);
  }

  // ---- connectRTC / closeRTC ------------------------------------------------------------------

  async connect(params, callback) {
    const fail = this._fail;
    if (!params || typeof params !== 'object') throw fail('INVALID_PARAMETER', 'connectRTC needs {cid, ice?, media?, channels?}.');
    if (typeof params.cid !== 'string' || !params.cid.startsWith('cid:'))
      throw fail('INVALID_PARAMETER', '"cid" must be a connection id ("cid:…", from sender_cid or getRealtimeUsers).');
    if (callback !== undefined && callback !== null && typeof callback !== 'function')
      throw fail('INVALID_PARAMETER', 'The RTC callback must be a function.');
    const timeout = params.timeout ?? this._rt._options.rtcTimeout ?? 0;
    if (typeof timeout !== 'number' || !(timeout >= 0)) throw fail('INVALID_PARAMETER', '"timeout" must be a number of ms.');
    const channels = normalizeChannels(params.channels, fail);
    const core = this._rt._requireCore();
    const config = rtcConfiguration(params.ice, fail, this._serverIce(core));
    if (typeof RTCPeerConnection === 'undefined') throw fail('NOT_SUPPORTED', 'This browser has no WebRTC.');
    const { stream, owned } = await localMedia(params.media, fail);

    const handle = core.rtcCall(params.cid, timeout, JSON.stringify({ channels, media: describeMedia(stream) }));
    const call = this._newCall(handle, 'caller', '', params.cid, callback);
    call.local = stream;
    call.ownsLocal = owned;
    call.connection = new Promise((resolve, reject) => {
      call.resolve = resolve;
      call.reject = reject;
    });
    call.connection.catch(() => {}); // the app may never look at it; still never pending forever
    this._startPeer(call, config);
    for (const [i, spec] of channels.entries()) this._addChannel(call, spec, i);
    this._addTracks(call);
    return { hangup: () => this._hangup(call), connection: call.connection };
  }

  async close(params) {
    if (!params || typeof params !== 'object' || (!params.close_all && typeof params.cid !== 'string'))
      throw this._fail('INVALID_PARAMETER', 'closeRTC needs {cid} or {close_all: true}.');
    if (!this._rt._core) return;
    if (params.close_all) this._rt._core.rtcHangupAll();
    else for (const call of [...this._calls.values()]) if (call.peerCid === params.cid) this._rt._core.rtcHangup(call.handle);
  }

  _serverIce(core) {
    try {
      const list = JSON.parse(core.iceServers() || '[]');
      return Array.isArray(list) ? list : [];
    } catch {
      return [];
    }
  }

  // ---- from the core --------------------------------------------------------------------------

  onCore(kind, handle, peer, peerCid, what, json, code, message, remote) {
    if (kind === 'incoming') return this._incoming(handle, peer, peerCid, json);
    const call = this._calls.get(handle);
    if (!call) return;
    if (peer && !call.peer) call.peer = peer;
    if (kind === 'pickup') this._pickedUp(call);
    else if (kind === 'signal') this._queue(call, () => this._onSignal(call, what, JSON.parse(json)));
    else if (kind === 'ended') this._ended(call, code, message, remote);
  }

  _newCall(handle, role, peer, peerCid, callback) {
    const call = {
      handle, role, peer, peerCid, callback: callback || null,
      pc: null, channels: {}, local: null, ownsLocal: false, remote: null,
      tracksAdded: false, makingOffer: false, ignoreOffer: false, chain: Promise.resolve(),
      negotiated: false, pendingIce: [], reported: false,
      resolved: null, resolve: null, reject: null, appKnows: role === 'callee',
    };
    this._calls.set(handle, call);
    return call;
  }

  _incoming(handle, peer, peerCid, json) {
    let info = {};
    try {
      info = JSON.parse(json) || {};
    } catch {}
    const call = this._newCall(handle, 'callee', peer, peerCid, null);
    call.info = info;
    let answered = null;
    const ev = {
      type: 'rtc:incoming',
      sender: peer,
      sender_cid: peerCid,
      media: info.media && typeof info.media === 'object' ? { audio: !!info.media.audio, video: !!info.media.video } : { audio: false, video: false },
      connectRTC: (params, callback) => (answered = answered || this._accept(call, params || {}, callback)),
      hangup: () => this._hangup(call),
    };
    this._deliver(ev);
  }

  async _accept(call, params, callback) {
    const fail = this._fail;
    if (!this._calls.has(call.handle)) throw this._endError(call);
    if (callback !== undefined && callback !== null && typeof callback !== 'function')
      throw fail('INVALID_PARAMETER', 'The RTC callback must be a function.');
    const config = rtcConfiguration(params.ice, fail, this._serverIce(this._rt._requireCore()));
    const { stream, owned } = await localMedia(params.media, fail);
    if (!this._calls.has(call.handle)) {
      if (owned && stream) stream.getTracks().forEach((t) => t.stop());
      throw this._endError(call);
    }
    call.callback = callback || null;
    call.local = stream;
    call.ownsLocal = owned;
    this._startPeer(call, config);
    const specs = Array.isArray(call.info.channels) ? call.info.channels : [];
    try {
      specs.forEach((spec, i) => this._addChannel(call, spec, i));
    } catch (e) {
      this._hangup(call);
      throw fail('INVALID_PARAMETER', `The caller's channels are not usable: ${e.message || e}`);
    }
    // Tracks go on when the offer is applied, so they reuse the caller's transceivers.
    call.resolved = this._resolved(call);
    if (!this._rt._core.rtcAccept(call.handle)) {
      this._cleanup(call);
      throw this._endError(call);
    }
    return call.resolved;
  }

  _pickedUp(call) {
    call.appKnows = true;
    call.resolved = this._resolved(call);
    call.resolve(call.resolved);
  }

  // The core ended the call: `code` says why (never empty), `remote` whether this side did it.
  _ended(call, code, message, remote) {
    this._calls.delete(call.handle);
    call.endCode = code || 'RTC_HANGUP';
    call.endMessage = message || 'The call ended.';
    if (call.reject) call.reject(this._endError(call)); // no-op once picked up
    this._cleanup(call);
    if (remote && call.appKnows && code !== 'CLOSED')
      this._deliver({ type: 'rtc:closed', sender: call.peer, sender_cid: call.peerCid, code: call.endCode, message: call.endMessage });
  }

  _endError(call) {
    return this._fail(call.endCode || 'RTC_HANGUP', call.endMessage || 'The call ended.');
  }

  // Closes the peer connection, then tells the RTC callback as Skapi's closeRTC does: a
  // `connectionstatechange` with state 'closed' (plus Switchboard's code and message).
  _cleanup(call) {
    const pc = call.pc;
    if (pc && pc.signalingState !== 'closed') {
      for (const dc of Object.values(call.channels)) {
        try {
          dc.close();
        } catch {}
      }
      pc.close();
    }
    if (call.ownsLocal && call.local) call.local.getTracks().forEach((t) => t.stop());
    if (pc)
      this._event(call, {
        type: 'connectionstatechange', target: pc, state: 'closed',
        iceState: pc.iceConnectionState, signalingState: pc.signalingState,
        code: call.endCode, message: call.endMessage,
      });
  }

  _hangup(call) {
    if (this._calls.has(call.handle) && this._rt._core) this._rt._core.rtcHangup(call.handle);
    return Promise.resolve();
  }

  // Tells the core what the peer connection did; the core decides what ends the call.
  _peerState(call, state) {
    if (this._calls.has(call.handle) && this._rt._core) this._rt._core.rtcPeerState(call.handle, state);
  }

  // Connected once the connection is up and every data channel of the call is open.
  _checkConnected(call) {
    const chans = Object.values(call.channels);
    if (call.reported || !call.pc || call.pc.connectionState !== 'connected') return;
    if (chans.some((dc) => dc.readyState !== 'open')) return;
    call.reported = true;
    this._peerState(call, 'connected');
  }

  // ---- the peer connection --------------------------------------------------------------------

  _resolved(call) {
    return {
      target: call.pc,
      channels: call.channels,
      hangup: () => this._hangup(call),
      media: call.local,
      remote: call.remote,
    };
  }

  _startPeer(call, config) {
    const pc = new RTCPeerConnection(config);
    call.pc = pc;
    call.polite = call.role === 'callee';
    call.remote = typeof MediaStream !== 'undefined' ? new MediaStream() : null;
    const ev = (type, extra) => this._event(call, { type, target: pc, ...extra });
    pc.addEventListener('track', (e) => {
      if (call.remote && !call.remote.getTracks().includes(e.track)) call.remote.addTrack(e.track);
      ev('track', { track: e.track, streams: e.streams, receiver: e.receiver, transceiver: e.transceiver });
    });
    pc.addEventListener('connectionstatechange', () => {
      const state = pc.connectionState;
      ev('connectionstatechange', { state, iceState: pc.iceConnectionState, signalingState: pc.signalingState });
      if (state === 'connected') this._checkConnected(call);
      else if (state === 'failed' || state === 'disconnected') this._peerState(call, state);
    });
    pc.addEventListener('iceconnectionstatechange', () =>
      ev('iceconnectionstatechange', { state: pc.iceConnectionState, gatheringState: pc.iceGatheringState, signalingState: pc.signalingState }));
    pc.addEventListener('icegatheringstatechange', () =>
      ev('icegatheringstatechange', { state: pc.iceGatheringState, connectionState: pc.iceConnectionState, signalingState: pc.signalingState }));
    pc.addEventListener('signalingstatechange', () =>
      ev('signalingstatechange', { state: pc.signalingState, connectionState: pc.iceConnectionState, gatheringState: pc.iceGatheringState }));
    pc.addEventListener('icecandidateerror', (e) =>
      ev('icecandidateerror', {
        errorCode: e.errorCode, errorText: e.errorText, url: e.url, address: e.address, port: e.port,
        hostCandidate: e.hostCandidate, gatheringState: pc.iceGatheringState, connectionState: pc.iceConnectionState,
      }));
    pc.addEventListener('icecandidate', (e) => {
      if (!e.candidate) return ev('icecandidateend', {});
      const c = e.candidate;
      ev('icecandidate', {
        candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex, usernameFragment: c.usernameFragment,
        protocol: c.protocol, gatheringState: pc.iceGatheringState, connectionState: pc.iceConnectionState,
      });
      if (c.candidate) this._signal(call, 'ice', c.toJSON());
    });
    pc.addEventListener('negotiationneeded', async () => {
      ev('negotiationneeded', { signalingState: pc.signalingState, connectionState: pc.iceConnectionState, gatheringState: pc.iceGatheringState });
      // The callee never offers before it has answered the caller's first offer: an offer of
      // its own then is glare by construction, and the rollback that settles it loses the
      // callee's candidates in Chromium (issue 14). The browser fires negotiationneeded again
      // once the first exchange is done if it is still needed.
      if (!this._calls.has(call.handle) || (call.polite && !call.negotiated)) return;
      try {
        call.makingOffer = true;
        await pc.setLocalDescription();
        this._signal(call, 'sdp', pc.localDescription.toJSON());
      } catch (e) {
        ev('error', { error: e, message: String((e && e.message) || e) });
      } finally {
        call.makingOffer = false;
      }
    });
    pc.addEventListener('datachannel', (e) => this._wireChannel(call, e.channel));
  }

  _addChannel(call, spec, id) {
    const init = { ordered: spec.ordered !== false, protocol: spec.protocol, negotiated: true, id };
    if (spec.maxRetransmits !== undefined) init.maxRetransmits = spec.maxRetransmits;
    if (spec.maxPacketLifeTime !== undefined) init.maxPacketLifeTime = spec.maxPacketLifeTime;
    this._wireChannel(call, call.pc.createDataChannel(spec.protocol, init));
  }

  // Channel events in Skapi's shapes (label, id, protocol, readyState...), plus `channel`: the
  // name the channel has in `channels`.
  _wireChannel(call, dc) {
    const name = dc.protocol || dc.label;
    if (!call.channels[name]) call.channels[name] = dc;
    const ev = (type, extra) =>
      this._event(call, { type, target: dc, channel: name, label: dc.label, id: dc.id, readyState: dc.readyState, ...extra });
    dc.addEventListener('open', () => {
      ev('open', { ordered: dc.ordered, maxRetransmits: dc.maxRetransmits, protocol: dc.protocol });
      this._checkConnected(call);
    });
    dc.addEventListener('close', () => {
      ev('close', {});
      // As Skapi: the call ends when its last data channel closes.
      const chans = Object.values(call.channels);
      if (call.reported && chans.length && chans.every((c) => c.readyState === 'closed')) this._peerState(call, 'channels-closed');
    });
    dc.addEventListener('message', (e) =>
      ev('message', { data: e.data, lastEventId: e.lastEventId, origin: e.origin, bufferedAmount: dc.bufferedAmount }));
    dc.addEventListener('bufferedamountlow', () =>
      ev('bufferedamountlow', { bufferedAmount: dc.bufferedAmount, bufferedAmountLowThreshold: dc.bufferedAmountLowThreshold }));
    dc.addEventListener('error', (e) =>
      ev('error', { error: e.error, message: String((e.error && e.error.message) || 'data channel error'), errorCode: e.error && e.error.errorDetail }));
  }

  _addTracks(call) {
    if (call.tracksAdded) return;
    call.tracksAdded = true;
    if (call.local) for (const t of call.local.getTracks()) call.pc.addTrack(t, call.local);
  }

  _signal(call, what, data) {
    if (this._calls.has(call.handle) && this._rt._core) this._rt._core.rtcSignal(call.handle, what, JSON.stringify(data));
  }

  // Signals of one call are applied one at a time, in the order the core hands them over.
  _queue(call, fn) {
    call.chain = call.chain.then(fn).catch((e) => this._event(call, { type: 'error', target: call.pc, error: e, message: String((e && e.message) || e) }));
  }

  // Perfect negotiation (W3C webrtc-pc §10.7), the caller impolite, the callee polite.
  async _onSignal(call, what, data) {
    const pc = call.pc;
    if (!pc || !this._calls.has(call.handle) || pc.signalingState === 'closed') return;
    if (what === 'sdp') {
      const offerCollision = data.type === 'offer' && (call.makingOffer || pc.signalingState !== 'stable');
      call.ignoreOffer = !call.polite && offerCollision;
      if (call.ignoreOffer) return;
      await pc.setRemoteDescription(data); // a polite peer's own offer is rolled back implicitly
      if (data.type === 'offer') {
        this._addTracks(call);
        await pc.setLocalDescription();
        this._signal(call, 'sdp', pc.localDescription.toJSON());
      }
      call.negotiated = true;
      // Candidates that came before any remote description (never from an in-order peer).
      for (const c of call.pendingIce.splice(0)) await this._addIce(call, c);
    } else if (what === 'ice') {
      if (!pc.remoteDescription) call.pendingIce.push(data);
      else await this._addIce(call, data);
    }
  }

  async _addIce(call, data) {
    try {
      await call.pc.addIceCandidate(data);
    } catch (e) {
      if (!call.ignoreOffer) throw e; // candidates of an offer we ignored may not fit
    }
  }

  // ---- delivery -------------------------------------------------------------------------------

  _event(call, ev) {
    callSafely(call.callback, { ...ev, timestamp: new Date().toISOString() }, 'RTC callback');
  }

  _deliver(ev) {
    this._rt._deliver(ev);
  }
}
