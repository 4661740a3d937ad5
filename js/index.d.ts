// Types for switchboard-realtime (hand-written: Emscripten 3.1.6 emits none).

export type ErrorCode =
  | 'INVALID_REQUEST'
  | 'INVALID_PARAMETER'
  | 'NOT_JOINED'
  | 'RECIPIENT_OFFLINE'
  | 'TOO_LARGE'
  | 'TOO_DEEP'
  | 'RATE_LIMITED'
  | 'DUPLICATE_ID'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_CONNECTED'
  | 'TIMEOUT'
  | 'DISCONNECTED'
  | 'CLOSED'
  | 'NOT_SUPPORTED'
  | 'INTERNAL';

export declare class RealtimeError extends Error {
  readonly name: 'RealtimeError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string);
}

export type NoticeCode = 'USER_JOINED' | 'USER_LEFT' | 'USER_DISCONNECTED';

/** The argument of the RealtimeCallback, shaped as Skapi's. */
export interface RealtimeEvent {
  type: 'message' | 'error' | 'success' | 'close' | 'notice' | 'private' | 'reconnect';
  /** The JSON sent (message, private), or a text for the other types. */
  message?: any;
  /** user id of the sender (message, private, notice) */
  sender?: string;
  /** "cid:<id>" of the sender's connection */
  sender_cid?: string;
  /** the sender's group */
  sender_rid?: string;
  /** notices: what happened; errors: the error code */
  code?: NoticeCode | ErrorCode;
}

export type RealtimeCallback = (event: RealtimeEvent) => void;

export interface ReconnectOptions {
  /** first delay ceiling in ms (default 500); the delay is uniform in [0, ceiling) */
  initialDelay?: number;
  /** largest delay ceiling in ms (default 20000) */
  maxDelay?: number;
  /** give up after this many attempts in a row (default 0: never) */
  maxAttempts?: number;
}

export interface RealtimeOptions {
  /** WebSocket URL; default: ws(s)://<page origin>/realtime */
  url?: string;
  /** A JWT, or a function giving one (or a Promise of one); called on every connect. */
  token: string | (() => string | Promise<string>);
  /** Where switchboard_core.wasm is served; default: next to index.js. */
  wasmUrl?: string | URL;
  reconnect?: ReconnectOptions;
  /** ms to wait for the server's welcome (default 10000) */
  connectTimeout?: number;
  /** ms to wait for a reply, or for the connection when a call is made while reconnecting (default 10000) */
  requestTimeout?: number;
  /** ms of silence before a keep-alive ping (default 15000) */
  keepAlive?: number;
  /** ms without any frame before the connection is treated as dead and replaced (default 40000) */
  deadAfter?: number;
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

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export declare class Realtime {
  constructor(options: RealtimeOptions);
  connectRealtime(callback: RealtimeCallback): Promise<WebSocket>;
  closeRealtime(): Promise<void>;
  joinRealtime(params: { group: string | null }): Promise<SuccessResult>;
  /** `notification` is validated (at most 3 KB) but no push is sent: Switchboard has no push service. */
  postRealtime(message: any, recipient: string, notification?: Notification): Promise<SuccessResult>;
  getRealtimeUsers(
    params?: { group?: string; user_id?: string },
    fetchOptions?: FetchOptions,
  ): Promise<DatabaseResponse<RealtimeUser>>;
  getRealtimeGroups(params?: GroupSearch | null, fetchOptions?: FetchOptions): Promise<DatabaseResponse<RealtimeGroup>>;
  readonly state: ConnectionState;
  readonly cid: string | null;
  readonly group: string | null;
}

export default Realtime;
