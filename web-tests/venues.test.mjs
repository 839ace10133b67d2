// Venue search over the demo venues: default search, filters, pagination, box search, and the
// locally drawn plot (one dot per listed venue, inside the drawn radius).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, screenshot, signUpViaApi, logInViaUi, PHONE } from './harness.mjs';

test('search venues with filters, pages and a plot', async (t) => {
  const app = await setup(t, { demo: true });
  const page = await app.page({ hash: '#/venues' });
  const status = page.getByRole('status').filter({ hasText: /Venues \d+–\d+ of \d+/ });
  await status.waitFor();
  const total = Number((await status.textContent()).match(/of (\d+)/)[1]);
  const list = page.getByRole('list', { name: 'Venues' });
  assert.equal(await list.locator(':scope > li').count(), Math.min(10, total));
  // The plot has one dot per listed venue, and every dot sits inside the radius circle.
  const geometry = await page.evaluate(() => {
    const circle = document.querySelector('svg.map circle.radius');
    const r = Number(circle.getAttribute('r'));
    const cx = Number(circle.getAttribute('cx'));
    const cy = Number(circle.getAttribute('cy'));
    return [...document.querySelectorAll('svg.map circle.venue')]
      .map((d) => Math.hypot(Number(d.getAttribute('cx')) - cx, Number(d.getAttribute('cy')) - cy) / r);
  });
  assert.equal(geometry.length, Math.min(10, total));
  assert.ok(geometry.every((f) => f <= 1.01), `dots outside the radius: ${geometry}`);
  await screenshot(page, 'venues-desktop');

  // Next page continues the numbering.
  if (total > 10) {
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByRole('status').filter({ hasText: /Venues 11–/ }).waitFor();
    assert.match(await list.locator(':scope > li').first().textContent(), /^11\. /);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByRole('status').filter({ hasText: /Venues 1–/ }).waitFor();
  }

  // Filters: rehearsal rooms with a drum kit within 25 km; every result says so.
  await page.getByLabel('Radius (km)').fill('25');
  await page.getByLabel('Rehearsal room').check();
  await page.getByLabel('Drum kit').check();
  await page.getByLabel('Capacity at least').fill('2');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('status').filter({ hasText: /Venues 1–\d+ of \d+|No venues match/ }).waitFor();
  await page.waitForFunction(() => !document.querySelector('.status')?.textContent.includes('Searching'));
  const filtered = await list.locator(':scope > li').allTextContents();
  for (const text of filtered) {
    assert.match(text, /Rehearsal room/);
    assert.match(text, /Drum kit/);
  }

  // No match at all: the empty state.
  await page.getByLabel('Name or address contains').fill('no venue is called this');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('status').filter({ hasText: 'No venues match.' }).waitFor();

  // Bounding-box search around London on a phone, no sideways scrolling.
  const phone = await app.page({ viewport: PHONE, hash: '#/venues' });
  await phone.getByRole('status').filter({ hasText: /Venues \d+/ }).waitFor();
  await phone.getByLabel('Near city').selectOption('London');
  await phone.getByLabel('Search area').selectOption('box');
  await phone.getByRole('button', { name: 'Search' }).click();
  await phone.getByRole('status').filter({ hasText: /Venues 1–/ }).waitFor();
  assert.equal(await phone.locator('svg.map rect.radius').count(), 1);
  await phone.waitForFunction(() => document.querySelector('ol.list li')?.textContent.includes('London'));
  // Choosing London switched the price currency to GBP; a price ceiling holds for every result.
  assert.equal(await phone.getByLabel('Currency').inputValue(), 'GBP');
  await phone.getByLabel('Price per hour at most').fill('40');
  await phone.getByRole('button', { name: 'Search' }).click();
  await phone.getByRole('status').filter({ hasText: /Venues 1–\d+ of \d+|No venues match/ }).waitFor();
  for (const text of await phone.getByRole('list', { name: 'Venues' }).locator(':scope > li').allTextContents()) {
    const [, amount] = text.match(/([\d.]+) GBP\/h/);
    assert.ok(Number(amount) <= 40, text);
  }
  await screenshot(phone, 'venues-phone');
  assert.deepEqual([...page.errors, ...phone.errors], []);
});

test('members save venues as favourites from the list', async (t) => {
  const app = await setup(t, { demo: true });
  const user = await signUpViaApi(app.url);
  const page = await app.page();
  await logInViaUi(page, app.url, user);
  await page.goto(`${app.url}/#/venues`);
  const first = page.getByRole('list', { name: 'Venues' }).locator(':scope > li').first();
  const toggle = first.getByRole('button', { name: /^Favourite: / });
  await toggle.waitFor();
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  await toggle.click();
  await page.waitForFunction(() => document.querySelector('ol.list li button[aria-pressed="true"]'));
  const favs = async () => (await (await fetch(`${app.url}/api/v1/me/favourite-venues`, {
    headers: { authorization: `Bearer ${user.access_token}` },
  })).json()).map((v) => v.name);
  const name = (await toggle.getAttribute('aria-label')).replace('Favourite: ', '');
  assert.deepEqual(await favs(), [name]);
  // Still marked after a reload; pressing again removes it.
  await page.reload();
  await first.getByRole('button', { name: `Favourite: ${name}`, pressed: true }).click();
  await first.getByRole('button', { name: `Favourite: ${name}`, pressed: false }).waitFor();
  assert.deepEqual(await favs(), []);
  assert.deepEqual(page.errors, []);
});
