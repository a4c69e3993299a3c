// papercast board: one rolling paper, live. The protocol (connect, resume,
// backoff, the merge, optimistic edits with rollback, presence) is all in
// papercast-client; this file is the page: notes, their controls, placement,
// stacking, zoom, sharing, and the finished card once the paper is final.
//
// A note is an element {id, text, x, y, color, z}: z is its place in the
// stacking order, part of the document so everyone stacks notes the same
// way. Elements may also carry the server-stamped `by` and `createdAt`.

import { newId, PapercastClient } from '/client/papercast-client.js';
import { Card, authorName } from './card.js';
import {
  bounds, color, coord, extent, freeSpot, freeSpots, MAX_POS, NOTE_H, NOTE_W, nextZoom, noteColor, overlaps, PALETTE, stacking, topZ, userColor,
} from './layout.js';
import { button, copyText, h, storage, toast, Zoom } from './ui.js';

const MAX_TEXT = 1000; // characters a note holds: well inside the 4 KiB field limit
const COUNTER_FROM = 800; // the counter shows from here on
const TYPE_DEBOUNCE_MS = 150; // one upsert per pause in typing
const KEY_MOVE_DEBOUNCE_MS = 300; // arrow keys repeat fast: send where they stop
const RAISE_DEBOUNCE_MS = 250; // tabbing through notes raises only where it stops
const UNDO_MS = 5000; // a deleted note can be brought back this long
const SETTLE_MS = 10000; // a new note is watched for collisions until clear this long
const SETTLE_MOVES = 8;
const FLUSH_TIMEOUT_MS = 5000; // finalize waits this long for edits in flight

const $ = (id) => document.getElementById(id);
const ui = {
  title: $('title'), to: $('to'), add: $('add-note'), share: $('share'), finalize: $('finalize'),
  conn: $('conn'), who: $('who'), fatal: $('fatal'),
  scroll: $('board-scroll'), sizer: $('board-sizer'), board: $('board'),
  empty: $('empty-hint'), emptyText: $('empty-text'), emptyAdd: $('empty-add'),
  zoomBar: $('zoom-bar'), zoomOut: $('zoom-out'), zoomIn: $('zoom-in'), zoomLevel: $('zoom-level'), zoomFit: $('zoom-fit'),
  unsaved: $('unsaved'), unsavedList: $('unsaved-list'), unsavedClose: $('unsaved-close'),
  palette: $('palette'),
  shareDialog: $('share-dialog'), shareUrl: $('share-url'), shareCopy: $('share-copy'),
  ownerShare: $('owner-share'), ownerUrl: $('owner-url'), ownerCopy: $('owner-copy'),
  join: $('join'), joinForm: $('join-form'), nameInput: $('name-input'),
};

const paperId = decodeURIComponent(location.pathname.split('/')[2] || '');
const ownerStoreKey = `papercast.owner.${paperId}`;
const tokenStoreKey = `papercast.token.${paperId}`;
const ownerKey = { value: takeOwnerKey() };

/** @type {PapercastClient | null} */
let client = null;
let mode = 'loading'; // loading | live | card | gone
let ownerSession = false; // the server accepted our claim of the owner key
let paperInfo = null; // {id, title, to, status, edit} as last known

const views = new Map(); // id -> {root, ta, handle, colorBtn, del, author, counter, cut, confirm}
const typing = new Map(); // id -> debounce timer of text not yet sent
const typed = new Map(); // id -> text typed here that the server has not confirmed yet
const keyMoves = new Map(); // id -> debounce timer of an arrow-key move
const autoPlaced = new Map(); // id -> {at, moves}: notes placed here and not moved by hand
const localZ = new Map(); // id -> z shown here only (raising a note you may not change)
const pendingDeletes = new Map(); // id -> {timer, dismiss}: hidden, deleted when undo runs out
const unsaved = new Map(); // id -> {text, code}
const cursors = new Map(); // session -> element
let drag = null;
let focusOnArrival = '';
let raiseTimer = 0;
let settleTimer = 0;
let paletteFor = '';

const me = loadIdentity();
const zoom = new Zoom(ui.scroll, ui.sizer, ui.board, showZoom);
const card = new Card({
  title: $('card-title'), to: $('card-to'), count: $('card-count'), png: $('download-png'), pdf: $('download-pdf'),
  placed: $('layout-placed'), arranged: $('layout-arranged'),
  scroll: $('card-scroll'), sizer: $('card-sizer'), canvas: $('card-notes'), empty: $('card-empty'),
}, showZoom);

// ---------------------------------------------------------------- identity

// takeOwnerKey reads the owner key from the link's fragment (#owner=...),
// once: it is kept in this browser's storage for this paper and removed from
// the address bar, so it is not bookmarked, shared or shown by accident. It
// leaves the browser only in a claim frame and in finalize's Authorization.
function takeOwnerKey() {
  const frag = new URLSearchParams(location.hash.slice(1));
  const key = frag.get('owner');
  if (key) {
    storage(ownerStoreKey, key);
    frag.delete('owner');
    const rest = frag.toString();
    history.replaceState(history.state, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
  }
  return key || storage(ownerStoreKey);
}

function forgetOwnerKey() {
  ownerKey.value = '';
  ownerSession = false;
  storage(ownerStoreKey, null);
  ui.finalize.hidden = true;
}

function loadIdentity() {
  let user = storage('papercast.user');
  if (!user) user = storage('papercast.user', `u-${newId(16)}`);
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

function connect() {
  client = new PapercastClient({ paperId, user: me.user, name: me.name, token: storage(tokenStoreKey) });
  client.onstatus = onStatus;
  client.onchange = onChange;
  client.onpresence = onPresence;
  client.onerror = onClientError;
  setMode('live');
  client.connect();
  if (ownerKey.value) claimOwner();
}

function claimOwner() {
  client.claim(ownerKey.value).then(() => {
    ownerSession = true;
    renderAll();
  }, (err) => {
    if (err.code === 'forbidden') {
      forgetOwnerKey();
      toast('This owner link does not belong to this paper: you are here as a guest.');
    }
    // unsupported: a server without claims; finalize still takes the key.
  });
}

const STATUS_TEXT = { open: 'connected', connecting: 'connecting', reconnecting: 'reconnecting', offline: 'offline', closed: 'closed' };

// onStatus shows the socket's real state: papercast-client derives it from
// the socket alone, so a network blip cannot leave the badge stuck.
function onStatus({ status, reason }) {
  const state = STATUS_TEXT[status] || status;
  ui.conn.dataset.state = state;
  ui.conn.textContent = state;
  ui.conn.title = status === 'open' ? 'Changes are shared live' : 'Changes are kept here and sent when the connection is back';
  updateControls();
  if (status !== 'closed') return;
  if (reason === 'deleted') gone('This paper was deleted.');
  else if (reason === 'not_found') gone('There is no paper at this address.');
  else if (reason === 'banned') gone('The owner of this paper removed you from it.');
  else if (reason === 'policy') gone('The connection was closed. Reload the page to try again.');
}

function onChange({ reason, ids }) {
  if (reason === 'snapshot' || reason === 'resumed') {
    ui.conn.dataset.joined = reason;
    const you = client.you;
    if (you && you.token) storage(tokenStoreKey, you.token);
  }
  if (client.paper) paperInfo = { ...paperInfo, ...client.paper };
  if (reason === 'snapshot') renderPaper(client.paper);
  if (client.final) {
    enterFinal(null);
    return;
  }
  if (ids === null || reason === 'snapshot' || reason === 'policy') renderAll(); // the policy decides who may edit what
  else renderIds(ids);
  scheduleSettle();
}

function onClientError({ edit, claim, code, message }) {
  // Refused edits are handled where they were made (their promise), claims
  // in claimOwner; what is left came with a close (e.g. full) or from a
  // server of a later version.
  if (edit || claim) return;
  if (code === 'full') toast('This paper is full right now: trying again shortly.');
  else if (code !== 'not_found') toast(`${code}: ${message}`);
}

// gone: the paper cannot be shown any more (deleted, never existed).
function gone(message) {
  ui.fatal.textContent = message;
  ui.fatal.hidden = false;
  setMode('gone');
  for (const v of views.values()) v.root.remove();
  views.clear();
  clearCursors();
  updateControls();
}

// ----------------------------------------------------------------- editing

// edit sends an upsert; the client shows it at once and rolls it back if the
// server refuses it.
function edit(id, fields) {
  client.upsert(id, fields).catch((err) => refused(id, fields, err));
}

// refused tells the person what did not get saved: the text of a note, with
// a copy button, or a short message for anything else.
function refused(id, fields, err) {
  if (err.code === 'closed') return; // the paper is gone: already said
  if ('text' in fields) {
    lostText(id, err.code);
    return;
  }
  if (err.code !== 'finalized') toast(`Not saved: ${explain(err.code)}`);
}

function explain(code) {
  return {
    finalized: 'the paper was finalized before it arrived.',
    forbidden: 'only the author of this note, or the owner of the paper, may change it.',
    too_large: 'it is too long.',
    filtered: 'it contains words this paper does not allow.',
    invalid: 'the server could not read it.',
    not_found: 'the note was deleted meanwhile.',
  }[code] || `the server refused it (${code}).`;
}

// lostText records what the person typed into note id and did not get
// stored, unless the stored text is the same.
function lostText(id, code) {
  const text = typed.get(id);
  typed.delete(id);
  if (text === undefined || text === confirmedText(id) || text.trim() === '') return;
  unsaved.set(id, { text, code });
  renderUnsaved();
}

function confirmedText(id) {
  const el = client && client.confirmed.byId.get(id);
  return el && typeof el.text === 'string' ? el.text : '';
}

function renderUnsaved() {
  ui.unsaved.hidden = unsaved.size === 0;
  ui.unsavedList.replaceChildren(...[...unsaved.values()].map(({ text, code }) => {
    const copy = h('button', { className: 'secondary', testid: 'unsaved-copy', text: 'Copy text', attrs: { type: 'button' } });
    copy.addEventListener('click', async () => {
      copy.textContent = (await copyText(text)) ? 'Copied' : 'Select the text to copy it';
    });
    return h('div', { className: 'unsaved-item' },
      h('p', { text: `This was not saved: ${explain(code)}` }),
      h('pre', { testid: 'unsaved-text', text, attrs: { dir: 'auto', tabindex: 0 } }),
      copy);
  }));
}

// canEdit: who may change a note. Without server-stamped authors everyone
// may (the v1 behaviour); with them, its author, an owner session, or anyone
// when the paper's edit policy is open.
function canEdit(el) {
  if (mode !== 'live' || !client || client.final) return false;
  if (!el.by || !el.by.user) return true;
  if (ownerSession || (paperInfo && paperInfo.edit === 'open')) return true;
  return !!client.you && el.by.user === client.you.user;
}

function canAdd() {
  return mode === 'live' && !!client && client.status === 'open' && !client.final;
}

function updateControls() {
  const live = mode === 'live';
  ui.add.disabled = !canAdd();
  ui.emptyAdd.disabled = !canAdd();
  ui.finalize.hidden = !live || !ownerKey.value || !client || client.final;
  ui.share.hidden = mode === 'gone';
  updateEmpty();
}

// ------------------------------------------------------------------- notes

function shownElements() {
  return client ? client.elements.filter((el) => !pendingDeletes.has(el.id)) : [];
}

function shown(id) {
  return pendingDeletes.has(id) || !client ? undefined : client.get(id);
}

function rectOf(el) {
  const v = views.get(el.id);
  return { x: coord(el.x), y: coord(el.y), w: NOTE_W, h: v ? Math.max(NOTE_H, v.root.offsetHeight) : NOTE_H };
}

function renderPaper(p) {
  if (!p) return;
  paperInfo = { ...paperInfo, ...p };
  ui.title.textContent = p.title || 'Untitled paper';
  document.title = `${p.title || 'Paper'} · papercast`;
  ui.to.hidden = !p.to;
  ui.to.textContent = p.to ? `To ${p.to}` : '';
  ui.emptyText.textContent = p.to
    ? `Be the first to write something for ${p.to}. Add a note, then share the link so others can sign too.`
    : 'Be the first to write something. Add a note, then share the link so others can sign too.';
}

function renderAll() {
  if (mode !== 'live') return;
  const els = shownElements();
  const ids = new Set(els.map((el) => el.id));
  for (const id of [...views.keys()]) if (!ids.has(id)) removeNote(id);
  for (const el of els) renderNote(el);
  afterRender();
}

function renderIds(ids) {
  if (mode !== 'live') return;
  for (const id of ids) {
    const el = shown(id);
    if (el) renderNote(el);
    else removeNote(id);
  }
  afterRender();
}

function afterRender() {
  restack();
  const ext = extent(shownElements().map(rectOf));
  zoom.resize(ext.w, ext.h);
  updateEmpty();
}

function updateEmpty() {
  ui.empty.hidden = !(mode === 'live' && client && client.status === 'open' && views.size === 0);
}

const zOf = (el) => {
  const z = Number.isFinite(el.z) ? el.z : 0;
  const l = localZ.get(el.id);
  return l !== undefined && l > z ? l : z;
};

// restack applies the stacking order (the z field, ties in creation order).
function restack() {
  const ranks = stacking(shownElements(), zOf);
  for (const [id, v] of views) {
    v.rank = ranks.get(id) || 0;
    v.root.style.zIndex = String(v.rank);
  }
}

function renderNote(el) {
  let v = views.get(el.id);
  const isNew = !v;
  if (!v) v = createNote(el.id);
  if ((!drag || drag.id !== el.id) && !keyMoves.has(el.id)) place(v, coord(el.x), coord(el.y));
  const c = color(el.color);
  v.root.style.setProperty('--note', c);
  v.root.dataset.color = c;
  const mayEdit = canEdit(el);
  v.root.classList.toggle('editable', mayEdit);
  v.ta.readOnly = !mayEdit;
  v.handle.hidden = !mayEdit;
  v.colorBtn.hidden = !mayEdit;
  v.del.hidden = !mayEdit;
  // On the board, your own notes just say "you" (a note's bar is narrow).
  const author = el.by && client.you && el.by.user === client.you.user ? 'you' : authorName(el, null);
  v.author.textContent = author;
  v.author.hidden = !author;
  if (author && el.by) v.author.style.setProperty('--c', userColor(el.by.user));
  const text = typeof el.text === 'string' ? el.text : '';
  let resized = isNew;
  if (!typing.has(el.id)) {
    if (v.ta.value !== text) {
      setText(v.ta, text);
      resized = true;
    }
    if (typed.get(el.id) === confirmedText(el.id)) typed.delete(el.id);
  }
  if (resized) autosize(v); // measuring forces a layout: only when the text changed
  if (isNew && focusOnArrival === el.id) {
    focusOnArrival = '';
    v.ta.focus();
  }
}

// setText replaces a note's text, keeping the caret where it was if the
// person is in that note.
function setText(ta, text) {
  if (document.activeElement !== ta) {
    ta.value = text;
    return;
  }
  const { selectionStart: a, selectionEnd: b } = ta;
  ta.value = text;
  ta.setSelectionRange(Math.min(a, text.length), Math.min(b, text.length));
}

// autosize lets a note grow with its text, up to the CSS max-height; past
// that the text scrolls inside the note. The counter shows near the limit.
function autosize(v) {
  const ta = v.ta;
  ta.style.height = 'auto';
  ta.style.height = `${ta.scrollHeight + 2}px`;
  v.root.classList.toggle('scrolls', ta.scrollHeight > ta.clientHeight + 2);
  const n = ta.value.length;
  v.counter.hidden = n < COUNTER_FROM;
  v.counter.textContent = `${n.toLocaleString('en')} / ${MAX_TEXT.toLocaleString('en')}`;
  v.counter.classList.toggle('full', n >= MAX_TEXT);
}

function place(v, x, y) {
  v.root.style.transform = `translate(${x}px, ${y}px)`;
  v.root.dataset.x = String(x);
  v.root.dataset.y = String(y);
}

// removeNote takes a note off the board. If it held the keyboard focus, the
// focus moves to the next note (or the previous, or the Add button) rather
// than falling to the page.
function removeNote(id) {
  const v = views.get(id);
  if (!v) return;
  const hadFocus = v.root.contains(document.activeElement);
  const next = hadFocus ? neighbour(id) : null;
  clearTimeout(typing.get(id));
  typing.delete(id);
  clearTimeout(keyMoves.get(id));
  keyMoves.delete(id);
  if (drag && drag.id === id) drag = null;
  if (paletteFor === id) closePalette(false);
  v.root.remove();
  views.delete(id);
  if (hadFocus) {
    if (next) next.ta.focus();
    else if (!ui.add.disabled) ui.add.focus();
    else ui.share.focus();
  }
}

function neighbour(id) {
  const order = [...views.keys()];
  const i = order.indexOf(id);
  const pick = order[i + 1] || order[i - 1];
  return pick ? views.get(pick) : null;
}

function createNote(id) {
  const root = h('article', { className: 'note', testid: 'note', dataset: { id }, attrs: { 'aria-label': 'Note' } });
  const handle = button('handle', 'Move note: drag, or use the arrow keys', '', 'note-handle');
  handle.append(gripIcon());
  const author = h('span', { className: 'author', testid: 'note-author', attrs: { dir: 'auto' } });
  const colorBtn = button('color-btn', 'Change color', '', 'note-color');
  colorBtn.setAttribute('aria-haspopup', 'true');
  colorBtn.setAttribute('aria-expanded', 'false');
  colorBtn.append(h('span', { className: 'dot' }));
  const del = button('delete', 'Delete note', '×', 'note-delete');
  const bar = h('div', { className: 'note-bar' }, handle, author, colorBtn, del);

  const ta = h('textarea', {
    testid: 'note-text',
    attrs: { 'aria-label': 'Note text', dir: 'auto', maxlength: MAX_TEXT, placeholder: 'Write something…', rows: 4 },
  });
  const counter = h('span', { className: 'counter', testid: 'note-counter', attrs: { 'aria-live': 'polite' } });
  const cut = h('p', { className: 'cut', testid: 'note-cut', attrs: { role: 'status' } });
  cut.hidden = true;
  const foot = h('div', { className: 'note-foot' }, counter);
  const confirmDel = button('danger', 'Delete this note', 'Delete', 'note-confirm-delete');
  const keep = button('secondary', 'Keep this note', 'Keep', 'note-confirm-cancel');
  const confirm = h('div', { className: 'confirm', testid: 'note-confirm', attrs: { role: 'group', 'aria-label': 'Delete this note?' } },
    h('p', { text: 'Delete this note?' }), h('div', { className: 'row' }, confirmDel, keep));
  confirm.hidden = true;
  root.append(bar, ta, foot, cut, confirm);

  root.addEventListener('pointerdown', () => raise(id, 0), true);
  root.addEventListener('focusin', () => raise(id, RAISE_DEBOUNCE_MS));
  ta.addEventListener('input', () => {
    cut.hidden = true;
    onType(id);
  });
  ta.addEventListener('paste', (ev) => {
    const text = ev.clipboardData && ev.clipboardData.getData('text/plain');
    if (typeof text === 'string' && insertLimited(id, text)) ev.preventDefault();
  });
  ta.addEventListener('beforeinput', (ev) => {
    let text = ev.data;
    if (text == null && ev.dataTransfer) text = ev.dataTransfer.getData('text/plain');
    if (ev.inputType.startsWith('insert') && typeof text === 'string' && insertLimited(id, text)) ev.preventDefault();
  });
  handle.addEventListener('pointerdown', (ev) => startDrag(ev, id));
  handle.addEventListener('keydown', (ev) => keyMove(ev, id));
  colorBtn.addEventListener('click', () => openPalette(id, colorBtn));
  del.addEventListener('click', () => {
    confirm.hidden = false;
    confirmDel.focus();
  });
  keep.addEventListener('click', () => {
    confirm.hidden = true;
    del.focus();
  });
  confirm.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') keep.click();
  });
  confirmDel.addEventListener('click', () => deleteWithUndo(id));

  ui.board.append(root);
  const v = { root, ta, handle, colorBtn, del, author, counter, cut, confirm, rank: 0 };
  views.set(id, v);
  return v;
}

function gripIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '18');
  svg.setAttribute('height', '18');
  svg.setAttribute('aria-hidden', 'true');
  for (const [x, y] of [[9, 6], [15, 6], [9, 12], [15, 12], [9, 18], [15, 18]]) {
    const c = document.createElementNS(ns, 'circle');
    c.setAttribute('cx', String(x));
    c.setAttribute('cy', String(y));
    c.setAttribute('r', '1.8');
    c.setAttribute('fill', 'currentColor');
    svg.append(c);
  }
  return svg;
}

// insertLimited handles an insertion that would take the note past
// MAX_TEXT characters: it inserts what fits and says what was cut, instead
// of the browser's silent truncation. It reports whether it took over.
function insertLimited(id, text) {
  const v = views.get(id);
  if (!v || v.ta.readOnly) return false;
  const ta = v.ta;
  const keep = ta.value.length - (ta.selectionEnd - ta.selectionStart);
  if (keep + text.length <= MAX_TEXT) return false;
  let part = text.slice(0, Math.max(0, MAX_TEXT - keep));
  if (/[\uD800-\uDBFF]$/.test(part)) part = part.slice(0, -1); // never half an emoji
  if (part) ta.setRangeText(part, ta.selectionStart, ta.selectionEnd, 'end');
  const lost = text.length - part.length;
  v.cut.textContent = `Cut: a note holds ${MAX_TEXT.toLocaleString('en')} characters, so ${lost.toLocaleString('en')} of the ${text.length.toLocaleString('en')} you added were left out.`;
  v.cut.hidden = false;
  if (part) onType(id);
  else autosize(v);
  return true;
}

function onType(id) {
  const v = views.get(id);
  if (!v || mode !== 'live') return;
  typed.set(id, v.ta.value);
  autosize(v);
  clearTimeout(typing.get(id));
  typing.set(id, setTimeout(() => sendText(id), TYPE_DEBOUNCE_MS));
}

function sendText(id) {
  clearTimeout(typing.get(id));
  typing.delete(id);
  const text = typed.get(id);
  if (text !== undefined && mode === 'live') edit(id, { text });
}

// flushLocal sends at once what waits for a pause: text, arrow-key moves
// and deletes still in their undo time.
function flushLocal() {
  for (const id of [...typing.keys()]) sendText(id);
  for (const [id, t] of [...keyMoves]) {
    clearTimeout(t);
    keyMoves.delete(id);
    const v = views.get(id);
    if (v) edit(id, { x: Number(v.root.dataset.x), y: Number(v.root.dataset.y) });
  }
  for (const id of [...pendingDeletes.keys()]) commitDelete(id);
}

// raise brings a note to the front: for everyone (its z field) when we may
// change it, else on this screen only.
function raise(id, delay) {
  clearTimeout(raiseTimer);
  const go = () => {
    const v = views.get(id);
    const el = shown(id);
    if (!v || !el || mode !== 'live' || v.rank === views.size) return;
    const els = shownElements();
    let top = topZ(els);
    for (const z of localZ.values()) top = Math.max(top, z);
    if (canEdit(el) && client.status === 'open') edit(id, { z: top + 1 });
    else {
      localZ.set(id, top + 1);
      restack();
    }
  };
  if (delay) raiseTimer = setTimeout(go, delay);
  else go();
}

// ------------------------------------------------------------ add and place

function addNote() {
  if (!canAdd()) return;
  const id = newId();
  const els = shownElements();
  const spot = freeSpot(els.map(rectOf), zoom.view());
  focusOnArrival = id;
  autoPlaced.set(id, { clearSince: 0, moves: 0 });
  edit(id, { text: '', x: spot.x, y: spot.y, color: noteColor(client.you ? client.you.user : me.user), z: topZ(els) + 1 });
}

function scheduleSettle() {
  if (autoPlaced.size === 0 || settleTimer) return;
  settleTimer = setTimeout(() => {
    settleTimer = 0;
    settle();
  }, 120);
}

// settle resolves collisions of notes added at the same moment by different
// people (each placed theirs on the same free spot): the note created later
// moves, by its own author's page, so no two pages fight over one note. It
// moves to one of a few free places picked at random, so that two pages
// moving notes at once rarely pick the same place again. A note is watched
// until it has been clear of collisions for SETTLE_MS (a collision can come
// later, from someone else's note moving out of its own), until it moved
// SETTLE_MOVES times, or until the person moves it by hand.
function settle() {
  if (mode !== 'live' || client.status !== 'open') return;
  const index = new Map(client.confirmed.order.map((id, i) => [id, i]));
  const els = shownElements();
  const rects = new Map(els.map((el) => [el.id, rectOf(el)]));
  const now = Date.now();
  for (const [id, a] of [...autoPlaced]) {
    const mine = index.get(id);
    const r = rects.get(id);
    if (!r || a.moves >= SETTLE_MOVES) {
      if (!r && mine === undefined && client.get(id) === undefined) autoPlaced.delete(id); // refused or deleted
      else if (a.moves >= SETTLE_MOVES) autoPlaced.delete(id);
      continue;
    }
    if (mine === undefined || client.pendingCount > 0) continue;
    const hit = [...rects].some(([other, o]) => other !== id && (index.get(other) ?? Infinity) < mine && overlaps(r, o));
    if (!hit) {
      if (!a.clearSince) a.clearSince = now;
      else if (now - a.clearSince > SETTLE_MS) autoPlaced.delete(id);
      continue;
    }
    a.clearSince = 0;
    a.moves++;
    rects.delete(id);
    const spots = freeSpots([...rects.values()], zoom.view(), { w: r.w, h: r.h }, 6);
    const spot = spots[Math.floor(Math.random() * spots.length)];
    rects.set(id, { ...r, x: spot.x, y: spot.y });
    edit(id, { x: spot.x, y: spot.y });
  }
  if (autoPlaced.size > 0) scheduleSettle();
}

// ------------------------------------------------------------- move a note

function startDrag(ev, id) {
  const v = views.get(id);
  if (!v || v.handle.hidden || ev.button !== 0) return;
  ev.preventDefault();
  v.handle.setPointerCapture(ev.pointerId);
  const x = Number(v.root.dataset.x);
  const y = Number(v.root.dataset.y);
  drag = { id, pointerId: ev.pointerId, startX: ev.clientX, startY: ev.clientY, origX: x, origY: y, x, y, moved: false };
  v.root.classList.add('dragging');
  const move = (e) => {
    if (!drag || e.pointerId !== drag.pointerId) return;
    drag.x = Math.min(MAX_POS, Math.max(0, Math.round(drag.origX + (e.clientX - drag.startX) / zoom.z)));
    drag.y = Math.min(MAX_POS, Math.max(0, Math.round(drag.origY + (e.clientY - drag.startY) / zoom.z)));
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
    if (e.type === 'pointerup' && d.moved && mode === 'live') {
      autoPlaced.delete(id);
      edit(id, { x: d.x, y: d.y });
    } else {
      const el = shown(id);
      if (el) renderNote(el);
    }
  };
  v.handle.addEventListener('pointermove', move);
  v.handle.addEventListener('pointerup', end);
  v.handle.addEventListener('pointercancel', end);
}

function keyMove(ev, id) {
  const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  const step = steps[ev.key];
  const v = views.get(id);
  if (!step || !v || mode !== 'live') return;
  ev.preventDefault();
  const d = ev.shiftKey ? 50 : 10;
  const x = coord(Number(v.root.dataset.x) + step[0] * d);
  const y = coord(Number(v.root.dataset.y) + step[1] * d);
  place(v, x, y);
  autoPlaced.delete(id);
  clearTimeout(keyMoves.get(id));
  keyMoves.set(id, setTimeout(() => {
    keyMoves.delete(id);
    edit(id, { x: Number(v.root.dataset.x), y: Number(v.root.dataset.y) });
  }, KEY_MOVE_DEBOUNCE_MS));
}

// ------------------------------------------------------------------ colors

function buildPalette() {
  ui.palette.replaceChildren(...PALETTE.map((c) => {
    const s = button('swatch', `Color ${c.name}`, '', `swatch-${c.name}`);
    s.dataset.color = c.value;
    s.style.setProperty('--note', c.value);
    s.addEventListener('click', () => {
      const id = paletteFor;
      closePalette(true);
      if (id && shown(id)) edit(id, { color: c.value });
    });
    return s;
  }));
  ui.palette.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') closePalette(true);
  });
  document.addEventListener('pointerdown', (ev) => {
    if (!ui.palette.hidden && !ui.palette.contains(ev.target) && !ev.target.closest('.color-btn')) closePalette(false);
  });
}

function openPalette(id, btn) {
  if (paletteFor === id) {
    closePalette(true);
    return;
  }
  closePalette(false);
  const el = shown(id);
  if (!el) return;
  paletteFor = id;
  btn.setAttribute('aria-expanded', 'true');
  const current = color(el.color);
  for (const s of ui.palette.children) s.setAttribute('aria-pressed', String(s.dataset.color === current));
  ui.palette.hidden = false;
  const r = btn.getBoundingClientRect();
  const p = ui.palette.getBoundingClientRect();
  const left = Math.min(window.innerWidth - p.width - 8, Math.max(8, r.right - p.width));
  const top = r.bottom + 6 + p.height < window.innerHeight ? r.bottom + 6 : Math.max(8, r.top - 6 - p.height);
  ui.palette.style.transform = `translate(${Math.round(left)}px, ${Math.round(top)}px)`;
  (ui.palette.querySelector('[aria-pressed=true]') || ui.palette.firstChild).focus();
}

function closePalette(refocus) {
  const v = views.get(paletteFor);
  paletteFor = '';
  ui.palette.hidden = true;
  if (v) {
    v.colorBtn.setAttribute('aria-expanded', 'false');
    if (refocus) v.colorBtn.focus();
  }
}

// ------------------------------------------------------------------ delete

// deleteWithUndo hides the note at once and deletes it when the undo time
// runs out (or the page is left): an undo then needs no re-creation, so the
// note keeps its author and its place in the order.
function deleteWithUndo(id) {
  if (!shown(id)) return;
  const dismiss = toast('Note deleted.', { action: 'Undo', onAction: () => undoDelete(id), ms: UNDO_MS, testid: 'undo' });
  pendingDeletes.set(id, { timer: setTimeout(() => commitDelete(id), UNDO_MS), dismiss });
  autoPlaced.delete(id);
  renderIds([id]);
}

function commitDelete(id) {
  const p = pendingDeletes.get(id);
  if (!p) return;
  clearTimeout(p.timer);
  pendingDeletes.delete(id);
  if (mode === 'live' && client.get(id)) {
    client.delete(id).catch((err) => {
      if (err.code !== 'not_found' && err.code !== 'closed') toast(`Not deleted: ${explain(err.code)}`);
    });
  }
}

function undoDelete(id) {
  const p = pendingDeletes.get(id);
  if (!p) return;
  clearTimeout(p.timer);
  pendingDeletes.delete(id);
  renderIds([id]);
  const v = views.get(id);
  if (v) v.ta.focus();
}

window.addEventListener('pagehide', () => {
  for (const id of [...pendingDeletes.keys()]) commitDelete(id);
  for (const id of [...typing.keys()]) sendText(id);
});

// ---------------------------------------------------------------- presence

function onPresence({ event, entry, session }) {
  renderWho();
  if (mode !== 'live') return;
  if (event === 'leave') removeCursor(session);
  else if (event === 'join' || event === 'update') renderCursor(entry);
  else {
    clearCursors();
    for (const p of client.presence.values()) renderCursor(p);
  }
}

// renderWho lists each person once, however many tabs they have open, and
// nobody while disconnected (the client clears presence then).
function renderWho() {
  const people = new Map();
  if (client && mode === 'live') for (const p of client.presence.values()) people.set(p.user, p.name || 'someone');
  const you = client && client.you;
  const items = [...people].sort((a, b) => a[1].localeCompare(b[1]));
  ui.who.replaceChildren(...items.map(([user, name]) => {
    const li = h('li', { testid: 'who-item', text: you && user === you.user ? `${name} (you)` : name, attrs: { dir: 'auto', title: name } });
    li.dataset.initial = [...name.trim()][0] || '?';
    li.style.setProperty('--c', userColor(user));
    return li;
  }));
}

function renderCursor(p) {
  if (!p || mode !== 'live' || (client.you && p.session === client.you.session)) return;
  const c = p.state && p.state.cursor;
  let el = cursors.get(p.session);
  if (!c || !Number.isFinite(c.x) || !Number.isFinite(c.y)) {
    if (el) el.hidden = true;
    return;
  }
  if (!el) {
    el = h('div', { className: 'cursor', testid: 'cursor', attrs: { 'aria-hidden': 'true', dir: 'auto' } });
    ui.board.append(el);
    cursors.set(p.session, el);
  }
  el.hidden = false;
  el.textContent = p.name || 'someone';
  el.dataset.user = p.user;
  el.style.setProperty('--c', userColor(p.user));
  el.style.transform = `translate(${Math.round(c.x)}px, ${Math.round(c.y)}px)`;
}

function removeCursor(session) {
  const el = cursors.get(session);
  if (el) el.remove();
  cursors.delete(session);
}

function clearCursors() {
  for (const el of cursors.values()) el.remove();
  cursors.clear();
}

// ------------------------------------------------------------------- zoom

function showZoom(z) {
  ui.zoomLevel.textContent = `${Math.round(z * 100)}%`;
}

function zoomStep(dir) {
  if (mode === 'card') card.step(dir);
  else zoom.set(nextZoom(zoom.z, dir));
}

function zoomFit() {
  if (mode === 'card') card.fit();
  else zoom.fit(bounds(shownElements().map(rectOf)));
}

function zoomReset() {
  if (mode === 'card') card.reset();
  else zoom.set(1);
}

// ------------------------------------------------------------------- share

function shareLinks() {
  const share = new URL(`/p/${encodeURIComponent(paperId)}`, location.href).href;
  return { share, owner: ownerKey.value ? `${share}#owner=${encodeURIComponent(ownerKey.value)}` : '' };
}

async function openShare() {
  const { share, owner } = shareLinks();
  ui.shareUrl.value = share;
  ui.ownerShare.hidden = !owner;
  ui.ownerUrl.value = owner;
  ui.shareCopy.textContent = 'Copy';
  ui.ownerCopy.textContent = 'Copy';
  ui.shareDialog.showModal();
  ui.shareUrl.select();
  // Sharing is what the button is for: copy at once.
  ui.shareCopy.textContent = (await copyText(share)) ? 'Copied' : 'Copy';
}

// ---------------------------------------------------------- final and owner

// finalize is the owner's: every edit of this page is sent and answered
// first, so nothing typed a moment ago is lost to the finalize.
async function finalize() {
  if (!confirm('Finalize this paper? Nobody will be able to change it afterwards, and everyone sees the finished card.')) return;
  ui.finalize.disabled = true;
  try {
    flushLocal();
    let timer = 0;
    await Promise.race([client.flush(), new Promise((r) => { timer = setTimeout(r, FLUSH_TIMEOUT_MS); })]);
    clearTimeout(timer);
    const res = await fetch(`/v1/papers/${encodeURIComponent(paperId)}/finalize`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ownerKey.value}` },
    });
    const data = await res.json().catch(() => ({}));
    if (res.ok) {
      enterFinal(data);
      return;
    }
    if (res.status === 409) return; // already final: the finalized frame shows the card
    if (res.status === 403) forgetOwnerKey();
    toast(`Could not finalize: ${(data.error && data.error.message) || `the server answered ${res.status}`}`);
  } catch (err) {
    toast(`Could not finalize: ${err.message}`);
  } finally {
    ui.finalize.disabled = false;
  }
}

// enterFinal turns the board into the finished card: from the finalize
// answer (doc) or from the client's confirmed document. Text still waiting
// to be sent can no longer be stored: the person is shown it.
function enterFinal(doc) {
  if (mode === 'card' || mode === 'gone') return;
  for (const [id, t] of typing) {
    clearTimeout(t);
    lostText(id, 'finalized');
  }
  typing.clear();
  for (const t of keyMoves.values()) clearTimeout(t);
  keyMoves.clear();
  for (const p of pendingDeletes.values()) {
    clearTimeout(p.timer);
    p.dismiss();
  }
  pendingDeletes.clear();
  drag = null;
  closePalette(false);
  if (client && client.status === 'open') client.setPresence({}); // no cursor of ours any more
  const paper = doc || { ...paperInfo, ...client.paper };
  const elements = doc ? doc.elements : client.confirmed.order.map((id) => client.confirmed.byId.get(id));
  showCard(paper, elements);
}

function showCard(paper, elements) {
  renderPaper(paper);
  setMode('card');
  for (const v of views.values()) v.root.remove();
  views.clear();
  clearCursors();
  renderWho();
  card.show(paper, elements, client && client.you);
}

function setMode(m) {
  mode = m;
  document.body.dataset.mode = m;
  $('card').hidden = m !== 'card';
  ui.zoomBar.hidden = m !== 'live' && m !== 'card';
  updateControls();
}

// -------------------------------------------------------------------- start

async function start() {
  buildPalette();
  ui.add.addEventListener('click', addNote);
  ui.emptyAdd.addEventListener('click', addNote);
  ui.finalize.addEventListener('click', finalize);
  ui.share.addEventListener('click', openShare);
  ui.shareCopy.addEventListener('click', async () => {
    ui.shareCopy.textContent = (await copyText(ui.shareUrl.value)) ? 'Copied' : 'Select and copy';
  });
  ui.ownerCopy.addEventListener('click', async () => {
    ui.ownerCopy.textContent = (await copyText(ui.ownerUrl.value)) ? 'Copied' : 'Select and copy';
  });
  ui.unsavedClose.addEventListener('click', () => {
    unsaved.clear();
    renderUnsaved();
  });
  ui.zoomIn.addEventListener('click', () => zoomStep(1));
  ui.zoomOut.addEventListener('click', () => zoomStep(-1));
  ui.zoomLevel.addEventListener('click', zoomReset);
  ui.zoomFit.addEventListener('click', zoomFit);
  ui.board.addEventListener('pointermove', (ev) => {
    if (mode !== 'live' || !client || client.status !== 'open') return;
    const p = zoom.toBoard(ev.clientX, ev.clientY);
    client.setPresence({ cursor: { x: Math.round(p.x), y: Math.round(p.y) } });
  });
  zoom.resize(extent([]).w, extent([]).h);
  if (!paperId) {
    gone('This address names no paper.');
    return;
  }
  // The document first: a final paper is shown as its card without asking
  // for a name or opening a live connection.
  let doc = null;
  try {
    const res = await fetch(`/v1/papers/${encodeURIComponent(paperId)}`, { cache: 'no-store' });
    if (res.status === 404) {
      gone('There is no paper at this address.');
      return;
    }
    if (res.ok) doc = await res.json();
  } catch {
    // Unreachable for now: the live connection keeps trying.
  }
  if (doc) renderPaper(doc);
  if (doc && doc.status === 'final') {
    showCard(doc, doc.elements || []);
    return;
  }
  if (me.name) connect();
  else askName();
}

start();
