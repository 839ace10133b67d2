// Smoke test: the binary serves the app shell with the right types and security headers, the
// API keeps its JSON 404, and the app boots in Chromium without script errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup } from './harness.mjs';

test('serves the app shell and boots in Chromium', async (t) => {
  const app = await setup(t);

  const index = await fetch(`${app.url}/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.match(index.headers.get('content-security-policy'), /default-src 'self'/);
  const js = await fetch(`${app.url}/assets/app.js`);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  const missing = await fetch(`${app.url}/assets/nope.js`);
  assert.equal(missing.status, 404);
  const api404 = await fetch(`${app.url}/api/v1/nope`);
  assert.equal(api404.status, 404);
  assert.equal((await api404.json()).code, 'not_found');
  // A bookmarked non-API path still opens the app.
  const deep = await fetch(`${app.url}/some/page`);
  assert.match(deep.headers.get('content-type'), /^text\/html/);

  const page = await app.page();
  await page.getByRole('heading', { level: 1, name: 'Lobby' }).waitFor();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Log in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
  assert.deepEqual(page.errors, []);
});
