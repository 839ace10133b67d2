// Recommendations: musicians to play with (online or in person), each with the one-line reason,
// the per-factor breakdown (value × weight) and, online, an honest one-way latency estimate with
// its range and where it comes from; plus "complete my line-up" (a set of musicians for the
// instruments you need) and rooms to rehearse in for that line-up.

import { h, field, page, statusLine, errorBox } from '../dom.js';
import { query } from '../api.js';

const FACTOR_LABEL = {
  instruments: 'Instruments', genres: 'Genres', influences: 'Influences', bio: 'Bio', skill: 'Skill',
  availability: 'Availability', goals: 'Goals', latency: 'Latency', distance: 'Distance',
  co_jam: 'Played together before', reliability: 'Reliability',
};
const SOURCE_LABEL = {
  measured_pair: 'measured between you two',
  measured_networks: 'measured between your networks',
  distance: 'estimated from distance only',
};

/** "≈ 18 ms one way (12–26 ms, estimated from distance only)". */
export function latencyText(l) {
  if (!l) return 'Latency: no estimate (location or measurements missing)';
  const src = SOURCE_LABEL[l.source] || String(l.source).replaceAll('_', ' ');
  return `Latency ≈ ${Math.round(l.one_way_ms)} ms one way (likely ${Math.round(l.low_ms)}–${Math.round(l.high_ms)} ms, ${src})`;
}

function factorTable(factors) {
  const rows = [...factors].sort((a, b) => b.weight * b.value - a.weight * a.value);
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', { class: 'visually-hidden' }, 'Score breakdown'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Factor'), h('th', { scope: 'col' }, 'Match'),
      h('th', { scope: 'col' }, 'Weight'), h('th', { scope: 'col' }, 'Detail'))),
    h('tbody', {}, rows.map((f) => h('tr', {},
      h('th', { scope: 'row' }, FACTOR_LABEL[f.factor] || f.factor),
      h('td', {}, h('span', { class: 'bar' }), ` ${Math.round(f.value * 100)}%`),
      h('td', {}, f.weight.toFixed(2)),
      h('td', {}, f.detail || ''))))));
}

/** One recommended musician. `heading` is the element level (h2 in lists, h3 nested). */
export function musicianCard(m, heading = 'h2', mode = 'online') {
  const instruments = (m.instruments || []).map((i) => `${i.name} (skill ${i.skill}/5, ${i.years} yr)`).join(', ');
  const details = h('details', {}, h('summary', {}, 'Why this score'), factorTable(m.factors || []));
  return h('li', { 'data-profile-id': m.profile_id },
    h(heading, {}, h('a', { href: `#/musicians/${encodeURIComponent(m.profile_id)}` }, m.display_name)),
    h('p', { class: 'meta' }, [instruments, m.city, m.distance_km != null ? `${Math.round(m.distance_km)} km away` : null]
      .filter(Boolean).join(' · ')),
    h('p', {}, h('strong', {}, `Match ${Math.round(m.score * 100)}%`), ' — ', m.reason),
    // In person, latency matters only when it is known; the distance is already shown.
    m.latency || mode === 'online' ? h('p', { class: 'meta latency' }, latencyText(m.latency)) : null,
    details);
}

/** Sets each score bar's width from its cell text (CSP forbids inline style attributes). */
function sizeBars(root) {
  root.querySelectorAll('td .bar').forEach((bar) => {
    const pct = parseInt(bar.parentElement.textContent, 10) || 0;
    bar.style.width = `${Math.max(2, pct * 0.6)}px`;
  });
}

/** Why a recommendation request failed, in words (a 404 means the server has no such endpoint). */
function unavailable(e) {
  return e.status === 404 && e.code === 'not_found' && /route/.test(e.message)
    ? 'this server does not offer them.' : e.message;
}

function modeField(id) {
  return field('Jam', { value: 'online', id }, {
    tag: 'select', options: [['online', 'Online'], ['in_person', 'In person']],
  });
}

function musiciansSection(ctx) {
  const mode = modeField('rec-mode');
  const status = statusLine();
  const out = h('div');
  const load = async () => {
    status.show('Loading…');
    out.replaceChildren();
    try {
      const res = await ctx.api('GET', `/api/v1/recommendations/musicians${query({ mode: mode.control.value, limit: 20 })}`);
      status.show(res.items.length ? `${res.items.length} musicians, best match first.` : 'No matches yet: add instruments, genres and a location to your profile.', 'ok');
      out.replaceChildren(h('ol', { class: 'list', 'aria-label': 'Recommended musicians' }, res.items.map((m) => musicianCard(m, 'h3', res.mode))));
      sizeBars(out);
    } catch (e) {
      status.show('');
      out.replaceChildren(errorBox(new Error(`Recommendations are not available right now: ${unavailable(e)}`)));
    }
  };
  const form = h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); load(); } },
    mode, h('button', { type: 'submit' }, 'Show musicians'));
  return { el: h('section', { 'aria-labelledby': 'musicians-h' }, h('h2', { id: 'musicians-h' }, 'Musicians for you'), form, status, out), load };
}

function venuesFor(ctx, members, out) {
  const button = h('button', { type: 'button', onclick: async () => {
    button.disabled = true;
    try {
      const res = await ctx.api('GET', `/api/v1/recommendations/venues${query({ members: members.join(','), limit: 5 })}`);
      out.replaceChildren(h('h3', {}, 'Places to rehearse'), res.items.length
        ? h('ol', { class: 'list', 'aria-label': 'Suggested venues' }, res.items.map((v) => h('li', {},
          h('h4', {}, v.venue.name),
          h('p', { class: 'meta' }, `${Math.round(v.total_travel_km)} km travel in total · match ${Math.round(v.score * 100)}%`),
          h('p', {}, v.reason))))
        : h('p', {}, 'No venue suits this line-up.'));
    } catch (e) {
      out.replaceChildren(errorBox(e));
    } finally {
      button.disabled = false;
    }
  } }, 'Suggest venues for this line-up');
  return button;
}

function lineupSection(ctx, wanted) {
  const need = field('Instruments you need', { value: wanted.join(', '), required: true },
    { hint: 'Separate with commas. Filled in from "looking for" in your profile.' });
  const mode = modeField('lineup-mode');
  const status = statusLine();
  const out = h('div');
  const venues = h('div');
  const form = h('form', {
    class: 'card',
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      if (!form.reportValidity()) return;
      const wanted = need.control.value.split(',').map((s) => s.trim()).filter(Boolean);
      status.show('Looking for a line-up…');
      out.replaceChildren();
      venues.replaceChildren();
      try {
        const res = await ctx.api('GET', `/api/v1/recommendations/lineup${query({ need: wanted.join(','), mode: mode.control.value })}`);
        if (!res.members.length) {
          status.show(res.message || 'No line-up found for these instruments.', 'error');
          return;
        }
        const worst = res.max_pair_latency_ms != null
          ? ` Worst pair latency ≈ ${Math.round(res.max_pair_latency_ms)} ms one way.` : '';
        status.show(`Line-up found, match ${Math.round(res.score * 100)}%.${worst}`, 'ok');
        out.replaceChildren(h('ul', { class: 'list', 'aria-label': 'Line-up' }, res.members.map((m) => {
          const card = musicianCard(m.musician, 'h3', res.mode);
          card.prepend(h('p', { class: 'meta' }, h('strong', {}, `On ${m.instrument}:`)));
          return card;
        })));
        sizeBars(out);
        if (res.mode === 'in_person') {
          out.append(h('div', { class: 'actions' }, venuesFor(ctx, res.members.map((m) => m.musician.profile_id), venues)));
        }
      } catch (err) {
        status.show('');
        out.replaceChildren(errorBox(new Error(`Line-ups are not available right now: ${unavailable(err)}`)));
      }
    },
  }, h('div', { class: 'grid' }, need, mode), h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Complete my line-up')));
  return h('section', { 'aria-labelledby': 'lineup-h' }, h('h2', { id: 'lineup-h' }, 'Complete my line-up'), form, status, out, venues);
}

/** The instruments your profile is looking for (none when there is no profile yet). */
async function wantedInstruments(ctx) {
  const id = ctx.session.get()?.account?.id;
  try {
    const me = await ctx.api('GET', `/api/v1/profiles/${encodeURIComponent(id)}`);
    return me.looking_for?.instruments || [];
  } catch {
    return [];
  }
}

export async function render(container, _params, ctx) {
  const musicians = musiciansSection(ctx);
  const wanted = await wantedInstruments(ctx);
  page(container, 'Recommendations',
    h('p', { class: 'hint' }, 'Latency figures are estimates: browsers add roughly 20–70 ms on top of the network path; the native app adds less.'),
    musicians.el, lineupSection(ctx, wanted.length ? wanted : ['drums', 'bass guitar']));
  await musicians.load();
}
