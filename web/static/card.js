// The finished card: what the recipient sees at /p/{id} once the paper is
// final. Every note is shown whole (no scrolling inside a note) with its
// author, in one of two layouts: "as placed" keeps the board's composition,
// "arranged" flows the notes in reading order so none can cover another. The
// card starts arranged when notes overlap or the screen is narrow.

import { bounds, color, coord, fitZoom, NOTE_H, NOTE_W, nextZoom, overlapping, stacking } from './layout.js';
import { h, Zoom } from './ui.js';

const MARGIN = 24; // around the notes in the placed layout
const NARROW = 640; // below this width, the placed layout cannot be read
const READABLE = 0.6; // the least zoom at which the placed layout is shown first
const ARRANGED_ZOOMS = [1.5, 1.25, 1, 0.8, 0.67, 0.5];
const ROW = 4; // px: the arranged grid's row unit (a masonry of row spans)

/** authorName is the name to sign a note with, or '' when the note has no author. */
export function authorName(el, you) {
  if (!el.by || !el.by.user) return '';
  if (you && el.by.user === you.user) return el.by.name ? `${el.by.name} (you)` : 'you';
  return el.by.name || 'someone';
}

function slug(title) {
  const s = String(title || 'card').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 60);
  return s || 'card';
}

export class Card {
  /**
   * ui: the card's elements (see board.html): title, to, count, png, pdf,
   * placed, arranged (the layout buttons), scroll, sizer, canvas, empty.
   * onzoom(z) reports the zoom level shown.
   */
  constructor(ui, onzoom) {
    this.ui = ui;
    this.onzoom = onzoom;
    this.layout = '';
    this.az = 1; // the arranged layout's zoom
    this.nodes = []; // {el, node, rect}
    this.zoom = new Zoom(ui.scroll, ui.sizer, ui.canvas, (z) => {
      if (this.layout === 'placed') onzoom(z);
    });
    ui.placed.addEventListener('click', () => this.setLayout('placed'));
    ui.arranged.addEventListener('click', () => this.setLayout('arranged'));
  }

  /** show draws the paper's final document. */
  show(paper, elements, you) {
    const u = this.ui;
    u.title.textContent = paper.title || 'Untitled paper';
    u.to.hidden = !paper.to;
    u.to.textContent = paper.to ? `To ${paper.to}` : '';
    const notes = elements.filter((el) => typeof el.text === 'string' && el.text.trim() !== '');
    const people = new Set(notes.filter((el) => el.by && el.by.user).map((el) => el.by.user));
    const n = notes.length;
    u.count.textContent = `${n} ${n === 1 ? 'note' : 'notes'}${people.size > 0 ? ` from ${people.size} ${people.size === 1 ? 'person' : 'people'}` : ''}`;
    const base = `/v1/papers/${encodeURIComponent(paper.id)}/card`;
    u.png.href = `${base}.png`;
    u.png.download = `${slug(paper.title)}.png`;
    u.pdf.href = `${base}.pdf`;
    u.pdf.download = `${slug(paper.title)}.pdf`;
    u.empty.hidden = n > 0;

    const ranks = stacking(notes);
    this.nodes = notes.map((el) => {
      const author = authorName(el, you);
      const node = h('article', { className: 'card-note', testid: 'card-note', dataset: { id: el.id } },
        h('p', { className: 'card-text', testid: 'card-text', text: el.text, attrs: { dir: 'auto' } }));
      if (author) node.append(h('p', { className: 'card-author', testid: 'card-author', text: author, attrs: { dir: 'auto' } }));
      node.style.setProperty('--note', color(el.color));
      node.style.zIndex = String(ranks.get(el.id));
      return { el, node, rect: { x: coord(el.x), y: coord(el.y), w: NOTE_W, h: NOTE_H } };
    });
    // Measure every note as placed (its height depends on its text), then
    // choose the layout.
    this.layout = '';
    u.canvas.classList.add('placed');
    u.canvas.classList.remove('arranged');
    this.placeNodes();
    for (const x of this.nodes) x.rect.h = Math.max(NOTE_H, x.node.offsetHeight);
    this.overlaps = overlapping(this.nodes.map((x) => x.rect)).size > 0;
    this.placeNodes();
    // As placed only when that reads well: no overlaps, a wide screen, and
    // the whole card fits at a readable zoom.
    const fits = fitZoom({ x: 0, y: 0, ...this.placedSize }, u.scroll.clientWidth, u.scroll.clientHeight) >= READABLE;
    const narrow = u.scroll.clientWidth < NARROW;
    this.setLayout(this.overlaps || narrow || !fits ? 'arranged' : 'placed');
  }

  // placeNodes lays the notes out at their board positions, shifted so the
  // card starts at the top-left note.
  placeNodes() {
    const u = this.ui;
    const b = bounds(this.nodes.map((x) => x.rect)) || { x: 0, y: 0, w: 0, h: 0 };
    for (const x of this.nodes) {
      x.node.style.transform = `translate(${x.rect.x - b.x + MARGIN}px, ${x.rect.y - b.y + MARGIN}px)`;
    }
    u.canvas.replaceChildren(...this.nodes.map((x) => x.node));
    this.placedSize = { w: b.w + 2 * MARGIN, h: b.h + 2 * MARGIN };
  }

  setLayout(layout) {
    const u = this.ui;
    if (layout === this.layout) return;
    this.layout = layout;
    u.placed.setAttribute('aria-pressed', String(layout === 'placed'));
    u.arranged.setAttribute('aria-pressed', String(layout === 'arranged'));
    u.canvas.classList.toggle('arranged', layout === 'arranged');
    u.canvas.classList.toggle('placed', layout === 'placed');
    u.scroll.dataset.layout = layout;
    if (layout === 'placed') {
      this.placeNodes();
      this.zoom.w = 0; // force a resize
      this.zoom.resize(this.placedSize.w, this.placedSize.h);
      this.fit();
    } else {
      // Reading order: rows of the board top to bottom, each left to right.
      const sorted = [...this.nodes].sort((a, b) => Math.round(a.rect.y / NOTE_H) - Math.round(b.rect.y / NOTE_H) || a.rect.x - b.rect.x);
      for (const x of sorted) x.node.style.transform = '';
      u.canvas.replaceChildren(...sorted.map((x) => x.node));
      for (const p of ['width', 'height', 'transform']) {
        u.canvas.style.removeProperty(p);
        u.sizer.style.removeProperty(p);
      }
      // Start readable: the zoom that fits the card if it is 100% or more,
      // else 100% and scrolling.
      this.setArrangedZoom(Math.min(1.25, Math.max(1, this.arrangedFit())));
      u.scroll.scrollTo(0, 0);
    }
  }

  /** fit shows the whole card if it can be read that way. */
  fit() {
    if (this.layout === 'placed') {
      this.zoom.fit({ x: 0, y: 0, w: this.placedSize.w, h: this.placedSize.h }, 1.5);
      return;
    }
    this.setArrangedZoom(this.arrangedFit());
    this.ui.scroll.scrollTo(0, 0);
  }

  // arrangedFit is the largest zoom step at which every note shows at once,
  // but no smaller than the last step (below it, scrolling reads better
  // than squinting).
  arrangedFit() {
    const room = this.ui.scroll.clientHeight;
    for (const step of ARRANGED_ZOOMS) {
      this.setArrangedZoom(step);
      if (this.ui.canvas.offsetHeight <= room) return step;
    }
    return ARRANGED_ZOOMS[ARRANGED_ZOOMS.length - 1];
  }

  setArrangedZoom(z) {
    this.az = z;
    this.ui.canvas.style.setProperty('--z', String(z));
    this.masonry();
    this.onzoom(z);
  }

  // masonry packs the arranged notes: each spans as many grid rows as its
  // height needs, so short notes do not leave gaps beside long ones while
  // the order still reads left to right, top to bottom.
  masonry() {
    if (this.layout !== 'arranged' || this.nodes.length === 0) return;
    for (const x of this.nodes) x.node.style.gridRowEnd = '';
    const gap = parseFloat(getComputedStyle(this.nodes[0].node).marginBottom) || 0;
    const heights = this.nodes.map((x) => x.node.getBoundingClientRect().height);
    this.nodes.forEach((x, i) => {
      x.node.style.gridRowEnd = `span ${Math.max(1, Math.ceil((heights[i] + gap) / ROW))}`;
    });
  }

  /** step zooms in (dir 1) or out (dir -1). */
  step(dir) {
    if (this.layout === 'placed') this.zoom.set(nextZoom(this.zoom.z, dir));
    else this.setArrangedZoom(nextZoom(this.az, dir));
  }

  /** reset goes back to 100%. */
  reset() {
    if (this.layout === 'placed') this.zoom.set(1);
    else this.setArrangedZoom(1);
  }
}
