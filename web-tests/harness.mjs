// Shared test harness: starts the already-built `tutti-server` binary on a free loopback port
// with a temporary SQLite database, launches Debian's Chromium headless through playwright-core,
// and cleans both up when the test ends. It builds nothing: scripts/test.sh runs
// `cargo build -p tutti-server -p tutti-examples --bins` first.
//
// Binary lookup: $TUTTI_SERVER_BIN, else $CARGO_TARGET_DIR/debug/tutti-server, else
// <repo>/target/debug/tutti-server. Browser: $CHROMIUM_PATH, else /usr/bin/chromium.
// Editing the app: TUTTI_WEB_DIR=../server-reference/web serves /assets/* from that directory
// instead of the copy embedded in the binary, so a JS/CSS change needs no cargo rebuild.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..');
export const ARTIFACTS = path.join(HERE, 'artifacts');

/** Viewports the screenshots are taken at. */
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 667 };

/** Path of a binary built by cargo (debug profile). */
export function binary(name) {
  const target = process.env.CARGO_TARGET_DIR || path.join(REPO, 'target');
  const bin = path.join(target, 'debug', name);
  if (!existsSync(bin)) {
    throw new Error(`${bin} not found: run \`cargo build -p tutti-server -p tutti-examples --bins\` first`);
  }
  return bin;
}

/**
 * Starts tutti-server on 127.0.0.1:<free port> with a fresh SQLite file.
 * Returns `{ url, stop, logs }`; `stop()` sends SIGTERM and removes the temp directory.
 */
export async function startServer({ demo = false, env = {} } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'tutti-web-'));
  const bin = process.env.TUTTI_SERVER_BIN || binary('tutti-server');
  const child = spawn(bin, [
    '--bind', '127.0.0.1:0',
    '--database-url', `sqlite://${path.join(dir, 'tutti.db')}`,
    '--demo-data', String(demo),
  ], {
    env: {
      ...process.env,
      // Every test signs up from 127.0.0.1: lift the per-IP auth limit, keep everything else.
      TUTTI_AUTH_RATE_PER_IP: '10000',
      TUTTI_AUTH_RATE_PER_ACCOUNT: '1000',
      RUST_LOG: process.env.RUST_LOG || 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = [];
  child.stderr.on('data', (d) => logs.push(d.toString()));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`tutti-server did not start:\n${logs.join('')}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d.toString();
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tutti-server exited with ${code}:\n${logs.join('')}`));
    });
  });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { url, stop, logs };
}

/** Launches headless Chromium. `args` adds flags (the room tests add fake-media ones). */
export async function launchBrowser({ args = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    // Root in CI containers: Chromium's sandbox needs user namespaces we may not have.
    args: ['--no-sandbox', ...args],
  });
}

/**
 * One server and one browser for a test file: `const app = await setup(t)` registers clean-up
 * with `t.after`. `app.page(viewport)` opens a new isolated context (own storage) at the app.
 */
export async function setup(t, { demo = false, browserArgs = [] } = {}) {
  const server = await startServer({ demo });
  let browser;
  try {
    browser = await launchBrowser({ args: browserArgs });
  } catch (e) {
    await server.stop();
    throw e;
  }
  t.after(async () => {
    await browser.close();
    await server.stop();
  });
  return {
    url: server.url,
    server,
    browser,
    /** A fresh context and page at `hash` (e.g. `#/login`). Page errors fail loudly. */
    async page({ viewport = DESKTOP, hash = '' } = {}) {
      const context = await browser.newContext({ viewport });
      const page = await context.newPage();
      if (process.env.TUTTI_WEB_DIR) await serveFromDisk(context, process.env.TUTTI_WEB_DIR);
      const errors = [];
      page.on('pageerror', (e) => errors.push(e));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(new Error(m.text()));
      });
      page.errors = errors;
      await page.goto(`${server.url}/${hash}`);
      return page;
    },
  };
}

const TYPES = { js: 'text/javascript', css: 'text/css', html: 'text/html' };

/** Development aid: answers /assets/* requests from `dir` on disk (see the header comment). */
export async function serveFromDisk(context, dir) {
  await context.route('**/assets/**', (route) => {
    const rel = new URL(route.request().url()).pathname.replace(/^\/assets\//, '');
    const file = path.resolve(dir, rel);
    if (!file.startsWith(path.resolve(dir)) || !existsSync(file)) return route.fulfill({ status: 404 });
    return route.fulfill({ body: readFileSync(file), contentType: TYPES[file.split('.').pop()] || 'application/octet-stream' });
  });
}

/** Saves a full-page screenshot under web-tests/artifacts/<name>.png. */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Whether the page scrolls sideways (content wider than the viewport). */
export async function overflowsHorizontally(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
}

/** Signs up a fresh account through the API (fast set-up for tests of other pages). */
let counter = 0;
export async function signUpViaApi(baseUrl) {
  counter += 1;
  const email = `user${process.pid}-${counter}@example.test`;
  const password = 'correct horse battery staple';
  const res = await fetch(`${baseUrl}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw new Error(`signup failed: ${res.status} ${await res.text()}`);
  return { email, password, ...(await res.json()) };
}

/** Logs in through the UI form. */
export async function logInViaUi(page, baseUrl, { email, password }) {
  await page.goto(`${baseUrl}/#/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
}
