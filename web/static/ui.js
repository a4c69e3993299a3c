// Small DOM helpers shared by the board and the finished card: an element
// builder, toasts, copying to the clipboard, and zoom of a scrollable canvas.
// No inline styles or handlers anywhere: the page's CSP forbids them, so
// positions and colors are set through the CSSOM.

import { fitZoom } from './layout.js';

/** h builds an element: h('button', {className, testid, text, attrs: {...}}, ...children). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  const { className, testid, text, attrs, dataset } = props;
  if (className) el.className = className;
  if (testid) el.dataset.testid = testid;
  if (text !== undefined) el.textContent = text;
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? '' : String(v));
  for (const [k, v] of Object.entries(dataset || {})) el.dataset[k] = v;
  el.append(...children);
  return el;
}

/** button builds a type=button with an accessible label (shown as a tooltip too). */
export function button(className, label, text, testid) {
  const b = h('button', { className, testid, text, attrs: { type: 'button', 'aria-label': label, title: label } });
  return b;
}

const TOAST_MS = 5000;

/**
 * toast shows a short message at the bottom of the screen. An action (e.g.
 * Undo) adds a button; the toast goes away after ms, or when its action is
 * used. It returns a function that removes it.
 */
export function toast(message, { action, onAction, ms = TOAST_MS, testid = 'toast' } = {}) {
  const box = document.getElementById('toasts');
  const el = h('div', { className: 'toast', testid, attrs: { role: action ? 'alert' : 'status' } }, h('span', { text: message }));
  let timer = 0;
  const remove = () => {
    clearTimeout(timer);
    el.remove();
  };
  if (action) {
    const b = h('button', { className: 'toast-action', testid: `${testid}-action`, text: action, attrs: { type: 'button' } });
    b.addEventListener('click', () => {
      remove();
      onAction();
    });
    el.append(b);
  }
  box.append(el);
  while (box.children.length > 3) box.firstChild.remove();
  timer = setTimeout(remove, ms);
  return remove;
}

/** copyText puts text on the clipboard; it reports whether that worked. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API or no permission (an insecure origin): the old way.
    const ta = h('textarea', { className: 'offscreen', attrs: { readonly: true } });
    ta.value = text;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

/** storage reads (value undefined) or writes a localStorage key; '' when storage is off. */
export function storage(key, value) {
  try {
    if (value === undefined) return localStorage.getItem(key) || '';
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Storage disabled: whatever it held lasts as long as the page.
  }
  return value || '';
}

/**
 * Zoom scales a canvas inside a scrollable box. The canvas keeps its size in
 * board pixels and is scaled by a transform; a sizer of the scaled size gives
 * the scroll box the right scroll range.
 */
export class Zoom {
  constructor(scroll, sizer, canvas, onzoom = () => {}) {
    this.scroll = scroll;
    this.sizer = sizer;
    this.canvas = canvas;
    this.onzoom = onzoom;
    this.z = 1;
    this.w = 0;
    this.h = 0;
    this.min = 0.1;
    this.max = 2;
    scroll.addEventListener('wheel', (ev) => {
      // Ctrl + wheel, and a touchpad's pinch (which browsers send as one).
      if (!ev.ctrlKey) return;
      ev.preventDefault();
      this.set(this.z * (ev.deltaY < 0 ? 1.1 : 1 / 1.1), { x: ev.clientX, y: ev.clientY });
    }, { passive: false });
  }

  resize(w, h) {
    if (w === this.w && h === this.h) return;
    this.w = w;
    this.h = h;
    this.apply();
  }

  apply() {
    this.canvas.style.width = `${this.w}px`;
    this.canvas.style.height = `${this.h}px`;
    this.canvas.style.transform = `scale(${this.z})`;
    this.sizer.style.width = `${Math.ceil(this.w * this.z)}px`;
    this.sizer.style.height = `${Math.ceil(this.h * this.z)}px`;
    this.onzoom(this.z);
  }

  /** set zooms to z, keeping the board point under anchor (client coordinates; default: the middle) in place. */
  set(z, anchor) {
    const r = this.scroll.getBoundingClientRect();
    const a = anchor || { x: r.left + this.scroll.clientWidth / 2, y: r.top + this.scroll.clientHeight / 2 };
    const p = this.toBoard(a.x, a.y);
    this.z = Math.min(this.max, Math.max(this.min, z));
    this.apply();
    const c = this.canvas.getBoundingClientRect();
    this.scroll.scrollLeft += c.left + p.x * this.z - a.x;
    this.scroll.scrollTop += c.top + p.y * this.z - a.y;
  }

  /** fit zooms so that rect b (board pixels) fills the box, and scrolls to it; no b: 100% at the top left. */
  fit(b, max = 1.5) {
    if (!b) {
      this.z = 1;
      this.apply();
      this.scroll.scrollTo(0, 0);
      return;
    }
    this.z = fitZoom(b, this.scroll.clientWidth, this.scroll.clientHeight, this.min, max);
    this.apply();
    const c = this.canvas.getBoundingClientRect();
    const s = this.scroll.getBoundingClientRect();
    const left = c.left - s.left + this.scroll.scrollLeft;
    const top = c.top - s.top + this.scroll.scrollTop;
    this.scroll.scrollLeft = left + (b.x + b.w / 2) * this.z - this.scroll.clientWidth / 2;
    this.scroll.scrollTop = top + (b.y + b.h / 2) * this.z - this.scroll.clientHeight / 2;
  }

  /** toBoard maps client coordinates to board pixels. */
  toBoard(clientX, clientY) {
    const c = this.canvas.getBoundingClientRect();
    return { x: (clientX - c.left) / this.z, y: (clientY - c.top) / this.z };
  }

  /** view is the part of the board in sight, in board pixels. */
  view() {
    const c = this.canvas.getBoundingClientRect();
    const s = this.scroll.getBoundingClientRect();
    return {
      x: Math.max(0, (s.left - c.left) / this.z),
      y: Math.max(0, (s.top - c.top) / this.z),
      w: this.scroll.clientWidth / this.z,
      h: this.scroll.clientHeight / this.z,
    };
  }
}
