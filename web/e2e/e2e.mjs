// Browser end-to-end test of the papercast board (issue 6, item 5).
//
// Two replicas of bin/papercast share one throwaway redis-server; Alice uses
// replica A and Bob replica B, each in their own headless Chromium context.
// Checked, as a person would see it: create a paper on the landing page, both
// join, the owner opens the paper to everyone (PATCH), a note typed by Alice
// appears for Bob, Bob's move and Alice's recolor
// cross over, a deleted note vanishes, Bob keeps up through his replica
// restarting (resume with since/epoch), both are listed as here, and after
// Alice finalizes both boards are read-only. The owner key must never show
// up in a server log.
//
// Needs bin/papercast (`make build`), redis-server and /usr/bin/chromium.
// Screenshots go to web/e2e/artifacts/. Exits non-zero on any failure after
// printing the replicas' logs; redis and the replicas are always stopped.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bin, freePort, poll, procs, root, sleep, startRedis, startReplica, stop, stopAll } from '../testkit/processes.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, 'artifacts');
const CHROMIUM = '/usr/bin/chromium';
const WAIT_MS = 10_000; // for anything that should take milliseconds
const DEADLINE_MS = 100_000; // the whole run

const consoleLines = [];
let browser;

function log(msg) {
  console.log(`[e2e ${new Date().toISOString().slice(11, 23)}] ${msg}`);
}

// until waits for fn(arg) to be true in the page.
async function until(page, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: WAIT_MS, polling: 50 });
  } catch (err) {
    throw new Error(`${page.who}: timed out waiting for ${what}`, { cause: err });
  }
}

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

async function newPerson(who) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.who = who;
  page.setDefaultTimeout(WAIT_MS);
  page.on('pageerror', (err) => {
    consoleLines.push(`${who} PAGE ERROR: ${err.message}`);
    pageErrors.push(`${who}: ${err.message}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleLines.push(`${who} console.${m.type()}: ${m.text()}`);
  });
  return page;
}
const pageErrors = [];

async function join(page, name) {
  await page.getByTestId('name-input').fill(name);
  await page.getByTestId('name-submit').click();
  await connected(page);
}

async function connected(page) {
  await until(page, 'the connection badge to say connected',
    () => document.querySelector('[data-testid=conn-state]').dataset.state === 'connected');
}

const noteText = (page) => page.getByTestId('note-text').first().inputValue();
const notePos = (page) => page.getByTestId('note').first().evaluate((n) => ({ x: Number(n.dataset.x), y: Number(n.dataset.y) }));

async function shoot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: false });
}

async function run() {
  check(fs.existsSync(bin), `${bin} exists (run \`make build\` first)`);
  check(fs.existsSync(CHROMIUM), `${CHROMIUM} exists (apt-get install -y chromium)`);
  fs.rmSync(artifacts, { recursive: true, force: true }); // no stale screenshots
  fs.mkdirSync(artifacts, { recursive: true });

  const { port: redisPort } = await startRedis();
  const [portA, portB] = [await freePort(), await freePort()];
  const dev = { PAPERCAST_SERVER_DEV: 'true' };
  const A = await startReplica('replica-a', redisPort, { port: portA, env: dev });
  let B = await startReplica('replica-b', redisPort, { port: portB, env: dev });
  log(`redis :${redisPort}, replica A ${A.url}, replica B ${B.url}`);

  // playwright-core's launch() always runs Chromium on a fresh temporary
  // --user-data-dir of its own (and refuses one in args); each person then
  // gets an isolated context, so Alice and Bob have separate localStorage.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  log('chromium launched');
  const alice = await newPerson('alice@A');
  const bob = await newPerson('bob@B');

  // Alice creates a paper on the landing page of replica A.
  await alice.goto(`${A.url}/`);
  await alice.getByTestId('create-title').fill('Happy birthday, Sam!');
  await alice.getByTestId('create-to').fill('Sam');
  await alice.getByTestId('create-submit').click();
  await alice.getByTestId('created').waitFor({ state: 'visible' });
  const shareLink = await alice.getByTestId('share-link').getAttribute('href');
  const ownerLink = await alice.getByTestId('owner-link').getAttribute('href');
  const share = new URL(shareLink);
  const owner = new URL(ownerLink);
  check(/^\/p\/[A-Za-z0-9_-]+$/.test(share.pathname) && share.hash === '', `share link ${shareLink} is /p/{id}`);
  check(owner.pathname === share.pathname && owner.hash.startsWith('#owner='), `owner link ${ownerLink} is /p/{id}#owner=`);
  const ownerKey = decodeURIComponent(owner.hash.slice('#owner='.length));
  check(ownerKey.length >= 16, 'owner key is long enough to be a secret');
  await shoot(alice, '01-created');
  log(`paper ${share.pathname} created`);

  await alice.getByTestId('open-owner').click();
  await alice.waitForURL((u) => u.pathname === share.pathname);
  log('alice on the board');
  await join(alice, 'Alice');
  log('alice connected');
  check(await alice.getByTestId('paper-title').textContent() === 'Happy birthday, Sam!', 'title shown');
  check(await alice.getByTestId('finalize').isVisible(), 'owner sees Finalize');

  // Bob opens the share link on replica B.
  await bob.goto(`${B.url}${share.pathname}`);
  await join(bob, 'Bob');
  check(!(await bob.getByTestId('finalize').isVisible()), 'a guest does not see Finalize');

  for (const page of [alice, bob]) {
    await until(page, 'Alice and Bob in the who-is-here list', () => {
      const names = [...document.querySelectorAll('[data-testid=who-item]')].map((li) => li.textContent);
      return names.some((n) => n.startsWith('Alice')) && names.some((n) => n.startsWith('Bob'));
    });
  }
  log('both joined and listed');

  // Papers are "authors" by default: each note is its author's (and the
  // owner's) to change. This scenario is a whiteboard where Bob moves and
  // deletes Alice's notes, so the owner opens the paper; both boards get
  // the policy frame, which takes seq 1, in order.
  const patched = await fetch(`${A.url}/v1${share.pathname.replace(/^\/p\//, '/papers/')}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ownerKey}` },
    body: JSON.stringify({ edit: 'open' }),
  });
  check(patched.status === 200 && (await patched.json()).edit === 'open', 'the owner opens the paper to everyone');
  for (const page of [alice, bob]) {
    await until(page, 'the policy frame (seq 1)', () => document.body.dataset.seq === '1');
  }

  // Alice adds a note and types; Bob sees the text.
  const text = 'Happy birthday! Have a great year.';
  await alice.getByTestId('add-note').click();
  await until(bob, 'Alice\'s new note', () => document.querySelectorAll('[data-testid=note]').length === 1);
  await alice.getByTestId('note-text').first().click();
  await alice.getByTestId('note-text').first().pressSequentially(text, { delay: 15 });
  await until(bob, 'the text Alice typed',
    (t) => document.querySelector('[data-testid=note-text]').value === t, text);
  check(await noteText(alice) === text, 'Alice still sees her own text after its echo');
  log('typed text crossed from A to B');

  // Bob drags the note; Alice sees the new position and Bob's cursor.
  const before = await notePos(bob);
  const box = await bob.getByTestId('note-handle').first().boundingBox();
  await bob.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await bob.mouse.down();
  await bob.mouse.move(box.x + box.width / 2 + 240, box.y + box.height / 2 + 130, { steps: 12 });
  await bob.mouse.up();
  const moved = await notePos(bob);
  check(moved.x === before.x + 240 && moved.y === before.y + 130, `Bob's note moved by the drag (${JSON.stringify(before)} -> ${JSON.stringify(moved)})`);
  await until(alice, `the note at ${moved.x},${moved.y}`, (p) => {
    const n = document.querySelector('[data-testid=note]');
    return Number(n.dataset.x) === p.x && Number(n.dataset.y) === p.y;
  }, moved);
  await until(alice, 'Bob\'s cursor', () => [...document.querySelectorAll('[data-testid=cursor]')]
    .some((c) => !c.hidden && c.textContent === 'Bob'));
  log('move and cursor crossed from B to A');

  // Alice recolors; Bob sees it.
  await alice.getByTestId('swatch-blue').first().click();
  await until(bob, 'the note turning blue',
    () => document.querySelector('[data-testid=swatch-blue]').getAttribute('aria-pressed') === 'true');

  // A second note, deleted by Bob, disappears for Alice.
  await alice.getByTestId('add-note').click();
  await until(bob, 'the second note', () => document.querySelectorAll('[data-testid=note]').length === 2);
  await bob.getByTestId('note-delete').nth(1).click();
  await until(alice, 'the second note to be deleted', () => document.querySelectorAll('[data-testid=note]').length === 1);
  log('recolor and delete crossed');

  // Bob's replica restarts: his board says so, reconnects by itself with
  // since/epoch, and catches up on what Alice wrote meanwhile.
  await stop(B.p);
  await until(bob, 'the badge to leave connected',
    () => document.querySelector('[data-testid=conn-state]').dataset.state !== 'connected');
  await shoot(bob, '02-bob-reconnecting');
  const more = `${text} From Alice.`;
  await alice.getByTestId('note-text').first().click();
  await alice.keyboard.press('End');
  await alice.keyboard.type(' From Alice.', { delay: 15 });
  await poll('Alice\'s edit to reach the store', async () => {
    const res = await fetch(`${A.url}/v1${share.pathname.replace(/^\/p\//, '/papers/')}`);
    const paper = await res.json();
    return paper.elements.length === 1 && paper.elements[0].text === more;
  });
  B = await startReplica('replica-b', redisPort, { port: portB, env: dev });
  await connected(bob);
  check(await bob.getByTestId('conn-state').getAttribute('data-joined') === 'resumed',
    'Bob resumed with since/epoch rather than reloading a snapshot');
  await until(bob, 'the text written while Bob was away',
    (t) => document.querySelector('[data-testid=note-text]').value === t, more);
  log('Bob reconnected and caught up');

  await shoot(alice, '03-alice-live');
  await shoot(bob, '03-bob-live');

  // Alice finalizes: both boards become read-only.
  alice.once('dialog', (d) => d.accept());
  await alice.getByTestId('finalize').click();
  for (const page of [alice, bob]) {
    await until(page, 'the final banner', () => !document.querySelector('[data-testid=final-banner]').hidden);
    await until(page, 'read-only controls', () => {
      const visible = (el) => el && el.offsetParent !== null;
      return !visible(document.querySelector('[data-testid=add-note]')) &&
        !visible(document.querySelector('[data-testid=finalize]')) &&
        !visible(document.querySelector('[data-testid=note-delete]')) &&
        !visible(document.querySelector('[data-testid=swatch-blue]')) &&
        document.querySelector('[data-testid=note-text]').readOnly &&
        document.querySelector('[data-testid=note-handle]').disabled;
    });
  }
  // Dragging and typing no longer change anything.
  const frozen = await notePos(bob);
  const h = await bob.getByTestId('note-handle').first().boundingBox();
  await bob.mouse.move(h.x + h.width / 2, h.y + h.height / 2);
  await bob.mouse.down();
  await bob.mouse.move(h.x + 100, h.y + 100, { steps: 5 });
  await bob.mouse.up();
  const after = await notePos(bob);
  check(after.x === frozen.x && after.y === frozen.y, 'a final note does not move');
  await bob.getByTestId('note-text').first().press('a');
  check(await noteText(bob) === more, 'a final note cannot be typed into');
  log('finalized: both boards read-only');
  await shoot(alice, '04-alice-final');
  await shoot(bob, '04-bob-final');

  // Alice deletes the paper: both sessions are closed with 4004 and the
  // boards say so instead of reconnecting.
  const del = await fetch(`${A.url}/v1${share.pathname.replace(/^\/p\//, '/papers/')}`, {
    method: 'DELETE', headers: { Authorization: `Bearer ${ownerKey}` },
  });
  check(del.status === 204, `DELETE answers 204 (got ${del.status})`);
  for (const page of [alice, bob]) {
    await until(page, 'the paper-deleted message', () => {
      const fatal = document.querySelector('[data-testid=fatal]');
      return !fatal.hidden && fatal.textContent === 'This paper was deleted.' &&
        document.querySelector('[data-testid=conn-state]').dataset.state === 'offline';
    });
  }
  await sleep(1500); // longer than the first reconnect delay
  check(await bob.getByTestId('conn-state').getAttribute('data-state') === 'offline', 'no reconnect after 4004');
  await shoot(bob, '05-bob-deleted');
  log('deleted: both boards told, no reconnect');

  check(pageErrors.length === 0, `no script errors in the pages: ${pageErrors.join('; ')}`);
  for (const p of procs) {
    check(!p.log.some((l) => l.includes(ownerKey)), `${p.name} never logs the owner key`);
  }
}

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  await stopAll().catch(() => {});
}

async function main() {
  const started = Date.now();
  const deadline = setTimeout(() => {
    console.error(`e2e: over ${DEADLINE_MS / 1000}s, giving up`);
    for (const p of procs) p.child.kill('SIGKILL');
    process.exit(1);
  }, DEADLINE_MS);
  let failed = null;
  try {
    await run();
  } catch (err) {
    failed = err;
  }
  if (failed) {
    console.error(`\nE2E FAILED: ${failed.stack || failed}`);
    if (failed.cause) console.error(`cause: ${failed.cause.message}`);
    if (browser) {
      for (const ctx of browser.contexts()) {
        for (const [i, page] of ctx.pages().entries()) {
          await page.screenshot({ path: path.join(artifacts, `failure-${page.who || i}.png`) }).catch(() => {});
        }
      }
    }
    if (consoleLines.length) console.error(`\n--- browser console ---\n${consoleLines.join('\n')}`);
    for (const p of procs) console.error(`\n--- ${p.name} log ---\n${p.log.join('\n')}`);
  }
  await cleanup();
  clearTimeout(deadline);
  if (failed) process.exit(1);
  log(`passed in ${((Date.now() - started) / 1000).toFixed(1)}s; screenshots in ${path.relative(root, artifacts)}/`);
}

main();
