// The board on a 390x844 phone (issue 12, defect 7): the header used to take
// 19% of the screen, color swatches were 16 px and the move handle ~25 px.
// Now the header is one compact row, every control is at least 44 px, and
// zoom and fit-to-screen buttons are at hand.

const notes = [
  { id: 'p1', text: 'Happy birthday, Ada! 🎂', x: 16, y: 16, color: '#fff59d' },
  { id: 'p2', text: 'See you at lunch.', x: 232, y: 16, color: '#f8bbd0' },
  { id: 'p3', text: 'Many happy returns', x: 448, y: 16, color: '#c8e6c9' },
  { id: 'p4', text: '생일 축하해요!', x: 16, y: 200, color: '#bbdefb' },
  { id: 'p5', text: 'Have a great year', x: 448, y: 400, color: '#e1bee7' },
];

export default async function phone(t) {
  const { check } = t;
  const paper = await t.paper('Happy birthday, Ada!', 'Ada');
  const ada = await t.person('ada', { phone: true });
  await t.open(ada, paper.id);
  // Ada's own notes (written as her, so she may change them).
  await t.write(ada, paper.id, notes, { name: 'Ada', user: await ada.evaluate(() => localStorage.getItem('papercast.user')) });
  await t.until(ada, 'the notes', (n) => document.querySelectorAll('[data-testid=note]').length === n, notes.length);

  const header = await ada.locator('header.bar').boundingBox();
  check(header.height <= 64, `the header is compact: ${header.height}px of 844 (${(header.height / 8.44).toFixed(1)}%)`);

  const small = (sel) => ada.evaluate((s) => [...document.querySelectorAll(s)]
    .filter((el) => el.offsetParent !== null)
    .map((el) => ({ t: el.dataset.testid || el.id, ...el.getBoundingClientRect().toJSON() }))
    .filter((r) => r.width < 44 || r.height < 44)
    .map((r) => `${r.t} ${Math.round(r.width)}x${Math.round(r.height)}`), sel);
  const controls = '[data-testid=add-note], [data-testid=share], [data-testid=note-handle], [data-testid=note-color], ' +
    '[data-testid=note-delete], [data-testid=zoom-in], [data-testid=zoom-out], [data-testid=zoom-fit], [data-testid=zoom-level]';
  const tooSmall = await small(controls);
  check(tooSmall.length === 0, `every control is at least 44x44: ${tooSmall.join(', ')}`);
  await t.shoot(ada, 'board');

  await ada.locator('[data-id=p2] [data-testid=note-color]').tap();
  await t.until(ada, 'the palette', () => !document.querySelector('[data-testid=palette]').hidden);
  const swatches = await small('[data-testid=palette] button');
  check(swatches.length === 0, `every swatch is at least 44x44: ${swatches.join(', ')}`);
  await t.shoot(ada, 'palette');
  await ada.getByTestId('swatch-green').tap();
  await t.poll('the new color stored', async () => (await t.doc(paper.id)).elements.find((el) => el.id === 'p2').color === '#c8e6c9');

  // Zoom out, and fit every note on the screen.
  const level = async () => parseInt(await ada.getByTestId('zoom-level').textContent(), 10);
  await ada.getByTestId('zoom-out').tap();
  check(await level() < 100, 'zoom out zooms out');
  await ada.getByTestId('zoom-in').tap();
  await ada.getByTestId('zoom-in').tap();
  check(await level() > 100, 'zoom in zooms in');
  await ada.getByTestId('zoom-fit').tap();
  const outside = await ada.evaluate(() => {
    const s = document.querySelector('[data-testid=board-scroll]').getBoundingClientRect();
    return [...document.querySelectorAll('[data-testid=note]')].filter((n) => {
      const r = n.getBoundingClientRect();
      return r.left < s.left - 1 || r.top < s.top - 1 || r.right > s.right + 1 || r.bottom > s.bottom + 1;
    }).map((n) => n.dataset.id);
  });
  check(outside.length === 0, `fit to screen shows every note (outside: ${outside.join(' ')})`);
  await t.shoot(ada, 'fit');
}
