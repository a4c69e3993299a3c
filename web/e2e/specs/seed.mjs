// `papercast seed` writes notes in the board's colors (issue 12, defect 8):
// their colors used to be outside the palette, so the board showed no
// swatch as theirs.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { bin } from '../../testkit/processes.mjs';
import { inPalette } from '../../static/layout.js';

export default async function seed(t) {
  const { check } = t;
  const { stdout } = await promisify(execFile)(bin, ['seed', '--url', t.A.url, '--papers', '1'], { timeout: 20_000 });
  const id = /paper (\S+)/.exec(stdout)?.[1];
  check(id, `seed printed a paper id: ${stdout}`);
  const page = await t.person('seeder');
  await t.open(page, id);
  await t.until(page, 'the seeded notes', () => document.querySelectorAll('[data-testid=note]').length > 0);
  const colors = await page.evaluate(() => [...document.querySelectorAll('[data-testid=note]')].map((n) => n.dataset.color));
  for (const c of colors) check(inPalette(c), `a seeded note's color ${c} is one of the palette's`);
  await t.shoot(page, 'board');
}
