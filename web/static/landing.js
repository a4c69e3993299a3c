// Landing page: create a paper through REST v1 and show its links.
// The owner key is kept in this browser (localStorage, per paper), so the
// board here has owner powers without it in any address. The owner link for
// other devices carries it in the fragment (#owner=...), which browsers never
// send to a server; the board reads it from there once, keeps it and strips
// it from the address bar.

const form = document.getElementById('create');
const errorBox = document.getElementById('create-error');
const created = document.getElementById('created');

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  errorBox.hidden = true;
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const body = { title: form.title.value.trim() };
    const to = form.to.value.trim();
    if (to) body.to = to;
    const res = await fetch('/v1/papers', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const data = await res.json().catch(() => ({}));
    if (res.status !== 201) {
      throw new Error((data.error && data.error.message) || `the server answered ${res.status}`);
    }
    show(data);
  } catch (err) {
    errorBox.textContent = `Could not create the paper: ${err.message}`;
    errorBox.hidden = false;
  } finally {
    button.disabled = false;
  }
});

function show(paper) {
  try {
    localStorage.setItem(`papercast.owner.${paper.id}`, paper.ownerKey);
  } catch {
    // Storage disabled: the owner link still carries the key.
  }
  const share = new URL(`/p/${encodeURIComponent(paper.id)}`, location.href);
  const owner = new URL(share);
  owner.hash = `owner=${encodeURIComponent(paper.ownerKey)}`;
  for (const [id, url] of [['share-link', share], ['owner-link', owner], ['open-owner', owner]]) {
    const a = document.getElementById(id);
    a.href = url.href;
    if (id !== 'open-owner') a.textContent = url.href;
  }
  form.hidden = true;
  created.hidden = false;
  document.getElementById('share-link').focus();
}

for (const button of document.querySelectorAll('button.copy')) {
  button.addEventListener('click', async () => {
    const text = document.getElementById(button.dataset.copy).href;
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Copy failed: select the link';
    }
    setTimeout(() => { button.textContent = label; }, 1500);
  });
}
