// Sign up, log out, log in (and a wrong password's error) through the forms.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, screenshot, signUpViaApi, logInViaUi, PHONE } from './harness.mjs';

test('sign up, log out, log in again', async (t) => {
  const app = await setup(t);
  const page = await app.page({ hash: '#/signup' });
  await screenshot(page, 'signup-desktop');
  const email = 'ada@example.test';
  const password = 'correct horse battery staple';

  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  // A new account goes on to its profile.
  await page.getByRole('heading', { level: 1, name: 'Your profile' }).waitFor();
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Profile' }).count(), 0);

  // Signing up twice with one email is refused with the server's message.
  await page.goto(`${app.url}/#/signup`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('alert').filter({ hasText: /already|exists|taken|registered/i }).waitFor();

  await page.goto(`${app.url}/#/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('wrong password!!');
  await page.getByRole('button', { name: 'Log in' }).click();
  const error = page.locator('form [role="alert"]');
  await error.waitFor();
  assert.ok((await error.textContent()).length > 0);
  await screenshot(page, 'login-error-desktop');

  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await nav.getByRole('button', { name: 'Log out' }).waitFor();
  await page.getByRole('heading', { level: 1, name: 'Lobby' }).waitFor();

  // The session survives a reload (tokens in localStorage).
  await page.reload();
  await nav.getByRole('button', { name: 'Log out' }).waitFor();
  assert.deepEqual(page.errors.filter((e) => !/status of 40\d/.test(e.message)), []);
});

test('an expired access token is refreshed once, transparently', async (t) => {
  const app = await setup(t);
  const page = await app.page({ viewport: PHONE, hash: '#/login' });
  const res = await fetch(`${app.url}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'bea@example.test', password: 'correct horse battery staple' }),
  });
  assert.equal(res.status, 201);
  const auth = await res.json();
  // A forged (unverifiable) access token with a valid refresh token: the app must refresh.
  await page.evaluate(({ account, refresh }) => {
    localStorage.setItem('tutti.session', JSON.stringify({ account, access: 'not.a.token', refresh }));
  }, { account: auth.account, refresh: auth.refresh_token });
  await page.goto(`${app.url}/#/profile`);
  await page.getByRole('heading', { level: 1, name: 'Your profile' }).waitFor();
  await page.getByLabel('Display name').waitFor();
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('tutti.session')));
  assert.notEqual(stored.access, 'not.a.token');
  assert.notEqual(stored.refresh, auth.refresh_token, 'refresh tokens rotate');
});

test('change the password: logged out, only the new one works', async (t) => {
  const app = await setup(t);
  const user = await signUpViaApi(app.url);
  const page = await app.page();
  await logInViaUi(page, app.url, user);
  await page.goto(`${app.url}/#/profile`);
  await page.getByLabel('Current password').fill('not my password');
  await page.getByLabel('New password').fill('a brand new secret');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.locator('form [role="alert"]').waitFor();

  await page.getByLabel('Current password').fill(user.password);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
  const login = (password) => fetch(`${app.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: user.email, password }),
  });
  assert.equal((await login(user.password)).status, 401);
  await logInViaUi(page, app.url, { email: user.email, password: 'a brand new secret' });
});
