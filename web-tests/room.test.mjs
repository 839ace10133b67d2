// Browser ↔ native jam: headless Chromium joins a room with a fake microphone playing an 880 Hz
// tone, while the native `jam` example (WAV mode) plays a 440 Hz tone in the same room on the
// same server. Both directions are asserted: the native recording holds 880 Hz (Goertzel), the
// browser's analyser of the native peer peaks at 440 Hz. The latency terms both sides report
// are printed (`room-latency …` lines) for benches/README.md, and the room page is saved as a
// screenshot. Chat goes both ways, and mute toggles.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  startServer, launchBrowser, signUpViaApi, logInViaUi, screenshot, binary, serveFromDisk,
  overflowsHorizontally, PHONE,
} from './harness.mjs';

const RATE = 48000;
const BROWSER_HZ = 880;
const NATIVE_HZ = 440;

/** A 16-bit PCM mono WAV of a sine (Chromium's fake capture loops it). */
function toneWav(file, freq, seconds) {
  const n = RATE * seconds;
  const buf = Buffer.alloc(44 + 2 * n);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + 2 * n, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(RATE, 24);
  buf.writeUInt32LE(2 * RATE, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i += 1) {
    buf.writeInt16LE(Math.round(0.4 * 32767 * Math.sin((2 * Math.PI * freq * i) / RATE)), 44 + 2 * i);
  }
  writeFileSync(file, buf);
}

/** Left channel of the jam's 32-bit float WAV (chunks walked, so any fmt layout reads). */
function readFloatWavLeft(file) {
  const b = readFileSync(file);
  let pos = 12;
  let channels = 2;
  while (pos + 8 <= b.length) {
    const id = b.toString('ascii', pos, pos + 4);
    const size = b.readUInt32LE(pos + 4);
    if (id === 'fmt ') channels = b.readUInt16LE(pos + 10);
    if (id === 'data') {
      const frames = Math.floor(Math.min(size, b.length - pos - 8) / (4 * channels));
      const out = new Float32Array(frames);
      for (let i = 0; i < frames; i += 1) out[i] = b.readFloatLE(pos + 8 + 4 * channels * i);
      return out;
    }
    pos += 8 + size + (size % 2);
  }
  throw new Error('no data chunk');
}

/** Goertzel power of `freq` in `x`, normalised so a full-scale sine gives about 0.25. */
function tonePower(x, freq) {
  const w = (2 * Math.PI * freq) / RATE;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (const v of x) {
    const s = v + c * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return (s1 * s1 + s2 * s2 - c * s1 * s2) / (x.length * x.length);
}

/**
 * Median over 0.25 s chunks of the strongest Goertzel power within ±2 % of `freq`: the
 * receiver's drift resampler may play up to 0.5 % fast or slow while it steers its buffer, which
 * a single long window (0.3 Hz wide) would miss.
 */
function bandPower(x, freq) {
  const chunk = RATE / 4;
  const powers = [];
  for (let at = 0; at + chunk <= x.length; at += chunk) {
    const part = x.subarray(at, at + chunk);
    let best = 0;
    for (let f = freq * 0.98; f <= freq * 1.02; f += 1) best = Math.max(best, tonePower(part, f));
    powers.push(best);
  }
  powers.sort((a, b) => a - b);
  return powers[Math.floor(powers.length / 2)] ?? 0;
}

/** Resolves with the first stdout line of `child` matching `re` (rejects after `ms`). */
function waitForLine(child, lines, re, ms) {
  return new Promise((resolve, reject) => {
    const found = () => lines.find((l) => re.test(l));
    if (found()) return resolve(found());
    const timer = setTimeout(() => reject(new Error(`no ${re} in jam output:\n${lines.join('\n')}`)), ms);
    const onData = () => {
      const l = found();
      if (l) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolve(l);
      }
    };
    child.stdout.on('data', onData);
  });
}

test('a browser and a native jam peer hear each other', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tutti-room-'));
  const browserWav = path.join(dir, 'browser-880.wav');
  const nativeWav = path.join(dir, 'native-440.wav');
  const recording = path.join(dir, 'native-heard.wav');
  toneWav(browserWav, BROWSER_HZ, 5);
  toneWav(nativeWav, NATIVE_HZ, 5);

  const server = await startServer();
  const browser = await launchBrowser({
    args: [
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${browserWav}`,
      // The native peer binds loopback only; Chromium leaves loopback out of ICE by default.
      '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  let jam = null;
  t.after(async () => {
    if (jam && jam.exitCode === null) jam.kill('SIGKILL');
    await browser.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const host = await signUpViaApi(server.url);
  const native = await signUpViaApi(server.url);
  const res = await fetch(`${server.url}/api/v1/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${host.access_token}` },
    body: JSON.stringify({ name: 'Browser meets native', capacity: 4, visibility: 'public', description: '' }),
  });
  assert.ok(res.ok, `create room: ${res.status} ${await res.clone().text()}`);
  const room = await res.json();

  // The native peer joins first; the browser is the newcomer and offers.
  const lines = [];
  jam = spawn(binary('jam'), [
    '--server', server.url, '--room', room.id,
    '--email', native.email, '--password', native.password,
    '--input-wav', nativeWav, '--output-wav', recording,
    '--udp-bind', '127.0.0.1:0', '--seconds', '120',
  ], { stdio: ['pipe', 'pipe', 'pipe'] });
  let partial = '';
  jam.stdout.on('data', (d) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop();
    lines.push(...parts);
  });
  const stderr = [];
  jam.stderr.on('data', (d) => stderr.push(d.toString()));
  await waitForLine(jam, lines, /^joined /, 60_000);

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  if (process.env.TUTTI_WEB_DIR) await serveFromDisk(context, process.env.TUTTI_WEB_DIR);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await logInViaUi(page, server.url, host);
  await page.goto(`${server.url}/#/rooms/${room.id}`);
  await page.getByRole('heading', { level: 1, name: 'Browser meets native' }).waitFor();
  await page.getByRole('button', { name: 'Join with audio' }).click();
  await page.getByRole('status').filter({ hasText: 'Joined' }).waitFor({ timeout: 30_000 });
  await page.getByText('2 of 4 musicians').waitFor();
  const peerRow = page.getByRole('list', { name: 'Musicians' }).getByRole('listitem');
  await peerRow.filter({ hasText: 'connected' }).waitFor({ timeout: 30_000 });

  // Browser side: the analyser of the native peer peaks at 440 Hz (one FFT bin is 5.9 Hz).
  let heard = null;
  const hears = (p) => p && Math.abs(p.peakHz - NATIVE_HZ) < 12 && p.stats?.totalSamplesReceived > 0;
  for (let i = 0; i < 60 && !hears(heard); i += 1) {
    await page.waitForTimeout(500);
    [heard] = await page.evaluate(() => window.tuttiRoom.peers());
  }
  assert.ok(heard, 'a native peer on the page');
  assert.ok(Math.abs(heard.peakHz - NATIVE_HZ) < 12, `browser hears ${heard.peakHz} Hz: ${JSON.stringify(heard)}`);
  assert.ok(heard.stats?.totalSamplesReceived > 0, JSON.stringify(heard.stats));
  await page.waitForTimeout(4000); // let both sides' statistics settle
  [heard] = await page.evaluate(() => window.tuttiRoom.peers());
  const outputMs = await page.evaluate(() => window.tuttiRoom.outputMs());
  await screenshot(page, 'room-desktop');
  await page.setViewportSize(PHONE);
  assert.equal(await overflowsHorizontally(page), false, 'the room fits a phone screen');
  await screenshot(page, 'room-phone');

  // Chat both ways over the signalling chat message, as native peers use it.
  await page.getByLabel('Message').fill('hello from the browser');
  await page.getByRole('button', { name: 'Send' }).click();
  await waitForLine(jam, lines, /^chat from=\S+ text="hello from the browser"/, 15_000);
  jam.stdin.write('hi from native\n');
  await page.getByRole('log', { name: 'Chat' }).getByText('hi from native').waitFor({ timeout: 15_000 });

  // Native side: leave, then look for the browser's tone in the recording's last 3 s.
  const exited = new Promise((r) => jam.once('exit', r));
  jam.stdin.write('quit\n');
  const code = await exited;
  assert.equal(code, 0, `jam exited with ${code}:\n${stderr.join('')}\n${lines.join('\n')}`);
  if (process.env.TUTTI_ROOM_DEBUG) console.log(lines.join('\n'));
  const left = readFloatWavLeft(recording);
  const tail = left.subarray(Math.max(0, left.length - 3 * RATE));
  const power = bandPower(tail, BROWSER_HZ);
  const others = [NATIVE_HZ, 660, 1320].map((f) => bandPower(tail, f));
  assert.ok(power > 1e-3, `880 Hz power ${power} in the native recording`);
  assert.ok(others.every((p) => power > 20 * p), `880 Hz ${power} vs ${others}`);

  // Mute (after the recording: it silences what the native side hears).
  await page.getByRole('button', { name: 'Mute my microphone' }).click();
  assert.equal(await page.getByRole('button', { name: 'Unmute my microphone' }).getAttribute('aria-pressed'), 'true');

  // Figures: what each side reports for the browser↔native link.
  const s = heard.stats;
  const latency = lines.filter((l) => l.startsWith('latency ')).pop();
  const stats = lines.filter((l) => l.startsWith('stats ')).pop();
  console.log(`room-latency browser-side rtt=${s.rttMs?.toFixed(2)}ms jitter_buffer=${s.jitterBufferMs?.toFixed(2)}ms `
    + `jitter=${s.jitterMs?.toFixed(2)}ms output=${outputMs.toFixed(2)}ms loss=${s.lossPercent.toFixed(2)}% concealed=${s.concealedPercent.toFixed(2)}%`);
  console.log(`room-latency native-side ${latency}`);
  console.log(`room-latency native-side ${stats}`);
  assert.deepEqual(errors, []);
});
