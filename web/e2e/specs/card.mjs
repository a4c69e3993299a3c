// The finished card (issue 12): what the recipient sees at /p/{id} once the
// paper is final. Sam opens it with no name stored and is not asked for one;
// the card shows the title, "To", and every note whole, in any script; notes
// that overlapped on the board are arranged so none covers another; "as
// placed" keeps the board's composition; zoom and fit-to-screen work; the
// downloads link to the server's card.png and card.pdf. On a phone the card
// is one column of readable notes.

import { overlappingPairs } from '../harness.mjs';

const long = 'We could not have shipped without you. '.repeat(20).trim();
const batches = [
  ['Ana', [
    { id: 'c1', text: 'Congratulations on the launch! 🚀🎉', x: 40, y: 40, color: '#fff59d' },
    { id: 'c2', text: '출시를 축하합니다! 정말 수고 많으셨어요.', x: 100, y: 90, color: '#bbdefb' }, // overlaps c1
  ]],
  ['Boris', [
    { id: 'c3', text: 'Поздравляю с запуском!', x: 300, y: 40, color: '#c8e6c9' },
    { id: 'c4', text: 'מזל טוב על ההשקה!', x: 520, y: 40, color: '#f8bbd0' },
  ]],
  ['Chen', [
    { id: 'c5', text: 'مبروك الإطلاق!', x: 740, y: 40, color: '#e1bee7' },
    { id: 'c6', text: long, x: 300, y: 260, color: '#fff59d' },
    { id: 'c7', text: '', x: 900, y: 300, color: '#fff59d' }, // an empty note is not shown on the card
  ]],
];

async function cardChecks(t, page, n) {
  const { check } = t;
  const r = await page.evaluate(() => ({
    notes: [...document.querySelectorAll('[data-testid=card-note]')].map((el) => ({ id: el.dataset.id, ...el.getBoundingClientRect().toJSON() })),
    clipped: [...document.querySelectorAll('[data-testid=card-text]')].filter((p) => p.scrollHeight > p.clientHeight + 1 || p.scrollWidth > p.clientWidth + 1).length,
    rtl: [...document.querySelectorAll('[data-testid=card-text]')].filter((p) => p.matches(':dir(rtl)')).map((p) => p.closest('[data-testid=card-note]').dataset.id).sort(),
  }));
  check(r.notes.length === n, `${page.who}: ${n} notes on the card (got ${r.notes.length})`);
  check(r.clipped === 0, `${page.who}: no note's text is cut off (${r.clipped})`);
  check(JSON.stringify(r.rtl) === '["c4","c5"]', `${page.who}: Hebrew and Arabic read right to left (${r.rtl})`);
  return r;
}

export default async function card(t) {
  const { check } = t;
  const paper = await t.paper('Congrats on the launch', 'the papercast team');
  const writer = await t.person('writer');
  await t.open(writer, paper.id);
  for (const [name, notes] of batches) await t.write(writer, paper.id, notes, { name, user: `u-${name}` });
  await t.finalize(paper.id, paper.ownerKey);
  const shownNotes = 6;

  const sam = await t.person('sam', { ask: true });
  await sam.goto(`${t.A.url}/p/${paper.id}`);
  await t.until(sam, 'the card', () => document.body.dataset.mode === 'card');
  check(await sam.locator('#join').isHidden(), 'the recipient is not asked for a name');
  check(await sam.getByTestId('card-title').textContent() === 'Congrats on the launch', 'the card has the title');
  check(await sam.getByTestId('card-to').textContent() === 'To the papercast team', 'the card says who it is for');
  check(await sam.getByTestId('layout-arranged').getAttribute('aria-pressed') === 'true', 'overlapping notes are arranged');
  const arranged = await cardChecks(t, sam, shownNotes);
  check(overlappingPairs(arranged.notes).length === 0, `no note covers another: ${JSON.stringify(overlappingPairs(arranged.notes))}`);
  check(await sam.getByTestId('download-png').getAttribute('href') === `/v1/papers/${paper.id}/card.png`, 'Download as PNG links to card.png');
  check(await sam.getByTestId('download-pdf').getAttribute('href') === `/v1/papers/${paper.id}/card.pdf`, 'Download as PDF links to card.pdf');
  await t.shoot(sam, 'arranged');

  const level = async () => parseInt(await sam.getByTestId('zoom-level').textContent(), 10);
  const before = await level();
  await sam.getByTestId('zoom-in').click();
  check(await level() > before, 'zoom in zooms in');
  await sam.getByTestId('zoom-fit').click();
  const fitted = await sam.evaluate(() => document.querySelector('[data-testid=card-notes]').offsetHeight <=
    document.querySelector('[data-testid=card-scroll]').clientHeight);
  check(fitted || await level() === 50, `fit shows every note, unless that would take the zoom under 50% (${await level()}%)`);
  await t.shoot(sam, 'arranged-fit');

  await sam.getByTestId('layout-placed').click();
  await cardChecks(t, sam, shownNotes);
  const placed = await sam.evaluate(() => {
    const s = document.querySelector('[data-testid=card-scroll]').getBoundingClientRect();
    return [...document.querySelectorAll('[data-testid=card-note]')].every((n) => {
      const r = n.getBoundingClientRect();
      return r.left >= s.left - 1 && r.top >= s.top - 1 && r.right <= s.right + 1 && r.bottom <= s.bottom + 1;
    });
  });
  check(placed, 'as placed, fit to screen shows the whole card');
  await t.shoot(sam, 'placed');

  const phone = await t.person('sam-phone', { ask: true, phone: true });
  await phone.goto(`${t.A.url}/p/${paper.id}`);
  await t.until(phone, 'the card', () => document.body.dataset.mode === 'card');
  check(await phone.getByTestId('layout-arranged').getAttribute('aria-pressed') === 'true', 'a phone gets the arranged card');
  const small = await cardChecks(t, phone, shownNotes);
  check(small.notes.every((n) => n.width >= 300), 'on a phone every note takes the width of the screen');
  await t.shoot(phone, 'phone');
}
