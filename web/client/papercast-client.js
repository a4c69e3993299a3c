// papercast-client: the reference client of papercast protocol v1
// (docs/protocol.md). One ES module, no dependencies; runs in browsers and in
// Node 18+ (pass a WebSocket constructor where there is no global one, e.g.
// the `ws` package on Node < 22).
//
// What it does for a board:
//   - connects, and reconnects after every close the protocol allows, with
//     since/epoch so a dropped socket resumes instead of reloading; failed
//     attempts back off exponentially with jitter, and rotate over the
//     replica URLs given (a dead replica is left for the next one);
//   - keeps the server-confirmed paper (snapshot + ops in seq order, the
//     merge of "Applying ops") and a pending overlay of the user's own edits,
//     so an edit shows at once and is rolled back if the server refuses it;
//   - keeps presence as a map by session (join/update overwrite, leave
//     removes, every first frame replaces it);
//   - reports what changed through typed events: change, presence, status,
//     error and frame.
//
// The state machine in one place:
//   status  connecting -> open -> reconnecting|offline -> open ... -> closed
//   "open" means the server's first frame (snapshot or resumed) arrived on
//   the current socket; every other status is derived from the socket too,
//   so it can never stay "offline" while frames flow.
//   edits   queued -> sent -> (ack | own op) -> settled
//           sent -> error (retryable) -> wait -> queued  (same order kept)
//           sent -> error -> rolled back
//           sent -> socket lost -> doubt -> (seen in snapshot/replay | resent)

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * What the client does after each close code (docs/protocol.md, "Close
 * codes"): reconnect at once with since/epoch ("now", jitter only), back off
 * ("backoff"), back off with a long first delay ("later", the server is at
 * capacity) or stop ("stop"). Codes not listed back off.
 */
export const CLOSE_CODES = Object.freeze({
  1000: { action: 'backoff', reason: 'normal' },
  1001: { action: 'now', reason: 'going_away' },
  1006: { action: 'backoff', reason: 'abnormal' },
  1008: { action: 'stop', reason: 'policy' },
  1009: { action: 'backoff', reason: 'too_large' },
  1011: { action: 'backoff', reason: 'internal' },
  1013: { action: 'backoff', reason: 'try_later' },
  4000: { action: 'now', reason: 'resync' }, // client side: a gap in seqs, resume
  4003: { action: 'stop', reason: 'banned' },
  4004: { action: 'stop', reason: 'deleted' },
  4008: { action: 'now', reason: 'too_slow' },
  4013: { action: 'later', reason: 'full' },
});

/** closeAction returns the entry of CLOSE_CODES for code (unknown codes back off). */
export function closeAction(code) {
  return CLOSE_CODES[code] || { action: 'backoff', reason: 'unknown' };
}

/**
 * Error codes after which an edit is resent by the client: the op was not
 * applied (overloaded, rate_limited) or most likely not (unavailable; if it
 * did land, its op frame settles the edit).
 */
export const RETRY_CODES = Object.freeze(['overloaded', 'rate_limited', 'unavailable']);

/** PapercastError is what a refused edit or claim rejects with. */
export class PapercastError extends Error {
  constructor(code, message, frame) {
    super(message || code);
    this.name = 'PapercastError';
    this.code = code;
    this.ref = frame && frame.ref;
    this.frame = frame;
  }
}

/**
 * mergeFields applies an upsert's fields to el in place: a null removes the
 * field, anything else replaces it; `id` is never a field.
 */
export function mergeFields(el, fields) {
  for (const [k, v] of Object.entries(fields)) {
    if (k === 'id') continue;
    if (v === null) delete el[k];
    else el[k] = v;
  }
  return el;
}

/**
 * PaperState is the server-confirmed document: elements in creation order,
 * the seq of the last change applied and the epoch it belongs to. Elements
 * keep every member the server sends: `by` (the author) and `createdAt`
 * from snapshots; an element created by an op gets that op's `by` (`user`,
 * `name`) as its author, and its `createdAt` with the next snapshot.
 */
export class PaperState {
  constructor() {
    this.epoch = '';
    this.seq = 0;
    this.paper = null;
    this.byId = new Map();
    this.order = [];
  }

  /** reset replaces everything with a snapshot frame. */
  reset(f) {
    this.epoch = f.epoch;
    this.seq = f.seq;
    this.paper = f.paper ? { ...f.paper } : null;
    this.byId = new Map();
    this.order = [];
    for (const el of f.elements || []) {
      this.byId.set(el.id, { ...el });
      this.order.push(el.id);
    }
  }

  /** apply merges one op frame (the caller checks its seq). */
  apply(f) {
    if (f.op === 'upsert') {
      let el = this.byId.get(f.id);
      if (!el) {
        el = { id: f.id };
        if (f.by && f.by.user) el.by = f.by.name ? { user: f.by.user, name: f.by.name } : { user: f.by.user };
        this.byId.set(f.id, el);
        this.order.push(f.id);
      } else {
        el = { ...el }; // elements handed out stay as they were
        this.byId.set(f.id, el);
      }
      mergeFields(el, f.fields || {});
    } else if (f.op === 'delete') {
      if (this.byId.delete(f.id)) this.order = this.order.filter((id) => id !== f.id);
    }
    this.seq = f.seq;
  }

  /**
   * advance takes a seq'd frame that is not an op: a policy change (the
   * paper's `edit`), or a frame type of a later protocol version.
   */
  advance(f) {
    this.seq = f.seq;
    if (f.type === 'policy' && this.paper) this.paper = { ...this.paper, edit: f.edit };
  }

  /** finalize marks the paper final at seq. */
  finalize(seq) {
    this.seq = seq;
    if (this.paper) this.paper = { ...this.paper, status: 'final' };
  }

  get final() {
    return !!this.paper && this.paper.status === 'final';
  }
}

/** jsonEqual compares two JSON values (object key order does not matter). */
export function jsonEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
}

/** newId returns a random element id (12 characters of [A-Za-z0-9]). */
export function newId(length = 12) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(length);
  if (globalThis.crypto && globalThis.crypto.getRandomValues) globalThis.crypto.getRandomValues(bytes);
  else for (let i = 0; i < length; i++) bytes[i] = Math.floor(Math.random() * 256);
  let s = '';
  for (const b of bytes) s += abc[b % abc.length];
  return s;
}

/**
 * socketURL builds the WebSocket URL of paperId on one replica. base is the
 * replica's origin, optionally with a path prefix: http(s):// or ws(s)://.
 */
export function socketURL(base, paperId, params) {
  const u = new URL(base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/v1/papers/${encodeURIComponent(paperId)}/ws`;
  u.search = '';
  u.hash = '';
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
  }
  return u.toString();
}

function restURL(base, paperId, token) {
  const u = new URL(base);
  if (u.protocol === 'ws:') u.protocol = 'http:';
  else if (u.protocol === 'wss:') u.protocol = 'https:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/v1/papers/${encodeURIComponent(paperId)}`;
  u.search = '';
  u.hash = '';
  if (token) u.searchParams.set('token', token);
  return u.toString();
}

const report =
  typeof globalThis.reportError === 'function'
    ? (err) => globalThis.reportError(err)
    : (err) => setTimeout(() => { throw err; });

const DEFAULTS = {
  backoffMinMs: 500, // first delay after a failure (x 0.5-1.5 jitter)
  backoffMaxMs: 30000,
  jitterMs: 500, // spread of an immediate reconnect (1001, 4008)
  fullMinMs: 5000, // least delay after 4013: the paper or replica is full
  offlineAfter: 5, // failed attempts in a row before status says offline
  firstFrameTimeoutMs: 10000, // a socket without its first frame by then is dropped
  retries: 5, // resends of one edit after a retryable error
  retryMinMs: 250,
  retryMaxMs: 8000,
  presenceIntervalMs: 60, // under the server's 20 presence frames/s
  watchOnline: true, // browsers: follow the online/offline events
  checkGone: true, // ask REST whether the paper exists after a refused connect
};

const EVENTS = ['change', 'presence', 'status', 'error', 'frame'];

/**
 * PapercastClient is one live connection to one paper. See
 * papercast-client.d.ts for the documented surface.
 */
export class PapercastClient {
  constructor(options) {
    if (!options || !options.paperId) throw new TypeError('papercast-client: paperId is required');
    this.options = { ...DEFAULTS, ...options };
    const WS = options.WebSocket || globalThis.WebSocket;
    if (typeof WS !== 'function') {
      throw new TypeError('papercast-client: no WebSocket: pass options.WebSocket (e.g. the `ws` package on Node < 22)');
    }
    this._WS = WS;
    this._servers = serverList(options.server);
    this._random = options.random || Math.random;

    this.onchange = null;
    this.onpresence = null;
    this.onstatus = null;
    this.onerror = null;
    this.onframe = null;
    this._listeners = new Map(EVENTS.map((t) => [t, new Set()]));

    this._doc = new PaperState();
    this._presence = new Map();
    this._you = null;
    // The server-issued guest token: from the last first frame, or (before
    // any) the one tokenStorage kept from an earlier page load.
    this._token = options.token === undefined ? this._storedToken() : '';
    this._mySessions = new Set(); // every session id this client has had
    this._status = 'closed';
    this._ended = false; // close() or a stopping close code; connect() clears it

    this._ws = null;
    this._ready = false; // first frame arrived on this._ws
    this._released = false; // resume replay done: queued edits may go out
    this._flushAt = 0;
    this._everOpen = false;
    this._stopped = true;
    this._attempts = 0;
    this._serverIndex = 0;
    this._opens = 0;
    this._timer = 0;
    this._firstFrameTimer = 0;
    this._lastError = null;

    this._pending = []; // edits in creation order: the overlay
    this._byRef = new Map(); // ref -> edit or claim in flight
    this._refs = 0;
    this._retryTimer = 0;
    this._claims = []; // claims not answered yet
    this._ownerKey = ''; // a successful claim, repeated on each new session

    this._presenceState = null;
    this._presenceSentAt = -Infinity;
    this._presenceTimer = 0;

    this._elementsCache = null;
    this._waiters = [];
    this._onOnline = () => this._online();
    this._onOffline = () => this._offline();
  }

  // ------------------------------------------------------------ public state

  /** status: connecting | open | reconnecting | offline | closed */
  get status() { return this._status; }
  get paperId() { return this.options.paperId; }
  get paper() { return this._doc.paper; }
  get epoch() { return this._doc.epoch; }
  get seq() { return this._doc.seq; }
  get final() { return this._doc.final; }
  get you() { return this._you; }
  get token() { return this._token || this._callerToken(); }
  get presence() { return this._presence; }
  get pendingCount() { return this._pending.filter((e) => !e.settled).length; }

  /** confirmed is the document as the server last confirmed it (no local edits). */
  get confirmed() { return this._doc; }

  /** elements: the document as shown (confirmed + pending edits), in order. Read-only. */
  get elements() {
    if (!this._elementsCache) this._elementsCache = this._buildView();
    return this._elementsCache;
  }

  /** get returns element id as shown (confirmed + pending edits), or undefined. */
  get(id) {
    let el = this._doc.byId.get(id);
    let copied = false;
    for (const e of this._pending) {
      if (e.id !== id) continue;
      if (e.op === 'delete') {
        el = undefined;
      } else {
        el = copied && el ? el : { ...(el || { id }) };
        copied = true;
        mergeFields(el, e.fields);
      }
    }
    return el;
  }

  // ------------------------------------------------------------------ events

  /** on subscribes fn to an event type; it returns the function that unsubscribes. */
  on(type, fn) {
    const set = this._listeners.get(type);
    if (!set) throw new TypeError(`papercast-client: unknown event ${type}`);
    set.add(fn);
    return () => set.delete(fn);
  }

  _emit(type, ev) {
    const prop = this[`on${type}`];
    const fns = typeof prop === 'function' ? [prop, ...this._listeners.get(type)] : [...this._listeners.get(type)];
    for (const fn of fns) {
      try {
        fn.call(this, ev);
      } catch (err) {
        report(err); // a listener's bug must not break the connection
      }
    }
  }

  _changed(reason, ids, extra) {
    this._elementsCache = null;
    this._emit('change', { reason, ids, ...extra });
  }

  // _setStatus reports a status change; always: report it even if the
  // status stays (a new failed attempt, with its delay).
  _setStatus(status, info = {}, always = false) {
    if (status === this._status && !always) return;
    const previous = this._status;
    this._status = status;
    this._emit('status', { status, previous, attempt: this._attempts, ...info });
    const waiters = this._waiters;
    if (status === 'open' || status === 'closed') {
      this._waiters = [];
      for (const w of waiters) {
        if (status === 'open') w.resolve();
        else w.reject(new PapercastError('closed', `connection closed: ${info.reason || 'closed'}`));
      }
    }
  }

  // -------------------------------------------------------------- connection

  /**
   * connect starts connecting (and reconnecting after every drop until
   * close() or a close code that stops). It resolves when the first frame
   * arrives, and rejects if the client is closed before.
   */
  connect() {
    const p = this._status === 'open' ? Promise.resolve() : new Promise((resolve, reject) => this._waiters.push({ resolve, reject }));
    p.catch(() => {});
    if (!this._stopped) return p;
    this._stopped = false;
    this._ended = false;
    this._attempts = 0;
    this._everOpen = false;
    this._watchOnline(true);
    this._setStatus('connecting');
    this._open();
    return p;
  }

  /** close closes the connection for good; pending edits are rolled back. */
  close() {
    this._stop('closed', 1000);
  }

  /**
   * reconnect drops the socket (if any) and connects again at once, with
   * since/epoch. Useful after the app knows the network came back.
   */
  reconnect() {
    if (this._stopped) return;
    this._attempts = 0;
    if (this._ws) this._lost(this._ws, { code: 4000, reason: 'resync' }, true);
    else this._retryNow();
  }

  _callerToken() {
    const t = this.options.token;
    return typeof t === 'string' ? t : '';
  }

  // tokenKey is where tokenStorage keeps this paper's guest token: one per
  // paper, since a guest token is valid on its paper only.
  _tokenKey() {
    return `papercast.token.${this.paperId}`;
  }

  _storedToken() {
    const st = this.options.tokenStorage;
    if (!st) return '';
    try {
      const t = st.getItem(this._tokenKey());
      return typeof t === 'string' ? t : '';
    } catch {
      return ''; // storage refused (privacy mode): a fresh identity, as without storage
    }
  }

  _storeToken(token) {
    const st = this.options.tokenStorage;
    if (!st) return;
    try {
      st.setItem(this._tokenKey(), token);
    } catch {
      // Full or refused: the token still serves this page's reconnects.
    }
  }

  async _open() {
    clearTimeout(this._timer);
    this._timer = 0;
    if (this._stopped || this._ws) return;
    // Only the latest call may open a socket: another one (a timer, the
    // online event) can start while this one awaits the server or token.
    const call = ++this._opens;
    const n = this._servers.length;
    let base;
    let token = this._token;
    try {
      base = typeof this.options.server === 'function'
        ? await this.options.server({ attempt: this._attempts, paperId: this.paperId })
        : this._servers[this._serverIndex % n];
      if (!token && typeof this.options.token === 'function') token = await this.options.token();
      else if (!token) token = this._callerToken();
    } catch (err) {
      report(err);
    }
    if (this._stopped || this._ws || call !== this._opens) return;
    this._base = base;
    let ws;
    try {
      // batch=1: events that queued up for this socket come newline-separated
      // in one frame (protocol.md, Batch frames); onmessage splits them.
      const params = { batch: 1, ...(this.options.params || {}), user: this.options.user, name: this.options.name, token };
      if (this._doc.epoch) {
        params.since = this._doc.seq;
        params.epoch = this._doc.epoch;
      }
      ws = new this._WS(socketURL(base, this.paperId, params));
    } catch (err) {
      this._failed({ code: 1006, reason: `cannot open: ${err && err.message}` }, false);
      return;
    }
    this._ws = ws;
    this._ready = false;
    this._released = false;
    this._lastError = null;
    ws.onmessage = (ev) => {
      if (this._ws !== ws) return;
      const text = typeof ev.data === 'string' ? ev.data : String(ev.data);
      for (const line of text.split('\n')) {
        // A frame handler may have dropped this socket: stop at once.
        if (this._ws !== ws) return;
        let f;
        try {
          f = JSON.parse(line);
        } catch {
          continue; // the server sends only JSON text; ignore anything else
        }
        if (f && typeof f === 'object') this._onFrame(f);
      }
    };
    ws.onclose = (ev) => {
      if (this._ws === ws) this._lost(ws, ev, false);
    };
    ws.onerror = () => {}; // a close event follows
    // A socket that never brings its first frame (a hung connect, a server
    // that accepted and stalled) must not leave the status stuck.
    this._firstFrameTimer = setTimeout(() => {
      if (this._ws === ws && !this._ready) this._lost(ws, { code: 1006, reason: 'no first frame' }, true);
    }, this.options.firstFrameTimeoutMs);
  }

  // _lost handles the end of socket ws: its close event, or a drop decided
  // here (close it too, and never look at its events again).
  _lost(ws, ev, closeIt) {
    this._ws = null;
    clearTimeout(this._firstFrameTimer);
    if (closeIt) {
      try {
        ws.close(4000, 'resync');
      } catch {
        // already closing
      }
    }
    const wasReady = this._ready;
    this._ready = false;
    this._released = false;
    clearTimeout(this._presenceTimer);
    this._presenceTimer = 0;
    // Edits sent on this socket and not answered may or may not be stored:
    // the next first frame tells (see _release).
    for (const e of this._pending) {
      if (e.state === 'sent') e.state = 'doubt';
      else if (e.state === 'wait') e.state = 'queued';
    }
    clearTimeout(this._retryTimer);
    this._retryTimer = 0;
    // No answer to this socket's refs can come any more; claims in flight
    // are sent again on the next session.
    this._byRef.clear();
    for (const c of this._claims) c.sent = false;
    if (this._presence.size > 0) {
      // Nobody's presence is known while disconnected.
      this._presence = new Map();
      this._emit('presence', { event: 'reset', presence: this._presence });
    }
    if (this._stopped) return;
    this._failed({ code: ev && ev.code, reason: ev && ev.reason }, wasReady);
  }

  // _failed decides, from the close code, whether and when to try again.
  _failed(close, wasReady) {
    const code = close.code || 1006;
    const { action, reason } = closeAction(code);
    if (action === 'stop') {
      this._stop(reason, code);
      return;
    }
    const o = this.options;
    let delay;
    if (action === 'now' && this._attempts === 0) {
      delay = this._random() * o.jitterMs;
    } else {
      const step = Math.min(o.backoffMaxMs, o.backoffMinMs * 2 ** Math.min(this._attempts, 30));
      delay = step * (0.5 + this._random());
      if (action === 'later') delay = Math.max(delay, o.fullMinMs * (0.5 + this._random() / 2));
    }
    if (!wasReady && o.checkGone && (this._attempts === 0 || this._attempts % 5 === 4)) this._checkGone(this._base);
    this._attempts++;
    this._serverIndex++; // the next attempt goes to the next replica given
    const offline = this._attempts >= o.offlineAfter || browserOffline();
    const status = offline ? 'offline' : this._everOpen ? 'reconnecting' : 'connecting';
    this._timer = setTimeout(() => this._open(), delay); // before the event: a listener may close()
    this._setStatus(status, { code, reason, delay, error: this._lastError || undefined }, true);
  }

  _retryNow() {
    clearTimeout(this._timer);
    this._timer = 0;
    this._open();
  }

  // _checkGone asks REST whether the paper exists when a connect was refused
  // before any frame: browsers hide the 404 of a refused upgrade.
  async _checkGone(base) {
    if (typeof globalThis.fetch !== 'function' || !base) return;
    try {
      const signal = typeof AbortSignal !== 'undefined' && AbortSignal.timeout ? AbortSignal.timeout(5000) : undefined;
      const res = await globalThis.fetch(restURL(base, this.paperId, this._callerToken()), { cache: 'no-store', signal });
      if (res.status === 404 && !this._stopped && !this._ready) this._stop('not_found', 4004);
    } catch {
      // unreachable: the reconnect loop goes on
    }
  }

  _stop(reason, code) {
    const wasStopped = this._stopped;
    this._stopped = true;
    this._ended = true;
    clearTimeout(this._timer);
    clearTimeout(this._retryTimer);
    clearTimeout(this._presenceTimer);
    clearTimeout(this._firstFrameTimer);
    this._timer = this._retryTimer = this._presenceTimer = this._firstFrameTimer = 0;
    this._watchOnline(false);
    const ws = this._ws;
    this._ws = null;
    this._ready = false;
    if (ws) {
      try {
        ws.close(1000, 'bye');
      } catch {
        // already closing
      }
    }
    // Nothing more will be confirmed: roll back what is not.
    const open = this._pending.filter((e) => !e.settled);
    const ids = [...new Set(this._pending.map((e) => e.id))];
    this._pending = [];
    this._byRef.clear();
    const err = new PapercastError('closed', `connection closed: ${reason}`);
    for (const e of open) this._settle(e, null, err);
    for (const c of this._claims.splice(0)) c.reject(err);
    if (ids.length > 0) this._changed('rollback', ids);
    if (this._presence.size > 0) {
      this._presence = new Map();
      this._emit('presence', { event: 'reset', presence: this._presence });
    }
    if (!wasStopped || this._status !== 'closed') this._setStatus('closed', { code, reason, error: this._lastError || undefined });
  }

  _watchOnline(on) {
    const g = globalThis;
    if (!this.options.watchOnline || typeof g.addEventListener !== 'function' || !g.navigator || typeof g.navigator.onLine !== 'boolean') return;
    const f = on ? 'addEventListener' : 'removeEventListener';
    g[f]('online', this._onOnline);
    g[f]('offline', this._onOffline);
  }

  _online() {
    // The network is back: try now rather than at the end of a long backoff.
    if (this._stopped || this._ws) return;
    this._attempts = 0;
    this._setStatus(this._everOpen ? 'reconnecting' : 'connecting');
    this._retryNow();
  }

  _offline() {
    // Only while not connected: an open socket is the truth, and it closes
    // by itself if the network is really gone.
    if (!this._stopped && !this._ready) this._setStatus('offline', { reason: 'browser offline' });
  }

  // ------------------------------------------------------------------ frames

  _onFrame(f) {
    this._emit('frame', f);
    switch (f.type) {
      case 'snapshot':
        this._onSnapshot(f);
        break;
      case 'resumed':
        this._onResumed(f);
        break;
      case 'op':
      case 'finalized':
      case 'policy':
        this._sequenced(f);
        break;
      case 'presence':
        this._onPresence(f);
        break;
      case 'ack':
        this._onAck(f);
        break;
      case 'error':
        this._onError(f);
        break;
      default:
        // Frames of later protocol versions (see the frame event); one with
        // a seq takes its place in the paper's order.
        if (typeof f.seq === 'number') this._sequenced(f);
        break;
    }
  }

  _setYou(you) {
    this._you = you ? { ...you } : null;
    if (you && you.session) this._mySessions.add(you.session);
    // A server-issued guest token keeps this identity across reconnects
    // (and, with tokenStorage, across page loads). The server renews it on
    // every join, and a new one after a rejected token names a new user.
    if (you && typeof you.token === 'string' && you.token && you.token !== this._token) {
      this._token = you.token;
      this._storeToken(you.token);
    }
  }

  _onSnapshot(f) {
    const ws = this._ws;
    this._doc.reset(f);
    this._setYou(f.you);
    this._presence = presenceMap(f.presence);
    // Acked edits are in it; edits in doubt are in it if their content is.
    for (const e of this._pending) {
      if (e.state === 'acked') this._drop(e);
      else if (e.state === 'doubt' && this._stored(e)) this._land(e, null);
    }
    this._compact();
    this._changed('snapshot', null, { frame: f });
    this._emit('presence', { event: 'snapshot', presence: this._presence });
    this._firstFrame(ws, f.seq);
  }

  _onResumed(f) {
    const ws = this._ws;
    this._doc.epoch = f.epoch;
    this._setYou(f.you);
    this._presence = presenceMap(f.presence);
    this._changed('resumed', [], { frame: f });
    this._emit('presence', { event: 'resumed', presence: this._presence });
    // The ops from+1..seq follow; edits in doubt may be among them.
    this._firstFrame(ws, f.seq);
  }

  _firstFrame(ws, flushAt) {
    // Listeners of the events before may have closed or dropped the socket.
    if (this._ws !== ws) return;
    clearTimeout(this._firstFrameTimer);
    this._ready = true;
    this._everOpen = true;
    this._attempts = 0;
    this._flushAt = flushAt;
    this._setStatus('open');
    if (this._ws !== ws) return;
    // Owner rights belong to a session: claim again on each new one, first.
    if (this._ownerKey && !this._claims.some((c) => c.ownerKey === this._ownerKey)) this._sendClaim(this._ownerKey, null);
    for (const c of this._claims) if (!c.sent) this._sendClaimFrame(c);
    if (this._presenceState) this._schedulePresence();
    if (this._doc.seq >= this._flushAt) this._release();
  }

  // _release sends what waited for the connection: edits in doubt that the
  // first frame (and the replay after a resume) did not show as stored, and
  // edits made meanwhile, in their original order.
  _release() {
    this._released = true;
    for (const e of this._pending) if (e.state === 'doubt') e.state = 'queued';
    this._sendQueued();
  }

  _sequenced(f) {
    if (typeof f.seq !== 'number' || !this._ready) return;
    if (f.seq <= this._doc.seq) return; // already applied
    if (f.seq !== this._doc.seq + 1) {
      // Never on a healthy connection: resuming refills the gap.
      this._lost(this._ws, { code: 4000, reason: 'gap' }, true);
      return;
    }
    if (f.type === 'finalized') {
      this._doc.finalize(f.seq);
      // Nothing queued can be stored any more.
      const err = new PapercastError('finalized', 'paper is finalized');
      const ids = [];
      for (const e of this._pending) {
        if (e.state === 'queued' || e.state === 'wait') {
          ids.push(e.id);
          this._settle(e, null, err);
        }
      }
      this._compact();
      this._changed('finalized', ids, { frame: f });
    } else if (f.type !== 'op') {
      this._doc.advance(f);
      this._changed(f.type === 'policy' ? 'policy' : 'frame', [], { frame: f });
    } else {
      this._doc.apply(f);
      const mine = f.by && this._mySessions.has(f.by.session);
      if (mine) {
        const e = this._pending.find((x) => !x.landed && (x.seq === undefined || x.seq === f.seq) && x.sentOnce && sameOp(x, f));
        if (e) this._land(e, f.seq);
      }
      for (const e of this._pending) if (e.state === 'acked' && e.seq <= f.seq) this._drop(e);
      this._compact();
      this._changed('op', [f.id], { frame: f, mine: !!mine });
    }
    if (!this._released && this._doc.seq >= this._flushAt) this._release();
  }

  _onPresence(f) {
    if (!this._ready || !f.session) return;
    const { type, event, ...entry } = f;
    if (event === 'leave') {
      if (!this._presence.delete(f.session)) return;
    } else {
      // join and update are last-writer-wins per session; an update for an
      // unknown session is its join.
      this._presence.set(f.session, entry);
    }
    this._emit('presence', { event, session: f.session, entry, presence: this._presence });
  }

  _onAck(f) {
    const x = f.ref !== undefined ? this._byRef.get(f.ref) : undefined;
    if (!x) return;
    this._byRef.delete(f.ref);
    if (x.kind === 'claim') {
      this._claimDone(x, null);
      return;
    }
    const e = x.edit;
    if (e.landed) return;
    e.seq = f.seq;
    e.state = 'acked';
    this._settle(e, { seq: f.seq, ref: f.ref }, null);
    if (this._doc.seq >= f.seq) {
      this._drop(e);
      this._compact();
      this._changed('ack', [e.id]);
    }
  }

  _onError(f) {
    const x = f.ref !== undefined ? this._byRef.get(f.ref) : undefined;
    const err = new PapercastError(f.code, f.message, f);
    if (!x) {
      // Not an answer to anything in flight: e.g. the error before a close
      // (full, unavailable, not_found at join).
      this._lastError = f;
      this._emit('error', { code: f.code, message: f.message, frame: f, error: err });
      return;
    }
    this._byRef.delete(f.ref);
    if (x.kind === 'claim') {
      this._claimDone(x, err);
      this._emit('error', { code: f.code, message: f.message, frame: f, error: err, claim: true });
      return;
    }
    const e = x.edit;
    if (RETRY_CODES.includes(f.code) && e.attempts < this.options.retries) {
      e.attempts++;
      e.state = 'wait';
      this._scheduleRetry(e.attempts);
      return;
    }
    if (f.code === 'not_found' && e.op === 'delete' && e.attempts > 0) {
      // A retried delete whose first try did land: the element is gone.
      this._land(e, null);
      this._compact();
      this._changed('ack', [e.id]);
      return;
    }
    this._settle(e, null, err);
    this._compact();
    this._changed('rollback', [e.id], { error: err });
    this._emit('error', { code: f.code, message: f.message, frame: f, error: err, edit: { op: e.op, id: e.id, fields: e.fields } });
  }

  // -------------------------------------------------------------------- edits

  /**
   * upsert creates element id or merges fields into it; a null removes a
   * field. It shows at once and resolves with {seq, ref} once stored (seq is
   * null when a snapshot showed it stored), or rejects with a PapercastError
   * and is rolled back.
   */
  upsert(id, fields) {
    if (!ID_RE.test(String(id))) return rejectLocal('invalid', `bad element id ${JSON.stringify(id)}`);
    if (!fields || typeof fields !== 'object' || Array.isArray(fields) || Object.keys(fields).length === 0) {
      return rejectLocal('invalid', 'fields must be a non-empty object');
    }
    return this._edit('upsert', id, { ...fields });
  }

  /** delete removes element id; like upsert, it shows at once. */
  delete(id) {
    if (!ID_RE.test(String(id))) return rejectLocal('invalid', `bad element id ${JSON.stringify(id)}`);
    return this._edit('delete', id, null);
  }

  _edit(op, id, fields) {
    if (this._doc.final) return rejectLocal('finalized', 'paper is finalized');
    if (this._ended) return rejectLocal('closed', 'client is closed');
    // Edits of one element made while they cannot be sent are coalesced, so
    // a reconnect does not replay every keystroke (and hit the rate limit).
    const tail = this._pending[this._pending.length - 1];
    if (op === 'upsert' && tail && tail.state === 'queued' && tail.op === 'upsert' && tail.id === id && !tail.sentOnce) {
      Object.assign(tail.fields, fields);
      this._changed('local', [id]);
      return tail.promise;
    }
    const e = { op, id, fields, state: 'queued', attempts: 0, settled: false, landed: false, sentOnce: false, seq: undefined };
    e.promise = new Promise((resolve, reject) => {
      e.resolve = resolve;
      e.reject = reject;
    });
    e.promise.catch(() => {}); // refusals also go to the error event
    this._pending.push(e);
    this._changed('local', [id]);
    this._sendQueued();
    return e.promise;
  }

  /** flush resolves when every edit made so far is settled (stored or refused). */
  flush() {
    return Promise.allSettled(this._pending.map((e) => e.promise)).then(() => undefined);
  }

  // _canSend: connected, the resume replay is done, and no refused edit is
  // waiting for its backoff (edits keep their order behind it).
  _canSend() {
    return this._ready && this._released && !!this._ws && !this._retryTimer;
  }

  _sendQueued() {
    if (!this._canSend()) return;
    if (this._doc.final) {
      const err = new PapercastError('finalized', 'paper is finalized');
      const ids = [];
      for (const e of this._pending) {
        if (e.state === 'queued') {
          ids.push(e.id);
          this._settle(e, null, err);
        }
      }
      this._compact();
      if (ids.length > 0) this._changed('rollback', ids, { error: err });
      return;
    }
    for (const e of this._pending) {
      if (e.state !== 'queued') continue;
      const ref = `c${++this._refs}`;
      const frame = e.op === 'upsert' ? { type: 'upsert', ref, id: e.id, fields: e.fields } : { type: 'delete', ref, id: e.id };
      e.state = 'sent';
      e.sentOnce = true;
      e.ref = ref;
      this._byRef.set(ref, { kind: 'edit', edit: e });
      this._ws.send(JSON.stringify(frame));
    }
  }

  // _scheduleRetry holds every edit back (so their order is kept) until the
  // backoff of the refused one has passed.
  _scheduleRetry(attempt) {
    if (this._retryTimer || this._stopped) return;
    const o = this.options;
    const delay = Math.min(o.retryMaxMs, o.retryMinMs * 2 ** (attempt - 1)) * (0.5 + this._random());
    this._retryTimer = setTimeout(() => {
      this._retryTimer = 0;
      this._retryWaiting();
    }, delay);
  }

  // _retryWaiting resends refused edits. Later edits of the same element may
  // have been stored meanwhile (they were in flight when the refusal came):
  // a resend must not undo them, so it keeps only the fields no later edit
  // sets, and a later delete supersedes it.
  _retryWaiting() {
    const ids = [];
    for (let i = 0; i < this._pending.length; i++) {
      const e = this._pending[i];
      if (e.state !== 'wait') continue;
      e.state = 'queued';
      const later = this._pending.slice(i + 1).filter((x) => x.id === e.id && !x.dropped);
      if (later.length === 0) continue;
      if (e.op === 'delete' || later.some((x) => x.op === 'delete')) {
        this._land(e, null, true);
        ids.push(e.id);
        continue;
      }
      const fields = { ...e.fields };
      for (const x of later) for (const k of Object.keys(x.fields)) delete fields[k];
      if (Object.keys(fields).length === 0) {
        this._land(e, null, true);
        ids.push(e.id);
      } else {
        e.fields = fields;
      }
    }
    this._compact();
    if (ids.length > 0) this._changed('ack', ids);
    this._sendQueued();
  }

  // _stored reports whether the confirmed document already shows edit e.
  _stored(e) {
    const el = this._doc.byId.get(e.id);
    if (e.op === 'delete') return !el;
    if (!el) return false;
    return Object.entries(e.fields).every(([k, v]) => (v === null ? !(k in el) : jsonEqual(el[k], v)));
  }

  // _land settles e as stored (seq known or not) and drops it from the overlay.
  _land(e, seq, superseded) {
    e.landed = true;
    this._settle(e, { seq, ref: e.ref, ...(superseded ? { superseded: true } : {}) }, null);
    this._drop(e);
  }

  _settle(e, value, err) {
    if (e.settled) {
      if (err) this._drop(e);
      return;
    }
    e.settled = true;
    if (err) {
      this._drop(e);
      e.reject(err);
    } else {
      e.resolve(value);
    }
  }

  _drop(e) {
    e.dropped = true;
    if (e.ref !== undefined) {
      const x = this._byRef.get(e.ref);
      if (x && x.edit === e) this._byRef.delete(e.ref);
    }
  }

  _compact() {
    if (this._pending.some((e) => e.dropped)) this._pending = this._pending.filter((e) => !e.dropped);
    this._elementsCache = null;
  }

  _buildView() {
    const doc = this._doc;
    if (this._pending.length === 0) return doc.order.map((id) => doc.byId.get(id));
    const present = new Set(doc.order);
    const moved = new Set();
    const tail = [];
    for (const e of this._pending) {
      if (e.op === 'delete') {
        if (present.delete(e.id)) {
          moved.add(e.id);
          const i = tail.indexOf(e.id);
          if (i >= 0) tail.splice(i, 1);
        }
      } else if (!present.has(e.id)) {
        present.add(e.id);
        tail.push(e.id);
      }
    }
    const touched = new Set(this._pending.map((e) => e.id));
    const ids = doc.order.filter((id) => !moved.has(id)).concat(tail);
    return ids.map((id) => (touched.has(id) ? this.get(id) : doc.byId.get(id)));
  }

  // ------------------------------------------------------------------ claims

  /**
   * claim presents the paper's owner key over the socket (issue 10: the key
   * never goes in a URL). It resolves on the server's ack and rejects with
   * the error (forbidden: wrong key). A successful claim is repeated on
   * every new session. Servers older than issue 10 answer `unsupported`.
   */
  claim(ownerKey) {
    if (!ownerKey || typeof ownerKey !== 'string') return rejectLocal('invalid', 'ownerKey is required');
    if (this._ended) return rejectLocal('closed', 'client is closed');
    return this._sendClaim(ownerKey, true);
  }

  _sendClaim(ownerKey, explicit) {
    const c = { kind: 'claim', ownerKey, sent: false, explicit: !!explicit };
    c.promise = new Promise((resolve, reject) => {
      c.resolve = resolve;
      c.reject = reject;
    });
    c.promise.catch(() => {});
    this._claims.push(c);
    if (this._ready && this._ws) this._sendClaimFrame(c);
    return c.promise;
  }

  _sendClaimFrame(c) {
    const ref = `c${++this._refs}`;
    c.sent = true;
    c.ref = ref;
    this._byRef.set(ref, c);
    this._ws.send(JSON.stringify({ type: 'claim', ref, ownerKey: c.ownerKey }));
  }

  _claimDone(c, err) {
    this._claims = this._claims.filter((x) => x !== c);
    if (err) {
      if (c.ownerKey === this._ownerKey && err.code === 'forbidden') this._ownerKey = '';
      c.reject(err);
    } else {
      this._ownerKey = c.ownerKey;
      c.resolve({ ref: c.ref });
    }
  }

  // ----------------------------------------------------------------- presence

  /**
   * setPresence sets this session's presence state (any JSON object). It is
   * sent at most every presenceIntervalMs (the latest state wins) and again
   * on every new session.
   */
  setPresence(state) {
    if (!state || typeof state !== 'object' || Array.isArray(state)) throw new TypeError('papercast-client: presence state must be an object');
    this._presenceState = state;
    if (this._ready) this._schedulePresence();
  }

  _schedulePresence() {
    if (this._presenceTimer) return;
    const wait = Math.max(0, this._presenceSentAt + this.options.presenceIntervalMs - now());
    this._presenceTimer = setTimeout(() => {
      this._presenceTimer = 0;
      if (!this._ready || !this._ws || !this._presenceState) return;
      this._presenceSentAt = now();
      this._ws.send(JSON.stringify({ type: 'presence', state: this._presenceState }));
    }, wait);
  }
}

function serverList(server) {
  if (typeof server === 'function') return [];
  if (Array.isArray(server) && server.length > 0) return server.map(String);
  if (typeof server === 'string' && server) return [server];
  if (globalThis.location && globalThis.location.origin) return [globalThis.location.origin];
  throw new TypeError('papercast-client: server is required outside a browser page');
}

function presenceMap(list) {
  const m = new Map();
  for (const p of list || []) if (p && p.session) m.set(p.session, { ...p });
  return m;
}

function sameOp(e, f) {
  if (e.op !== f.op || e.id !== f.id) return false;
  return e.op === 'delete' || jsonEqual(e.fields, f.fields || {});
}

function rejectLocal(code, message) {
  const p = Promise.reject(new PapercastError(code, message));
  p.catch(() => {});
  return p;
}

function browserOffline() {
  const n = globalThis.navigator;
  return !!n && typeof n.onLine === 'boolean' && !n.onLine && typeof globalThis.addEventListener === 'function';
}

const now = () => (globalThis.performance && globalThis.performance.now ? globalThis.performance.now() : Date.now());

/** connect is a shorthand: a new PapercastClient, connecting. */
export function connect(options) {
  const c = new PapercastClient(options);
  c.connect();
  return c;
}

export default PapercastClient;
