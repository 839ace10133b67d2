// Recommendations and "complete my line-up" against the demo musicians. When the server has no
// recommendation endpoints (they are built on another branch), the page must say so gracefully
// instead of breaking; the test checks whichever the running server provides.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, screenshot, signUpViaApi, logInViaUi, PHONE } from './harness.mjs';

test('recommendations with reasons, factors, latency, and a line-up', async (t) => {
  const app = await setup(t, { demo: true });
  const user = await signUpViaApi(app.url);
  const profile = await fetch(`${app.url}/api/v1/profiles`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${user.access_token}` },
    body: JSON.stringify({
      display_name: 'Test guitarist',
      instruments: [{ name: 'guitar', skill: 3, years_played: 6 }],
      genres: ['funk', 'jazz'],
      city: 'Berlin',
      coordinates: { latitude: 52.5, longitude: 13.4 },
      looking_for: { instruments: ['drums', 'bass guitar'], goals: ['band'] },
      max_latency_ms: 60,
      visibility: 'public',
    }),
  });
  assert.equal(profile.status, 201, await profile.text());
  const probe = await fetch(`${app.url}/api/v1/recommendations/musicians?mode=online&limit=5`, {
    headers: { authorization: `Bearer ${user.access_token}` },
  });
  const endpointsExist = probe.status !== 404;

  const page = await app.page();
  await logInViaUi(page, app.url, user);
  await page.goto(`${app.url}/#/recommendations`);
  await page.getByRole('heading', { level: 1, name: 'Recommendations' }).waitFor();

  if (!endpointsExist) {
    await page.getByRole('alert').filter({ hasText: 'Recommendations are not available right now' }).waitFor();
    await page.getByRole('button', { name: 'Complete my line-up' }).click();
    await page.getByRole('alert').filter({ hasText: 'Line-ups are not available right now' }).waitFor();
    await screenshot(page, 'recommendations-unavailable-desktop');
    return;
  }

  const list = page.getByRole('list', { name: 'Recommended musicians' });
  await list.waitFor();
  const first = list.locator(':scope > li').first();
  assert.match(await first.textContent(), /Match \d+% — \S/);
  assert.match(await first.locator('.latency').textContent(), /Latency (≈ \d+ ms one way \(likely \d+–\d+ ms, .+\)|: no estimate)/);
  await first.getByText('Why this score').click();
  assert.ok(await first.getByRole('row').count() > 1, 'factor rows');
  await screenshot(page, 'recommendations-desktop');

  // In person.
  await page.getByLabel('Jam', { exact: true }).first().selectOption('in_person');
  await page.getByRole('button', { name: 'Show musicians' }).click();
  await page.getByRole('status').filter({ hasText: /musicians, best match first|No matches yet/ }).waitFor();

  // Line-up.
  await page.getByLabel('Instruments you need').fill('drums, bass guitar');
  await page.getByRole('button', { name: 'Complete my line-up' }).click();
  await page.getByRole('status').filter({ hasText: /Line-up found|line-up|No/i }).waitFor();
  const lineup = page.getByRole('list', { name: 'Line-up' });
  if (await lineup.count()) {
    assert.ok(await lineup.locator(':scope > li').count() >= 1);
    assert.match(await lineup.textContent(), /On (drums|bass guitar):/);
  }
  const phone = await app.page({ viewport: PHONE });
  await logInViaUi(phone, app.url, user);
  await phone.goto(`${app.url}/#/recommendations`);
  await phone.getByRole('list', { name: 'Recommended musicians' }).waitFor();
  await screenshot(phone, 'recommendations-phone');
  assert.deepEqual([...page.errors, ...phone.errors], []);
});
