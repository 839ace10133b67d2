// Venue search: filters (area by radius or box, kind, capacity, price, equipment, open at, text)
// over GET /api/v1/venues, a paginated list, and a map-like SVG plot of the results drawn
// locally (search centre, radius or box, one numbered dot per venue; no map tiles, so it works
// offline). The list is the accessible view; the plot mirrors its numbering.

import { h, field, page, statusLine, errorBox, uid } from '../dom.js';
import { query } from '../api.js';

const PAGE_SIZE = 10;
const KINDS = [['rehearsal_room', 'Rehearsal room'], ['recording_studio', 'Recording studio'],
  ['performance_venue', 'Performance venue']];
const EQUIPMENT = [['drum_kit', 'Drum kit'], ['pa_system', 'PA system'], ['guitar_amp', 'Guitar amp'],
  ['bass_amp', 'Bass amp'], ['keyboard', 'Keyboard'], ['piano', 'Piano'], ['microphones', 'Microphones'],
  ['mixing_desk', 'Mixing desk'], ['recording_gear', 'Recording gear'], ['stage_lighting', 'Stage lighting']];
/** Preset centres: name, latitude, longitude, local currency (prices are compared per currency). */
const CITIES = [['Berlin', 52.52, 13.405, 'EUR'], ['Hamburg', 53.551, 9.993, 'EUR'],
  ['London', 51.507, -0.128, 'GBP'], ['Paris', 48.857, 2.352, 'EUR'],
  ['New York', 40.713, -74.006, 'USD'], ['São Paulo', -23.551, -46.633, 'BRL'],
  ['Tokyo', 35.676, 139.65, 'JPY']];
const DAYS = [['', 'Any day'], ['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'],
  ['thu', 'Thursday'], ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday']];
const KIND_LABEL = Object.fromEntries(KINDS);
const EQUIPMENT_LABEL = Object.fromEntries(EQUIPMENT);

/** Checkboxes in a fieldset; `.read()` gives the checked values. */
function checkboxes(legend, options) {
  const boxes = options.map(([value, label]) => {
    const id = uid('cb');
    const box = h('input', { type: 'checkbox', id, value });
    return { box, el: h('label', { for: id }, box, label) };
  });
  const el = h('fieldset', {}, h('legend', {}, legend), h('div', { class: 'checks' }, boxes.map((b) => b.el)));
  el.read = () => boxes.filter((b) => b.box.checked).map((b) => b.box.value);
  return el;
}

/** Kilometres east/north of `origin` (equirectangular: fine at city scale). */
function project(origin, lat, lon) {
  const kx = 111.32 * Math.cos((origin.lat * Math.PI) / 180);
  return { x: (lon - origin.lon) * kx, y: (lat - origin.lat) * 110.57 };
}

/** A round step (1, 2 or 5 × 10^n km) giving a few grid lines over `span` km. */
function gridStep(span) {
  const raw = span / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  children.forEach((c) => el.append(c instanceof Node ? c : document.createTextNode(String(c))));
  return el;
}

/**
 * The plot: `area` is `{ kind: 'radius', lat, lon, radiusKm }` or `{ kind: 'box', minLat, …}`;
 * `hits` are search results numbered from `first`.
 */
export function plot(area, hits, first, onPick) {
  const W = 400;
  const H = 300;
  const origin = area.kind === 'radius'
    ? { lat: area.lat, lon: area.lon }
    : { lat: (area.minLat + area.maxLat) / 2, lon: (area.minLon + area.maxLon) / 2 };
  let halfW;
  let halfH;
  if (area.kind === 'radius') {
    halfW = area.radiusKm * 1.1;
    halfH = area.radiusKm * 1.1;
  } else {
    const sw = project(origin, area.minLat, area.minLon);
    const ne = project(origin, area.maxLat, area.maxLon);
    halfW = Math.max(Math.abs(sw.x), Math.abs(ne.x)) * 1.05 || 1;
    halfH = Math.max(Math.abs(sw.y), Math.abs(ne.y)) * 1.05 || 1;
  }
  // One scale for both axes, so distances look right.
  const scale = Math.min(W / (2 * halfW), H / (2 * halfH));
  const px = (p) => ({ x: W / 2 + p.x * scale, y: H / 2 - p.y * scale });
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'map', role: 'img',
    'aria-label': `Plot of ${hits.length} venues on this page around the search ${area.kind === 'radius' ? 'centre' : 'box'}` });
  const step = gridStep(W / scale);
  for (let k = -Math.ceil(W / scale / step); k <= Math.ceil(W / scale / step); k += 1) {
    const x = W / 2 + k * step * scale;
    const y = H / 2 - k * step * scale;
    if (x >= 0 && x <= W) svg.append(s('line', { class: 'grid-line', x1: x, y1: 0, x2: x, y2: H }));
    if (y >= 0 && y <= H) svg.append(s('line', { class: 'grid-line', x1: 0, y1: y, x2: W, y2: y }));
  }
  if (area.kind === 'radius') {
    svg.append(s('circle', { class: 'radius', cx: W / 2, cy: H / 2, r: area.radiusKm * scale }));
  } else {
    const a = px(project(origin, area.maxLat, area.minLon));
    const b = px(project(origin, area.minLat, area.maxLon));
    svg.append(s('rect', { class: 'radius', x: a.x, y: a.y, width: b.x - a.x, height: b.y - a.y }));
  }
  svg.append(s('circle', { class: 'centre', cx: W / 2, cy: H / 2, r: 5 }, s('title', {}, 'Search centre')));
  hits.forEach((hit, i) => {
    const c = hit.coordinates;
    const p = px(project(origin, c.latitude, c.longitude));
    const n = first + i;
    const dot = s('circle', { class: 'venue', cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: 7, 'data-n': n },
      s('title', {}, `${n}. ${hit.name}`));
    dot.addEventListener('click', () => onPick(n));
    svg.append(dot, s('text', { x: (p.x + 9).toFixed(1), y: (p.y + 4).toFixed(1) }, n));
  });
  svg.append(s('text', { x: 8, y: H - 8 }, `grid: ${step < 1 ? step.toFixed(1) : step} km`));
  return svg;
}

function price(p) {
  return p ? `${p.amount.toFixed(2)} ${p.currency}/h` : 'price on request';
}

/**
 * Favourite venues of the signed-in member: loaded once, toggled with PUT/DELETE. Each button
 * is a toggle (`aria-pressed`) named after its venue, so a list of them stays distinguishable.
 */
async function favourites(ctx) {
  if (!ctx.session.get()) return null;
  const ids = new Set();
  try {
    (await ctx.api('GET', '/api/v1/me/favourite-venues?limit=100')).forEach((v) => ids.add(v.id));
  } catch {
    return null; // no favourites feature on this server: the list simply has no buttons
  }
  return {
    button(hit) {
      const b = h('button', { type: 'button', class: 'small', 'aria-label': `Favourite: ${hit.name}`,
        'aria-pressed': String(ids.has(hit.id)) }, ids.has(hit.id) ? '★ Favourite' : '☆ Favourite');
      b.addEventListener('click', async () => {
        const on = !ids.has(hit.id);
        b.disabled = true;
        try {
          await ctx.api(on ? 'PUT' : 'DELETE', `/api/v1/me/favourite-venues/${encodeURIComponent(hit.id)}`);
          if (on) ids.add(hit.id); else ids.delete(hit.id);
          b.setAttribute('aria-pressed', String(on));
          b.textContent = on ? '★ Favourite' : '☆ Favourite';
        } catch (e) {
          ctx.notify(e.message, 'error');
        } finally {
          b.disabled = false;
        }
      });
      return b;
    },
  };
}

function venueItem(hit, n, favs) {
  const a = hit.address || {};
  const address = [[a.street, a.house_number].filter(Boolean).join(' '), a.postcode, a.city].filter(Boolean).join(', ');
  return h('li', { 'data-n': n, id: `venue-${n}` },
    h('h3', {}, `${n}. ${hit.name}`),
    h('p', { class: 'meta' }, [KIND_LABEL[hit.kind] || hit.kind,
      `${(hit.distance_m / 1000).toFixed(1)} km away`,
      hit.capacity ? `up to ${hit.capacity} people` : null,
      price(hit.hourly_price)].filter(Boolean).join(' · ')),
    address ? h('p', { class: 'meta' }, address) : null,
    hit.equipment?.length ? h('ul', { class: 'tags', 'aria-label': 'Equipment' },
      hit.equipment.map((e) => h('li', {}, EQUIPMENT_LABEL[e] || e))) : null,
    h('div', { class: 'actions' },
      hit.website ? h('a', { href: hit.website, rel: 'noopener noreferrer', target: '_blank' }, 'Website') : null,
      favs ? favs.button(hit) : null));
}

export async function render(container, _params, ctx) {
  const ctxApi = ctx.api;
  const favs = await favourites(ctx);
  const [cityName, cityLat, cityLon] = CITIES[0];
  const q = field('Name or address contains', { type: 'search', maxlength: 100 });
  const city = field('Near city', { value: cityName }, {
    tag: 'select', options: CITIES.map(([n]) => [n, n]).concat([['', 'Custom point or box']]),
  });
  const areaKind = field('Search area', { value: 'radius' }, {
    tag: 'select', options: [['radius', 'Radius around a point'], ['box', 'Bounding box']],
  });
  const lat = field('Centre latitude', { type: 'number', step: 'any', min: -90, max: 90, value: cityLat, required: true });
  const lon = field('Centre longitude', { type: 'number', step: 'any', min: -180, max: 180, value: cityLon, required: true });
  const radius = field('Radius (km)', { type: 'number', step: 'any', min: 0.1, max: 200, value: 10, required: true });
  const minLat = field('South latitude', { type: 'number', step: 'any', min: -90, max: 90 });
  const minLon = field('West longitude', { type: 'number', step: 'any', min: -180, max: 180 });
  const maxLat = field('North latitude', { type: 'number', step: 'any', min: -90, max: 90 });
  const maxLon = field('East longitude', { type: 'number', step: 'any', min: -180, max: 180 });
  const radiusFields = h('div', { class: 'grid' }, lat, lon, radius);
  const boxFields = h('div', { class: 'grid', hidden: true }, minLat, minLon, maxLat, maxLon);
  const kinds = checkboxes('Kind', KINDS);
  const equipment = checkboxes('Equipment (all of)', EQUIPMENT);
  const capacity = field('Capacity at least', { type: 'number', min: 1 });
  const maxPrice = field('Price per hour at most', { type: 'number', min: 0, step: 'any' });
  const currency = field('Currency', { value: 'EUR', maxlength: 3 }, { hint: 'ISO code, e.g. EUR, GBP, USD.' });
  const openDay = field('Open on', { value: '' }, { tag: 'select', options: DAYS });
  const openTime = field('Open at', { type: 'time' });

  const syncBox = () => {
    // Fill the box around the current centre and radius, so switching starts from the same area.
    const r = Number(radius.control.value) || 10;
    const la = Number(lat.control.value);
    const lo = Number(lon.control.value);
    const dLat = r / 110.57;
    const dLon = r / (111.32 * Math.cos((la * Math.PI) / 180));
    minLat.control.value = (la - dLat).toFixed(3);
    maxLat.control.value = (la + dLat).toFixed(3);
    minLon.control.value = (lo - dLon).toFixed(3);
    maxLon.control.value = (lo + dLon).toFixed(3);
  };
  city.control.addEventListener('change', () => {
    const c = CITIES.find(([n]) => n === city.control.value);
    if (c) {
      [, lat.control.value, lon.control.value, currency.control.value] = c;
      syncBox();
    }
  });
  areaKind.control.addEventListener('change', () => {
    const box = areaKind.control.value === 'box';
    if (box) syncBox();
    radiusFields.hidden = box;
    boxFields.hidden = !box;
    [minLat, minLon, maxLat, maxLon].forEach((f) => { f.control.required = box; });
    [lat, lon, radius].forEach((f) => { f.control.required = !box; });
  });

  const status = statusLine();
  const results = h('div', { class: 'results' });
  let lastParams = null;

  const search = async (offset) => {
    const params = { ...lastParams, offset, limit: PAGE_SIZE };
    status.show('Searching…');
    try {
      const res = await ctxApi('GET', `/api/v1/venues${query(params)}`);
      show(res, params);
    } catch (e) {
      status.show('');
      results.replaceChildren(errorBox(e));
    }
  };

  const show = (res, params) => {
    const first = res.offset + 1;
    const last = res.offset + res.results.length;
    status.show(res.total === 0 ? 'No venues match.' : `Venues ${first}–${last} of ${res.total}, nearest first.`, 'ok');
    const area = params.radius_m !== undefined
      ? { kind: 'radius', lat: params.lat, lon: params.lon, radiusKm: params.radius_m / 1000 }
      : { kind: 'box', minLat: params.min_lat, minLon: params.min_lon, maxLat: params.max_lat, maxLon: params.max_lon };
    const list = h('ol', { class: 'list', start: first, 'aria-label': 'Venues' },
      res.results.map((hit, i) => venueItem(hit, first + i, favs)));
    const pick = (n) => {
      list.querySelectorAll('li').forEach((li) => li.classList.toggle('picked', li.dataset.n === String(n)));
      document.getElementById(`venue-${n}`)?.scrollIntoView({ block: 'nearest' });
    };
    const prev = h('button', { type: 'button', disabled: res.offset === 0,
      onclick: () => search(Math.max(0, res.offset - PAGE_SIZE)) }, 'Previous page');
    const next = h('button', { type: 'button', disabled: res.next_offset == null,
      onclick: () => search(res.next_offset) }, 'Next page');
    results.replaceChildren(
      h('div', { class: 'split' },
        h('div', {}, list, h('nav', { class: 'actions', 'aria-label': 'Result pages' }, prev, next)),
        h('figure', { class: 'plot' }, plot(area, res.results, first, pick),
          h('figcaption', { class: 'hint' }, 'Orange: search centre. Blue dots: venues on this page, numbered as in the list. Drawn locally; not to exact map projection.'))));
  };

  /** Reads the filters and runs the search from the first page (resolves when shown). */
  const submit = async () => {
    openTime.control.setCustomValidity(openDay.control.value && !openTime.control.value
      ? 'Pick a time too, or set "Open on" to any day.' : '');
    if (!form.reportValidity()) return undefined;
    const num = (f) => (f.control.value === '' ? undefined : Number(f.control.value));
    const params = {
      q: q.control.value.trim() || undefined,
      kind: kinds.read().join(',') || undefined,
      equipment: equipment.read().join(',') || undefined,
      min_capacity: num(capacity),
      max_price: num(maxPrice),
      currency: maxPrice.control.value !== '' ? currency.control.value.trim().toUpperCase() : undefined,
      open_day: openDay.control.value && openTime.control.value ? openDay.control.value : undefined,
      open_time: openDay.control.value && openTime.control.value ? openTime.control.value : undefined,
    };
    if (areaKind.control.value === 'radius') {
      Object.assign(params, { lat: num(lat), lon: num(lon), radius_m: Math.round(num(radius) * 1000) });
    } else {
      Object.assign(params, { lat: undefined, min_lat: num(minLat), min_lon: num(minLon), max_lat: num(maxLat), max_lon: num(maxLon) });
    }
    lastParams = params;
    return search(0);
  };

  const form = h('form', {
    class: 'card',
    novalidate: true,
    role: 'search',
    onsubmit: (e) => {
      e.preventDefault();
      submit();
    },
  },
  h('div', { class: 'grid' }, q, city, areaKind),
  radiusFields, boxFields,
  h('div', { class: 'grid' }, capacity, maxPrice, currency, openDay, openTime),
  kinds, equipment,
  h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Search')));

  page(container, 'Find a venue', form, status, results);
  // Start with the default search so the page opens on results.
  await submit();
}
