// Writing notes (issue 12, defects 1, 4, 5 and 8): a note added while the
// board is scrolled far away lands in view; Hebrew and Arabic read right to
// left (dir=auto), here and for everyone; a 2,280-character paste keeps
// 1,000 characters and says so, with a counter and a note that grows then
// scrolls; deleting with the keyboard asks first and leaves the focus on the
// next note, and an undone delete is never sent.

import { boardNotes } from '../harness.mjs';

async function add(page, text) {
  await page.getByTestId('add-note').click();
  await page.waitForFunction(() => document.activeElement.dataset.testid === 'note-text' && document.activeElement.value === '');
  await page.keyboard.insertText(text);
  return page.evaluate(() => document.activeElement.closest('[data-testid=note]').dataset.id);
}

export default async function typing(t) {
  const { check } = t;
  const paper = await t.paper('Happy retirement, Joan', 'Joan');
  const ann = await t.person('ann', { clipboard: true });
  const ben = await t.person('ben');
  await Promise.all([t.open(ann, paper.id), t.open(ben, paper.id, { replica: 'B' })]);
  const ids = [];
  for (const text of ['One', 'Two', 'Three']) ids.push(await add(ann, text));

  // 1) A note added while scrolled far away lands in view.
  await ann.evaluate(() => {
    const s = document.querySelector('[data-testid=board-scroll]');
    s.scrollTo(s.scrollWidth, s.scrollHeight);
  });
  await add(ann, 'Far away');
  const far = await ann.evaluate(() => {
    const r = document.activeElement.closest('[data-testid=note]').getBoundingClientRect();
    const s = document.querySelector('[data-testid=board-scroll]').getBoundingClientRect();
    return r.left >= s.left && r.top >= s.top && r.right <= s.right && r.bottom <= s.bottom;
  });
  check(far, 'the new note is in the part of the board Ann is looking at');

  // 4) Hebrew and Arabic read right to left.
  await ann.keyboard.press('Control+A');
  await ann.keyboard.insertText('מזל טוב, ג׳ואן! نتمنى لك التوفيق');
  const rtl = await ann.evaluate(() => document.activeElement.getAttribute('dir') === 'auto' && document.activeElement.matches(':dir(rtl)'));
  check(rtl, 'a Hebrew note has dir=auto and reads right to left');
  await t.until(ben, 'the Hebrew note, right to left', () => [...document.querySelectorAll('[data-testid=note-text]')]
    .some((ta) => ta.value.startsWith('מזל') && ta.matches(':dir(rtl)')));

  // 8) Deleting with the keyboard: it asks first, then the focus goes to
  // the next note, not the page.
  await ann.getByTestId('zoom-level').click();
  await ann.locator(`[data-id="${ids[1]}"] [data-testid=note-delete]`).focus();
  await ann.keyboard.press('Enter');
  const onConfirm = await ann.evaluate(() => document.activeElement.dataset.testid);
  check(onConfirm === 'note-confirm-delete', `delete asks first, with the focus on its button (${onConfirm})`);
  await ann.keyboard.press('Enter');
  const focused = await ann.evaluate(() => document.activeElement.closest('[data-testid=note]')?.dataset.id || document.activeElement.tagName);
  check(focused === ids[2], `after the delete the focus is on the next note (${focused}, want ${ids[2]})`);
  // Undo brings it back.
  await ann.getByTestId('undo-action').click();
  await t.until(ann, 'the note back', (id) => !!document.querySelector(`[data-id="${id}"]`), ids[1]);
  const undoneAt = Date.now();

  // 5) A 2,280-character paste: 1,000 are kept, and the note says so.
  await add(ann, '');
  const long = Array.from({ length: 2280 }, (_, i) => 'Thank you for everything. '[i % 26]).join('');
  await t.withClipboard(async () => {
    await ann.evaluate((s) => navigator.clipboard.writeText(s), long);
    await ann.keyboard.press('Control+V');
  });
  const pasted = await ann.evaluate(() => {
    const ta = document.activeElement;
    const note = ta.closest('[data-testid=note]');
    const cut = note.querySelector('[data-testid=note-cut]');
    const counter = note.querySelector('[data-testid=note-counter]');
    return {
      id: note.dataset.id, len: ta.value.length, cut: cut.hidden ? '' : cut.textContent, counter: counter.hidden ? '' : counter.textContent,
      noteH: note.offsetHeight, scrolls: ta.scrollHeight > ta.clientHeight && getComputedStyle(ta).overflowY === 'auto',
    };
  });
  check(pasted.len === 1000, `the note keeps 1,000 characters (${pasted.len})`);
  check(pasted.cut.includes('1,280') && pasted.cut.includes('2,280'), `the note says what was cut: "${pasted.cut}"`);
  check(pasted.counter === '1,000 / 1,000', `the counter shows the limit: "${pasted.counter}"`);
  check(pasted.noteH > 200 && pasted.scrolls, `the note grew (${pasted.noteH}px) and its text scrolls`);
  await t.poll('the 1,000 characters stored', async () => (await t.doc(paper.id)).elements.find((el) => el.id === pasted.id)?.text === long.slice(0, 1000));
  await t.shoot(ann, 'paste-cut');

  await t.sleep(5500 - (Date.now() - undoneAt)); // past the undo time
  check((await t.doc(paper.id)).elements.some((el) => el.id === ids[1]), 'an undone delete is never sent');
  check((await boardNotes(ben)).some((n) => n.id === ids[1]), 'Ben never lost the note');
}
