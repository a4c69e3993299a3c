// Browser end-to-end tests of the papercast board (issues 6, 10 and 12).
//
// Replicas of bin/papercast share one throwaway redis-server; every person
// is an isolated headless Chromium context (Debian's /usr/bin/chromium
// driven by playwright-core: no browser download). The specs in specs/ run
// three at a time on that one set of processes, each with its own people
// and papers; each checks, as a person would see it, one part of the board:
// the live flow across replicas, notes that stay readable, writing notes,
// authors and own-note controls, finalize while typing, sharing and the
// owner key, the network blip, the phone layout, the finished card, seeded
// colors and the 404 page. A failing spec does not stop the others; the run
// fails if any did.
//
// Needs bin/papercast (`make build`), redis-server and /usr/bin/chromium.
// Screenshots go to web/e2e/artifacts/ (spec-name.png; failure-*.png on a
// failure). `node e2e.mjs notes card` runs only the specs named.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { bin, freePort, procs, root, startRedis, startReplica, stop, stopAll } from '../testkit/processes.mjs';
import { artifacts, check, Harness } from './harness.mjs';

const CHROMIUM = '/usr/bin/chromium';
const DEADLINE_MS = 240_000; // the whole run: a guard against a hang, not a target
const LANES = 3; // specs run this many at a time (each has its own people and papers)

// Longest first, so the lanes end together.
const SPECS = ['notes', 'live', 'card', 'typing', 'authors', 'finalize', 'share', 'network', 'phone', 'seed', 'notfound'];

function log(msg) {
  console.log(`[e2e ${new Date().toISOString().slice(11, 23)}] ${msg}`);
}

let browser;

async function run(only) {
  check(fs.existsSync(bin), `${bin} exists (run \`make build\` first)`);
  check(fs.existsSync(CHROMIUM), `${CHROMIUM} exists (apt-get install -y chromium)`);
  fs.rmSync(artifacts, { recursive: true, force: true }); // no stale screenshots
  fs.mkdirSync(artifacts, { recursive: true });

  // A and B serve every spec; C is the live spec's own, which it restarts.
  const { port: redisPort } = await startRedis();
  const portC = await freePort();
  const dev = { PAPERCAST_SERVER_DEV: 'true' };
  const [A, B, C] = await Promise.all([
    startReplica('replica-a', redisPort, { env: dev }),
    startReplica('replica-b', redisPort, { env: dev }),
    startReplica('replica-c', redisPort, { port: portC, env: dev }),
  ]);
  log(`redis :${redisPort}, replicas A ${A.url}, B ${B.url}, C ${C.url}`);

  // playwright-core's launch() runs Chromium on a fresh temporary
  // --user-data-dir; each person then gets an isolated context.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  log('chromium launched');

  const shared = {
    browser, A, B, C, log, procs, pageErrors: [], consoleLines: [], clipboardTurn: Promise.resolve(),
    stopC: () => stop(C.p),
    startC: async () => {
      C.p = (await startReplica('replica-c', redisPort, { port: portC, env: dev })).p;
    },
  };
  const queue = SPECS.filter((name) => only.length === 0 || only.includes(name));
  const failures = [];
  const lane = async () => {
    for (let name = queue.shift(); name; name = queue.shift()) {
      const t = new Harness(shared, name);
      const started = Date.now();
      try {
        const spec = await import(`./specs/${name}.mjs`);
        await spec.default(t);
        log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
      } catch (err) {
        failures.push({ name, err });
        log(`FAIL ${name}: ${err.message}${err.cause ? ` (${err.cause.message.split('\n')[0]})` : ''}`);
        await t.shootAll('failure');
      }
      await t.closeContexts();
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  if (shared.pageErrors.length > 0) failures.push({ name: 'page errors', err: new Error(shared.pageErrors.join('\n')) });
  return { failures, shared };
}

async function main() {
  const started = Date.now();
  const deadline = setTimeout(() => {
    console.error(`e2e: over ${DEADLINE_MS / 1000}s, giving up`);
    for (const p of procs) p.child.kill('SIGKILL');
    process.exit(1);
  }, DEADLINE_MS);
  let failures = [];
  let shared = null;
  try {
    ({ failures, shared } = await run(process.argv.slice(2)));
  } catch (err) {
    failures = [{ name: 'setup', err }];
  }
  if (failures.length > 0) {
    for (const { name, err } of failures) {
      console.error(`\nE2E FAILED [${name}]: ${err.stack || err}`);
      if (err.cause) console.error(`cause: ${err.cause.message}`);
    }
    if (shared && shared.consoleLines.length) console.error(`\n--- browser console ---\n${shared.consoleLines.join('\n')}`);
    for (const p of procs) console.error(`\n--- ${p.name} log (last 60 lines) ---\n${p.log.slice(-60).join('\n')}`);
  }
  if (browser) await browser.close().catch(() => {});
  await stopAll().catch(() => {});
  clearTimeout(deadline);
  if (failures.length > 0) process.exit(1);
  log(`passed in ${((Date.now() - started) / 1000).toFixed(1)}s; screenshots in ${path.relative(root, artifacts)}/`);
}

main();
