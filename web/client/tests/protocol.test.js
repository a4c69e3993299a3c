// papercast-client against a scripted server (the `ws` package's server):
// the close-code table, the order in which answers can arrive, edits in
// doubt after a drop, claims, tokens and the status machine, each played
// exactly, which a real server cannot be made to do on demand.

import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'ws';
import { PapercastClient, closeAction } from '../papercast-client.js';
import { record, sleep, until } from './servers.js';

const T = { timeout: 5_000 }; // a hung test fails instead of hanging the run
const servers = new Set();
const clients = new Set();

afterEach(async () => {
  for (const c of clients) c.close();
  clients.clear();
  for (const s of servers) await s.close();
  servers.clear();
});

// script starts a server; onConn(conn, i) runs for the i-th connection.
// conn.next() resolves with the next frame the client sends.
async function script(onConn) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const conns = [];
  wss.on('connection', (ws, req) => {
    const conn = { ws, url: new URL(req.url, 'http://x'), frames: [], waiting: [] };
    conn.send = (f) => ws.send(JSON.stringify(f));
    conn.next = () => new Promise((resolve) => {
      if (conn.frames.length > 0) resolve(conn.frames.shift());
      else conn.waiting.push(resolve);
    });
    ws.on('message', (data) => {
      const f = JSON.parse(String(data));
      const w = conn.waiting.shift();
      if (w) w(f);
      else conn.frames.push(f);
    });
    conns.push(conn);
    onConn(conn, conns.length - 1);
  });
  const s = {
    url: `http://127.0.0.1:${wss.address().port}`,
    conns,
    close: () => {
      for (const c of wss.clients) c.terminate();
      return new Promise((resolve) => wss.close(resolve));
    },
  };
  servers.add(s);
  return s;
}

const you = (session, extra = {}) => ({ session, user: 'u1', name: 'Ann', ...extra });
const snapshot = (seq = 0, elements = [], extra = {}) => ({
  type: 'snapshot', epoch: 'E1', seq, you: you(`s${seq}`),
  paper: { id: 'p1', title: 't', status: 'open' }, elements, presence: [], ...extra,
});

// Fast, deterministic timings: delays are reported in status events, so
// the tests check the delay chosen rather than measure time.
function open(server, extra = {}) {
  const c = new PapercastClient({
    paperId: 'p1', server, user: 'u1', WebSocket, random: () => 0.5, checkGone: false,
    backoffMinMs: 40, backoffMaxMs: 400, jitterMs: 20, fullMinMs: 200, retryMinMs: 20, presenceIntervalMs: 10,
    ...extra,
  });
  clients.add(c);
  return record(c);
}

describe('close codes', () => {
  for (const [code, reason] of [[1008, 'policy'], [4003, 'banned'], [4004, 'deleted']]) {
    it(`${code} stops the client (${reason})`, T, async () => {
      const s = await script((conn) => {
        conn.send(snapshot());
        setTimeout(() => conn.ws.close(code, reason), 20);
      });
      const c = open(s.url);
      await c.connect();
      await until('closed', () => c.status === 'closed');
      assert.deepEqual(c.statuses.at(-1), { status: 'closed', previous: 'open', attempt: 0, code, reason, error: undefined });
      await sleep(200); // several backoff steps: no reconnect may come
      assert.equal(s.conns.length, 1);
    });
  }

  for (const code of [1001, 4008]) {
    it(`${code} reconnects at once (jitter only) with since/epoch`, T, async () => {
      const s = await script((conn, i) => {
        conn.send(i === 0 ? snapshot(3, [{ id: 'n1', a: 1 }]) : { type: 'resumed', epoch: 'E1', from: 3, seq: 3, you: you('s9'), presence: [] });
        if (i === 0) setTimeout(() => conn.ws.close(code), 20);
      });
      const c = open(s.url);
      await c.connect();
      await until('second connection', () => s.conns.length === 2 && c.status === 'open');
      const lost = c.statuses.find((ev) => ev.status === 'reconnecting');
      assert.equal(lost.code, code);
      assert.equal(lost.delay, 10); // random 0.5 x jitterMs 20
      assert.equal(s.conns[1].url.searchParams.get('since'), '3');
      assert.equal(s.conns[1].url.searchParams.get('epoch'), 'E1');
      assert.deepEqual(c.elements, [{ id: 'n1', a: 1 }]);
    });
  }

  for (const code of [1006, 1009, 1011, 1013]) {
    it(`${code} reconnects after a backoff that grows while attempts fail`, T, async () => {
      const s = await script((conn, i) => {
        if (i === 0) conn.send(snapshot());
        if (i < 3) setTimeout(() => (code === 1006 ? conn.ws.terminate() : conn.ws.close(code)), 10);
        else conn.send(snapshot());
      });
      const c = open(s.url);
      await c.connect();
      await until('open again', () => s.conns.length === 4 && c.status === 'open');
      const delays = c.statuses.filter((ev) => ev.status === 'reconnecting').map((ev) => [ev.code, ev.delay]);
      assert.deepEqual(delays, [[code, 40], [code, 80], [code, 160]]); // min 40 x 2^n x (0.5 + 0.5)
    });
  }

  it('4013 after an error `full` waits at least fullMinMs, then reconnects', T, async () => {
    const s = await script((conn, i) => {
      if (i === 0) {
        conn.send({ type: 'error', code: 'full', message: 'paper is full' });
        conn.ws.close(4013, 'full');
      } else {
        conn.send(snapshot());
      }
    });
    const c = open(s.url);
    await c.connect();
    const lost = c.statuses.find((ev) => ev.code === 4013);
    assert.equal(lost.status, 'connecting');
    assert.equal(lost.reason, 'full');
    assert.equal(lost.error.code, 'full');
    assert.equal(lost.delay, 150); // fullMinMs 200 x (0.5 + 0.5/2)
    assert.equal(c.errors[0].code, 'full');
  });

  it('the table of close codes matches docs/protocol.md', T, () => {
    assert.equal(closeAction(1001).action, 'now');
    assert.equal(closeAction(4008).action, 'now');
    for (const code of [1008, 4003, 4004]) assert.equal(closeAction(code).action, 'stop');
    for (const code of [1006, 1009, 1011, 1013, 4999]) assert.equal(closeAction(code).action, 'backoff');
    assert.equal(closeAction(4013).action, 'later');
  });
});

describe('status', () => {
  it('a listener may close the client from any event', T, async () => {
    for (const [event, when] of [['change', 'snapshot'], ['presence', 'snapshot'], ['status', 'open'], ['status', 'reconnecting']]) {
      const s = await script((conn, i) => {
        conn.send(snapshot(0, [], { presence: [{ session: 's0', user: 'u1', state: {} }] }));
        if (i === 0) setTimeout(() => conn.ws.terminate(), 10);
      });
      const c = open(s.url);
      c.on(event, (ev) => {
        if (ev.reason === when || ev.event === when || ev.status === when) c.close();
      });
      await c.connect().catch(() => {});
      await until(`closed from ${event} ${when}`, () => c.status === 'closed');
      assert.equal(c._ws, null);
      assert.equal(c._timer, 0);
    }
  });

  it('follows the socket: offline after failed attempts, open again with the first frame', T, async () => {
    const s = await script((conn, i) => {
      if (i === 0 || i === 4) conn.send(snapshot());
      if (i === 0) setTimeout(() => conn.ws.terminate(), 10);
      else if (i < 4) conn.ws.close(1013);
    });
    const c = open(s.url, { offlineAfter: 2 });
    await c.connect();
    const edit = c.upsert('n1', { t: 1 }); // made before the drop, sent on the first socket
    await until('open on the fifth socket', () => s.conns.length === 5 && c.status === 'open');
    assert.deepEqual(c.statuses.map((ev) => ev.status),
      ['connecting', 'open', 'reconnecting', 'offline', 'offline', 'offline', 'open']);
    // n1 was sent on the dropped socket, never answered, and is not in the
    // last snapshot: it is sent again.
    const f = await s.conns[4].next();
    assert.deepEqual({ ...f, ref: undefined }, { type: 'upsert', ref: undefined, id: 'n1', fields: { t: 1 } });
    s.conns[4].send({ type: 'ack', ref: f.ref, seq: 1 });
    assert.deepEqual(await edit, { seq: 1, ref: f.ref });
  });

  it('a socket that never sends its first frame is dropped and tried again', T, async () => {
    const s = await script((conn, i) => {
      if (i === 1) conn.send(snapshot());
    });
    const c = open(s.url, { firstFrameTimeoutMs: 400 });
    await c.connect();
    assert.deepEqual(c.statuses.map((ev) => ev.status), ['connecting', 'connecting', 'open']);
    assert.equal(c.statuses[1].reason, 'abnormal');
  });

  it('rotates over the servers given: a dead one is left for the next', T, async () => {
    const good = await script((conn) => conn.send(snapshot()));
    const dead = await script((conn) => conn.ws.terminate());
    const c = open([dead.url, good.url]);
    await c.connect();
    assert.equal(dead.conns.length, 1);
    assert.equal(good.conns.length, 1);
    const seen = [];
    const f = open(({ attempt }) => {
      seen.push(attempt);
      return attempt === 0 ? dead.url : good.url;
    });
    await f.connect();
    assert.deepEqual(seen, [0, 1]);
  });
});

describe('edits', () => {
  it('an ack before or after the own op: the overlay never hides a newer op', T, async () => {
    const s = await script((conn) => conn.send(snapshot()));
    const c = open(s.url);
    await c.connect();
    const conn = s.conns[0];
    const by = { session: 's0', user: 'u1' };
    const other = { session: 'x', user: 'u2' };

    // Ack first: the edit stays shown until its op is applied.
    const e1 = c.upsert('n1', { text: 'mine' });
    let f = await conn.next();
    conn.send({ type: 'ack', ref: f.ref, seq: 1 });
    assert.deepEqual(await e1, { seq: 1, ref: f.ref });
    assert.equal(c.get('n1').text, 'mine');
    assert.equal(c.confirmed.byId.get('n1'), undefined);
    conn.send({ type: 'op', seq: 1, op: 'upsert', id: 'n1', fields: { text: 'mine' }, by });
    await until('op 1 applied', () => c.seq === 1);
    assert.deepEqual(c.get('n1'), { id: 'n1', by: { user: 'u1' }, text: 'mine' }, 'the creating op\'s sender is the author');

    // Own op first, then someone else's newer op, then the ack: the newer
    // op shows at once.
    const e2 = c.upsert('n1', { text: 'mine 2' });
    f = await conn.next();
    conn.send({ type: 'op', seq: 2, op: 'upsert', id: 'n1', fields: { text: 'mine 2' }, by });
    conn.send({ type: 'op', seq: 3, op: 'upsert', id: 'n1', fields: { text: 'theirs' }, by: other });
    assert.deepEqual(await e2, { seq: 2, ref: f.ref });
    await until('op 3 applied', () => c.seq === 3);
    assert.equal(c.get('n1').text, 'theirs');
    assert.equal(c.pendingCount, 0);
    conn.send({ type: 'ack', ref: f.ref, seq: 2 }); // late: changes nothing
    conn.send({ type: 'op', seq: 4, op: 'delete', id: 'n1', by: other });
    await until('op 4 applied', () => c.seq === 4);
    assert.deepEqual(c.elements, []);
  });

  it('asks for batch=1 and applies a batch frame\'s events in order', T, async () => {
    const s = await script((conn) => conn.send(snapshot()));
    const c = open(s.url);
    await c.connect();
    const conn = s.conns[0];
    assert.equal(conn.url.searchParams.get('batch'), '1');
    const by = { session: 's0', user: 'u1' };
    const e1 = c.upsert('n1', { text: 'a' });
    const f = await conn.next();
    conn.ws.send([
      { type: 'op', seq: 1, op: 'upsert', id: 'n1', fields: { text: 'a' }, by },
      { type: 'ack', ref: f.ref, seq: 1 },
      { type: 'op', seq: 2, op: 'upsert', id: 'n1', fields: { text: 'b\nc' }, by: { session: 'x', user: 'u2' } },
    ].map((x) => JSON.stringify(x)).join('\n'));
    assert.deepEqual(await e1, { seq: 1, ref: f.ref });
    await until('op 2 applied', () => c.seq === 2);
    assert.equal(c.get('n1').text, 'b\nc');
  });

  it('`overloaded`: the edit is resent after a backoff, and later edits wait behind it', T, async () => {
    const s = await script((conn) => conn.send(snapshot()));
    const c = open(s.url, { retryMinMs: 300 }); // time to make an edit during the backoff
    await c.connect();
    const conn = s.conns[0];
    const e1 = c.upsert('n1', { text: 'a' });
    const f1 = await conn.next();
    conn.send({ type: 'error', ref: f1.ref, code: 'overloaded', message: 'busy' });
    await until('the refusal to arrive', () => c._pending[0].state === 'wait');
    const e2 = c.upsert('n2', { text: 'b' }); // made during the backoff
    const again = await conn.next();
    assert.deepEqual([again.id, again.fields], ['n1', { text: 'a' }], 'n1 again, before n2');
    const f2 = await conn.next();
    assert.equal(f2.id, 'n2');
    conn.send({ type: 'ack', ref: again.ref, seq: 1 });
    conn.send({ type: 'ack', ref: f2.ref, seq: 2 });
    assert.equal((await e1).seq, 1);
    assert.equal((await e2).seq, 2);
    assert.deepEqual(c.errors, []);
    assert.ok(!c.changes.some((ev) => ev.reason === 'rollback'));
  });

  it('a resend keeps only the fields no later edit of the element set', T, async () => {
    const s = await script((conn) => conn.send(snapshot()));
    const c = open(s.url);
    await c.connect();
    const conn = s.conns[0];
    const e1 = c.upsert('n1', { text: 'old', x: 1 });
    const e2 = c.upsert('n1', { text: 'new' });
    const f1 = await conn.next();
    const f2 = await conn.next();
    conn.send({ type: 'error', ref: f1.ref, code: 'unavailable', message: 'timeout' });
    conn.send({ type: 'ack', ref: f2.ref, seq: 1 });
    const again = await conn.next();
    assert.deepEqual(again.fields, { x: 1 }, 'the newer text is not overwritten by the resend');
    conn.send({ type: 'ack', ref: again.ref, seq: 2 });
    await Promise.all([e1, e2]);
  });

  it('edits in doubt after a drop are resent only if the first frame does not show them', T, async () => {
    const s = await script((conn, i) => {
      if (i === 0) conn.send(snapshot());
      if (i === 1) conn.send(snapshot(1, [{ id: 'n1', t: 1 }]));
      if (i === 2) {
        conn.send({ type: 'resumed', epoch: 'E1', from: 2, seq: 3, you: you('s3'), presence: [] });
        // Replayed: n3 was stored by the previous session (s1).
        setTimeout(() => conn.send({ type: 'op', seq: 3, op: 'upsert', id: 'n3', fields: { t: 3 }, by: { session: 's1', user: 'u1' } }), 30);
      }
    });
    const c = open(s.url);
    await c.connect();
    const e1 = c.upsert('n1', { t: 1 });
    const e2 = c.upsert('n2', { t: 2 });
    await s.conns[0].next();
    await s.conns[0].next();
    s.conns[0].ws.terminate();
    // The snapshot shows n1 stored: only n2 is sent again.
    await until('second connection', () => s.conns.length === 2);
    const f = await s.conns[1].next();
    assert.deepEqual([f.id, f.fields], ['n2', { t: 2 }]);
    assert.equal((await e1).seq, null, 'confirmed by the snapshot');
    s.conns[1].send({ type: 'op', seq: 2, op: 'upsert', id: 'n2', fields: { t: 2 }, by: { session: 's1', user: 'u1' } });
    assert.equal((await e2).seq, 2);

    // After a resume, the replay shows n3 stored: n3 is not sent again,
    // n4 is, after the replay.
    const e3 = c.upsert('n3', { t: 3 });
    const e4 = c.upsert('n4', { t: 4 });
    await s.conns[1].next();
    await s.conns[1].next();
    s.conns[1].ws.terminate();
    await until('third connection', () => s.conns.length === 3);
    assert.equal(s.conns[2].url.searchParams.get('since'), '2');
    const g = await s.conns[2].next();
    assert.deepEqual([g.id, g.fields], ['n4', { t: 4 }]);
    assert.equal(c.seq, 3, 'sent after the replay');
    assert.equal((await e3).seq, 3);
    s.conns[2].send({ type: 'ack', ref: g.ref, seq: 4 });
    assert.equal((await e4).seq, 4);
  });

  it('a gap in seqs resumes from the last seq applied', T, async () => {
    const s = await script((conn, i) => {
      conn.send(snapshot(i === 0 ? 0 : 1));
      if (i === 0) {
        conn.send({ type: 'op', seq: 1, op: 'upsert', id: 'a', fields: { v: 1 }, by: { session: 'x', user: 'x' } });
        conn.send({ type: 'op', seq: 3, op: 'upsert', id: 'b', fields: { v: 3 }, by: { session: 'x', user: 'x' } });
      }
    });
    const c = open(s.url);
    await c.connect();
    await until('a second connection', () => s.conns.length === 2 && c.status === 'open');
    assert.equal(s.conns[1].url.searchParams.get('since'), '1');
    assert.equal(c.get('b'), undefined, 'the op after the gap was not applied');
  });

  it('after `finalized`, edits are refused without being sent', T, async () => {
    const s = await script((conn) => {
      conn.send(snapshot(0, [{ id: 'n1', t: 1 }]));
      conn.send({ type: 'finalized', seq: 1 });
    });
    const c = open(s.url);
    await c.connect();
    await until('final', () => c.final);
    assert.equal(c.paper.status, 'final');
    assert.equal(c.seq, 1);
    await assert.rejects(c.upsert('n1', { t: 2 }), { code: 'finalized' });
    await assert.rejects(c.delete('n1'), { code: 'finalized' });
    await sleep(30);
    assert.equal(s.conns[0].frames.length, 0);
  });

  it('bad ids and empty fields are refused before anything is shown', T, async () => {
    const c = open('http://127.0.0.1:1');
    await assert.rejects(c.upsert('no spaces', { a: 1 }), { code: 'invalid' });
    await assert.rejects(c.upsert('n1', {}), { code: 'invalid' });
    await assert.rejects(c.delete(''), { code: 'invalid' });
    assert.deepEqual(c.changes, []);
  });

  it('unknown fields (author, creation time) pass through', T, async () => {
    const by = { user: 'u7', name: 'Ben' };
    const s = await script((conn) => {
      conn.send(snapshot(0, [{ id: 'n1', t: 1, by, createdAt: '2026-01-01T00:00:00Z' }], { future: 1 }));
      conn.send({ type: 'op', seq: 1, op: 'upsert', id: 'n1', fields: { t: 2 }, by: { session: 'x', user: 'u7' } });
    });
    const c = open(s.url);
    await c.connect();
    await until('op applied', () => c.seq === 1);
    assert.deepEqual(c.get('n1'), { id: 'n1', t: 2, by, createdAt: '2026-01-01T00:00:00Z' });
  });
});

describe('identity and claims', () => {
  it('the caller\'s token is sent first, then the server-issued you.token', T, async () => {
    const s = await script((conn, i) => {
      conn.send(snapshot(0, [], { you: you(`s${i}`, i === 0 ? { token: 'G1' } : {}) }));
      if (i === 0) setTimeout(() => conn.ws.close(1001), 10);
    });
    const c = open(s.url, { token: 'T0', name: 'Ann' });
    await c.connect();
    await until('second session', () => s.conns.length === 2 && c.status === 'open');
    assert.equal(s.conns[0].url.searchParams.get('token'), 'T0');
    assert.equal(s.conns[0].url.searchParams.get('user'), 'u1');
    assert.equal(s.conns[0].url.searchParams.get('name'), 'Ann');
    assert.equal(s.conns[1].url.searchParams.get('token'), 'G1');
    assert.equal(c.token, 'G1');
    assert.equal(c.you.session, 's1');
  });

  // memoryStorage is a Storage (getItem/setItem) over a Map.
  const memoryStorage = (entries = {}) => {
    const m = new Map(Object.entries(entries));
    return { map: m, getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)) };
  };

  it('tokenStorage: this paper\'s stored token is sent first, and each issued one is stored for the next page load', T, async () => {
    const s = await script((conn, i) => {
      conn.send(snapshot(0, [], { you: you(`s${i}`, { token: `G${i}` }) }));
      if (i === 0) setTimeout(() => conn.ws.close(1001), 10);
    });
    const storage = memoryStorage({ 'papercast.token.p1': 'STORED', 'papercast.token.p2': 'OTHER' });
    const c = open(s.url, { tokenStorage: storage });
    assert.equal(c.token, 'STORED');
    await c.connect();
    await until('second session', () => s.conns.length === 2 && c.status === 'open');
    assert.equal(s.conns[0].url.searchParams.get('token'), 'STORED');
    assert.equal(s.conns[1].url.searchParams.get('token'), 'G0');
    assert.equal(storage.map.get('papercast.token.p1'), 'G1');
    assert.equal(storage.map.get('papercast.token.p2'), 'OTHER', 'another paper\'s token is left alone');
    c.close();

    const reloaded = open(s.url, { tokenStorage: storage }); // the page loaded again
    await reloaded.connect();
    assert.equal(s.conns[2].url.searchParams.get('token'), 'G1');
  });

  it('tokenStorage: a given token wins over the stored one, and a storage that throws is none', T, async () => {
    const s = await script((conn, i) => conn.send(snapshot(0, [], { you: you(`s${i}`, { token: `G${i}` }) })));
    const storage = memoryStorage({ 'papercast.token.p1': 'STORED' });
    const c = open(s.url, { tokenStorage: storage, token: 'JWT' });
    await c.connect();
    assert.equal(s.conns[0].url.searchParams.get('token'), 'JWT');

    const broken = { getItem() { throw new Error('SecurityError'); }, setItem() { throw new Error('QuotaExceededError'); } };
    const d = open(s.url, { tokenStorage: broken });
    await d.connect();
    assert.equal(s.conns[1].url.searchParams.get('token'), null, 'a fresh browser sends no token');
    assert.equal(d.token, 'G1', 'the issued token still serves this page');
  });

  it('claim resolves on ack, is repeated on each new session, and rejects on forbidden', T, async () => {
    const s = await script((conn, i) => {
      conn.send(snapshot(0, [], { you: you(`s${i}`) }));
      conn.claims = [];
      (async () => {
        for (;;) {
          const f = await conn.next();
          if (f.type !== 'claim') continue;
          conn.claims.push(f.ownerKey);
          if (f.ownerKey === 'good') conn.send({ type: 'ack', ref: f.ref });
          else conn.send({ type: 'error', ref: f.ref, code: 'forbidden', message: 'wrong key' });
        }
      })();
    });
    const c = open(s.url);
    await c.connect();
    await assert.rejects(c.claim('bad'), { code: 'forbidden' });
    const pending = c.claim('good');
    await pending;
    s.conns[0].ws.terminate();
    await until('second session', () => s.conns.length === 2 && c.status === 'open');
    await until('the claim to be repeated', () => s.conns[1].claims.length === 1 && c._claims.length === 0);
    assert.deepEqual(s.conns[0].claims, ['bad', 'good']);
    assert.deepEqual(s.conns[1].claims, ['good']);
    assert.equal(c.errors.filter((ev) => ev.claim).length, 1, 'only the bad key was refused');
  });
});

describe('presence', () => {
  it('join and update overwrite by session, leave removes, each first frame replaces', T, async () => {
    const p = (session, state = {}) => ({ session, user: session, name: '', state });
    const s = await script((conn, i) => {
      if (i === 0) {
        conn.send(snapshot(0, [], { presence: [p('s0'), p('old')] }));
        conn.send({ type: 'presence', event: 'join', ...p('s0') }); // own join after the snapshot
        conn.send({ type: 'presence', event: 'update', ...p('b', { cursor: 1 }) }); // unknown: a join
        conn.send({ type: 'presence', event: 'update', ...p('b', { cursor: 2 }) });
        conn.send({ type: 'presence', event: 'leave', ...p('old') });
      } else {
        conn.send({ type: 'resumed', epoch: 'E1', from: 0, seq: 0, you: you('s9'), presence: [p('s9'), p('c')] });
      }
    });
    const c = open(s.url);
    const events = [];
    c.onpresence = (ev) => events.push(ev.event);
    await c.connect();
    await until('the leave', () => events.includes('leave'));
    assert.deepEqual([...c.presence.keys()], ['s0', 'b']);
    assert.deepEqual(c.presence.get('b').state, { cursor: 2 });
    c.setPresence({ cursor: { x: 1 } });
    c.setPresence({ cursor: { x: 2 } }); // throttled: only the latest goes
    const f = await s.conns[0].next();
    assert.deepEqual(f, { type: 'presence', state: { cursor: { x: 2 } } });
    s.conns[0].ws.terminate();
    await until('resumed', () => c.status === 'open' && s.conns.length === 2);
    assert.deepEqual([...c.presence.keys()], ['s9', 'c']);
    assert.deepEqual(await s.conns[1].next(), { type: 'presence', state: { cursor: { x: 2 } } }, 'the state is sent on the new session');
    assert.deepEqual(events, ['snapshot', 'join', 'update', 'update', 'leave', 'reset', 'resumed']);
  });
});
