// Finalize while someone is typing (issue 12, defect 3).
//
// Olive, the owner, types her note and finalizes at once, while her frames
// are slowed down: the board sends and waits for her edits (client.flush)
// before it asks the server to finalize, so the final document has her
// words. Pat's last words are still on their way (held back by a relay)
// when the paper becomes final: the server refuses them, and Pat is shown
// what was not saved, with a button that copies it.

export default async function finalize(t) {
  const { check } = t;
  const paper = await t.paper('Thank you, Margaret', 'Margaret');
  const olive = await t.person('olive');
  const pat = await t.person('pat', { clipboard: true });

  // Every frame the pages send goes through a relay that can slow Olive's
  // edits down and hold Pat's back.
  const held = [];
  let holdPat = false;
  const isUpsert = (m) => typeof m === 'string' && m.includes('"type":"upsert"');
  await olive.routeWebSocket(/\/ws\?/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => (isUpsert(m) ? setTimeout(() => server.send(m), 800) : server.send(m)));
  });
  let patServer = null;
  await pat.routeWebSocket(/\/ws\?/, (ws) => {
    const server = ws.connectToServer();
    patServer = server;
    ws.onMessage((m) => (holdPat && isUpsert(m) ? held.push(m) : server.send(m)));
  });
  olive.on('dialog', (d) => d.accept());
  await Promise.all([t.open(olive, paper.id, { fragment: `#owner=${paper.ownerKey}` }), t.open(pat, paper.id, { replica: 'B' })]);

  await pat.getByTestId('add-note').click();
  await pat.keyboard.insertText('Hello');
  await t.poll('Pat\'s first words stored', async () => (await t.doc(paper.id)).elements.some((el) => el.text === 'Hello'));
  holdPat = true;
  const patText = 'Hello and thank you for everything, Margaret!';
  await pat.keyboard.insertText(' and thank you for everything, Margaret!');
  await t.poll('Pat\'s last words on their way', () => held.some((m) => m.includes(patText)));

  await olive.getByTestId('add-note').click();
  await olive.keyboard.insertText('Signed, Olive');
  await olive.getByTestId('finalize').click(); // no pause: the text is still in the debounce and the relay

  for (const page of [olive, pat]) await t.until(page, 'the finished card', () => document.body.dataset.mode === 'card');
  const final = await t.doc(paper.id);
  check(final.status === 'final', 'the paper is final');
  const texts = final.elements.map((el) => el.text).sort();
  check(JSON.stringify(texts) === JSON.stringify(['Hello', 'Signed, Olive']), `the final document has Olive's words and Pat's stored ones: ${JSON.stringify(texts)}`);

  // Pat's held edit reaches the server now, after the finalize: refused.
  holdPat = false;
  for (const m of held.splice(0)) patServer.send(m);
  await t.until(pat, 'what was not saved', (s) => {
    const box = document.querySelector('[data-testid=unsaved]');
    return !box.hidden && [...box.querySelectorAll('[data-testid=unsaved-text]')].some((p) => p.textContent === s);
  }, patText);
  await t.withClipboard(async () => {
    await pat.getByTestId('unsaved-copy').click();
    await t.poll('the copy button to copy it', async () => (await pat.evaluate(() => navigator.clipboard.readText())) === patText);
  });
  await t.shoot(pat, 'unsaved');
}
