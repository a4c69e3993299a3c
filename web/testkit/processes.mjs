// Process fixtures shared by the Node test suites (web/e2e, web/client):
// free loopback ports, a throwaway redis-server, replicas of bin/papercast,
// each with its log kept for failure reports. Every process started here is
// in `procs`; stopAll stops them, and any still alive are killed when the
// test process exits.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// PAPERCAST_BIN may point at another build of the server.
export const bin = path.resolve(root, process.env.PAPERCAST_BIN || 'bin/papercast');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** procs: every process started, in order: {name, child, log, exited, done}. */
export const procs = [];
process.on('exit', () => {
  for (const p of procs) if (!p.exited) p.child.kill('SIGKILL');
});

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** poll calls fn (sync or async) every intervalMs until it returns true. */
export async function poll(what, fn, timeoutMs = 10_000, intervalMs = 50) {
  const until = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(intervalMs);
  }
}

export function start(name, cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  const p = { name, child, log: [], exited: false };
  p.done = new Promise((resolve) => {
    const exited = (line) => {
      p.exited = true;
      p.log.push(line);
      resolve();
    };
    child.on('exit', (code, signal) => exited(`-- exited (code ${code}, signal ${signal})`));
    child.on('error', (err) => exited(`-- failed to start: ${err.message}`));
  });
  const keep = (chunk) => p.log.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  procs.push(p);
  return p;
}

/** stop signals p and waits for it to exit (SIGKILL after 5 s). */
export async function stop(p, signal = 'SIGTERM') {
  if (p.exited) return;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 5000);
  await p.done;
  clearTimeout(timer);
}

/** stopAll stops the given processes (default: all), replicas before Redis, and removes Redis's directories. */
export async function stopAll(which = procs) {
  await Promise.all(which.filter((p) => p.name !== 'redis').map((p) => stop(p)));
  await Promise.all(which.filter((p) => p.name === 'redis').map((p) => stop(p)));
  for (const p of which) {
    if (p.dir) fs.rmSync(p.dir, { recursive: true, force: true });
  }
}

function redisPing(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    s.setTimeout(500, () => s.destroy());
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      buf += d;
      if (buf.includes('\r\n')) {
        s.end();
        resolve(buf.startsWith('+PONG'));
      }
    });
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(false));
  });
}

/** startRedis starts a throwaway redis-server (no persistence) on a free port. */
export async function startRedis() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'papercast-node-test-redis-'));
  const p = start('redis', 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
  ]);
  p.dir = dir;
  await poll('redis-server to answer PING', async () => {
    if (p.exited) throw new Error(`redis-server exited: ${p.log.join(' ')}`);
    return redisPing(port);
  });
  return { p, port };
}

/**
 * The test replicas' identity settings, before the caller's env: one guest
 * token secret for all of them (a token from one replica works on every
 * other, as in a deployment), and `?user=` trusted as protocol v1 did, since
 * the suites' clients say who they are that way. A test of guest identity
 * as deployed passes PAPERCAST_AUTH_TRUST_QUERY_USER: 'false'.
 */
export const testIdentityEnv = Object.freeze({
  PAPERCAST_AUTH_GUEST_SECRET: 'papercast-node-tests-guest-secret-0123456789',
  PAPERCAST_AUTH_TRUST_QUERY_USER: 'true',
});

/** startReplica starts bin/papercast on the Redis at redisPort and waits for /readyz. */
export async function startReplica(name, redisPort, { port, env = {} } = {}) {
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run \`make build\` first`);
  if (!port) port = await freePort();
  const p = start(name, bin, ['serve'], {
    cwd: root,
    env: {
      ...process.env,
      PAPERCAST_STORE: 'redis',
      PAPERCAST_REDIS_ADDRS: `127.0.0.1:${redisPort}`,
      PAPERCAST_SERVER_ADDR: `127.0.0.1:${port}`,
      ...testIdentityEnv,
      ...env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await poll(`${name} to be ready`, async () => {
    if (p.exited) throw new Error(`${name} exited: ${p.log.slice(-20).join('\n')}`);
    return (await fetch(`${url}/readyz`)).status === 200;
  }, 20_000);
  return { p, url, port };
}
