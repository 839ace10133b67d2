// A musician's public profile (`#/musicians/<user id>`), read-only: what the server lets the
// viewer see (public profiles for everyone, members-only ones when signed in).

import { h, page, errorBox } from '../dom.js';

const DAY_NAMES = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };

/** A `<dt>/<dd>` pair, or nothing when the value is empty. */
function item(term, value) {
  if (value === null || value === undefined || value === '' || (Array.isArray(value) && !value.length)) return null;
  return [h('dt', {}, term), h('dd', {}, Array.isArray(value) ? value.join(', ') : String(value))];
}

export async function render(container, params, ctx) {
  const [id] = params;
  let p;
  try {
    p = await ctx.api('GET', `/api/v1/profiles/${encodeURIComponent(id || '')}`);
  } catch (e) {
    const error = e.status === 404
      ? new Error('This profile does not exist or is not visible to you.') : e;
    page(container, 'Musician', errorBox(error));
    return;
  }
  const slots = (p.availability || []).map((s) => `${DAY_NAMES[s.day] || s.day} ${s.start}–${s.end}`);
  page(container, p.display_name,
    h('dl', { class: 'facts card' },
      item('Plays', (p.instruments || []).map((i) => `${i.name} (skill ${i.skill}/5, ${i.years_played} yr)`)),
      item('Genres', p.genres),
      item('Influences', p.influences),
      item('City', p.city),
      item('Time zone', p.time_zone),
      item('Usually free', slots),
      item('Looking for', [...(p.looking_for?.instruments || []),
        ...(p.looking_for?.goals || []).map((g) => g.replaceAll('_', ' '))]),
      item('Maximum latency online', p.max_latency_ms ? `${p.max_latency_ms} ms one way` : null)),
    p.bio ? h('p', { class: 'bio' }, p.bio) : null,
    p.demo ? h('p', { class: 'hint' }, 'Synthetic demo profile.') : null);
}
