// A 2 s network blip (issue 12, defect 2). The board used to show "offline"
// and disable "Add note" on the browser's offline event, and never took it
// back while the socket, which had stayed open, kept carrying edits. The
// badge and the button now follow papercast-client's status, which comes
// from the socket alone.

export default async function network(t) {
  const { check } = t;
  const paper = await t.paper('Blip');
  const alice = await t.person('alice');
  const bob = await t.person('bob');
  await Promise.all([t.open(alice, paper.id), t.open(bob, paper.id, { replica: 'B' })]);

  await bob.context().setOffline(true);
  await t.sleep(2000);
  await bob.context().setOffline(false);

  await t.connected(bob);
  await t.until(bob, '"Add note" enabled', () => !document.querySelector('[data-testid=add-note]').disabled);
  // Edits flow both ways, and the badge says connected all along.
  await bob.getByTestId('add-note').click();
  await bob.keyboard.insertText('Written after the blip');
  await t.until(alice, 'Bob\'s note', () => [...document.querySelectorAll('[data-testid=note-text]')].some((ta) => ta.value === 'Written after the blip'));
  await alice.getByTestId('add-note').click();
  await alice.keyboard.insertText('Got it');
  await t.until(bob, 'Alice\'s answer', () => [...document.querySelectorAll('[data-testid=note-text]')].some((ta) => ta.value === 'Got it'));
  check(await bob.getByTestId('conn-state').getAttribute('data-state') === 'connected', 'the badge says connected while edits flow');
  await t.shoot(bob, 'after-blip');
}
