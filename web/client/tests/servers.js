// Test fixtures: a throwaway redis-server, replicas of bin/papercast on it,
// a TCP proxy that can drop and refuse connections, and the REST calls the
// tests need. Every process started here is stopped by stopAll (and, as a
// last resort, killed when the test process exits).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../../..');
// PAPERCAST_BIN may point at another build of the server.
export const bin = path.resolve(root, process.env.PAPERCAST_BIN || 'bin/papercast');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const live = new Set(); // processes not yet exited
process.on('exit', () => {
  for (const p of live) p.child.kill('SIGKILL');
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

/** until polls fn (sync or async) every 20 ms until it returns true. */
export async function until(what, fn, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(20);
  }
}

function start(name, cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  const p = { name, child, log: [], exited: false };
  p.done = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      p.exited = true;
      live.delete(p);
      p.log.push(`-- exited (code ${code}, signal ${signal})`);
      resolve();
    });
    child.on('error', (err) => {
      p.exited = true;
      live.delete(p);
      p.log.push(`-- failed to start: ${err.message}`);
      resolve();
    });
  });
  const keep = (chunk) => p.log.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  live.add(p);
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

/**
 * startCluster starts a redis-server and n replicas of bin/papercast on it.
 * env is added to every replica's environment.
 */
export async function startCluster({ replicas = 2, env = {} } = {}) {
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run \`make build\` first`);
  const c = { procs: [], replicas: [], dir: fs.mkdtempSync(path.join(os.tmpdir(), 'papercast-client-test-')) };
  c.stop = () => stopCluster(c);
  c.logs = () => c.procs.map((p) => `--- ${p.name}\n${p.log.slice(-40).join('\n')}`).join('\n');
  try {
    const redisPort = await freePort();
    const redis = start('redis', 'redis-server', [
      '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', c.dir,
    ]);
    c.procs.push(redis);
    await until('redis-server to answer PING', async () => {
      if (redis.exited) throw new Error(`redis-server exited: ${redis.log.join(' ')}`);
      return redisPing(redisPort);
    });
    c.redisPort = redisPort;
    c.replicas = await Promise.all(Array.from({ length: replicas }, async (_, i) => {
      const port = await freePort();
      const p = start(`replica-${i}`, bin, ['serve'], {
        cwd: root,
        env: {
          ...process.env,
          PAPERCAST_STORE: 'redis',
          PAPERCAST_REDIS_ADDRS: `127.0.0.1:${redisPort}`,
          PAPERCAST_SERVER_ADDR: `127.0.0.1:${port}`,
          ...env,
        },
      });
      c.procs.push(p);
      const url = `http://127.0.0.1:${port}`;
      await until(`replica-${i} to be ready`, async () => {
        if (p.exited) throw new Error(`replica-${i} exited: ${p.log.join('\n')}`);
        return (await fetch(`${url}/readyz`)).status === 200;
      }, 20_000);
      return { p, url, port, kill: (signal = 'SIGKILL') => stop(p, signal) };
    }));
  } catch (err) {
    await stopCluster(c);
    throw err;
  }
  return c;
}

async function stopCluster(c) {
  // Replicas first, so they do not log a lost Redis on the way out.
  await Promise.all(c.procs.filter((p) => p.name !== 'redis').map((p) => stop(p)));
  await Promise.all(c.procs.filter((p) => p.name === 'redis').map((p) => stop(p)));
  fs.rmSync(c.dir, { recursive: true, force: true });
}

/**
 * startProxy forwards 127.0.0.1:<port> to target. drop() cuts every
 * connection as a network failure would (no close frame); refuse(true)
 * makes new connections fail at once until refuse(false).
 */
export async function startProxy(targetPort) {
  const conns = new Set();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream };
    conns.add(pair);
    const end = () => {
      conns.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() { return conns.size; },
    drop() {
      for (const { client, upstream } of conns) {
        client.resetAndDestroy ? client.resetAndDestroy() : client.destroy();
        upstream.destroy();
      }
      conns.clear();
    },
    refuse(on) { refusing = on; },
    close() {
      this.drop();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** createPaper creates a paper on the replica at url: {id, ownerKey, ...}. */
export async function createPaper(url, title = 'client test') {
  const res = await fetch(`${url}/v1/papers`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ title }),
  });
  if (res.status !== 201) throw new Error(`create paper: ${res.status} ${await res.text()}`);
  return res.json();
}

/** getPaper fetches the document through REST. */
export async function getPaper(url, id) {
  const res = await fetch(`${url}/v1/papers/${id}`);
  if (res.status !== 200) throw new Error(`get paper: ${res.status} ${await res.text()}`);
  return res.json();
}

/** deletePaper deletes a paper with its owner key. */
export async function deletePaper(url, paper) {
  const res = await fetch(`${url}/v1/papers/${paper.id}`, {
    method: 'DELETE',
    headers: { Authorization: `Bearer ${paper.ownerKey}` },
  });
  if (res.status !== 204) throw new Error(`delete paper: ${res.status} ${await res.text()}`);
}
