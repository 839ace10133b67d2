// Usability and accessibility checks (issue 7 item 5): at 375×667 no page scrolls sideways;
// every form control has a label; text contrast is at least 4.5:1; the main flows work with the
// keyboard alone (Tab, typing, Enter/Space), with a visible focus indicator.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, screenshot, overflowsHorizontally, signUpViaApi, logInViaUi, PHONE, DESKTOP } from './harness.mjs';

const PAGES = [
  ['login', 'Log in'], ['signup', 'Sign up'], ['lobby', 'Lobby'], ['venues', 'Find a venue'],
  ['profile', 'Your profile'], ['recommendations', 'Recommendations'],
];

/** Text elements whose contrast against their effective background is below 4.5:1. */
function lowContrast() {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).map(Number);
    return { r, g, b, a };
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const bg = parse(getComputedStyle(e).backgroundColor);
      if (bg && bg.a > 0.5) return bg;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const hasText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!hasText || el.closest('[hidden], .visually-hidden, svg, option') || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || Number(style.opacity) < 0.5) continue;
    const fg = parse(style.color);
    const bg = background(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    if (ratio < 4.5 && !el.disabled) bad.push(`${el.tagName} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return bad;
}

/** Form controls without an accessible label. */
function unlabelled() {
  return [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || (el.tagName === 'BUTTON' && el.textContent.trim())))
    .map((el) => el.outerHTML.slice(0, 80));
}

test('phone layout, labels and contrast on every main page', async (t) => {
  const app = await setup(t, { demo: true });
  const user = await signUpViaApi(app.url);
  const created = await fetch(`${app.url}/api/v1/profiles`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${user.access_token}` },
    body: JSON.stringify({
      display_name: 'Usability Uma', visibility: 'public', bio: 'A long bio. '.repeat(40),
      instruments: [{ name: 'a very long instrument name, honestly', skill: 2, years_played: 3 }],
    }),
  });
  assert.equal(created.status, 201);
  const pages = [...PAGES, [`musicians/${user.account.id}`, 'Usability Uma']];
  for (const viewport of [PHONE, DESKTOP]) {
    const page = await app.page({ viewport });
    await logInViaUi(page, app.url, user);
    for (const [route, title] of pages) {
      if (route === 'login' || route === 'signup') {
        // These pages are for signed-out visitors: look at them in a fresh context.
        const out = await app.page({ viewport, hash: `#/${route}` });
        await out.getByRole('heading', { level: 1, name: title }).waitFor();
        await check(out, route, viewport);
        continue;
      }
      await page.goto(`${app.url}/#/${route}`);
      await page.getByRole('heading', { level: 1, name: title }).waitFor();
      // Pages finish loading their data before the router clears aria-busy.
      await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
      await check(page, route, viewport);
    }
  }

  async function check(page, route, viewport) {
    const size = viewport === PHONE ? 'phone' : 'desktop';
    assert.equal(await overflowsHorizontally(page), false, `${route} scrolls sideways at ${viewport.width}px`);
    assert.deepEqual(await page.evaluate(unlabelled), [], `${route}: unlabelled controls`);
    assert.deepEqual(await page.evaluate(lowContrast), [], `${route}: low contrast at ${size}`);
    await screenshot(page, `page-${route.split('/')[0]}-${size}`);
  }
});

/** Presses Tab until the focused element matches `predicate` (fails after `max` presses). */
async function tabTo(page, predicate, arg, max = 60) {
  for (let i = 0; i < max; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(predicate, arg)) return;
  }
  throw new Error(`could not reach ${arg} with Tab`);
}
const labelled = (text) => {
  const el = document.activeElement;
  return Boolean(el && ([...(el.labels || [])].some((l) => l.textContent.trim() === text) || el.textContent.trim() === text));
};

test('keyboard only: sign up, fill the profile, open a room', async (t) => {
  const app = await setup(t);
  const page = await app.page({ viewport: PHONE, hash: '#/signup' });
  await page.getByRole('heading', { level: 1, name: 'Sign up' }).waitFor();

  await tabTo(page, labelled, 'Email');
  // The focused control shows a visible focus ring.
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none');
  await page.keyboard.type('keys@example.test');
  await page.keyboard.press('Tab');
  await page.keyboard.type('correct horse battery staple');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Your profile' }).waitFor();

  await tabTo(page, labelled, 'Display name');
  await page.keyboard.type('Keyboard Kim');
  await tabTo(page, labelled, 'Instrument 1');
  await page.keyboard.type('drums');
  await tabTo(page, labelled, 'Save profile');
  await page.keyboard.press('Enter');
  await page.getByRole('status').filter({ hasText: 'Profile saved.' }).waitFor();

  // Navigation links are reachable by keyboard too.
  await page.getByRole('link', { name: 'Lobby' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Lobby' }).waitFor();
  await tabTo(page, labelled, 'Room name');
  await page.keyboard.type('Keyboard jam');
  await tabTo(page, labelled, 'Create room');
  await page.keyboard.press('Enter');
  await page.getByRole('list', { name: 'Live rooms' }).getByRole('listitem').filter({ hasText: 'Keyboard jam' }).waitFor();
  await tabTo(page, labelled, 'Open the room');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Keyboard jam' }).waitFor();
  assert.deepEqual(page.errors.filter((e) => !/status of 404/.test(e.message)), []);
});
