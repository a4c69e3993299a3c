// Unit tests of the board's geometry (web/static/layout.js), under Node's
// built-in runner: where new notes go, overlap detection, stacking, zoom
// steps and people's colors. The browser specs check the same things as a
// person sees them; these pin the rules on many random boards in
// milliseconds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BOARD_H, BOARD_W, freeSpot, freeSpots, GAP, hash, inPalette, nextZoom, NOTE_H, NOTE_W, noteColor, overlapping, overlaps,
  PALETTE, stacking, topZ, userColor,
} from '../static/layout.js';

// A small deterministic random source, so a failure can be replayed.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const note = (x, y, h = NOTE_H) => ({ x, y, w: NOTE_W, h });
const view = { x: 0, y: 0, w: 1280, h: 740 };

test('the first note goes to the top-left of the view, off the edge', () => {
  assert.deepEqual(freeSpot([], view), { x: GAP, y: GAP });
  assert.deepEqual(freeSpot([], { x: 1000, y: 500, w: 800, h: 600 }), { x: 1000, y: 504 });
});

test('60 notes added one by one never overlap, and fill the view first', () => {
  const rects = [];
  for (let i = 0; i < 60; i++) {
    const p = freeSpot(rects, view);
    const r = note(p.x, p.y);
    for (const o of rects) assert.ok(!overlaps(r, o, GAP - 1), `note ${i} at ${p.x},${p.y} is too close to ${o.x},${o.y}`);
    rects.push(r);
  }
  const inView = rects.filter((r) => r.x + r.w <= view.w && r.y + r.h <= view.h).length;
  assert.equal(inView, 20, 'a 1280x740 view takes 5 columns of 4 notes before any note goes outside it');
});

test('a free spot never overlaps a note, on random boards', () => {
  const rand = rng(12);
  for (let round = 0; round < 100; round++) {
    const rects = Array.from({ length: Math.floor(rand() * 40) }, () => note(Math.floor(rand() * BOARD_W), Math.floor(rand() * BOARD_H), NOTE_H + Math.floor(rand() * 200)));
    const v = { x: Math.floor(rand() * BOARD_W), y: Math.floor(rand() * BOARD_H), w: 390 + rand() * 1500, h: 600 + rand() * 600 };
    const spots = freeSpots(rects, v, { w: NOTE_W, h: NOTE_H }, 6);
    assert.ok(spots.length >= 1);
    for (const p of spots) {
      for (const o of rects) assert.ok(!overlaps(note(p.x, p.y), o), `round ${round}: ${JSON.stringify(p)} overlaps ${JSON.stringify(o)}`);
    }
    for (let i = 0; i < spots.length; i++) {
      for (let j = i + 1; j < spots.length; j++) assert.ok(!overlaps(note(spots[i].x, spots[i].y), note(spots[j].x, spots[j].y)), `round ${round}: two offered spots overlap`);
    }
  }
});

test('a full board grows instead of piling notes up', () => {
  const rects = [];
  for (let y = 0; y < BOARD_H; y += NOTE_H) for (let x = 0; x < BOARD_W; x += NOTE_W) rects.push(note(x, y));
  const p = freeSpot(rects, view);
  assert.ok(p.y >= BOARD_H, `the new note goes below the full board (${p.y})`);
  for (const o of rects) assert.ok(!overlaps(note(p.x, p.y), o));
});

test('overlapping finds exactly the notes that overlap another', () => {
  const rand = rng(7);
  for (let round = 0; round < 100; round++) {
    const rects = Array.from({ length: 30 }, () => note(Math.floor(rand() * 1200), Math.floor(rand() * 900)));
    const want = new Set();
    for (let i = 0; i < rects.length; i++) {
      for (let j = 0; j < rects.length; j++) if (i !== j && overlaps(rects[i], rects[j])) want.add(i);
    }
    assert.deepEqual([...overlapping(rects)].sort((a, b) => a - b), [...want].sort((a, b) => a - b));
  }
  assert.equal(overlapping([note(0, 0), note(NOTE_W, 0)]).size, 0, 'touching is not overlapping');
});

test('stacking: by z, missing z at the back, ties in creation order', () => {
  const ranks = stacking([{ id: 'a', z: 3 }, { id: 'b' }, { id: 'c', z: 3 }, { id: 'd', z: 1 }, { id: 'e', z: 'x' }]);
  assert.deepEqual([...ranks].sort((x, y) => x[1] - y[1]).map(([id]) => id), ['b', 'e', 'd', 'a', 'c']);
  assert.equal(topZ([{ z: 3 }, {}, { z: 9 }, { z: null }]), 9);
  assert.equal(topZ([]), 0);
});

test('zoom steps go up and down and stop at the ends', () => {
  assert.equal(nextZoom(1, 1), 1.25);
  assert.equal(nextZoom(1, -1), 0.8);
  assert.equal(nextZoom(0.9, -1), 0.8);
  assert.equal(nextZoom(0.9, 1), 1);
  assert.equal(nextZoom(2, 1), 2);
  assert.equal(nextZoom(0.25, -1), 0.25);
});

test('a person has one color everywhere, and people differ', () => {
  assert.equal(userColor('u-ben'), userColor('u-ben'));
  const colors = new Set(['u-ann', 'u-ben', 'u-cat', 'u-dan', 'g_4fQ2'].map(userColor));
  assert.ok(colors.size >= 4, `five people, ${colors.size} colors`);
  assert.equal(hash('한국'), hash('한국'));
  for (const u of ['a', 'b', 'c', 'ü', '🎉']) assert.ok(inPalette(noteColor(u)), `${u}'s note color is in the palette`);
  assert.ok(inPalette(PALETTE[0].value.toUpperCase()));
  assert.ok(!inPalette('#fff3a8'));
});
