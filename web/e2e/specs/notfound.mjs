// An address without a paper (issue 12, defect 6): /p/doesnotexist used to
// answer 200 with a board that said "Loading..." forever, and /p/ the
// router's raw JSON. Both now answer 404 with a page that says so and links
// home.

export default async function notfound(t) {
  const { check } = t;
  const page = await t.person('visitor');
  for (const path of ['/p/doesnotexist', '/p/']) {
    const res = await page.goto(`${t.A.url}${path}`);
    check(res.status() === 404, `${path} answers 404 (got ${res.status()})`);
    check(await page.getByRole('heading', { name: 'This paper does not exist' }).isVisible(), `${path} says the paper does not exist`);
    check(!(await page.textContent('body')).includes('"error"'), `${path} shows no raw JSON`);
  }
  await t.shoot(page, 'page');
  await page.getByTestId('home-link').click();
  await page.waitForURL((u) => u.pathname === '/');
  check(await page.getByTestId('create-form').isVisible(), 'the link goes home, where a paper can be made');
}
