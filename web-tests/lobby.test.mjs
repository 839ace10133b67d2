// The live lobby: a room one member opens appears on another member's open lobby page over
// Server-Sent Events, without a reload; joining it updates its occupancy there; closing it
// removes it; its link opens the room page.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, screenshot, signUpViaApi, logInViaUi, PHONE } from './harness.mjs';

test('rooms appear and disappear in the lobby live', async (t) => {
  const app = await setup(t, { demo: true });
  const host = await signUpViaApi(app.url);
  const guest = await signUpViaApi(app.url);
  const hostPage = await app.page();
  await logInViaUi(hostPage, app.url, host);
  const guestPage = await app.page({ viewport: PHONE });
  await logInViaUi(guestPage, app.url, guest);
  await guestPage.goto(`${app.url}/#/lobby`);
  await guestPage.getByRole('status').filter({ hasText: 'Live updates on.' }).waitFor();
  const guestRooms = guestPage.getByRole('list', { name: 'Live rooms' });
  const before = await guestRooms.getByRole('listitem').count();

  await hostPage.goto(`${app.url}/#/lobby`);
  await hostPage.getByLabel('Room name').fill('Friday funk');
  await hostPage.getByLabel('Capacity').fill('5');
  await hostPage.getByLabel('Genre').fill('funk');
  await hostPage.getByLabel('Tempo (BPM)').fill('104');
  await hostPage.getByLabel('Description').fill('Bring a groove.');
  await hostPage.getByRole('button', { name: 'Create room' }).click();
  const open = hostPage.getByRole('link', { name: 'Open the room' });
  await open.waitFor();

  // The guest's page was not reloaded: the room arrives over SSE.
  const item = guestRooms.getByRole('listitem').filter({ hasText: 'Friday funk' });
  await item.waitFor();
  assert.match(await item.textContent(), /0 of 5 musicians · funk · 104 BPM/);
  assert.equal(await guestRooms.getByRole('listitem').count(), before + 1);
  await screenshot(guestPage, 'lobby-phone');
  await screenshot(hostPage, 'lobby-desktop');

  // Navigate to the room page from the lobby.
  await item.getByRole('link', { name: 'Friday funk' }).click();
  await guestPage.getByRole('heading', { level: 1, name: 'Friday funk' }).waitFor();
  assert.match(guestPage.url(), /#\/rooms\/[\w-]+$/);
  await guestPage.goBack();
  await guestRooms.getByRole('listitem').filter({ hasText: 'Friday funk' }).waitFor();

  // Occupancy: the host joins over the signalling WebSocket (as any client does); the guest's
  // lobby shows the new count without a reload.
  const roomId = decodeURIComponent((await open.getAttribute('href')).split('/').pop());
  const joined = await hostPage.evaluate(({ room, token }) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${location.host}/signal`);
    window.testSocket = ws;
    ws.onopen = () => ws.send(JSON.stringify({
      v: 1, type: 'join', room, auth: { kind: 'token', access_token: token },
      client: 'browser', frame_sizes: [10000, 20000],
    }));
    ws.onmessage = (e) => resolve(JSON.parse(e.data).type); // `welcome`: admitted to the room
    ws.onerror = () => reject(new Error('signalling socket failed'));
  }), { room: roomId, token: host.access_token });
  assert.equal(joined, 'welcome');
  const friday = guestRooms.getByRole('listitem').filter({ hasText: 'Friday funk' });
  await friday.filter({ hasText: '1 of 5 musicians' }).waitFor();
  await hostPage.evaluate(() => window.testSocket.close());
  await friday.filter({ hasText: '0 of 5 musicians' }).waitFor();

  // Closing the room (owner, through the API) removes it from the open lobby.
  const res = await fetch(`${app.url}/api/v1/rooms/${roomId}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${host.access_token}` },
  });
  assert.ok(res.ok, `close room: ${res.status}`);
  await guestRooms.getByRole('listitem').filter({ hasText: 'Friday funk' }).waitFor({ state: 'detached' });
  assert.deepEqual([...hostPage.errors, ...guestPage.errors], []);
});
