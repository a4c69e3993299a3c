// The live flow across two replicas (issue 6), on the board built on
// papercast-client: Alice creates a paper on the landing page of replica A
// and opens it as owner; the owner key is taken from the link's fragment,
// kept in her browser, stripped from the address bar and claimed over the
// socket, never put in a URL. Bob joins on replica C. Text, moves, colors
// and cursors cross over; Bob deletes his note and his replica restarts
// before the undo time is over: he resumes with since/epoch (his "who is
// here" is empty while he is cut off), and his delete reaches Alice; Alice
// finalizes and both see the finished card, without cursors or handles;
// Alice deletes the paper and both boards say so. No server log and no
// request URL ever carries the owner key.

import { boardNotes } from '../harness.mjs';

async function join(t, page, name) {
  await page.getByTestId('name-input').fill(name);
  await page.getByTestId('name-submit').click();
  await t.connected(page);
}

const visible = (sel) => [...document.querySelectorAll(sel)].some((el) => el.offsetParent !== null && !el.hidden);

export default async function live(t) {
  const { check } = t;
  const alice = await t.person('alice', { ask: true });
  const bob = await t.person('bob', { ask: true });
  const urls = [];
  const aliceFrames = [];
  for (const page of [alice, bob]) {
    page.on('request', (r) => urls.push(r.url()));
    page.on('websocket', (ws) => urls.push(ws.url()));
  }
  alice.on('websocket', (ws) => ws.on('framesent', (f) => aliceFrames.push(String(f.payload))));

  // Alice creates a paper on the landing page of replica A.
  await alice.goto(`${t.A.url}/`);
  await alice.getByTestId('create-title').fill('Happy birthday, Sam!');
  await alice.getByTestId('create-to').fill('Sam');
  await alice.getByTestId('create-submit').click();
  await alice.getByTestId('created').waitFor({ state: 'visible' });
  const share = new URL(await alice.getByTestId('share-link').getAttribute('href'));
  const owner = new URL(await alice.getByTestId('owner-link').getAttribute('href'));
  check(/^\/p\/[A-Za-z0-9_-]+$/.test(share.pathname) && share.hash === '', `share link ${share} is /p/{id}`);
  check(owner.pathname === share.pathname && owner.hash.startsWith('#owner='), `owner link ${owner} is /p/{id}#owner=`);
  const id = share.pathname.slice(3);
  const ownerKey = decodeURIComponent(owner.hash.slice('#owner='.length));
  check(ownerKey.length >= 16, 'owner key is long enough to be a secret');
  await t.shoot(alice, '01-created');

  await alice.getByTestId('open-owner').click();
  await alice.waitForURL((u) => u.pathname === share.pathname);
  await join(t, alice, 'Alice');
  check(new URL(alice.url()).hash === '', `the owner key is gone from the address bar (${alice.url()})`);
  check(await alice.evaluate((k) => localStorage.getItem(k), `papercast.owner.${id}`) === ownerKey, 'the owner key is kept in localStorage');
  check(await alice.getByTestId('paper-title').textContent() === 'Happy birthday, Sam!', 'title shown');
  check(await alice.getByTestId('finalize').isVisible(), 'owner sees Finalize');
  await t.poll('the claim frame', () => aliceFrames.some((f) => {
    const m = JSON.parse(f);
    return m.type === 'claim' && m.ownerKey === ownerKey;
  }), 5000);

  // Bob opens the share link on replica B.
  await bob.goto(`${t.C.url}${share.pathname}`);
  await join(t, bob, 'Bob');
  check(!(await bob.getByTestId('finalize').isVisible()), 'a guest does not see Finalize');
  for (const page of [alice, bob]) {
    await t.until(page, 'Alice and Bob in the who-is-here list', () => {
      const names = [...document.querySelectorAll('[data-testid=who-item]')].map((li) => li.textContent);
      return names.some((n) => n.startsWith('Alice')) && names.some((n) => n.startsWith('Bob'));
    });
  }

  // Alice adds a note and types; Bob sees the text.
  const text = 'Happy birthday! Have a great year.';
  await alice.getByTestId('add-note').click();
  await t.until(bob, 'Alice\'s new note', () => document.querySelectorAll('[data-testid=note]').length === 1);
  await alice.keyboard.type(text, { delay: 10 }); // the new note has the focus
  await t.until(bob, 'the text Alice typed', (s) => document.querySelector('[data-testid=note-text]').value === s, text);
  check((await boardNotes(alice))[0].text === text, 'Alice still sees her own text after its echo');
  const aliceNote = (await boardNotes(alice))[0].id;

  // Bob adds his own note and drags it; Alice sees where it went, and his cursor.
  await bob.getByTestId('add-note').click();
  await t.until(alice, 'Bob\'s note', () => document.querySelectorAll('[data-testid=note]').length === 2);
  await bob.keyboard.type('From Bob', { delay: 10 });
  const bobId = (await boardNotes(bob)).find((n) => n.id !== aliceNote).id;
  const bobNote = bob.locator(`[data-testid=note][data-id="${bobId}"]`);
  const before = (await boardNotes(bob)).find((n) => n.id === bobId);
  const box = await bobNote.getByTestId('note-handle').boundingBox();
  await bob.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await bob.mouse.down();
  await bob.mouse.move(box.x + box.width / 2 + 240, box.y + box.height / 2 + 130, { steps: 12 });
  await bob.mouse.up();
  const moved = (await boardNotes(bob)).find((n) => n.id === bobId);
  check(moved.x === before.x + 240 && moved.y === before.y + 130, `Bob's note moved by the drag (${before.x},${before.y} -> ${moved.x},${moved.y})`);
  await t.until(alice, `Bob's note at ${moved.x},${moved.y}`, (p) => {
    const n = document.querySelector(`[data-testid=note][data-id="${p.id}"]`);
    return n && Number(n.dataset.x) === p.x && Number(n.dataset.y) === p.y;
  }, { ...moved, id: bobId });
  await t.until(alice, 'Bob\'s cursor', () => [...document.querySelectorAll('[data-testid=cursor]')]
    .some((c) => !c.hidden && c.textContent === 'Bob'));

  // Alice recolors her note from the palette; Bob sees it.
  await alice.locator(`[data-id="${aliceNote}"] [data-testid=note-color]`).click();
  await alice.getByTestId('swatch-blue').click();
  await t.until(bob, 'Alice\'s note turning blue',
    (nid) => document.querySelector(`[data-testid=note][data-id="${nid}"]`).dataset.color === '#bbdefb', aliceNote);

  // Bob deletes his note (it asks first, then offers an undo for 5 s) and
  // his replica restarts meanwhile: his board says so, forgets who is here
  // (it cannot know), resumes by itself, catches up on Alice's writing, and
  // the delete it held reaches Alice.
  await bobNote.getByTestId('note-delete').click();
  await bobNote.getByTestId('note-confirm-delete').click();
  await t.until(bob, 'the undo offer', () => !!document.querySelector('[data-testid=undo]'));
  await t.stopC();
  await t.until(bob, 'the badge to leave connected', () => document.querySelector('[data-testid=conn-state]').dataset.state !== 'connected');
  await t.until(bob, 'an empty who-is-here list while cut off', () => document.querySelectorAll('[data-testid=who-item]').length === 0);
  await t.shoot(bob, '02-bob-reconnecting');
  const more = `${text} From Alice.`;
  await alice.getByTestId('note-text').first().click();
  await alice.keyboard.press('End');
  await alice.keyboard.type(' From Alice.', { delay: 10 });
  await t.poll('Alice\'s edit to reach the store', async () => (await t.doc(id)).elements.find((el) => el.id === aliceNote).text === more);
  await t.startC();
  await t.connected(bob);
  check(await bob.getByTestId('conn-state').getAttribute('data-joined') === 'resumed', 'Bob resumed with since/epoch rather than reloading a snapshot');
  await t.until(bob, 'the text written while Bob was away', (s) => document.querySelector('[data-testid=note-text]').value === s, more);
  await t.until(alice, 'Bob\'s note to be deleted', () => document.querySelectorAll('[data-testid=note]').length === 1);
  await t.until(bob, 'Alice listed again', () => [...document.querySelectorAll('[data-testid=who-item]')].some((li) => li.textContent.startsWith('Alice')));
  await t.shoot(alice, '03-alice-live');

  // Alice finalizes: both see the finished card; cursors and handles are gone.
  alice.once('dialog', (d) => d.accept());
  await alice.getByTestId('finalize').click();
  for (const page of [alice, bob]) {
    await t.until(page, 'the finished card', () => document.body.dataset.mode === 'card' && !document.querySelector('[data-testid=card]').hidden);
    await t.until(page, 'the card\'s note', (s) => [...document.querySelectorAll('[data-testid=card-text]')].map((p) => p.textContent).join() === s, more);
    check(!(await page.evaluate(visible, '[data-testid=cursor]')), `${page.who}: no cursor shows on the final card`);
    check(!(await page.evaluate(visible, '[data-testid=note-handle]')), `${page.who}: no move handle shows on the final card`);
    check(!(await page.evaluate(visible, '[data-testid=add-note], [data-testid=finalize], [data-testid=note-delete]')), `${page.who}: no editing control shows`);
    check(await page.getByTestId('card-title').textContent() === 'Happy birthday, Sam!' && await page.getByTestId('card-to').textContent() === 'To Sam', 'the card has the title and To');
  }
  await t.shoot(bob, '04-bob-final');

  // Alice deletes the paper: both sessions are closed with 4004 and the
  // pages say so instead of reconnecting.
  const del = await fetch(`${t.A.url}/v1/papers/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${ownerKey}` } });
  check(del.status === 204, `DELETE answers 204 (got ${del.status})`);
  for (const page of [alice, bob]) {
    await t.until(page, 'the paper-deleted message', () => {
      const fatal = document.querySelector('[data-testid=fatal]');
      return !fatal.hidden && fatal.textContent === 'This paper was deleted.' &&
        document.querySelector('[data-testid=conn-state]').dataset.state === 'closed';
    });
  }
  await t.sleep(1500); // longer than the first reconnect delay
  check(await bob.getByTestId('conn-state').getAttribute('data-state') === 'closed', 'no reconnect after 4004');
  await t.shoot(bob, '05-bob-deleted');

  const leaks = urls.filter((u) => u.includes(ownerKey) || u.includes(encodeURIComponent(ownerKey)));
  check(leaks.length === 0, `no request or WebSocket URL carries the owner key: ${leaks.join(' ')}`);
  for (const p of t.procs) check(!p.log.some((l) => l.includes(ownerKey)), `${p.name} never logs the owner key`);
}
