// Types of papercast-client, the reference client of papercast protocol v1
// (docs/protocol.md). Hand-written: keep in step with papercast-client.js.

/** Any JSON value a field may hold. */
export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };

/**
 * An element as the server stores it: an id and free-form fields. Fields a
 * later server adds (e.g. `by` and `createdAt`, server-stamped authorship)
 * are passed through as they come.
 */
export interface Element {
  id: string;
  by?: { user: string; name?: string; [key: string]: unknown };
  createdAt?: string;
  [field: string]: unknown;
}

export interface Paper {
  id: string;
  title: string;
  to?: string;
  status: 'open' | 'final';
  createdAt?: string;
  finalizedAt?: string;
  /** Who may change an existing element: its author (and owners), or anyone. */
  edit?: 'authors' | 'open';
  [key: string]: unknown;
}

/** The session's identity, from the first frame of each connection. */
export interface You {
  session: string;
  user: string;
  name?: string;
  /** Server-issued guest credential (issue 10); sent as `token` on reconnects. */
  token?: string;
  [key: string]: unknown;
}

export interface PresenceEntry {
  session: string;
  user: string;
  name?: string;
  state: Record<string, unknown>;
  [key: string]: unknown;
}

export type Status = 'connecting' | 'open' | 'reconnecting' | 'offline' | 'closed';

/** Error codes of the protocol, plus the client's own `closed`. */
export type ErrorCode =
  | 'invalid' | 'not_found' | 'finalized' | 'too_large' | 'rate_limited' | 'unavailable'
  | 'unsupported' | 'forbidden' | 'internal' | 'overloaded' | 'full' | 'filtered'
  | 'closed' | (string & {});

/** A frame as received (op, ack, error, presence, ... and later frame types). */
export interface Frame {
  type: string;
  [key: string]: unknown;
}

export interface ChangeEvent {
  /**
   * snapshot: everything was replaced (ids is null); resumed: a new session
   * continues the old state; op: a server op was applied; local: an edit of
   * yours shows; ack: an edit of yours settled; rollback: an edit of yours
   * was refused (or the client closed) and is no longer shown; finalized:
   * the paper is read-only; policy: the owner changed who may edit
   * (`paper.edit`); frame: a frame type of a later protocol version took a
   * seq.
   */
  reason: 'snapshot' | 'resumed' | 'op' | 'local' | 'ack' | 'rollback' | 'finalized' | 'policy' | 'frame';
  /** Element ids that may look different now; null: all of them. */
  ids: string[] | null;
  frame?: Frame;
  /** op: the op came from this client (one of its sessions). */
  mine?: boolean;
  error?: PapercastError;
}

export interface PresenceEvent {
  /** join | update | leave for one session; snapshot | resumed | reset for the whole map. */
  event: 'join' | 'update' | 'leave' | 'snapshot' | 'resumed' | 'reset';
  session?: string;
  entry?: PresenceEntry;
  presence: Map<string, PresenceEntry>;
}

export interface StatusEvent {
  status: Status;
  previous: Status;
  /** Failed attempts in a row (0 once a first frame arrives). */
  attempt: number;
  /** The close code that caused the change, when there was one. */
  code?: number;
  /** The meaning of code in CLOSE_CODES (e.g. deleted, full), or why the client stopped (closed, not_found). */
  reason?: string;
  /** Milliseconds until the next attempt. */
  delay?: number;
  /** The error frame the server sent before closing, if any (e.g. code full). */
  error?: Frame;
}

export interface ErrorEvent {
  code: ErrorCode;
  message: string;
  frame: Frame;
  error: PapercastError;
  /** The refused edit, when the error answered one (it has been rolled back). */
  edit?: { op: 'upsert' | 'delete'; id: string; fields: Record<string, JSONValue> | null };
  /** The error answered a claim. */
  claim?: boolean;
}

export interface EventMap {
  change: ChangeEvent;
  presence: PresenceEvent;
  status: StatusEvent;
  error: ErrorEvent;
  /** Every frame received, before the client handles it (for frames it does not know). */
  frame: Frame;
}

/** A WebSocket constructor: the browser's, Node 22's, or the `ws` package's. */
export interface WebSocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ServerChoice {
  /** Failed attempts in a row so far. */
  attempt: number;
  paperId: string;
}

export interface ClientOptions {
  paperId: string;
  /**
   * Where to connect: a replica's base URL (http(s):// or ws(s)://, a path
   * prefix is kept), a list of them (each new attempt goes to the next one,
   * so a dead replica is left behind), or a function choosing one per
   * attempt. Default in a browser page: location.origin.
   */
  server?: string | string[] | ((choice: ServerChoice) => string | Promise<string>);
  /**
   * Sent as `user`. Servers ignore it (they mint your user id, see
   * `you.user`) unless they run with `auth.trust_query_user: true`, for
   * development and test harnesses; always ignored in JWT mode.
   */
  user?: string;
  /** Display name. */
  name?: string;
  /**
   * `token` query parameter: a JWT (JWT mode) or a guest token from an
   * earlier `you.token`. Once the server issues `you.token`, reconnects use it.
   */
  token?: string | (() => string | Promise<string>);
  /**
   * Guest mode: where to keep the server-issued guest token (`you.token`)
   * across page loads, so a person stays the same user (and keeps the right
   * to edit their own notes) after a reload. Pass `localStorage` in a page.
   * Stored under `papercast.token.<paperId>` (a token is valid on its paper
   * only); read when the client is made, unless `token` is given. A storage
   * that throws is treated as none.
   */
  tokenStorage?: { getItem(key: string): string | null; setItem(key: string, value: string): void };
  /**
   * Extra query parameters for the WebSocket URL. The client asks for
   * `batch=1` (several events per frame, newline-separated) and splits
   * them; `{ batch: '0' }` asks for one event per frame.
   */
  params?: Record<string, string>;
  /** Required where there is no global WebSocket (Node < 22): e.g. `(await import('ws')).WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** First reconnect delay after a failure, doubled per failed attempt (x 0.5-1.5 jitter). Default 500. */
  backoffMinMs?: number;
  /** Cap of the reconnect delay. Default 30000. */
  backoffMaxMs?: number;
  /** Spread of an immediate reconnect after 1001/4008. Default 500. */
  jitterMs?: number;
  /** Least delay after close 4013 (full). Default 5000. */
  fullMinMs?: number;
  /** Failed attempts in a row before the status says offline. Default 5. */
  offlineAfter?: number;
  /** A socket without its first frame by then is dropped and retried. Default 10000. */
  firstFrameTimeoutMs?: number;
  /** Resends of an edit refused as overloaded, rate_limited or unavailable. Default 5. */
  retries?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Least interval between presence frames. Default 60. */
  presenceIntervalMs?: number;
  /** Browsers: reconnect at once on the `online` event. Default true. */
  watchOnline?: boolean;
  /** Ask REST whether the paper exists after a connect refused before any frame (404: stop). Default true. */
  checkGone?: boolean;
  /** Random source for jitter, in [0, 1). Default Math.random. */
  random?: () => number;
}

export interface EditResult {
  /** The seq the edit was stored as; null when a snapshot showed it stored. */
  seq: number | null;
  ref?: string;
  /** The edit was dropped before a resend because later edits replaced all of it. */
  superseded?: boolean;
}

export declare class PapercastError extends Error {
  constructor(code: ErrorCode, message?: string, frame?: Frame);
  readonly code: ErrorCode;
  readonly ref?: string;
  readonly frame?: Frame;
}

/** The server-confirmed document. */
export declare class PaperState {
  epoch: string;
  seq: number;
  paper: Paper | null;
  byId: Map<string, Element>;
  order: string[];
  reset(snapshot: Frame): void;
  apply(op: Frame): void;
  advance(frame: Frame): void;
  finalize(seq: number): void;
  readonly final: boolean;
}

export declare class PapercastClient {
  constructor(options: ClientOptions);
  readonly options: Required<Pick<ClientOptions, 'paperId'>> & ClientOptions;

  readonly status: Status;
  readonly paperId: string;
  readonly paper: Paper | null;
  readonly epoch: string;
  /** The seq of the last change applied. */
  readonly seq: number;
  readonly final: boolean;
  readonly you: You | null;
  /** The token the next connection will send. */
  readonly token: string;
  /** Everyone on the paper, by session (you included); empty while disconnected. */
  readonly presence: Map<string, PresenceEntry>;
  /** Edits not yet stored nor refused. */
  readonly pendingCount: number;
  /** The document as the server confirmed it, without your pending edits. */
  readonly confirmed: PaperState;
  /** The document as shown: confirmed plus your pending edits, in creation order. Do not mutate. */
  readonly elements: readonly Element[];
  /** One element as shown, or undefined. */
  get(id: string): Element | undefined;

  onchange: ((ev: ChangeEvent) => void) | null;
  onpresence: ((ev: PresenceEvent) => void) | null;
  onstatus: ((ev: StatusEvent) => void) | null;
  onerror: ((ev: ErrorEvent) => void) | null;
  onframe: ((f: Frame) => void) | null;
  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof EventMap>(type: K, fn: (ev: EventMap[K]) => void): () => void;

  /** Connects (and reconnects until close()); resolves on the first frame, rejects if closed first. */
  connect(): Promise<void>;
  /** Closes for good; pending edits are rolled back and reject with `closed`. */
  close(): void;
  /** Drops the socket and resumes at once (since/epoch). */
  reconnect(): void;

  /** Creates element id or merges fields (null removes a field); shown at once, rolled back if refused. */
  upsert(id: string, fields: Record<string, JSONValue>): Promise<EditResult>;
  /** Deletes element id; shown at once, rolled back if refused. */
  delete(id: string): Promise<EditResult>;
  /** Resolves when every edit made so far is stored or refused. */
  flush(): Promise<void>;
  /** Sets this session's presence state (throttled; resent on each new session). */
  setPresence(state: Record<string, JSONValue>): void;
  /**
   * Presents the owner key in a `claim` frame (issue 10); resolves on ack,
   * rejects with forbidden for a wrong key. Repeated on each new session once
   * accepted. Servers without claims answer `unsupported`.
   */
  claim(ownerKey: string): Promise<{ ref?: string }>;
}

export type CloseActionName = 'now' | 'backoff' | 'later' | 'stop';
export declare const CLOSE_CODES: Readonly<Record<number, { action: CloseActionName; reason: string }>>;
export declare function closeAction(code: number): { action: CloseActionName; reason: string };
export declare const RETRY_CODES: readonly string[];
export declare function mergeFields<T extends Record<string, unknown>>(el: T, fields: Record<string, JSONValue>): T;
export declare function jsonEqual(a: unknown, b: unknown): boolean;
export declare function newId(length?: number): string;
export declare function socketURL(base: string, paperId: string, params: Record<string, unknown>): string;
/** A new client, already connecting. */
export declare function connect(options: ClientOptions): PapercastClient;
export default PapercastClient;
