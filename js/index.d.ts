// Types for switchboard-realtime (hand-written: Emscripten 3.1.6 emits none).

export type ErrorCode =
  | 'INVALID_REQUEST'
  | 'INVALID_PARAMETER'
  | 'NOT_JOINED'
  | 'RECIPIENT_OFFLINE'
  | 'TOO_LARGE'
  | 'TOO_DEEP'
  | 'RATE_LIMITED'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_CONNECTED'
  | 'TIMEOUT'
  | 'DISCONNECTED'
  | 'CLOSED'
  /** a call made while reconnecting: the offline queue is at offlineQueue.maxCount or maxBytes */
  | 'QUEUE_FULL'
  | 'NOT_SUPPORTED'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  /** connectRTC: the callee rejected the call (its rtc:incoming hangup()) */
  | 'RTC_REJECTED'
  /** connectRTC: the other side hung up (or its page closed) before answering; rtc:closed code */
  | 'RTC_HANGUP'
  /** connectRTC: this side hung up before the callee answered */
  | 'RTC_CANCELLED'
  /** connectRTC: getUserMedia failed (no device, permission refused) */
  | 'MEDIA_UNAVAILABLE'
  /** a call: picked up but not connected within rtcConnectTimeout (both sides) */
  | 'RTC_CONNECT_TIMEOUT'
  /** a call: ICE failed (both sides) */
  | 'RTC_FAILED'
  /** a call: the peer-to-peer connection was lost (both sides) */
  | 'RTC_DISCONNECTED';

export declare class RealtimeError extends Error {
  readonly name: 'RealtimeError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string);
}

/** RECOVERY_FAILED: messages sent while this page was disconnected could not be replayed (the
 * server restarted or its history no longer reaches back); sender_rid is the group, or null for
 * private messages. Live messages follow; refetch what matters. */
export type NoticeCode = 'USER_JOINED' | 'USER_LEFT' | 'USER_DISCONNECTED' | 'RECOVERY_FAILED';

/** The argument of the RealtimeCallback, shaped as Skapi's. */
export interface RealtimeEvent {
  type: 'message' | 'error' | 'success' | 'close' | 'notice' | 'private' | 'reconnect' | 'rtc:incoming' | 'rtc:closed';
  /** The JSON sent (message, private), or a text for the other types. */
  message?: any;
  /** user id of the sender (message, private, notice) */
  sender?: string | null;
  /** "cid:<id>" of the sender's connection */
  sender_cid?: string | null;
  /** the sender's group; null on message/private/notice events where there is none */
  sender_rid?: string | null;
  /** notices: what happened; errors: the error code; null on message/private events */
  code?: NoticeCode | ErrorCode | null;
  /** rtc:incoming: answers the call; resolves once this side picked up. */
  connectRTC?: (params: RTCReceiverParams, callback?: RTCCallback) => Promise<RTCResolved>;
  /** rtc:incoming: rejects the call (the caller's `connection` rejects with RTC_REJECTED); later, hangs up. */
  hangup?: () => Promise<void>;
  /** rtc:incoming: what the caller sends */
  media?: { audio: boolean; video: boolean };
}

// ---- WebRTC calls ------------------------------------------------------------------------------

export type RTCChannelPreset = 'text-chat' | 'file-transfer' | 'video-chat' | 'voice-chat' | 'gaming';

/** `ice`: a STUN/TURN URL, an RTCIceServer (TURN with username/credential), an array of them, or an RTCConfiguration. */
export type RTCIceParam = string | RTCIceServer | (string | RTCIceServer)[] | RTCConfiguration;

export interface RTCReceiverParams {
  ice?: RTCIceParam;
  /** {audio, video} booleans or constraints, MediaStreamConstraints, or a MediaStream used as is. */
  media?: { audio?: boolean | MediaTrackConstraints; video?: boolean | MediaTrackConstraints } | MediaStreamConstraints | MediaStream;
}

export interface RTCConnectorParams extends RTCReceiverParams {
  /** the connection to call: "cid:…" (sender_cid, getRealtimeUsers) */
  cid: string;
  /** data channels; default one {ordered:true, maxPacketLifeTime:10, protocol:'default'} */
  channels?: (RTCChannelPreset | Omit<RTCDataChannelInit, 'negotiated' | 'id'>)[];
  /** ms to wait for the callee to pick up (default: RealtimeOptions.rtcTimeout, else 30000) */
  timeout?: number;
}

export interface RTCResolved {
  target: RTCPeerConnection;
  /** by protocol (= label) */
  channels: { [protocol: string]: RTCDataChannel };
  hangup: () => Promise<void>;
  /** the local media sent, or null */
  media: MediaStream | null;
  /** the tracks the other side sends, gathered as they arrive */
  remote: MediaStream | null;
}

export type RTCEventType =
  | 'track' | 'connectionstatechange' | 'close' | 'message' | 'open' | 'bufferedamountlow' | 'error'
  | 'icecandidate' | 'icecandidateend' | 'icegatheringstatechange' | 'negotiationneeded'
  | 'signalingstatechange' | 'iceconnectionstatechange' | 'icecandidateerror';

export interface RTCEvent {
  type: RTCEventType;
  /** the RTCPeerConnection, or the RTCDataChannel for channel events */
  target: RTCPeerConnection | RTCDataChannel;
  /** channel events: the channel's protocol (= label); Skapi's label, id */
  channel?: string;
  label?: string;
  id?: number | null;
  /** channel events */
  readyState?: RTCDataChannelState;
  bufferedAmount?: number;
  /** message */
  data?: any;
  /** connectionstatechange ('closed' once the call is over), iceconnectionstatechange, icegatheringstatechange, signalingstatechange */
  state?: string;
  /** connectionstatechange (Skapi's fields) */
  iceState?: RTCIceConnectionState;
  signalingState?: RTCSignalingState;
  /** ISO time of the event */
  timestamp?: string;
  /** track */
  track?: MediaStreamTrack;
  streams?: readonly MediaStream[];
  receiver?: RTCRtpReceiver;
  transceiver?: RTCRtpTransceiver;
  /** icecandidate: the candidate line (Skapi's), with sdpMid, sdpMLineIndex, usernameFragment */
  candidate?: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
  /** icecandidateerror */
  errorCode?: number;
  errorText?: string;
  url?: string;
  address?: string | null;
  port?: number | null;
  /** error */
  error?: any;
  /** connectionstatechange 'closed' (the call is over): why it ended; error: a text */
  code?: ErrorCode;
  message?: string;
}

export type RTCCallback = (event: RTCEvent) => void;

export type RealtimeCallback = (event: RealtimeEvent) => void;

export interface ReconnectOptions {
  /** first delay ceiling in ms (default 500); the delay is uniform in [0, ceiling) */
  initialDelay?: number;
  /** largest delay ceiling in ms (default 20000) */
  maxDelay?: number;
  /** give up after this many attempts in a row (default 0: never) */
  maxAttempts?: number;
  /** default true: each delay is uniform in [0, ceiling); false waits the whole ceiling */
  jitter?: boolean;
}

/** Calls made while the connection is down wait here, in order, and go out after the rejoin. */
export interface OfflineQueueOptions {
  /** calls that may wait (default 1000; 0: none); one more fails at once with QUEUE_FULL */
  maxCount?: number;
  /** framed bytes that may wait (default 1048576); a call past it fails at once with QUEUE_FULL */
  maxBytes?: number;
}

export interface RealtimeOptions {
  /** WebSocket URL, or several nodes' URLs (a lost connection tries the next); default:
   * ws(s)://<page origin>/realtime */
  url?: string | string[];
  /** A JWT, or a function giving one (or a Promise of one); called on every connect, and before
   * the token expires to refresh it on the open connection. */
  token: string | (() => string | Promise<string>);
  /** Where switchboard_core.wasm is served; default: next to index.js. */
  wasmUrl?: string | URL;
  reconnect?: ReconnectOptions;
  /** ms to wait for the server's welcome (default 10000) */
  connectTimeout?: number;
  /** ms to wait for a reply, or for the connection when a call is made while reconnecting (default 10000) */
  requestTimeout?: number;
  /** bounds of the offline queue (docs/api.md, Offline queue) */
  offlineQueue?: OfflineQueueOptions;
  /** ms of silence before a keep-alive ping (default 15000) */
  keepAlive?: number;
  /** ms without any frame before the connection is treated as dead and replaced (default 40000) */
  deadAfter?: number;
  /** ms a call rings before connectRTC's `connection` rejects with TIMEOUT (default 30000) */
  rtcTimeout?: number;
  /** ms a picked-up call may take to connect with its channels open before it ends with RTC_CONNECT_TIMEOUT on both sides (default 20000; 0: no bound) */
  rtcConnectTimeout?: number;
}

export interface SuccessResult {
  type: 'success';
  message: string;
}

export interface FetchOptions {
  /** items per page, 1..1000 (default 100) */
  limit?: number;
  /** continue the same query from where its last page ended */
  fetchMore?: boolean;
  /** default true */
  ascending?: boolean;
  /** start after this key (a startKey of an earlier page) */
  startKey?: object | string;
}

/** Skapi's list shape. */
export interface DatabaseResponse<T> {
  list: T[];
  /** the key to continue from, or 'end' */
  startKey: object | 'end';
  endOfList: boolean;
  /** the start keys used so far by this query, as JSON texts */
  startKeyHistory: string[];
}

export interface RealtimeUser {
  user_id: string;
  /** "cid:<id>" of one connection */
  cid: string;
}

export interface RealtimeGroup {
  group: string;
  /** connections in the group */
  number_of_users: number;
}

export type Condition = '>' | '>=' | '=' | '<' | '<=' | '!=' | 'gt' | 'gte' | 'eq' | 'lt' | 'lte' | 'ne';

export type GroupSearch =
  | { searchFor: 'group'; value: string; condition?: Condition; range?: string }
  | { searchFor: 'number_of_users'; value: number; condition?: Condition; range?: number };

export interface Notification {
  title: string;
  body: string;
  config?: { always?: boolean };
}

/** PushSubscription.toJSON().keys: base64url. */
export interface PushSubscriptionKeys {
  p256dh: string;
  auth: string;
}

/** What Skapi accepts where it takes params: the value, or an HTML form to read it from. */
export type FormArg<T> = T | SubmitEvent | HTMLFormElement | HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement | FormData;

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export declare class Realtime {
  constructor(options: RealtimeOptions);
  connectRealtime(callback: RealtimeCallback): Promise<WebSocket>;
  closeRealtime(): Promise<void>;
  joinRealtime(params: FormArg<{ group: string | null }>): Promise<SuccessResult>;
  /** `notification` (at most 3 KB as {title, body}) is pushed to a recipient with no connection, or always with config.always. */
  postRealtime(message: any, recipient: string, notification?: Notification): Promise<SuccessResult>;
  /** The server's VAPID public key, for PushManager.subscribe's applicationServerKey. */
  vapidPublicKey(): Promise<{ VAPIDPublicKey: string }>;
  subscribeNotification(endpoint: string, keys: PushSubscriptionKeys): Promise<'SUCCESS: Subscribed to receive notifications.'>;
  subscribeNotification(subscription: { endpoint: string; keys: PushSubscriptionKeys }): Promise<'SUCCESS: Subscribed to receive notifications.'>;
  unsubscribeNotification(endpoint: string, keys: PushSubscriptionKeys): Promise<'SUCCESS: Unsubscribed from notifications.'>;
  unsubscribeNotification(subscription: { endpoint: string; keys: PushSubscriptionKeys }): Promise<'SUCCESS: Unsubscribed from notifications.'>;
  /** Admins only (token claim "admin": true, else FORBIDDEN): to `user_ids`, or every subscriber. */
  pushNotification(form: { title: string; body: string }, user_ids?: string | string[]): Promise<'SUCCESS: Notification sent.'>;
  /** Over the socket when one is open or coming, else over HTTP with the token. */
  getRealtimeUsers(
    params?: FormArg<{ group?: string; user_id?: string }>,
    fetchOptions?: FetchOptions,
  ): Promise<DatabaseResponse<RealtimeUser>>;
  getRealtimeGroups(params?: FormArg<GroupSearch> | null, fetchOptions?: FetchOptions): Promise<DatabaseResponse<RealtimeGroup>>;
  /** Calls a connection. `connection` resolves when the callee picks up and rejects (RTC_REJECTED,
   * RTC_HANGUP, RTC_CANCELLED, RECIPIENT_OFFLINE, TIMEOUT, CLOSED, DISCONNECTED) otherwise. */
  connectRTC(params: FormArg<RTCConnectorParams>, callback?: RTCCallback): Promise<{ hangup: () => Promise<void>; connection: Promise<RTCResolved> }>;
  /** Hangs up the call with `cid`, or all calls. */
  closeRTC(params: FormArg<{ cid: string } | { close_all: true }>): Promise<void>;
  readonly state: ConnectionState;
  readonly cid: string | null;
  /** the authenticated user id (the token's sub) once connected, else null: Skapi's `skapi.user.user_id` */
  readonly userId: string | null;
  readonly group: string | null;
}

export default Realtime;
