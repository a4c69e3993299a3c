// Authors and own-note controls (issue 10, item 6). On a paper with the
// default edit policy ("authors"), every note shows who wrote it; Bob sees
// no edit, recolor, move or delete control on Alice's note (and the reverse),
// only on his own; Olive, the owner, claims her key over the socket and gets
// the controls on everyone's notes; when she opens the paper to everyone
// (PATCH edit: open) Bob gets them at once; the finished card signs each
// note with its author.

const controls = (page, id) => page.evaluate((nid) => {
  const n = document.querySelector(`[data-testid=note][data-id="${nid}"]`);
  const shown = (s) => { const el = n.querySelector(s); return !!el && !el.hidden && el.offsetParent !== null; };
  return {
    author: n.querySelector('[data-testid=note-author]').textContent,
    delete: shown('[data-testid=note-delete]'),
    color: shown('[data-testid=note-color]'),
    move: shown('[data-testid=note-handle]'),
    write: !n.querySelector('[data-testid=note-text]').readOnly,
  };
}, id);

const none = { delete: false, color: false, move: false, write: false };
const all = { delete: true, color: true, move: true, write: true };
const same = (a, b) => Object.keys(b).every((k) => a[k] === b[k]);

async function addNote(t, page, text) {
  await page.getByTestId('add-note').click();
  await page.keyboard.insertText(text);
  return page.evaluate(() => document.activeElement.closest('[data-testid=note]').dataset.id);
}

export default async function authors(t) {
  const { check } = t;
  const paper = await t.paper('Thank you, Grace', 'Grace');
  check((await t.doc(paper.id)).edit === 'authors', 'a new paper is "authors" by default');
  const olive = await t.person('olive');
  const alice = await t.person('alice');
  const bob = await t.person('bob');
  await Promise.all([
    t.open(olive, paper.id, { fragment: `#owner=${paper.ownerKey}` }),
    t.open(alice, paper.id),
    t.open(bob, paper.id, { replica: 'B' }),
  ]);
  const fromAlice = await addNote(t, alice, 'From Alice');
  const fromBob = await addNote(t, bob, 'From Bob');
  for (const page of [olive, alice, bob]) {
    await t.until(page, 'both notes with their text', ([a, b]) => {
      const text = (id) => document.querySelector(`[data-id="${id}"] [data-testid=note-text]`)?.value;
      return text(a) === 'From Alice' && text(b) === 'From Bob';
    }, [fromAlice, fromBob]);
  }

  const bobSeesAlice = await controls(bob, fromAlice);
  check(bobSeesAlice.author === 'Alice', `Bob sees Alice's name on her note (${bobSeesAlice.author})`);
  check(same(bobSeesAlice, none), `Bob has no control on Alice's note: ${JSON.stringify(bobSeesAlice)}`);
  const bobSeesBob = await controls(bob, fromBob);
  check(bobSeesBob.author === 'you' && same(bobSeesBob, all), `Bob has every control on his own note: ${JSON.stringify(bobSeesBob)}`);
  const aliceSeesBob = await controls(alice, fromBob);
  check(aliceSeesBob.author === 'Bob' && same(aliceSeesBob, none), `Alice has no control on Bob's note: ${JSON.stringify(aliceSeesBob)}`);
  await t.shoot(bob, 'bob');

  // The owner session may change every note.
  await t.poll('the owner\'s controls on every note', async () => same(await controls(olive, fromAlice), all) && same(await controls(olive, fromBob), all));
  await olive.locator(`[data-id="${fromBob}"] [data-testid=note-color]`).click();
  await olive.getByTestId('swatch-purple').click();
  await t.until(bob, 'the owner\'s recolor of Bob\'s note', (id) => document.querySelector(`[data-id="${id}"]`).dataset.color === '#e1bee7', fromBob);

  // Opened to everyone: Bob gets the controls on Alice's note at once.
  const res = await fetch(`${t.A.url}/v1/papers/${paper.id}`, {
    method: 'PATCH', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${paper.ownerKey}` }, body: JSON.stringify({ edit: 'open' }),
  });
  check(res.ok, `the owner opens the paper (PATCH answers ${res.status})`);
  await t.poll('Bob\'s controls on Alice\'s note', async () => same(await controls(bob, fromAlice), all));

  // The finished card signs every note.
  await t.finalize(paper.id, paper.ownerKey);
  const sam = await t.person('sam', { ask: true });
  await sam.goto(`${t.A.url}/p/${paper.id}`);
  await t.until(sam, 'the card', () => document.body.dataset.mode === 'card');
  const signed = await sam.evaluate(() => [...document.querySelectorAll('[data-testid=card-note]')]
    .map((n) => `${n.querySelector('[data-testid=card-text]').textContent} ${n.querySelector('[data-testid=card-author]')?.textContent}`).sort());
  check(JSON.stringify(signed) === JSON.stringify(['From Alice Alice', 'From Bob Bob']), `the card signs each note with its author: ${JSON.stringify(signed)}`);
  await t.shoot(sam, 'card');
}
