// papercast board: one rolling paper, live, over protocol v1
// (docs/protocol.md): the WebSocket /v1/papers/{id}/ws and REST v1 only.
//
// The document is changed only by what the server sends: a snapshot
// replaces it, and every op frame is applied in seq order with the merge
// rule (a null field removes the field). Our own edits come back as op
// frames like everyone else's. Until then only the note being typed into
// or dragged shows the local value, so a slow echo never fights the user.

const COLORS = [
  { name: 'yellow', value: '#fff59d' },
  { name: 'pink', value: '#f8bbd0' },
  { name: 'green', value: '#c8e6c9' },
  { name: 'blue', value: '#bbdefb' },
  { name: 'purple', value: '#e1bee7' },
];
const BOARD_W = 2400;
const BOARD_H = 1600;
const NOTE_W = 200;
const NOTE_H = 160;
const TYPE_DEBOUNCE_MS = 150; // one upsert per pause in typing
const KEY_MOVE_DEBOUNCE_MS = 300; // arrow keys repeat fast: send where they stop
const PRESENCE_INTERVAL_MS = 100; // at most 10 cursor frames a second
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;
const OFFLINE_AFTER_ATTEMPTS = 5; // about 15 s of failed reconnects
const CLOSE_DELETED = 4004;
const CLOSE_BANNED = 4003;
const TOAST_MS = 5000;

const $ = (id) => document.getElementById(id);
const ui = {
  title: $('title'), to: $('to'), add: $('add-note'), finalize: $('finalize'),
  conn: $('conn'), who: $('who'), finalBanner: $('final-banner'), fatal: $('fatal'),
  scroll: $('board-scroll'), board: $('board'), toasts: $('toasts'),
  join: $('join'), joinForm: $('join-form'), nameInput: $('name-input'),
};

const paperId = decodeURIComponent(location.pathname.split('/')[2] || '');
// The owner key rides in the fragment, which is never sent to the server;
// it leaves the page only in the Authorization header of finalize.
const ownerKey = new URLSearchParams(location.hash.slice(1)).get('owner') || '';

// The paper as the server last told us.
const doc = {
  paper: null,
  epoch: '', // empty until the first snapshot
  seq: 0, // last seq applied
  you: null, // {session, user, name} of the current connection
  elements: new Map(), // id -> {id, ...fields}; unknown fields kept as they are
  presence: new Map(), // session -> {session, user, name, state}
  final: false,
};

const conn = {
  ws: null,
  ready: false, // the first frame (snapshot or resumed) has arrived
  attempts: 0,
  timer: 0,
  stopped: false, // deleted or not found: never reconnect
};

// Edits made while disconnected, coalesced per element, sent on reconnect.
const outbox = new Map();
// Refs of text upserts in flight, so an error can release the note.
const textRefs = new Map();
let refCounter = 0;

// Local interaction state per note.
const views = new Map(); // id -> {root, ta, handle, swatches}
const typing = new Map(); // id -> {timer, inflight}
const keyMoves = new Map(); // id -> timer
let drag = null; // {id, pointerId, startX, startY, origX, origY, x, y, moved}
let focusOnArrival = '';

const cursors = new Map(); // session -> element
const me = loadIdentity();

// ---------------------------------------------------------------- identity

function randomHex(bytes) {
  const a = new Uint8Array(bytes);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, '0')).join('');
}

function storage(key, value) {
  try {
    if (value === undefined) return localStorage.getItem(key) || '';
    localStorage.setItem(key, value);
  } catch {
    // Storage disabled: the identity lasts as long as the page.
  }
  return value || '';
}

function loadIdentity() {
  let user = storage('papercast.user');
  if (!user) user = storage('papercast.user', `u-${randomHex(8)}`);
  return { user, name: storage('papercast.name') };
}

function askName() {
  ui.join.hidden = false;
  ui.nameInput.focus();
  ui.joinForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = ui.nameInput.value.trim();
    if (!name) return;
    me.name = storage('papercast.name', name);
    ui.join.hidden = true;
    connect();
  });
}

// -------------------------------------------------------------- connection

function setBadge(state) {
  ui.conn.dataset.state = state;
  ui.conn.textContent = state;
  ui.add.disabled = state !== 'connected' || doc.final;
}

function connect() {
  clearTimeout(conn.timer);
  if (conn.stopped) return;
  const q = new URLSearchParams({ user: me.user, name: me.name });
  if (doc.epoch) {
    q.set('since', String(doc.seq));
    q.set('epoch', doc.epoch);
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/v1/papers/${encodeURIComponent(paperId)}/ws?${q}`);
  conn.ws = ws;
  conn.ready = false;
  // Handlers of a replaced socket do nothing.
  ws.onmessage = (ev) => {
    if (conn.ws !== ws) return;
    let f;
    try {
      f = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (!conn.ready && (f.type === 'snapshot' || f.type === 'resumed')) ui.conn.dataset.joined = f.type;
    onFrame(f);
  };
  ws.onclose = (ev) => {
    if (conn.ws === ws) onClose(ev, ws.everReady);
  };
}

// reconnectNow drops the socket and resumes from the last applied seq.
function reconnectNow() {
  const ws = conn.ws;
  conn.ws = null;
  if (ws) ws.close(1000, 'resync');
  lostConnection();
  connect();
}

async function onClose(ev, everReady) {
  conn.ws = null;
  lostConnection();
  if (ev.code === CLOSE_DELETED) {
    stop('This paper was deleted.');
    return;
  }
  if (ev.code === CLOSE_BANNED) {
    stop('The owner removed you from this paper.');
    return;
  }
  if (!everReady) {
    // Refused before any frame: a 404 before the upgrade looks like this.
    try {
      const res = await fetch(`/v1/papers/${encodeURIComponent(paperId)}`, { cache: 'no-store' });
      if (res.status === 404) {
        stop('There is no paper at this address.');
        return;
      }
    } catch {
      // The server is unreachable: retry below.
    }
  }
  scheduleReconnect();
}

function scheduleReconnect() {
  if (conn.stopped || conn.ws) return;
  if (!navigator.onLine) {
    setBadge('offline'); // the online event reconnects
    return;
  }
  // Still retrying, but after a few failures say plainly that we are offline.
  setBadge(conn.attempts >= OFFLINE_AFTER_ATTEMPTS ? 'offline' : 'reconnecting');
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** conn.attempts);
  conn.attempts++;
  clearTimeout(conn.timer);
  conn.timer = setTimeout(connect, base / 2 + Math.random() * base / 2);
}

// lostConnection keeps whatever was typed: text upserts that were in flight
// may never have reached the store, so they are queued again (an upsert of
// the same text is harmless if it did arrive).
function lostConnection() {
  conn.ready = false;
  for (const [id, t] of typing) {
    if (t.inflight > 0 && views.has(id)) queue({ type: 'upsert', id, fields: { text: views.get(id).ta.value } });
    t.inflight = 0;
  }
  textRefs.clear();
  for (const el of cursors.values()) el.remove();
  cursors.clear();
  setBadge(conn.stopped ? 'offline' : 'reconnecting');
}

function stop(message) {
  conn.stopped = true;
  clearTimeout(conn.timer);
  ui.fatal.textContent = message;
  ui.fatal.hidden = false;
  setReadOnly(true);
  setBadge('offline');
}

window.addEventListener('online', () => {
  if (!conn.ws && !conn.stopped && me.name) {
    conn.attempts = 0;
    connect();
  }
});
window.addEventListener('offline', () => {
  if (!conn.stopped) setBadge('offline');
});

// ------------------------------------------------------------------ frames

function onFrame(f) {
  switch (f.type) {
    case 'snapshot':
      doc.epoch = f.epoch;
      doc.seq = f.seq;
      doc.you = f.you;
      doc.paper = f.paper;
      doc.elements = new Map((f.elements || []).map((el) => [el.id, { ...el }]));
      setPresence(f.presence);
      renderPaper();
      renderAllNotes();
      if (f.paper && f.paper.status === 'final') setFinal();
      ready();
      break;
    case 'resumed':
      // State is kept; the missed ops follow as op frames.
      doc.epoch = f.epoch;
      doc.you = f.you;
      setPresence(f.presence);
      ready();
      break;
    case 'op':
    case 'finalized':
    case 'policy':
      sequenced(f);
      break;
    case 'presence':
      onPresence(f);
      break;
    case 'ack':
      textRefs.delete(f.ref);
      break;
    case 'error':
      onError(f);
      break;
    default:
      // Frames added by later protocol versions; one with a seq takes its
      // place in the paper's order.
      if (typeof f.seq === 'number') sequenced(f);
      break;
  }
  document.body.dataset.seq = String(doc.seq);
}

// ready runs after the first frame of a connection (snapshot or resumed).
function ready() {
  conn.ready = true;
  conn.attempts = 0;
  conn.ws.everReady = true;
  setBadge('connected');
  for (const frame of outbox.values()) send(frame);
  outbox.clear();
}

// sequenced applies op, finalized and policy frames (and any other frame
// with a seq) exactly once, in seq order.
function sequenced(f) {
  if (f.seq <= doc.seq) return; // already applied
  if (f.seq !== doc.seq + 1) {
    // A gap never happens on a healthy connection; resuming refills it.
    reconnectNow();
    return;
  }
  doc.seq = f.seq;
  if (f.type === 'finalized') {
    setFinal();
    return;
  }
  if (f.type === 'policy') {
    if (doc.paper) doc.paper.edit = f.edit;
    return;
  }
  if (f.type !== 'op') return;
  if (f.op === 'upsert') {
    const el = doc.elements.get(f.id) || { id: f.id };
    for (const [k, v] of Object.entries(f.fields || {})) {
      if (k === 'id') continue;
      if (v === null) delete el[k];
      else el[k] = v;
    }
    doc.elements.set(f.id, el);
    const mine = doc.you && f.by && f.by.session === doc.you.session;
    if (mine && f.fields && 'text' in f.fields) released(f.id);
    renderNote(el);
  } else if (f.op === 'delete') {
    doc.elements.delete(f.id);
    removeNote(f.id);
  }
}

function onError(f) {
  toast(`${f.code}: ${f.message}`);
  if (textRefs.has(f.ref)) {
    const id = textRefs.get(f.ref);
    textRefs.delete(f.ref);
    released(id);
    if (doc.elements.has(id)) renderNote(doc.elements.get(id));
  }
  if (f.code === 'finalized') setFinal();
}

// -------------------------------------------------------------- sending

// send writes a frame now, or queues an edit until the connection is back.
// Text upserts are counted until their op comes back (see textBusy).
function send(frame) {
  if (!conn.ready || !conn.ws) {
    if (frame.type !== 'presence') queue(frame);
    return;
  }
  const ref = `r${++refCounter}`;
  conn.ws.send(JSON.stringify({ ...frame, ref }));
  if (frame.type === 'upsert' && 'text' in frame.fields) {
    const t = typingOf(frame.id);
    t.inflight++;
    textRefs.set(ref, frame.id);
  }
}

function queue(frame) {
  const prev = outbox.get(frame.id);
  if (frame.type === 'upsert' && prev && prev.type === 'upsert') {
    outbox.set(frame.id, { ...prev, fields: { ...prev.fields, ...frame.fields } });
  } else {
    outbox.set(frame.id, frame);
  }
}

function upsert(id, fields) {
  send({ type: 'upsert', id, fields });
}

let presenceTimer = 0;
let lastPresenceAt = 0;
let pendingCursor = null;

// sendCursor sends the latest cursor at most every PRESENCE_INTERVAL_MS.
function sendCursor(x, y) {
  pendingCursor = { x: Math.round(x), y: Math.round(y) };
  if (presenceTimer) return;
  const wait = Math.max(0, lastPresenceAt + PRESENCE_INTERVAL_MS - Date.now());
  presenceTimer = setTimeout(() => {
    presenceTimer = 0;
    lastPresenceAt = Date.now();
    if (conn.ready) send({ type: 'presence', state: { cursor: pendingCursor } });
  }, wait);
}

// ---------------------------------------------------------------- presence

function setPresence(list) {
  doc.presence = new Map((list || []).map((p) => [p.session, p]));
  for (const el of cursors.values()) el.remove();
  cursors.clear();
  for (const p of doc.presence.values()) renderCursor(p);
  renderWho();
}

function onPresence(f) {
  const p = { session: f.session, user: f.user, name: f.name, state: f.state || {} };
  if (f.event === 'leave') {
    doc.presence.delete(f.session);
    const c = cursors.get(f.session);
    if (c) c.remove();
    cursors.delete(f.session);
  } else {
    doc.presence.set(f.session, p);
    renderCursor(p);
  }
  renderWho();
}

function renderCursor(p) {
  if (doc.you && p.session === doc.you.session) return;
  const c = p.state && p.state.cursor;
  let el = cursors.get(p.session);
  if (!c || !Number.isFinite(c.x) || !Number.isFinite(c.y)) {
    if (el) el.hidden = true;
    return;
  }
  if (!el) {
    el = document.createElement('div');
    el.className = 'cursor';
    el.dataset.testid = 'cursor';
    el.setAttribute('aria-hidden', 'true');
    ui.board.append(el);
    cursors.set(p.session, el);
  }
  el.hidden = false;
  el.textContent = p.name || 'someone';
  el.style.transform = `translate(${c.x}px, ${c.y}px)`;
}

// renderWho lists each person once, however many tabs they have open.
function renderWho() {
  const people = new Map();
  for (const p of doc.presence.values()) people.set(p.user, p.name || 'someone');
  if (doc.you && !people.has(doc.you.user)) people.set(doc.you.user, doc.you.name);
  const items = [...people].sort((a, b) => a[1].localeCompare(b[1]));
  ui.who.replaceChildren(...items.map(([user, name]) => {
    const li = document.createElement('li');
    li.dataset.testid = 'who-item';
    li.textContent = doc.you && user === doc.you.user ? `${name} (you)` : name;
    return li;
  }));
}

// ------------------------------------------------------------------- notes

const num = (v, max) => (Number.isFinite(v) ? Math.min(Math.max(0, Math.round(v)), max) : 0);
const color = (v) => (typeof v === 'string' && /^#[0-9a-fA-F]{3,8}$/.test(v) ? v : COLORS[0].value);

function renderPaper() {
  const p = doc.paper || {};
  ui.title.textContent = p.title || 'Untitled paper';
  document.title = `${p.title || 'Paper'} · papercast`;
  ui.to.hidden = !p.to;
  ui.to.textContent = p.to ? `To ${p.to}` : '';
}

function renderAllNotes() {
  for (const id of [...views.keys()]) if (!doc.elements.has(id)) removeNote(id);
  for (const el of doc.elements.values()) renderNote(el);
}

function renderNote(el) {
  let v = views.get(el.id);
  const isNew = !v;
  if (!v) v = createNote(el.id);
  if (!drag || drag.id !== el.id) {
    if (!keyMoves.has(el.id)) place(v, num(el.x, BOARD_W - NOTE_W), num(el.y, BOARD_H - NOTE_H));
  }
  const c = color(el.color);
  v.root.style.backgroundColor = c;
  for (const s of v.swatches) s.setAttribute('aria-pressed', String(s.dataset.color === c));
  const text = typeof el.text === 'string' ? el.text : '';
  if (!textBusy(el.id) && v.ta.value !== text) setText(v.ta, text);
  if (isNew && focusOnArrival === el.id) {
    focusOnArrival = '';
    v.ta.focus();
  }
}

// setText replaces a note's text, keeping the caret where it was if the
// user is in that note.
function setText(ta, text) {
  if (document.activeElement !== ta) {
    ta.value = text;
    return;
  }
  const { selectionStart: a, selectionEnd: b } = ta;
  ta.value = text;
  ta.setSelectionRange(Math.min(a, text.length), Math.min(b, text.length));
}

function place(v, x, y) {
  v.root.style.transform = `translate(${x}px, ${y}px)`;
  v.root.dataset.x = String(x);
  v.root.dataset.y = String(y);
}

function removeNote(id) {
  const v = views.get(id);
  if (!v) return;
  const t = typing.get(id);
  if (t) clearTimeout(t.timer);
  typing.delete(id);
  clearTimeout(keyMoves.get(id));
  keyMoves.delete(id);
  if (drag && drag.id === id) drag = null;
  v.root.remove();
  views.delete(id);
}

function button(cls, label, text, testid) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.setAttribute('aria-label', label);
  b.title = label;
  b.textContent = text;
  b.dataset.testid = testid;
  return b;
}

function createNote(id) {
  const root = document.createElement('article');
  root.className = 'note';
  root.dataset.testid = 'note';
  root.dataset.id = id;

  const bar = document.createElement('div');
  bar.className = 'note-bar';
  const handle = button('handle', 'Move note: drag, or use the arrow keys', '⠿', 'note-handle');
  const swatchBox = document.createElement('span');
  swatchBox.className = 'swatches edit-only';
  const swatches = COLORS.map((c) => {
    const s = button('swatch', `Color ${c.name}`, '', `swatch-${c.name}`);
    s.dataset.color = c.value;
    s.style.backgroundColor = c.value;
    s.addEventListener('click', () => upsert(id, { color: c.value }));
    return s;
  });
  swatchBox.append(...swatches);
  const del = button('delete edit-only', 'Delete note', '×', 'note-delete');
  del.addEventListener('click', () => send({ type: 'delete', id }));
  bar.append(handle, swatchBox, del);

  const ta = document.createElement('textarea');
  ta.dataset.testid = 'note-text';
  ta.setAttribute('aria-label', 'Note text');
  ta.maxLength = 1000; // keeps the value well inside the 4 KiB field limit
  ta.placeholder = 'Write something…';
  ta.readOnly = doc.final;
  ta.addEventListener('input', () => onType(id));

  handle.disabled = doc.final;
  handle.addEventListener('pointerdown', (ev) => startDrag(ev, id));
  handle.addEventListener('keydown', (ev) => keyMove(ev, id));

  root.append(bar, ta);
  ui.board.append(root);
  const v = { root, ta, handle, swatches };
  views.set(id, v);
  return v;
}

// A note's text is "busy" while the user's latest keystrokes have not come
// back from the server: remote text is stored but not shown until then.
function textBusy(id) {
  const t = typing.get(id);
  const queued = outbox.get(id);
  return Boolean((t && (t.timer || t.inflight > 0)) || (queued && queued.fields && 'text' in queued.fields));
}

function typingOf(id) {
  let t = typing.get(id);
  if (!t) {
    t = { timer: 0, inflight: 0 };
    typing.set(id, t);
  }
  return t;
}

function released(id) {
  const t = typing.get(id);
  if (t && t.inflight > 0) t.inflight--;
}

function onType(id) {
  if (doc.final) return;
  const t = typingOf(id);
  clearTimeout(t.timer);
  t.timer = setTimeout(() => {
    t.timer = 0;
    const v = views.get(id);
    if (v) upsert(id, { text: v.ta.value });
  }, TYPE_DEBOUNCE_MS);
}

function boardPoint(ev) {
  const r = ui.board.getBoundingClientRect();
  return { x: ev.clientX - r.left, y: ev.clientY - r.top };
}

function startDrag(ev, id) {
  if (doc.final || ev.button !== 0) return;
  const v = views.get(id);
  ev.preventDefault();
  v.handle.setPointerCapture(ev.pointerId);
  const x = Number(v.root.dataset.x);
  const y = Number(v.root.dataset.y);
  drag = { id, pointerId: ev.pointerId, startX: ev.clientX, startY: ev.clientY, origX: x, origY: y, x, y, moved: false };
  v.root.classList.add('dragging');
  const move = (e) => {
    if (!drag || e.pointerId !== drag.pointerId) return;
    drag.x = num(drag.origX + e.clientX - drag.startX, BOARD_W - NOTE_W);
    drag.y = num(drag.origY + e.clientY - drag.startY, BOARD_H - NOTE_H);
    drag.moved = drag.moved || drag.x !== drag.origX || drag.y !== drag.origY;
    place(v, drag.x, drag.y);
  };
  const end = (e) => {
    v.handle.removeEventListener('pointermove', move);
    v.handle.removeEventListener('pointerup', end);
    v.handle.removeEventListener('pointercancel', end);
    v.root.classList.remove('dragging');
    const d = drag;
    drag = null;
    if (!d || d.id !== id) return;
    if (e.type === 'pointerup' && d.moved && !doc.final) {
      upsert(id, { x: d.x, y: d.y });
    } else if (doc.elements.has(id)) {
      renderNote(doc.elements.get(id));
    }
  };
  v.handle.addEventListener('pointermove', move);
  v.handle.addEventListener('pointerup', end);
  v.handle.addEventListener('pointercancel', end);
}

function keyMove(ev, id) {
  const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  const step = steps[ev.key];
  if (!step || doc.final) return;
  ev.preventDefault();
  const v = views.get(id);
  const d = ev.shiftKey ? 50 : 10;
  const x = num(Number(v.root.dataset.x) + step[0] * d, BOARD_W - NOTE_W);
  const y = num(Number(v.root.dataset.y) + step[1] * d, BOARD_H - NOTE_H);
  place(v, x, y);
  clearTimeout(keyMoves.get(id));
  keyMoves.set(id, setTimeout(() => {
    keyMoves.delete(id);
    upsert(id, { x: Number(v.root.dataset.x), y: Number(v.root.dataset.y) });
  }, KEY_MOVE_DEBOUNCE_MS));
}

// ---------------------------------------------------------- final and owner

function setReadOnly(on) {
  document.body.classList.toggle('read-only', on);
  for (const v of views.values()) {
    v.ta.readOnly = on;
    v.handle.disabled = on;
  }
  if (on && drag) {
    const v = views.get(drag.id);
    drag = null;
    if (v) v.root.classList.remove('dragging');
  }
  ui.add.disabled = on || !conn.ready;
  ui.finalize.hidden = on || !ownerKey;
}

function setFinal() {
  if (doc.final) return;
  doc.final = true;
  if (doc.paper) doc.paper.status = 'final';
  for (const t of typing.values()) clearTimeout(t.timer);
  typing.clear();
  outbox.clear();
  ui.finalBanner.hidden = false;
  setReadOnly(true);
  renderAllNotes();
}

async function finalize() {
  if (!confirm('Finalize this paper? Nobody will be able to change it afterwards.')) return;
  ui.finalize.disabled = true;
  try {
    const res = await fetch(`/v1/papers/${encodeURIComponent(paperId)}/finalize`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ownerKey}` },
    });
    if (res.ok || res.status === 409) {
      setFinal();
      return;
    }
    const data = await res.json().catch(() => ({}));
    toast(`Could not finalize: ${(data.error && data.error.message) || `the server answered ${res.status}`}`);
  } catch (err) {
    toast(`Could not finalize: ${err.message}`);
  } finally {
    ui.finalize.disabled = false;
  }
}

// ------------------------------------------------------------------- toasts

function toast(message) {
  const el = document.createElement('div');
  el.className = 'toast';
  el.dataset.testid = 'toast';
  el.setAttribute('role', 'alert');
  el.textContent = message;
  ui.toasts.append(el);
  while (ui.toasts.children.length > 3) ui.toasts.firstChild.remove();
  setTimeout(() => el.remove(), TOAST_MS);
}

// -------------------------------------------------------------------- start

function addNote() {
  if (doc.final || !conn.ready) return;
  const id = `n${randomHex(8)}`;
  const x = num(ui.scroll.scrollLeft + 40 + Math.random() * 240, BOARD_W - NOTE_W);
  const y = num(ui.scroll.scrollTop + 40 + Math.random() * 160, BOARD_H - NOTE_H);
  focusOnArrival = id;
  upsert(id, { text: '', x, y, color: COLORS[0].value });
}

function start() {
  ui.board.style.width = `${BOARD_W}px`;
  ui.board.style.height = `${BOARD_H}px`;
  ui.add.addEventListener('click', addNote);
  ui.finalize.addEventListener('click', finalize);
  ui.finalize.hidden = !ownerKey;
  ui.board.addEventListener('pointermove', (ev) => {
    const p = boardPoint(ev);
    sendCursor(p.x, p.y);
  });
  if (!paperId) {
    stop('This address names no paper.');
    return;
  }
  if (me.name) connect();
  else askName();
}

start();
