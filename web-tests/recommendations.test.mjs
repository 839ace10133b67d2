// Recommendations and "complete my line-up" against the demo musicians and the real endpoints;
// the rendering of the documented response shapes with fixed JSON; and the graceful error state
// when the server cannot answer.

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
  const page = await app.page();
  await logInViaUi(page, app.url, user);
  await page.goto(`${app.url}/#/recommendations`);
  await page.getByRole('heading', { level: 1, name: 'Recommendations' }).waitFor();

  const list = page.getByRole('list', { name: 'Recommended musicians' });
  await list.waitFor();
  const first = list.locator(':scope > li').first();
  assert.match(await first.textContent(), /Match \d+% — \S/);
  // Online, with coarse locations on both sides: an estimate, its range and where it comes from.
  assert.match(await first.locator('.latency').textContent(),
    /^Latency ≈ \d+ ms one way \(likely \d+–\d+ ms, (estimated from distance only|measured .+)\)$/);
  await first.getByText('Why this score').click();
  assert.ok(await first.getByRole('row').count() > 1, 'factor rows');
  await screenshot(page, 'recommendations-desktop');

  // In person.
  await page.getByLabel('Jam', { exact: true }).first().selectOption('in_person');
  await page.getByRole('button', { name: 'Show musicians' }).click();
  await page.getByRole('status').filter({ hasText: /musicians?, best match first|No matches yet/ }).waitFor();

  // Line-up.
  await page.getByLabel('Instruments you need').fill('drums, bass guitar');
  await page.getByRole('button', { name: 'Complete my line-up' }).click();
  await page.getByRole('status').filter({ hasText: /Line-up found|line-up|No/i }).waitFor();
  // The demo has drummers and bass players, so a line-up exists (online: within everyone's
  // latency limit).
  await page.getByRole('status').filter({ hasText: /^Line-up found, match \d+%\./ }).waitFor();
  const lineup = page.getByRole('list', { name: 'Line-up' });
  assert.equal(await lineup.locator(':scope > li').count(), 2);
  assert.match(await lineup.textContent(), /On drums:.*On bass guitar:/s);

  // In person, within travel distance: the demo's only Berlin player is a bassist, so a local
  // drummer joins first; the line-up then comes with places to rehearse.
  const drummer = await signUpViaApi(app.url);
  const created = await fetch(`${app.url}/api/v1/profiles`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${drummer.access_token}` },
    body: JSON.stringify({
      display_name: 'Local drummer', instruments: [{ name: 'drums', skill: 3, years_played: 4 }],
      genres: ['funk'], city: 'Berlin', coordinates: { latitude: 52.5, longitude: 13.5 },
      looking_for: { instruments: ['guitar'], goals: ['band'] }, visibility: 'public',
    }),
  });
  assert.equal(created.status, 201);
  await page.getByLabel('Jam', { exact: true }).nth(1).selectOption('in_person');
  await page.getByRole('button', { name: 'Complete my line-up' }).click();
  await page.getByRole('status').filter({ hasText: /^Line-up found, match \d+%\.$/ }).waitFor();
  assert.match(await lineup.textContent(), /On drums:.*Local drummer.*On bass guitar:/s);
  await page.getByRole('button', { name: 'Suggest venues for this line-up' }).click();
  await page.getByRole('heading', { name: 'Places to rehearse' }).waitFor();
  await page.getByRole('list', { name: 'Suggested venues' }).or(page.getByText('No venue suits this line-up.')).waitFor();
  await screenshot(page, 'lineup-desktop');
  const phone = await app.page({ viewport: PHONE });
  await logInViaUi(phone, app.url, user);
  await phone.goto(`${app.url}/#/recommendations`);
  await phone.getByRole('list', { name: 'Recommended musicians' }).waitFor();
  await screenshot(phone, 'recommendations-phone');
  assert.deepEqual([...page.errors, ...phone.errors], []);
});

// Beside the real thing above: the page's rendering of the documented response shapes, with the
// three recommendation responses answered by the browser from fixed JSON (everything else, sign-in
// and profile included, goes to the real server). This pins reasons, factor breakdown, latency
// range and line-up rendering even on a server without the endpoints.
const musician = (id, name, instrument, latency) => ({
  profile_id: id,
  display_name: name,
  instruments: [{ name: instrument, skill: 4, years: 9 }],
  city: 'Hamburg',
  score: 0.82,
  reason: `plays ${instrument}, which you are looking for; likes funk too`,
  factors: [
    { factor: 'instruments', value: 1, weight: 3, detail: `wants ${instrument}` },
    { factor: 'latency', value: 0.7, weight: 2 },
    { factor: 'genres', value: 0.4, weight: 1, detail: 'funk' },
  ],
  latency,
  distance_km: 255.4,
});

test('renders recommendation and line-up responses of the documented shape', async (t) => {
  const app = await setup(t);
  const user = await signUpViaApi(app.url);
  const page = await app.page();
  const fixtures = {
    musicians: {
      mode: 'online',
      items: [
        musician('p1', 'Bea', 'drums', { one_way_ms: 14.6, low_ms: 9.2, high_ms: 24.9, source: 'distance' }),
        musician('p2', 'Dan', 'bass guitar', null),
      ],
    },
    lineup: {
      mode: 'in_person',
      need: ['drums', 'bass guitar'],
      members: [
        { instrument: 'drums', musician: musician('p1', 'Bea', 'drums', null) },
        { instrument: 'bass guitar', musician: musician('p2', 'Dan', 'bass guitar', null) },
      ],
      score: 0.77,
      max_pair_latency_ms: null,
    },
    venues: {
      items: [{ venue: { id: 'v1', name: 'Rehearsal Room Hamburg #1 (demo)' }, score: 0.9, total_travel_km: 12.2, reason: 'close to all of you, has a drum kit' }],
    },
  };
  await page.context().route('**/api/v1/recommendations/**', (route) => {
    const kind = new URL(route.request().url()).pathname.split('/').pop();
    return route.fulfill({ json: fixtures[kind] });
  });
  await logInViaUi(page, app.url, user);
  await page.goto(`${app.url}/#/recommendations`);
  const list = page.getByRole('list', { name: 'Recommended musicians' });
  const bea = list.locator(':scope > li').filter({ hasText: 'Bea' });
  await bea.waitFor();
  assert.match(await bea.textContent(), /drums \(skill 4\/5, 9 yr\) · Hamburg · 255 km away/);
  assert.match(await bea.textContent(), /Match 82% — plays drums, which you are looking for/);
  assert.equal(await bea.locator('.latency').textContent(),
    'Latency ≈ 15 ms one way (likely 9–25 ms, estimated from distance only)');
  assert.match(await list.locator(':scope > li').filter({ hasText: 'Dan' }).locator('.latency').textContent(), /no estimate/);
  await bea.getByText('Why this score').click();
  const rows = bea.getByRole('row');
  assert.equal(await rows.count(), 4); // header + three factors, largest contribution first
  assert.match(await rows.nth(1).textContent(), /Instruments\s*100%\s*3\.00\s*wants drums/);

  await page.getByLabel('Jam', { exact: true }).nth(1).selectOption('in_person');
  await page.getByRole('button', { name: 'Complete my line-up' }).click();
  await page.getByRole('status').filter({ hasText: 'Line-up found, match 77%.' }).waitFor();
  const lineup = page.getByRole('list', { name: 'Line-up' });
  assert.match(await lineup.textContent(), /On drums:.*Bea.*On bass guitar:.*Dan/s);
  await page.getByRole('button', { name: 'Suggest venues for this line-up' }).click();
  const venues = page.getByRole('list', { name: 'Suggested venues' });
  await venues.waitFor();
  assert.match(await venues.textContent(), /Rehearsal Room Hamburg #1 \(demo\).*12 km travel in total · match 90%.*has a drum kit/s);
  await screenshot(page, 'recommendations-fixture-desktop');
  assert.deepEqual(page.errors.filter((e) => !/status of 404/.test(e.message)), []);
});

test('says so when recommendations are unavailable', async (t) => {
  const app = await setup(t);
  const user = await signUpViaApi(app.url);
  const page = await app.page();
  // Only the recommendation calls fail, as from a server without them or one that is overloaded.
  await page.context().route('**/api/v1/recommendations/**', (route) => route.fulfill({
    status: 404, json: { code: 'not_found', message: 'route not found' },
  }));
  await logInViaUi(page, app.url, user);
  await page.goto(`${app.url}/#/recommendations`);
  await page.getByRole('alert').filter({ hasText: 'Recommendations are not available right now: this server does not offer them.' }).waitFor();
  await page.getByRole('button', { name: 'Complete my line-up' }).click();
  await page.getByRole('alert').filter({ hasText: 'Line-ups are not available right now' }).waitFor();
  await screenshot(page, 'recommendations-unavailable-desktop');
});
