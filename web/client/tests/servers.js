// Test fixtures: two replicas of bin/papercast on a throwaway redis-server
// (the process fixtures are shared with the browser test, web/testkit), a
// TCP proxy that can drop and refuse connections, and the REST calls the
// tests need.

import net from 'node:net';
import { poll, sleep, startRedis, startReplica, stop, stopAll } from '../../testkit/processes.mjs';

export { sleep };

/** until polls fn (sync or async) every 10 ms until it returns true. */
export const until = (what, fn, timeoutMs = 10_000) => poll(what, fn, timeoutMs, 10);

/**
 * record makes client c keep what it reports: c.statuses, c.changes,
 * c.errors, c.frames and c.firstFrames (snapshot and resumed).
 */
export function record(c) {
  Object.assign(c, { statuses: [], changes: [], errors: [], frames: [], firstFrames: [] });
  c.on('status', (ev) => c.statuses.push(ev));
  c.on('change', (ev) => c.changes.push(ev));
  c.on('error', (ev) => c.errors.push(ev));
  c.on('frame', (f) => {
    c.frames.push(f);
    if (f.type === 'snapshot' || f.type === 'resumed') c.firstFrames.push(f);
  });
  return c;
}

/**
 * startCluster starts a redis-server and n replicas of bin/papercast on it.
 * env is added to every replica's environment. stop() stops them all.
 */
export async function startCluster({ replicas = 2, env = {} } = {}) {
  const c = { procs: [], replicas: [] };
  c.stop = () => stopAll(c.procs);
  c.logs = () => c.procs.map((p) => `--- ${p.name}\n${p.log.slice(-40).join('\n')}`).join('\n');
  try {
    const redis = await startRedis();
    c.procs.push(redis.p);
    c.redisPort = redis.port;
    c.replicas = await Promise.all(Array.from({ length: replicas }, async (_, i) => {
      const r = await startReplica(`replica-${i}`, redis.port, { env });
      c.procs.push(r.p);
      return { ...r, kill: (signal = 'SIGKILL') => stop(r.p, signal) };
    }));
  } catch (err) {
    await c.stop();
    throw err;
  }
  return c;
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
export async function createPaper(url, title = 'client test', edit = undefined) {
  const res = await fetch(`${url}/v1/papers`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ title, edit }),
  });
  if (res.status !== 201) throw new Error(`create paper: ${res.status} ${await res.text()}`);
  return res.json();
}

/** createOpenPaper creates a paper anyone may edit all of: a whiteboard. */
export const createOpenPaper = (url) => createPaper(url, 'client test', 'open');

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
