// `papercast seed` writes notes the board can recolor (issue 12, defect 8):
// their colors used to be outside the board's palette, so no swatch showed
// as the note's color.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { bin } from '../../testkit/processes.mjs';

export default async function seed(t) {
  const { check } = t;
  const { stdout } = await promisify(execFile)(bin, ['seed', '--url', t.A.url, '--papers', '1'], { timeout: 20_000 });
  const id = /paper (\S+)/.exec(stdout)?.[1];
  check(id, `seed printed a paper id: ${stdout}`);
  const page = await t.person('seeder');
  await t.open(page, id);
  await t.until(page, 'the seeded notes', () => document.querySelectorAll('[data-testid=note]').length > 0);
  const ids = await page.evaluate(() => [...document.querySelectorAll('[data-testid=note]')].map((n) => n.dataset.id));
  for (const note of ids) {
    await page.locator(`[data-id="${note}"] [data-testid=note-color]`).click();
    const pressed = await page.evaluate(() => [...document.querySelectorAll('[data-testid=palette] button')].filter((b) => b.getAttribute('aria-pressed') === 'true').length);
    check(pressed === 1, `seeded note ${note} has a palette color (${pressed} swatches pressed)`);
    await page.keyboard.press('Escape');
  }
  await t.shoot(page, 'board');
}
