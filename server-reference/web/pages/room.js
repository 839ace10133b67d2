// Room page placeholder (route `#/rooms/<id>`): shows the room's details. The jam room itself
// (WebRTC audio, meters, chat) is built by the `webroom` work and replaces this module; helpers
// that only the room needs go in `web/rtc/`.

import { h, page, errorBox } from '../dom.js';

export async function render(container, params, ctx) {
  const [id] = params;
  if (!id) {
    page(container, 'Room', errorBox(new Error('No room id in the address.')));
    return;
  }
  try {
    const room = await ctx.api('GET', `/api/v1/rooms/${encodeURIComponent(id)}`);
    page(container, room.name,
      h('p', {}, `${room.occupancy} of ${room.capacity} musicians`,
        room.genre ? ` · ${room.genre}` : '', room.tempo_bpm ? ` · ${room.tempo_bpm} BPM` : ''),
      room.description ? h('p', {}, room.description) : null,
      h('p', { class: 'hint' }, 'Joining with audio from the browser is not available yet.'),
      h('p', {}, h('a', { href: '#/lobby' }, 'Back to the lobby')));
  } catch (e) {
    page(container, 'Room', errorBox(e), h('p', {}, h('a', { href: '#/lobby' }, 'Back to the lobby')));
  }
}
