// Geometry of a board, with no DOM: where a new note goes, which notes
// overlap, how far to zoom to fit, the stacking order, and each person's
// color. board.js and card.js draw with it; web/e2e/layout.test.mjs tests it
// under node --test.

/** The note colors everyone can pick (app/seed.go uses the same values). */
export const PALETTE = Object.freeze([
  { name: 'yellow', value: '#fff59d' },
  { name: 'pink', value: '#f8bbd0' },
  { name: 'green', value: '#c8e6c9' },
  { name: 'blue', value: '#bbdefb' },
  { name: 'purple', value: '#e1bee7' },
]);

export const NOTE_W = 200; // a note's width; its height grows with its text
export const NOTE_H = 160; // the height of an empty note
export const BOARD_W = 2400; // the least board size; it grows to hold every note
export const BOARD_H = 1600;
export const GAP = 16; // free space kept around an automatically placed note
export const MAX_POS = 20000; // notes cannot be dragged further out than this
const STEP = 8; // placement grid, in board pixels

/** color returns v if it is a CSS hex color, else the first palette color. */
export function color(v) {
  return typeof v === 'string' && /^#[0-9a-fA-F]{3,8}$/.test(v) ? v : PALETTE[0].value;
}

/** inPalette reports whether v is one of the palette's colors. */
export function inPalette(v) {
  return typeof v === 'string' && PALETTE.some((c) => c.value === v.toLowerCase());
}

/** coord turns a stored x or y (any JSON) into a whole number in [0, MAX_POS]. */
export function coord(v) {
  return Number.isFinite(v) ? Math.min(Math.max(0, Math.round(v)), MAX_POS) : 0;
}

/** overlaps reports whether two rects {x, y, w, h} overlap, or come closer than gap. */
export function overlaps(a, b, gap = 0) {
  return a.x < b.x + b.w + gap && b.x < a.x + a.w + gap && a.y < b.y + b.h + gap && b.y < a.y + a.h + gap;
}

/**
 * overlapping returns the indexes of the rects that overlap another one
 * (a sweep over x, so a board of thousands of notes stays cheap).
 */
export function overlapping(rects) {
  const idx = rects.map((_, i) => i).sort((i, j) => rects[i].x - rects[j].x);
  const out = new Set();
  for (let a = 0; a < idx.length; a++) {
    const r = rects[idx[a]];
    for (let b = a + 1; b < idx.length; b++) {
      const s = rects[idx[b]];
      if (s.x >= r.x + r.w) break;
      if (overlaps(r, s)) {
        out.add(idx[a]);
        out.add(idx[b]);
      }
    }
  }
  return out;
}

/** bounds returns the smallest rect holding every rect, or null for none. */
export function bounds(rects) {
  if (rects.length === 0) return null;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const r of rects) {
    x0 = Math.min(x0, r.x);
    y0 = Math.min(y0, r.y);
    x1 = Math.max(x1, r.x + r.w);
    y1 = Math.max(y1, r.y + r.h);
  }
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** extent is the board's size: at least BOARD_W x BOARD_H, and room for every note plus a margin. */
export function extent(rects) {
  const b = bounds(rects);
  if (!b) return { w: BOARD_W, h: BOARD_H };
  return { w: Math.max(BOARD_W, b.x + b.w + GAP * 4), h: Math.max(BOARD_H, b.y + b.h + GAP * 4) };
}

/**
 * freeSpots finds up to n places for a new note of size {w, h}, none
 * overlapping another: first the free places inside view (the part of the
 * board the person sees, {x, y, w, h} in board pixels), top to bottom and
 * left to right; then the free places nearest to the view's center. Free
 * means at least GAP away from every rect. The search covers the board plus
 * one more row of notes below it, so there is always room: the board grows
 * rather than piling notes up.
 */
export function freeSpots(rects, view, size = { w: NOTE_W, h: NOTE_H }, n = 1) {
  const ext = extent(rects);
  const W = Math.max(ext.w, view.x + view.w);
  const H = ext.h + size.h + GAP * 2;
  const cols = Math.ceil(W / STEP) + 1;
  const rows = Math.ceil(H / STEP) + 1;
  // Occupied cells, then a summed-area table so any candidate is checked in
  // constant time.
  const occ = new Uint8Array(cols * rows);
  for (const r of rects) {
    const c0 = Math.max(0, Math.floor((r.x - GAP) / STEP));
    const c1 = Math.min(cols - 1, Math.ceil((r.x + r.w + GAP) / STEP) - 1);
    const r0 = Math.max(0, Math.floor((r.y - GAP) / STEP));
    const r1 = Math.min(rows - 1, Math.ceil((r.y + r.h + GAP) / STEP) - 1);
    for (let y = r0; y <= r1; y++) occ.fill(1, y * cols + c0, y * cols + c1 + 1);
  }
  const sat = new Int32Array((cols + 1) * (rows + 1));
  for (let y = 0; y < rows; y++) {
    let line = 0;
    for (let x = 0; x < cols; x++) {
      line += occ[y * cols + x];
      sat[(y + 1) * (cols + 1) + x + 1] = sat[y * (cols + 1) + x + 1] + line;
    }
  }
  const used = (c0, r0, c1, r1) => // cells [c0, c1) x [r0, r1)
    sat[r1 * (cols + 1) + c1] - sat[r0 * (cols + 1) + c1] - sat[r1 * (cols + 1) + c0] + sat[r0 * (cols + 1) + c0];
  const wc = Math.ceil(size.w / STEP);
  const hc = Math.ceil(size.h / STEP);
  const first = Math.ceil(GAP / STEP); // keep off the board's edge
  const inView = (x, y) => x >= view.x && y >= view.y && x + size.w <= view.x + view.w && y + size.h <= view.y + view.h;
  const picked = [];
  const clash = (x, y) => picked.some((p) => overlaps({ x, y, w: size.w, h: size.h }, { x: p.x, y: p.y, w: size.w, h: size.h }, GAP));
  const free = [];
  for (let r = first; r + hc <= rows && picked.length < n; r++) {
    for (let c = first; c + wc <= cols; c++) {
      if (used(c, r, c + wc, r + hc) !== 0) continue;
      const x = c * STEP;
      const y = r * STEP;
      // Outside the view a coarser lattice is enough (and 4 times cheaper).
      if (!inView(x, y)) {
        if ((r & 1) === 0 && (c & 1) === 0) free.push(x, y);
      }
      else if (!clash(x, y)) {
        picked.push({ x, y });
        if (picked.length === n) break;
      }
    }
  }
  if (picked.length < n) {
    // Distance in view sizes, so a full view spreads the board in the
    // screen's proportions (and "fit to screen" stays readable).
    const cx = view.x + view.w / 2 - size.w / 2;
    const cy = view.y + view.h / 2 - size.h / 2;
    const dist = (i) => ((free[i] - cx) / view.w) ** 2 + ((free[i + 1] - cy) / view.h) ** 2;
    if (n - picked.length === 1) {
      let best = -1;
      let bestD = Infinity;
      for (let i = 0; i < free.length; i += 2) {
        const d = dist(i);
        if (d < bestD && !clash(free[i], free[i + 1])) {
          bestD = d;
          best = i;
        }
      }
      if (best >= 0) picked.push({ x: free[best], y: free[best + 1] });
    } else {
      const order = [];
      for (let i = 0; i < free.length; i += 2) order.push(i);
      const d = order.map(dist);
      const idx = order.map((_, k) => k).sort((a, b) => d[a] - d[b]);
      for (const k of idx) {
        const i = order[k];
        if (clash(free[i], free[i + 1])) continue;
        picked.push({ x: free[i], y: free[i + 1] });
        if (picked.length === n) break;
      }
    }
  }
  if (picked.length === 0) picked.push({ x: Math.max(GAP, Math.round(view.x + GAP)), y: Math.round(H - size.h - GAP) });
  return picked;
}

/** freeSpot is the best place for a new note (see freeSpots). */
export function freeSpot(rects, view, size = { w: NOTE_W, h: NOTE_H }) {
  return freeSpots(rects, view, size, 1)[0];
}

/** fitZoom is the zoom that shows rect b whole in a viewport of vw x vh (with a margin), within [min, max]. */
export function fitZoom(b, vw, vh, min = 0.1, max = 1.5, margin = 24) {
  if (!b || b.w <= 0 || b.h <= 0) return 1;
  const z = Math.min((vw - 2 * margin) / b.w, (vh - 2 * margin) / b.h);
  return Math.min(max, Math.max(min, z));
}

/** ZOOMS are the steps of the zoom buttons. */
export const ZOOMS = Object.freeze([0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2]);

/** nextZoom steps from z to the next zoom in direction dir (+1 or -1). */
export function nextZoom(z, dir) {
  if (dir > 0) return ZOOMS.find((s) => s > z + 0.001) ?? ZOOMS[ZOOMS.length - 1];
  return [...ZOOMS].reverse().find((s) => s < z - 0.001) ?? ZOOMS[0];
}

/**
 * stacking orders elements back to front: by their `z` field (missing counts
 * as 0), ties in creation order, so every viewer stacks them the same way.
 * It returns a Map id -> rank (1 = furthest back).
 */
export function stacking(elements, zOf = (el) => el.z) {
  const list = elements.map((el, i) => ({ id: el.id, z: Number.isFinite(zOf(el)) ? zOf(el) : 0, i }));
  list.sort((a, b) => a.z - b.z || a.i - b.i);
  return new Map(list.map((e, rank) => [e.id, rank + 1]));
}

/** topZ is the highest `z` among the elements (0 for none). */
export function topZ(elements) {
  let top = 0;
  for (const el of elements) if (Number.isFinite(el.z) && el.z > top) top = el.z;
  return top;
}

/** hash is FNV-1a of s's code points: stable across browsers and sessions. */
export function hash(s) {
  let h = 0x811c9dc5;
  for (const ch of String(s || '')) {
    h ^= ch.codePointAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * userColor is a person's color, the same on every screen: a hue from a
 * hash of their user id, dark enough for white text.
 */
export function userColor(user) {
  return `hsl(${hash(user) % 360}, 62%, 38%)`;
}

/** noteColor is the palette color a person's new notes start with. */
export function noteColor(user) {
  return PALETTE[hash(`note:${user}`) % PALETTE.length].value;
}
