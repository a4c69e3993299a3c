// The finished card (issue 12): what the recipient sees at /p/{id} once the
// paper is final. Sam opens it with no name stored and is not asked for one;
// the card shows the title, "To", and every note whole, in any script; notes
// that overlapped on the board are arranged so none covers another; "as
// placed" keeps the board's composition; zoom and fit-to-screen work; the
// download links give the server's card.png and card.pdf, neither blank. On
// a phone the card is one column of readable notes.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { overlappingPairs } from '../harness.mjs';

const run = promisify(execFile);

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

  // The downloads, as a person gets them: click, receive a file.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'papercast-card-'));
  try {
    const [png] = await Promise.all([sam.waitForEvent('download', { timeout: 30_000 }), sam.getByTestId('download-png').click()]);
    const pngFile = path.join(tmp, 'card.png');
    await png.saveAs(pngFile);
    const pngBytes = fs.readFileSync(pngFile);
    check(pngBytes.subarray(1, 4).toString() === 'PNG' && pngBytes.length > 20_000, `card.png is a PNG of some size (${pngBytes.length} bytes)`);
    // Not blank: the page decodes it (same origin, so its CSP allows it) and counts its colors.
    const colors = await sam.evaluate(async (src) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      const seen = new Set();
      for (let i = 0; i < d.length; i += 4 * 97) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      return seen.size;
    }, await sam.getByTestId('download-png').getAttribute('href'));
    check(colors > 20, `card.png is not blank (${colors} colors sampled)`);

    const [pdf] = await Promise.all([sam.waitForEvent('download', { timeout: 30_000 }), sam.getByTestId('download-pdf').click()]);
    const pdfFile = path.join(tmp, 'card.pdf');
    await pdf.saveAs(pdfFile);
    check(fs.readFileSync(pdfFile).subarray(0, 5).toString() === '%PDF-', 'card.pdf is a PDF');
    const { stdout } = await run('pdfinfo', [pdfFile]);
    check(/Pages:\s+1\b/.test(stdout), `card.pdf has one page: ${stdout}`);
    await run('pdftoppm', ['-png', '-r', '20', '-singlefile', pdfFile, path.join(tmp, 'page')]);
    check(fs.statSync(path.join(tmp, 'page.png')).size > 2_000, 'card.pdf renders to a page that is not empty');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

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
