// What every browser spec gets: the two replicas on one Redis, people
// (each an isolated Chromium context, so their own localStorage and
// clipboard), papers made through REST, waits that say what they waited for,
// and screenshots. One harness serves all specs of a run (web/e2e/e2e.mjs).

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { poll, sleep } from '../testkit/processes.mjs';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const artifacts = path.join(here, 'artifacts');
export const WAIT_MS = 15_000; // for anything that should take well under a second

export class CheckError extends Error {}

export function check(ok, what) {
  if (!ok) throw new CheckError(`check failed: ${what}`);
}

// A Harness serves one spec: shared holds what all specs share (the
// browser, replicas A, B and the live spec's C, the error collectors).
export class Harness {
  constructor(shared, spec) {
    Object.assign(this, shared);
    this.shared = shared;
    this.spec = spec;
    this.contexts = [];
    this.check = check;
    this.sleep = sleep;
    this.poll = poll;
  }

  replica(which) {
    return { A: this.A, B: this.B, C: this.C }[which];
  }

  /**
   * person opens a browser context for one person. name: stored as their
   * display name (no name dialog) unless ask is set; phone: 390x844 touch.
   */
  async person(who, { name = who[0].toUpperCase() + who.slice(1), ask = false, phone = false, viewport, clipboard = false } = {}) {
    const options = phone
      ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }
      : { viewport: viewport || { width: 1280, height: 800 } };
    const context = await this.browser.newContext(options);
    this.contexts.push(context);
    if (clipboard) {
      for (const r of [this.A, this.B, this.C]) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: r.url });
    }
    if (!ask) await context.addInitScript((n) => localStorage.setItem('papercast.name', n), name);
    const page = await context.newPage();
    page.who = `${this.spec}/${who}`;
    page.setDefaultTimeout(WAIT_MS);
    page.on('pageerror', (err) => {
      this.consoleLines.push(`${page.who} PAGE ERROR: ${err.message}`);
      this.pageErrors.push(`${page.who}: ${err.message}`);
    });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') this.consoleLines.push(`${page.who} console.${m.type()}: ${m.text()}`);
      // The page must work under its CSP: a violation fails the run.
      if (m.text().includes('Content Security Policy')) this.pageErrors.push(`${page.who}: ${m.text()}`);
    });
    return page;
  }

  /**
   * withClipboard runs fn alone: Chromium has one clipboard for the whole
   * browser, shared by every context, so specs running side by side take
   * turns with it.
   */
  withClipboard(fn) {
    const run = this.shared.clipboardTurn.then(fn);
    this.shared.clipboardTurn = run.catch(() => {});
    return run;
  }

  /** shootAll takes a screenshot of every page of the spec. */
  async shootAll(prefix) {
    for (const ctx of this.contexts) {
      for (const page of ctx.pages()) {
        await page.screenshot({ path: path.join(artifacts, `${prefix}-${(page.who || 'page').replace(/[^\w-]+/g, '_')}.png`) }).catch(() => {});
      }
    }
  }

  /** closeContexts ends every person of the spec that just ran. */
  async closeContexts() {
    const all = this.contexts.splice(0);
    await Promise.all(all.map((c) => c.close().catch(() => {})));
  }

  /** paper creates a paper through REST on replica A: {id, ownerKey, ...}. */
  async paper(title, to, extra = {}) {
    const res = await fetch(`${this.A.url}/v1/papers`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title, ...(to ? { to } : {}), ...extra }),
    });
    check(res.status === 201, `create paper answers 201 (got ${res.status})`);
    return res.json();
  }

  async doc(id) {
    const res = await fetch(`${this.A.url}/v1/papers/${id}`);
    check(res.ok, `GET paper ${id} answers 200 (got ${res.status})`);
    return res.json();
  }

  async finalize(id, ownerKey) {
    const res = await fetch(`${this.A.url}/v1/papers/${id}/finalize`, { method: 'POST', headers: { Authorization: `Bearer ${ownerKey}` } });
    check(res.ok, `finalize answers 200 (got ${res.status})`);
    return res.json();
  }

  /** open loads a paper's board and waits for it to be connected. */
  async open(page, id, { replica = 'A', fragment = '', connected = true } = {}) {
    await page.goto(`${this.replica(replica).url}/p/${id}${fragment}`);
    if (connected) await this.connected(page);
  }

  async connected(page) {
    await this.until(page, 'the connection badge to say connected',
      () => document.querySelector('[data-testid=conn-state]').dataset.state === 'connected');
  }

  /** until waits for fn(arg) to be true in the page. */
  async until(page, what, fn, arg, timeout = WAIT_MS) {
    try {
      await page.waitForFunction(fn, arg, { timeout, polling: 50 });
    } catch (err) {
      throw new CheckError(`${page.who}: timed out waiting for ${what}`, { cause: err });
    }
  }

  async shoot(page, name) {
    await page.screenshot({ path: path.join(artifacts, `${this.spec}-${name}.png`) });
  }

  /**
   * write stores notes through papercast-client inside page (same origin,
   * so the page's CSP allows the import), as a separate session of its own:
   * notes: [{id, text, x, y, color, ...}].
   */
  async write(page, paperId, notes, { user = 'writer', name = 'Writer' } = {}) {
    await page.evaluate(async ({ paperId, notes, user, name }) => {
      const { PapercastClient } = await import('/client/papercast-client.js');
      const c = new PapercastClient({ paperId, user, name });
      await c.connect();
      for (const n of notes) {
        const { id, ...fields } = n;
        await c.upsert(id, fields);
      }
      c.close();
    }, { paperId, notes, user, name });
  }
}

/** notes returns every note of the board as the page shows it. */
export function boardNotes(page) {
  return page.evaluate(() => [...document.querySelectorAll('[data-testid=note]')].map((n) => ({
    id: n.dataset.id,
    x: Number(n.dataset.x),
    y: Number(n.dataset.y),
    w: n.offsetWidth,
    h: n.offsetHeight,
    z: Number(n.style.zIndex),
    text: n.querySelector('[data-testid=note-text]').value,
    color: n.dataset.color,
  })));
}

/** overlapsAny lists the pairs of rects that overlap. */
export function overlappingPairs(rects) {
  const out = [];
  for (let i = 0; i < rects.length; i++) {
    for (let j = i + 1; j < rects.length; j++) {
      const a = rects[i];
      const b = rects[j];
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) out.push([a.id, b.id]);
    }
  }
  return out;
}
