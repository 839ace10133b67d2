// The live lobby: public rooms from GET /api/v1/rooms, kept current by the Server-Sent Events of
// /api/v1/lobby/events (room opened / closed / occupancy; "resync" reloads the list), and a form
// to open a room. EventSource reconnects by itself; the status line says when it is doing so.

import { h, field, page, statusLine, errorBox } from '../dom.js';

/** "2 of 8 musicians" and the room's facts, for the list and the room page. */
export function roomFacts(room) {
  return [
    `${room.occupancy} of ${room.capacity} musicians`,
    room.genre,
    room.tempo_bpm ? `${room.tempo_bpm} BPM` : null,
  ].filter(Boolean).join(' · ');
}

function roomItem(room) {
  const facts = h('p', { class: 'meta', 'data-occupancy': '' }, roomFacts(room));
  const li = h('li', { 'data-room-id': room.id },
    h('h2', {}, h('a', { href: `#/rooms/${encodeURIComponent(room.id)}` }, room.name)),
    facts,
    room.description ? h('p', {}, room.description) : null);
  li.room = room;
  li.update = (r) => {
    li.room = r;
    facts.textContent = roomFacts(r);
  };
  return li;
}

function createForm(ctx, status) {
  const name = field('Room name', { name: 'name', required: true, maxlength: 80 });
  const capacity = field('Capacity', { type: 'number', name: 'capacity', min: 2, max: 16, value: 4, required: true },
    { hint: '2 to 16 musicians.' });
  const visibility = field('Visibility', { name: 'visibility', value: 'public' }, {
    tag: 'select',
    options: [['public', 'Public (listed in the lobby)'], ['private', 'Private (invite only)']],
  });
  const genre = field('Genre', { name: 'genre', maxlength: 40 });
  const tempo = field('Tempo (BPM)', { type: 'number', name: 'tempo', min: 20, max: 300 });
  const description = field('Description', { name: 'description', maxlength: 1000 }, { tag: 'textarea' });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary' }, 'Create room');
  const form = h('form', {
    class: 'card',
    'aria-labelledby': 'create-room-heading',
    onsubmit: async (e) => {
      e.preventDefault();
      errors.replaceChildren();
      if (!form.reportValidity()) return;
      button.disabled = true;
      try {
        const room = await ctx.api('POST', '/api/v1/rooms', {
          name: name.control.value.trim(),
          capacity: Number(capacity.control.value),
          visibility: visibility.control.value,
          genre: genre.control.value.trim() || null,
          tempo_bpm: tempo.control.value ? Number(tempo.control.value) : null,
          description: description.control.value,
        });
        form.reset();
        status.replaceChildren(h('p', { role: 'status' }, `Room “${room.name}” created. `,
          h('a', { href: `#/rooms/${encodeURIComponent(room.id)}` }, 'Open the room')));
      } catch (err) {
        errors.replaceChildren(errorBox(err));
      } finally {
        button.disabled = false;
      }
    },
  },
  h('h2', { id: 'create-room-heading' }, 'Open a room'),
  h('div', { class: 'grid' }, name, capacity, visibility, genre, tempo),
  description, errors, h('div', { class: 'actions' }, button));
  return form;
}

export async function render(container, _params, ctx) {
  const list = h('ul', { class: 'list', 'aria-label': 'Live rooms' });
  const empty = h('p', { class: 'hint' }, 'No rooms are open. Open one below.');
  const live = statusLine();
  const created = h('div');
  const items = new Map();

  const show = () => {
    empty.hidden = items.size > 0;
  };
  const add = (room, atTop) => {
    if (room.visibility !== 'public' || room.closed_at) return;
    items.get(room.id)?.remove();
    const li = roomItem(room);
    items.set(room.id, li);
    if (atTop) list.prepend(li); else list.append(li);
    show();
  };
  const reload = async () => {
    const rooms = await ctx.api('GET', '/api/v1/rooms?limit=100');
    items.clear();
    list.replaceChildren();
    rooms.forEach((r) => add(r, false));
    show();
  };

  const signedIn = Boolean(ctx.session.get());
  page(container, 'Lobby',
    h('p', {}, 'Rooms open right now. The list updates by itself.'),
    live, list, empty, created,
    signedIn ? createForm(ctx, created)
      : h('p', {}, h('a', { href: '#/login?next=%23%2Flobby' }, 'Log in'), ' to open a room.'));

  try {
    await reload();
  } catch (e) {
    list.replaceWith(errorBox(e));
    return undefined;
  }

  const events = new EventSource('/api/v1/lobby/events');
  events.onopen = () => live.show('Live updates on.', 'ok');
  events.onerror = () => live.show('Live updates interrupted; reconnecting…', 'error');
  const on = (type, f) => events.addEventListener(type, (e) => {
    try {
      f(JSON.parse(e.data));
    } catch (err) {
      console.warn('bad lobby event', err);
    }
  });
  on('room_opened', (ev) => add(ev.room, true));
  on('room_closed', (ev) => {
    items.get(ev.room_id)?.remove();
    items.delete(ev.room_id);
    show();
  });
  on('occupancy', (ev) => {
    const li = items.get(ev.room_id);
    if (li) li.update({ ...li.room, occupancy: ev.occupancy, capacity: ev.capacity });
  });
  on('resync', () => reload().catch((e) => live.show(e.message, 'error')));
  return () => events.close();
}
