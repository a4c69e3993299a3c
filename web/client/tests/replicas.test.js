// papercast-client against the real server: two replicas of bin/papercast
// on one throwaway redis-server, real sockets, and (last) one replica
// killed while people edit.

import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { PapercastClient } from '../papercast-client.js';
import { createOpenPaper, createPaper, deletePaper, getPaper, record, sleep, startCluster, startProxy, until } from './servers.js';

const T = { timeout: 30_000 }; // a hung test fails instead of hanging the run
let cluster;
const clients = new Set();
const proxies = new Set();

// Short presence TTL: a killed replica's sessions leave within seconds.
before(async () => {
  cluster = await startCluster({
    replicas: 2,
    env: { PAPERCAST_PRESENCE_TTL: '2s', PAPERCAST_PRESENCE_HEARTBEAT: '500ms' },
  });
});

after(async () => {
  for (const c of clients) c.close();
  for (const p of proxies) await p.close();
  if (cluster) await cluster.stop();
});

afterEach(async (t) => {
  for (const c of clients) c.close();
  clients.clear();
  for (const p of proxies) await p.close();
  proxies.clear();
  if (t && t.passed === false && cluster) console.log(cluster.logs());
});

// open makes a client that records what it reports.
function open(paperId, server, user, extra = {}) {
  const c = new PapercastClient({ paperId, server, user, name: user, WebSocket, ...extra });
  clients.add(c);
  return record(c);
}

// plain copies elements without createdAt: a client learns an element's
// author from the op that created it, its creation time only from the next
// snapshot.
const plain = (els) => els.map(({ createdAt, ...el }) => el);

// fields is an element's id and fields, without its server-stamped members.
const fields = ({ by, createdAt, ...el }) => el;

// sameDoc compares element lists: order of elements counts, order of keys not.
function sameDoc(a, b) {
  try {
    assert.deepEqual(plain(a), plain(b));
    return true;
  } catch {
    return false;
  }
}

// converged waits until every client shows exactly the stored document.
async function converged(url, paperId, ...cs) {
  let doc;
  try {
    await until('every client to show the stored document', async () => {
      doc = await getPaper(url, paperId);
      return cs.every((c) => c.status === 'open' && c.seq === doc.seq && c.pendingCount === 0 && sameDoc(c.elements, doc.elements));
    });
  } catch (err) {
    for (const c of cs) {
      console.log(`${c.you && c.you.user}: status ${c.status} seq ${c.seq} (stored ${doc && doc.seq}), pending`,
        c._pending.map((e) => [e.op, e.id, e.state, e.seq]));
      assert.deepEqual(plain(c.elements), doc && plain(doc.elements));
    }
    throw err;
  }
  return doc;
}

describe('papercast-client on two replicas', () => {
  it('edits and presence made on either replica reach everyone, in the same order', T, async () => {
    const [r0, r1] = cluster.replicas;
    const paper = await createOpenPaper(r0.url); // ben edits ana's note
    const a = open(paper.id, r0.url, 'ana');
    const b = open(paper.id, r1.url, 'ben');
    await Promise.all([a.connect(), b.connect()]);
    assert.equal(a.firstFrames[0].type, 'snapshot');
    assert.equal(a.you.user, 'ana');

    const first = a.upsert('n1', { text: 'hi', x: 1 });
    assert.equal(a.get('n1').text, 'hi', 'an edit shows before the server answers');
    const { seq } = await first;
    assert.equal(typeof seq, 'number');
    await Promise.all([
      b.upsert('n2', { text: 'from ben' }),
      b.upsert('n1', { x: 5, extra: { nested: [1, 2] } }),
      a.upsert('n3', { text: 'short-lived' }),
    ]);
    await a.delete('n3');
    await b.upsert('n1', { extra: null });
    const doc = await converged(r0.url, paper.id, a, b);
    assert.deepEqual(doc.elements.map((el) => el.id), ['n1', 'n2']);
    assert.deepEqual(fields(doc.elements[0]), { id: 'n1', text: 'hi', x: 5 });
    assert.deepEqual(doc.elements[0].by, { user: 'ana', name: 'ana' }, 'the note stays ana\'s, whoever edits it');
    assert.deepEqual(b.get('n1').by, { user: 'ana', name: 'ana' });

    await until('both to list both sessions', () =>
      [a, b].every((c) => c.presence.has(a.you.session) && c.presence.has(b.you.session) && c.presence.size === 2));
    b.setPresence({ cursor: { x: 1, y: 2 } });
    await until('ben\'s cursor to reach ana', () => {
      const p = a.presence.get(b.you.session);
      return p && p.state && p.state.cursor && p.state.cursor.y === 2;
    });
    assert.equal(a.presence.get(b.you.session).user, 'ben');
    const bSession = b.you.session;
    b.close();
    assert.equal(b.status, 'closed');
    await until('ben to leave ana\'s presence', () => !a.presence.has(bSession));
    assert.deepEqual(a.statuses.map((s) => s.status), ['connecting', 'open']);
  });

  it('an edit the server refuses is shown at once, then rolled back', T, async () => {
    const [r0, r1] = cluster.replicas;
    const paper = await createPaper(r0.url);
    const a = open(paper.id, r0.url, 'ana');
    const b = open(paper.id, r1.url, 'ben');
    await Promise.all([a.connect(), b.connect()]);
    await a.upsert('n1', { text: 'kept' });
    await until('ana to apply her own op', () => a.seq === 1); // the ack may come first

    const huge = 'x'.repeat(5000); // over the 4 KiB value limit
    a.changes.length = 0;
    const refused = a.upsert('n1', { text: huge, color: 'red' });
    assert.equal(a.get('n1').text, huge);
    assert.equal(a.elements.find((el) => el.id === 'n1').color, 'red');
    await assert.rejects(refused, (err) => err.code === 'too_large' && typeof err.message === 'string');
    assert.deepEqual(fields(a.get('n1')), { id: 'n1', text: 'kept' });
    assert.deepEqual(a.changes.map((ev) => [ev.reason, ev.ids]), [['local', ['n1']], ['rollback', ['n1']]]);
    assert.equal(a.errors.at(-1).code, 'too_large');

    // A new element that the server refuses disappears again.
    const created = a.upsert('big', { text: huge });
    assert.ok(a.elements.some((el) => el.id === 'big'));
    await assert.rejects(created, { code: 'too_large' });
    assert.equal(a.get('big'), undefined);
    assert.ok(!a.elements.some((el) => el.id === 'big'));

    // A delete of something that does not exist: refused, nothing changes.
    await assert.rejects(a.delete('nope'), { code: 'not_found' });
    const doc = await converged(r0.url, paper.id, a, b);
    assert.deepEqual(doc.elements.map(fields), [{ id: 'n1', text: 'kept' }]);
  });

  it('a dropped socket resumes with since/epoch, and edits made meanwhile are sent after', T, async () => {
    const [r0, r1] = cluster.replicas;
    const paper = await createOpenPaper(r0.url); // ben edits ana's note
    const proxy = await startProxy(r0.port);
    proxies.add(proxy);
    const a = open(paper.id, proxy.url, 'ana');
    const b = open(paper.id, r1.url, 'ben');
    await Promise.all([a.connect(), b.connect()]);
    await a.upsert('n1', { text: 'before' });
    await until('ana to apply her own op', () => a.seq === 1);
    const epoch = a.epoch;
    const session = a.you.session;

    proxy.refuse(true);
    proxy.drop(); // no close frame: what a network failure looks like
    await until('ana to notice', () => a.status === 'reconnecting' || a.status === 'offline');
    assert.equal(a.presence.size, 0, 'presence is not shown while disconnected');
    await b.upsert('n1', { text: 'from ben' });
    await b.upsert('n2', { text: 'also ben' });
    const offline = a.upsert('n3', { text: 'typed offline' });
    assert.equal(a.get('n3').text, 'typed offline');
    assert.equal(a.pendingCount, 1);

    proxy.refuse(false);
    await offline;
    const doc = await converged(r0.url, paper.id, a, b);
    assert.equal(doc.seq, 4);
    const last = a.firstFrames.at(-1);
    assert.equal(last.type, 'resumed', 'the reconnect resumed rather than reloading');
    assert.equal(last.from, 1);
    assert.equal(last.epoch, epoch);
    assert.notEqual(a.you.session, session, 'a resumed connection is a new session');
    assert.deepEqual(fields(a.get('n1')), { id: 'n1', text: 'from ben' });
    const seen = a.statuses.map((s) => s.status);
    assert.equal(seen[0], 'connecting');
    assert.equal(seen[1], 'open');
    assert.ok(['reconnecting', 'offline'].includes(seen[2]));
    assert.equal(seen.at(-1), 'open');
    await until('presence to be listed again', () => a.presence.has(a.you.session) && a.presence.has(b.you.session));
  });

  it('edits refused as rate_limited are resent after a backoff, in order, and all land', T, async () => {
    const [r0] = cluster.replicas;
    const paper = await createPaper(r0.url);
    const a = open(paper.id, r0.url, 'ana', { retries: 10 });
    await a.connect();
    const limited = [];
    a.on('frame', (f) => {
      if (f.type === 'error' && f.code === 'rate_limited') limited.push(f);
    });
    // Over the burst of 60 ops: the server refuses some; two edits of the
    // same element near the end must land in the order they were made.
    const edits = [];
    for (let i = 0; i < 75; i++) edits.push(a.upsert(`e${i}`, { i }));
    edits.push(a.upsert('k', { v: 1, w: 'one' }));
    edits.push(a.upsert('k', { v: 2 }));
    const results = await Promise.allSettled(edits);
    assert.deepEqual(results.filter((r) => r.status === 'rejected'), []);
    assert.ok(limited.length > 0, 'the server refused some edits (else this test tests nothing)');
    const doc = await converged(r0.url, paper.id, a);
    assert.equal(doc.elements.length, 76);
    assert.deepEqual(fields(doc.elements.find((el) => el.id === 'k')), { id: 'k', v: 2, w: 'one' });
    assert.deepEqual(a.errors, [], 'retried edits are not reported as errors');
  });

  it('someone else\'s note: the edit is refused and rolled back, until the owner opens the paper', T, async () => {
    const [r0, r1] = cluster.replicas;
    const paper = await createPaper(r0.url); // the default policy: authors
    const a = open(paper.id, r0.url, 'ana');
    const b = open(paper.id, r1.url, 'ben');
    await Promise.all([a.connect(), b.connect()]);
    assert.equal(a.paper.edit, 'authors');
    await a.upsert('n1', { text: 'ana\'s' });
    await until('ben to see ana\'s note', () => b.get('n1') && b.get('n1').text === 'ana\'s');
    assert.deepEqual(b.get('n1').by, { user: 'ana', name: 'ana' });
    await assert.rejects(b.upsert('n1', { text: 'ben was here' }), { code: 'forbidden' });
    assert.equal(b.get('n1').text, 'ana\'s', 'rolled back');
    await assert.rejects(b.delete('n1'), { code: 'forbidden' });
    assert.ok(b.get('n1'), 'a refused delete is rolled back too');

    const res = await fetch(`${r0.url}/v1/papers/${paper.id}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${paper.ownerKey}` },
      body: JSON.stringify({ edit: 'open' }),
    });
    assert.equal(res.status, 200);
    await until('both to take the policy frame', () => [a, b].every((c) => c.seq === 2 && c.paper.edit === 'open'));
    assert.ok(b.changes.some((ev) => ev.reason === 'policy'));
    await b.upsert('n1', { text: 'ben was here' });
    const doc = await converged(r0.url, paper.id, a, b);
    assert.equal(doc.seq, 3);
    assert.equal(doc.elements[0].by.user, 'ana');
  });

  it('claim sends the owner key in a frame and makes an owner session', T, async () => {
    const [r0] = cluster.replicas;
    const paper = await createPaper(r0.url);
    const b = open(paper.id, r0.url, 'ben');
    await b.connect();
    await b.upsert('n1', { text: 'ben\'s' });
    const a = open(paper.id, r0.url, 'ana');
    await a.connect();
    const sent = [];
    const ws = a._ws;
    const send = ws.send.bind(ws);
    ws.send = (data) => {
      sent.push(JSON.parse(data));
      send(data);
    };
    await assert.rejects(a.claim('not-the-key'), { code: 'forbidden' });
    await a.claim(paper.ownerKey);
    assert.deepEqual(sent.map((f) => f.type), ['claim', 'claim']);
    assert.deepEqual(sent[1], { type: 'claim', ref: sent[1].ref, ownerKey: paper.ownerKey });
    await a.upsert('n1', { text: 'moderated' });
    await a.delete('n1');
    assert.equal(a.status, 'open');
  });

  it('a deleted paper closes the client for good', T, async () => {
    const [r0, r1] = cluster.replicas;
    const paper = await createPaper(r0.url);
    const a = open(paper.id, r1.url, 'ana');
    await a.connect();
    const pending = a.upsert('n1', { text: 'x' });
    await pending;
    await deletePaper(r0.url, paper);
    await until('ana to be closed', () => a.status === 'closed');
    const last = a.statuses.at(-1);
    assert.equal(last.code, 4004);
    assert.equal(last.reason, 'deleted');
    await assert.rejects(a.upsert('n2', { text: 'y' }), { code: 'closed' });
    await sleep(800); // longer than a first reconnect delay: none may come
    assert.equal(a.status, 'closed');
    assert.equal(a.firstFrames.length, 1);
  });

  it('a paper that does not exist stops the client with not_found', T, async () => {
    const [r0] = cluster.replicas;
    const a = open('doesnotexist', r0.url, 'ana');
    await assert.rejects(a.connect(), { code: 'closed' });
    assert.equal(a.status, 'closed');
    assert.equal(a.statuses.at(-1).reason, 'not_found');
  });

  // Last: it kills replica 0.
  it('a replica killed mid-edit: its clients fail over to the other and everyone converges', T, async () => {
    const [r0, r1] = cluster.replicas;
    const paper = await createPaper(r1.url);
    const a = open(paper.id, [r0.url, r1.url], 'ana');
    const b = open(paper.id, [r1.url, r0.url], 'ben');
    await Promise.all([a.connect(), b.connect()]);
    const aSession = a.you.session;

    const edits = [];
    let killed;
    for (let i = 0; i < 40; i++) {
      edits.push(a.upsert(`a${i % 4}`, { i }));
      edits.push(b.upsert(`b${i % 4}`, { i }));
      if (i === 15) killed = r0.kill('SIGKILL');
      await sleep(10);
    }
    await killed;
    const results = await Promise.allSettled(edits);
    assert.deepEqual(results.filter((r) => r.status === 'rejected'), [], 'no edit was lost');
    const doc = await converged(r1.url, paper.id, a, b);
    for (let k = 0; k < 4; k++) {
      assert.equal(doc.elements.find((el) => el.id === `a${k}`).i, 36 + k);
      assert.equal(doc.elements.find((el) => el.id === `b${k}`).i, 36 + k);
    }
    assert.notEqual(a.you.session, aSession);
    const aStatus = a.statuses.map((s) => s.status);
    assert.ok(aStatus.includes('reconnecting'), `ana noticed: ${aStatus}`);
    assert.equal(aStatus.at(-1), 'open');
    // The killed replica said no goodbye: its session expires by TTL.
    await until('presence to converge on the two live sessions', () => [a, b].every((c) =>
      c.presence.size === 2 && c.presence.has(a.you.session) && c.presence.has(b.you.session)));
  });
});

// Guest identity as deployed: the server mints user ids and ignores `user`.
describe('papercast-client on replicas that do not trust ?user=', () => {
  let guests;
  before(async () => {
    guests = await startCluster({ replicas: 2, env: { PAPERCAST_AUTH_TRUST_QUERY_USER: 'false' } });
  });
  after(async () => {
    if (guests) await guests.stop();
  });
  afterEach((t) => {
    if (t && t.passed === false && guests) console.log(guests.logs());
  });

  const memoryStorage = () => {
    const m = new Map();
    return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)) };
  };

  it('a fresh browser gets a minted user id and keeps it across a drop, a reload and another replica; knowing it is not being it', T, async () => {
    const [r0, r1] = guests.replicas;
    const paper = await createPaper(r0.url);
    const storage = memoryStorage();
    const a = open(paper.id, r0.url, 'ana', { tokenStorage: storage });
    await a.connect();
    const ana = a.you.user;
    assert.match(ana, /^g_/, 'the server, not the client, names a guest');
    assert.ok(a.token, 'the first frame carries you.token');
    assert.equal(storage.getItem(`papercast.token.${paper.id}`), a.token);
    await a.upsert('n1', { text: 'from ana' });

    a.reconnect(); // a drop: the same person again, with since/epoch
    await until('ana back', () => a.firstFrames.length === 2 && a.status === 'open');
    assert.equal(a.firstFrames[1].type, 'resumed');
    assert.equal(a.you.user, ana);
    a.close();

    const reloaded = open(paper.id, r1.url, 'whoever', { tokenStorage: storage }); // the page again, another replica
    await reloaded.connect();
    assert.equal(reloaded.you.user, ana);
    await reloaded.upsert('n2', { text: 'still ana' });
    await until('her op', () => reloaded.frames.some((f) => f.type === 'op' && f.id === 'n2'));
    assert.equal(reloaded.frames.find((f) => f.type === 'op' && f.id === 'n2').by.user, ana);

    const mallory = open(paper.id, r0.url, ana); // knows her id, has no token
    await mallory.connect();
    assert.match(mallory.you.user, /^g_/);
    assert.notEqual(mallory.you.user, ana);
  });
});
