// Edit every profile field in the form, save, reload, and read it back through the API.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, screenshot, signUpViaApi, logInViaUi, PHONE } from './harness.mjs';

test('edit and save a full profile', async (t) => {
  const app = await setup(t);
  const user = await signUpViaApi(app.url);
  const page = await app.page();
  await logInViaUi(page, app.url, user);
  await page.goto(`${app.url}/#/profile`);
  await page.getByRole('heading', { level: 1, name: 'Your profile' }).waitFor();

  await page.getByLabel('Display name').fill('Ada Lovelace');
  await page.getByLabel('Bio').fill('Funk bass, <b>not</b> markup.');
  await page.getByLabel('Who can see this profile').selectOption('public');
  await page.getByLabel('Instrument 1', { exact: true }).fill('bass guitar');
  await page.getByLabel('Skill 1').selectOption('4');
  await page.getByLabel('Years played 1').fill('12');
  await page.getByRole('button', { name: 'Add instrument' }).click();
  await page.getByLabel('Instrument 2', { exact: true }).fill('keys');
  await page.getByLabel('Genres').fill('funk, jazz');
  await page.getByLabel('Influences').fill('Jaco Pastorius, Carol Kaye');
  await page.getByLabel('City').fill('Berlin');
  await page.getByLabel('Latitude').fill('52.5234');
  await page.getByLabel('Longitude').fill('13.4111');
  await page.getByLabel('Time zone').fill('Europe/Berlin');
  await page.getByRole('button', { name: 'Add time slot' }).click();
  await page.getByLabel('Day 1').selectOption('fri');
  await page.getByLabel('From 1').fill('19:00');
  await page.getByLabel('Until 1').fill('22:30');
  await page.getByLabel('Instruments wanted').fill('drums, guitar');
  await page.getByLabel('Band').check();
  await page.getByLabel('Gigs').check();
  await page.getByLabel(/Maximum one-way latency/).fill('30');
  await page.getByLabel('Avatar URL').fill('https://example.test/ada.png');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await page.getByRole('status').filter({ hasText: 'Profile saved.' }).waitFor();
  // Coordinates come back coarsened by the server.
  assert.equal(await page.getByLabel('Latitude').inputValue(), '52.5');
  await screenshot(page, 'profile-desktop');

  const profile = await (await fetch(`${app.url}/api/v1/profiles/${user.account.id}`)).json();
  assert.equal(profile.display_name, 'Ada Lovelace');
  assert.deepEqual(profile.instruments, [
    { name: 'bass guitar', skill: 4, years_played: 12 },
    { name: 'keys', skill: 3, years_played: 1 },
  ]);
  assert.deepEqual(profile.genres, ['funk', 'jazz']);
  assert.deepEqual(profile.influences, ['Jaco Pastorius', 'Carol Kaye']);
  assert.equal(profile.bio, 'Funk bass, <b>not</b> markup.');
  assert.deepEqual(profile.coordinates, { latitude: 52.5, longitude: 13.4 });
  assert.equal(profile.time_zone, 'Europe/Berlin');
  assert.deepEqual(profile.availability, [{ day: 'fri', start: '19:00', end: '22:30' }]);
  assert.deepEqual(profile.looking_for, { instruments: ['drums', 'guitar'], goals: ['band', 'gigs'] });
  assert.equal(profile.max_latency_ms, 30);
  assert.equal(profile.avatar_url, 'https://example.test/ada.png');
  assert.equal(profile.visibility, 'public');

  // Reloading shows the saved values (an update, not a second create), also on a phone.
  const phone = await app.page({ viewport: PHONE });
  await logInViaUi(phone, app.url, user);
  await phone.goto(`${app.url}/#/profile`);
  await phone.getByLabel('Display name').waitFor();
  assert.equal(await phone.getByLabel('Display name').inputValue(), 'Ada Lovelace');
  assert.equal(await phone.getByLabel('Instrument 2', { exact: true }).inputValue(), 'keys');
  assert.equal(await phone.getByLabel('Bio').inputValue(), 'Funk bass, <b>not</b> markup.');
  await phone.getByLabel('Display name').fill('Ada L.');
  await phone.getByRole('button', { name: 'Save profile' }).click();
  await phone.getByRole('status').filter({ hasText: 'Profile saved.' }).waitFor();
  await screenshot(phone, 'profile-phone');

  // Anyone can open the public profile; the bio is shown as text, never parsed as markup.
  const visitor = await app.page({ viewport: PHONE, hash: `#/musicians/${user.account.id}` });
  await visitor.getByRole('heading', { level: 1, name: 'Ada L.' }).waitFor();
  assert.equal(await visitor.locator('.bio').textContent(), 'Funk bass, <b>not</b> markup.');
  assert.equal(await visitor.locator('main b').count(), 0);
  assert.match(await visitor.locator('dl').textContent(), /bass guitar \(skill 4\/5, 12 yr\).*Fri 19:00–22:30.*drums, guitar, band, gigs.*30 ms one way/s);
  await screenshot(visitor, 'musician-phone');

  // A server-side validation error is shown with the server's message.
  await phone.getByLabel('Time zone').fill('not a zone!');
  await phone.getByRole('button', { name: 'Save profile' }).click();
  await phone.locator('form [role="alert"]').filter({ hasText: 'time_zone' }).waitFor();

  // Made private, it is gone for visitors.
  await phone.getByLabel('Time zone').fill('Europe/Berlin');
  await phone.getByLabel('Who can see this profile').selectOption('private');
  await phone.getByRole('button', { name: 'Save profile' }).click();
  await phone.getByRole('status').filter({ hasText: 'Profile saved.' }).waitFor();
  await visitor.reload();
  await visitor.getByRole('alert').filter({ hasText: 'does not exist or is not visible to you' }).waitFor();
  assert.equal(await visitor.getByText('Funk bass').count(), 0);
  assert.deepEqual([...page.errors, ...phone.errors, ...visitor.errors].filter((e) => !/status of 40\d/.test(e.message)), []);
});
