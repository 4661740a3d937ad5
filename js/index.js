// switchboard-realtime: Skapi's realtime API on a self-hosted Switchboard server.
// The protocol, state machine, reconnects and request bookkeeping live in the wasm core
// (src/client); this file turns its string callbacks into Promises and event objects.
import createSwitchboardCore from './switchboard_core.js';
import { RtcCalls, callSafely } from './rtc.js';
import * as push from './notifications.js';
import { takeForm } from './forms.js';

const DEFAULT_WASM = new URL('./switchboard_core.wasm', import.meta.url);

// One wasm instance per wasm URL, shared by every Realtime on the page; each Realtime has its
// own core object, so connections share no state.
const modules = new Map();
function loadModule(wasmUrl) {
  const key = String(wasmUrl);
  if (!modules.has(key)) {
    const p = createSwitchboardCore({ locateFile: (f) => (f.endsWith('.wasm') ? key : f) });
    p.catch(() => modules.delete(key));
    modules.set(key, p);
  }
  return modules.get(key);
}

/** Errors from every method: `code` is one of the protocol's error codes (docs/protocol.md). */
export class RealtimeError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'RealtimeError';
    this.code = code;
  }
}

// Keep-alive ticks from a Worker: page timers in hidden tabs are throttled to once a minute, a
// worker's are not. Falls back to a page timer where workers from blobs are not allowed.
function startTicker(fn, ms) {
  try {
    const src = `const t = setInterval(() => postMessage(0), ${Number(ms)}); onmessage = () => { clearInterval(t); close(); };`;
    const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
    const worker = new Worker(url);
    URL.revokeObjectURL(url);
    worker.onmessage = () => fn();
    return () => worker.terminate();
  } catch (e) {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  }
}

// A form argument (SubmitEvent, form, FormData, field) read as Skapi does; other values as they are.
function formArg(arg, options) {
  try {
    return takeForm(arg, options);
  } catch (e) {
    throw new RealtimeError('INVALID_REQUEST', e.message);
  }
}

function defaultUrl() {
  if (typeof location === 'undefined') throw new RealtimeError('INVALID_REQUEST', 'No page origin: pass `url`.');
  const u = new URL('/realtime', location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.href;
}

const NULL_FIELDS = { sender: null, sender_cid: null, sender_rid: null, code: null };

export class Realtime {
  /**
   * @param {object} options
   * @param {string|string[]} [options.url] WebSocket URL, or the URLs of several nodes (a lost
   *   connection tries the next); default: the page origin's /realtime
   * @param {string|Function} options.token a JWT, or a function returning one (or a Promise of
   *   one); the function is called on every connect, and before the token expires to refresh it
   *   on the open connection
   * @param {string|URL} [options.wasmUrl] where switchboard_core.wasm is; default: beside this file
   * @param {object} [options.reconnect] {initialDelay, maxDelay, maxAttempts, jitter} in ms / count
   * @param {object} [options.offlineQueue] {maxCount, maxBytes}: calls made while reconnecting
   *   wait in order up to these bounds; past them they fail at once with QUEUE_FULL
   */
  constructor(options = {}) {
    this._options = options;
    this._url = (Array.isArray(options.url) ? options.url.join(' ') : options.url) || null;
    this._token = options.token;
    this._core = null;
    this._corePromise = null;
    this._callback = null;
    this._calls = new Map();
    this._nextCall = 1;
    this._connecting = null;
    this._listeners = null;
    this._deferred = [];
    this._ready = null;
  }

  // ---- Skapi's methods ----------------------------------------------------------------------

  /** Connects; resolves with the browser WebSocket underneath. */
  async connectRealtime(callback) {
    if (typeof callback !== 'function')
      throw new RealtimeError('INVALID_REQUEST', 'Callback must be a function.');
    if (this._token === undefined || this._token === null || this._token === '')
      throw new RealtimeError('INVALID_REQUEST', 'No access: a token is required to connect.');
    this._callback = callback;
    if (this._connecting) return this._connecting;
    // Calls made before this resolves wait for `_ready` (the core loaded and connecting), then
    // queue in the core in the order they were made, as Skapi's wait for its pending socket.
    let ready;
    this._ready = new Promise((r) => (ready = r));
    this._connecting = (async () => {
      try {
        const core = await this._ensureCore().catch((e) => {
          ready();
          throw e;
        });
        const connected = this._call((id) => core.connect(id, this._url || defaultUrl()));
        ready();
        await connected;
        this._listen();
        return this._socket();
      } finally {
        this._connecting = null;
      }
    })();
    return this._connecting;
  }

  /** Leaves the group, closes the connection and stops reconnecting. */
  async closeRealtime() {
    this._unlisten();
    if (!this._core) return;
    await this._call((id) => this._core.close(id));
  }

  /** Joins `group` (leaving any other), or leaves with `null` / `''`. */
  async joinRealtime(params) {
    const form = formArg(params, { nullIfEmpty: true });
    const group = form.value && form.value.group;
    if (group !== null && group !== undefined && typeof group !== 'string')
      throw new RealtimeError('INVALID_PARAMETER', '"group" must be a string or null.');
    const core = await this._coreForCall();
    const { message } = await this._call((id) => core.join(id, group || ''));
    form.follow();
    return { type: 'success', message };
  }

  /**
   * Sends `message` (any JSON value) to the joined group, or privately to a user id.
   * `notification` ({title, body, config?}, at most 3 KB) is pushed (Web Push) to a recipient
   * with no connection, or always with config.always (docs/api.md, Notifications).
   */
  async postRealtime(message, recipient, notification) {
    const form = formArg(message);
    message = form.value;
    if (typeof recipient !== 'string' || recipient === '')
      throw new RealtimeError('INVALID_PARAMETER', '"recipient" must be a user id or the joined group.');
    const json = JSON.stringify(message);
    if (json === undefined) throw new RealtimeError('INVALID_PARAMETER', '"message" must be a JSON value.');
    const note = notification !== undefined && notification !== null ? push.checkNotification(notification, RealtimeError) : '';
    const core = await this._coreForCall();
    await this._call((id) => core.post(id, json, recipient, note));
    form.follow();
    return { type: 'success', message: 'Message sent.' };
  }

  /** Connections in a group (default: the joined one), one entry per connection: {user_id, cid}. */
  async getRealtimeUsers(params, fetchOptions) {
    const form = formArg(params);
    const p = form.value || {};
    if (p.group !== undefined && p.group !== null && typeof p.group !== 'string')
      throw new RealtimeError('INVALID_PARAMETER', '"group" must be a string.');
    if (p.user_id !== undefined && p.user_id !== null && typeof p.user_id !== 'string')
      throw new RealtimeError('INVALID_PARAMETER', '"user_id" must be a string.');
    const query = {};
    if (p.group) query.group = p.group;
    if (p.user_id) query.user_id = p.user_id;
    const page = await this._list('users', query, fetchOptions);
    form.follow();
    return page;
  }

  /** Groups with their connection counts, optionally searched: {searchFor, value, condition?, range?}. */
  async getRealtimeGroups(params, fetchOptions) {
    const form = formArg(params);
    params = form.value;
    const query = {};
    if (params) {
      for (const k of ['searchFor', 'value', 'condition', 'range'])
        if (params[k] !== undefined && params[k] !== null) query[k] = params[k];
    }
    const page = await this._list('groups', query, fetchOptions);
    form.follow();
    return page;
  }

  // ---- Web Push (js/notifications.js) -------------------------------------------------------

  /** The server's VAPID public key: {VAPIDPublicKey}. */
  vapidPublicKey() { return push.vapidPublicKey(this); }
  /** Stores this user's push subscription: (endpoint, keys) or ({endpoint, keys}). */
  subscribeNotification(...args) { return push.subscribeNotification(this, RealtimeError, args); }
  /** Removes this user's push subscription: (endpoint, keys) or ({endpoint, keys}). */
  unsubscribeNotification(...args) { return push.unsubscribeNotification(this, RealtimeError, args); }
  /** Admins only: pushes {title, body} to `user_ids`, or to every subscriber. */
  pushNotification(form, user_ids) { return push.pushNotification(this, RealtimeError, form, user_ids); }

  // ---- WebRTC calls (js/rtc.js) -------------------------------------------------------------

  /** Calls connection `cid`; resolves with {hangup, connection} once ringing starts. */
  async connectRTC(params, callback) {
    return this._rtcCalls().connect(formArg(params).value, callback);
  }

  /** Hangs up the call(s) with connection `cid`, or every call with `close_all: true`. */
  async closeRTC(params) {
    return this._rtcCalls().close(formArg(params).value);
  }

  _rtcCalls() {
    return this._rtc || (this._rtc = new RtcCalls(this, RealtimeError));
  }

  // ---- state --------------------------------------------------------------------------------

  /** 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed' */
  get state() {
    return this._core ? this._core.state() : 'idle';
  }
  /** This connection's id, "cid:…", once connected. */
  get cid() {
    return this._core ? this._core.cid() || null : null;
  }
  /** The authenticated user id (the token's subject), once connected: Skapi's `skapi.user.user_id`. */
  get userId() {
    return (this._core && this._core.user()) || null;
  }
  /** The joined group, or null. */
  get group() {
    return (this._core && this._core.group()) || null;
  }

  // ---- internals ----------------------------------------------------------------------------

  // One page of a list, in Skapi's DatabaseResponse shape. The core keeps the cursors
  // (src/client/pager.hpp); this carries its request over the socket or HTTP.
  async _list(op, query, fetchOptions) {
    const core = await this._ensureCore();
    const step = JSON.parse(core.pageBegin(op, JSON.stringify(query), JSON.stringify(fetchOptions || null)));
    if (step.error) throw new RealtimeError(step.error.code, step.error.message);
    if (step.page) return step.page;
    const fetchPage = await this._pageFetcher(op);
    const data = await fetchPage(step.request);
    return JSON.parse(core.pageDone(JSON.stringify(step.ticket), JSON.stringify(data)));
  }

  // Over the socket when one is open or coming; otherwise over HTTP with the token, as Skapi's
  // lists work before and without a connection.
  async _pageFetcher(op) {
    if (this._ready) await this._ready;
    const s = this.state;
    if (this._core && (s === 'open' || s === 'connecting' || s === 'reconnecting'))
      return async (request) => (await this._call((id) => this._core[op](id, JSON.stringify(request)))).data;
    return (request) => this._httpQuery(op, request);
  }

  async _httpQuery(op, request) {
    if (op === 'users' && !request.group)
      throw new RealtimeError('INVALID_PARAMETER', 'No group joined: pass { group } or run joinRealtime() first.');
    let token;
    try {
      token = typeof this._token === 'function' ? await this._token() : this._token;
    } catch (e) {
      throw new RealtimeError('UNAUTHORIZED', 'Could not get a token: ' + String((e && e.message) || e));
    }
    if (typeof token !== 'string' || token === '')
      throw new RealtimeError('INVALID_REQUEST', 'No access: a token is required.');
    const u = new URL(this._url || defaultUrl());
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    u.pathname = u.pathname.replace(/\/?$/, '/') + op;
    u.search = '';
    let res;
    try {
      res = await fetch(u.href, {
        method: 'POST',
        headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' },
        body: JSON.stringify(request),
      });
    } catch (e) {
      throw new RealtimeError('NOT_CONNECTED', 'Could not reach the realtime server: ' + String((e && e.message) || e));
    }
    const body = await res.json().catch(() => null);
    if (!res.ok || !body) throw new RealtimeError((body && body.code) || 'INTERNAL', (body && body.message) || `HTTP ${res.status}`);
    return body;
  }

  async _coreForCall() {
    if (this._ready) await this._ready;
    return this._requireCore();
  }

  _requireCore() {
    if (!this._core)
      throw new RealtimeError('NOT_CONNECTED', 'No realtime connection. Execute connectRealtime() before this method.');
    return this._core;
  }

  async _ensureCore() {
    if (this._core) return this._core;
    if (!this._corePromise) {
      this._corePromise = loadModule(this._options.wasmUrl || DEFAULT_WASM).then((Module) => {
        this._module = Module;
        this._core = new Module.WasmClient(this._handlers(), this._coreOptions());
        return this._core;
      });
    }
    return this._corePromise;
  }

  _coreOptions() {
    const o = this._options;
    const r = o.reconnect || {};
    return {
      initialDelay: r.initialDelay,
      maxDelay: r.maxDelay,
      maxAttempts: r.maxAttempts,
      jitter: r.jitter,
      connectTimeout: o.connectTimeout,
      requestTimeout: o.requestTimeout,
      queueMaxCount: o.offlineQueue && o.offlineQueue.maxCount,
      queueMaxBytes: o.offlineQueue && o.offlineQueue.maxBytes,
      keepAlive: o.keepAlive,
      deadAfter: o.deadAfter,
      rtcConnectTimeout: o.rtcConnectTimeout,
    };
  }

  // Callbacks from the core run synchronously inside its calls; they are deferred to a
  // microtask so app code never re-enters the core mid-step.
  // Callbacks from the core run synchronously inside its calls; they are deferred so app code
  // never re-enters the core mid-step. One ordered queue, drained in one microtask, keeps their
  // order and costs one microtask per burst rather than one per event.
  _handlers() {
    return {
      event: (type, messageJson, sender, senderCid, senderRid, code) =>
        this._defer(() => this._emit(type, messageJson, sender, senderCid, senderRid, code)),
      // message (1) and private (2) events: built from the received frame's own text (the wasm
      // module's receive hook, src/wasm/post.js, hands it over once the core took the frame).
      frame: (kind, text) => this._defer(kind, text),
      reply: (call, ok, code, message, dataJson) =>
        this._defer(() => {
          const c = this._calls.get(call);
          if (!c) return;
          this._calls.delete(call);
          if (ok) c.resolve({ message, data: dataJson ? JSON.parse(dataJson) : undefined });
          else c.reject(new RealtimeError(code, message));
        }),
      rtc: (...args) => this._defer(() => this._rtcCalls().onCore(...args)),
      token: (request) => this._defer(() => this._fetchToken(request)),
    };
  }

  // A function, or a frame event as two entries (kind, text): no closure per received message.
  _defer(fn, text) {
    if (this._deferred.length === 0) queueMicrotask(() => this._drain());
    if (text === undefined) this._deferred.push(fn);
    else this._deferred.push(fn, text);
  }

  _drain() {
    const list = this._deferred;
    this._deferred = [];
    for (let i = 0; i < list.length; i++) {
      const fn = list[i];
      try {
        if (typeof fn === 'number') this._emitFrame(fn === 1 ? 'message' : 'private', list[++i]);
        else fn();
      } catch (e) {
        console.error('switchboard:', e);
      }
    }
  }

  // For a connection attempt or a refresh of the open connection's token: the core tells them
  // apart by `request` and ignores answers that come too late.
  async _fetchToken(request) {
    try {
      const t = typeof this._token === 'function' ? await this._token() : this._token;
      if (typeof t !== 'string' || t === '') throw new Error('the token function gave no token');
      this._core.provideToken(request, t);
    } catch (e) {
      this._core.tokenFailed(request, String((e && e.message) || e));
    }
  }

  _emit(type, messageJson, sender, senderCid, senderRid, code) {
    const ev = { type, message: messageJson === '' ? undefined : JSON.parse(messageJson) };
    if (type === 'notice') Object.assign(ev, NULL_FIELDS);  // Skapi: null where a field does not apply
    if (sender) ev.sender = sender;
    if (senderCid) ev.sender_cid = senderCid;
    if (senderRid) ev.sender_rid = senderRid;
    if (code) ev.code = code;
    if (type === 'close' || (type === 'error' && this.state === 'closed')) this._unlisten();
    this._deliver(ev);
  }

  // The frame's fields are the event's (docs/protocol.md): group -> sender_rid.
  _emitFrame(type, text) {
    const f = JSON.parse(text);
    this._deliver({ type, message: f.msg, sender: f.sender, sender_cid: f.sender_cid, sender_rid: f.group || null, code: null });
  }

  _deliver(ev) {
    callSafely(this._callback, ev, 'RealtimeCallback');
  }

  _call(start) {
    return new Promise((resolve, reject) => {
      const id = this._nextCall++;
      this._calls.set(id, { resolve, reject });
      start(id);
    });
  }

  _socket() {
    return this._module.socketById(this._core.socketId());
  }

  // Page lifecycle: leave and close when the page goes away; reconnect at once when the
  // network or the tab comes back.
  _listen() {
    if (this._listeners || typeof window === 'undefined') return;
    const core = this._core;
    this._listeners = {
      pagehide: () => core.pageHide(),
      beforeunload: () => core.pageHide(),
      online: () => core.wake(),
      visibilitychange: () => {
        if (document.visibilityState === 'visible') core.wake();
      },
    };
    for (const [name, fn] of Object.entries(this._listeners))
      (name === 'visibilitychange' ? document : window).addEventListener(name, fn);
    this._stopTicker = startTicker(() => core.tick(), core.tickInterval());
  }

  _unlisten() {
    if (!this._listeners) return;
    for (const [name, fn] of Object.entries(this._listeners))
      (name === 'visibilitychange' ? document : window).removeEventListener(name, fn);
    this._listeners = null;
    if (this._stopTicker) this._stopTicker();
    this._stopTicker = null;
  }
}

export default Realtime;
