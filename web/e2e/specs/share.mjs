// Sharing (issue 12): the first visitor sees a hint on the empty board;
// Share copies the participant link, and for the owner also shows the owner
// link; the owner key, read once from the link's fragment, is kept in the
// browser and removed from the address bar, so a reload keeps owner powers;
// a guest's Share offers no owner link.

export default async function share(t) {
  const { check } = t;
  const paper = await t.paper('Welcome aboard, Linus', 'Linus');
  const olive = await t.person('olive', { clipboard: true });
  await t.open(olive, paper.id, { fragment: `#owner=${encodeURIComponent(paper.ownerKey)}` });
  check(new URL(olive.url()).hash === '', `the key is gone from the address bar (${olive.url()})`);

  await t.until(olive, 'the empty-board hint', () => !document.querySelector('[data-testid=empty-hint]').hidden);
  check((await olive.getByTestId('empty-hint').textContent()).includes('Linus'), 'the hint invites to write for Linus');
  await t.shoot(olive, 'empty-hint');

  const link = `${t.A.url}/p/${paper.id}`;
  await t.withClipboard(async () => {
    await olive.getByTestId('share').click();
    await t.until(olive, 'the share dialog', () => document.querySelector('[data-testid=share-dialog]').open);
    await t.poll('the participant link on the clipboard', async () => (await olive.evaluate(() => navigator.clipboard.readText())) === link);
  });
  check(await olive.getByTestId('share-url').inputValue() === link, 'the dialog shows the participant link');
  check(await olive.getByTestId('owner-url').inputValue() === `${link}#owner=${encodeURIComponent(paper.ownerKey)}`, 'the owner sees the owner link');
  await t.shoot(olive, 'share-dialog');
  await olive.getByTestId('share-close').click();

  await olive.reload();
  await t.connected(olive);
  check(new URL(olive.url()).hash === '', 'still no key in the address after a reload');
  check(await olive.getByTestId('finalize').isVisible(), 'a reload keeps owner powers');

  await olive.getByTestId('empty-add').click();
  await olive.keyboard.insertText('First!');
  await t.until(olive, 'the hint to go', () => document.querySelector('[data-testid=empty-hint]').hidden);

  const gus = await t.person('gus', { clipboard: true });
  await t.open(gus, paper.id, { replica: 'B' });
  check(!(await gus.getByTestId('finalize').isVisible()), 'a guest cannot finalize');
  check(await gus.getByTestId('empty-hint').isHidden(), 'no empty-board hint on a board with notes');
  await t.withClipboard(async () => {
    await gus.getByTestId('share').click();
    await t.poll('the participant link on Gus\'s clipboard', async () => (await gus.evaluate(() => navigator.clipboard.readText())) === `${t.B.url}/p/${paper.id}`);
  });
  check(await gus.getByTestId('owner-url').isHidden(), 'a guest is offered no owner link');
}
