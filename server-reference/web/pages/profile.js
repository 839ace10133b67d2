// Edit your musician profile: every field of the profile API that fits a form. Loads
// GET /api/v1/profiles/{your id} (404: none yet → the first save creates it with POST),
// saves with PUT. Lists (instruments, availability) are rows the user adds and removes.

import { h, field, page, statusLine, errorBox, uid } from '../dom.js';

const DAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'],
  ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday']];
const GOALS = [['casual_jam', 'Casual jam'], ['band', 'Band'], ['session_work', 'Session work'], ['gigs', 'Gigs']];
const SKILLS = [['1', '1 – beginner'], ['2', '2'], ['3', '3 – confident'], ['4', '4'], ['5', '5 – professional']];

/** "a, b ,c" → ["a", "b", "c"]. */
const splitList = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

/**
 * A list of repeated rows with an "Add" button. `makeRow(value, n)` returns the row's element
 * and a `read()` for its value; each row gets a "Remove" button.
 */
function repeater(legend, addLabel, makeRow, values) {
  const rows = h('div', { class: 'rows' });
  const entries = [];
  let n = 0;
  const add = (value, focus) => {
    n += 1;
    const row = makeRow(value, n);
    const remove = h('button', { type: 'button', class: 'small', onclick: () => {
      row.el.remove();
      entries.splice(entries.indexOf(row), 1);
      addButton.focus();
    } }, `Remove`);
    remove.setAttribute('aria-label', `Remove ${legend.toLowerCase()} ${n}`);
    row.el.append(remove);
    rows.append(row.el);
    entries.push(row);
    if (focus) row.el.querySelector('input, select')?.focus();
  };
  const addButton = h('button', { type: 'button', class: 'small', onclick: () => add(undefined, true) }, addLabel);
  values.forEach((v) => add(v, false));
  const el = h('fieldset', {}, h('legend', {}, legend), rows, addButton);
  return { el, read: () => entries.map((r) => r.read()) };
}

function instrumentRow(value = {}, n) {
  const name = field(`Instrument ${n}`, { value: value.name || '', required: true, maxlength: 40, name: 'instrument' });
  const skill = field(`Skill ${n}`, { value: String(value.skill || 3) }, { tag: 'select', options: SKILLS });
  const years = field(`Years played ${n}`, { type: 'number', min: 0, max: 80, value: value.years_played ?? 1, required: true });
  return {
    el: h('div', { class: 'row' }, name, skill, years),
    read: () => ({
      name: name.control.value.trim(),
      skill: Number(skill.control.value),
      years_played: Number(years.control.value),
    }),
  };
}

function slotRow(value = {}, n) {
  const day = field(`Day ${n}`, { value: value.day || 'mon' }, { tag: 'select', options: DAYS });
  const start = field(`From ${n}`, { type: 'time', value: value.start || '18:00', required: true });
  const end = field(`Until ${n}`, { type: 'time', value: value.end === '24:00' ? '23:59' : (value.end || '21:00'), required: true });
  return {
    el: h('div', { class: 'row' }, day, start, end),
    read: () => ({ day: day.control.value, start: start.control.value, end: end.control.value }),
  };
}

function numberOrNull(input) {
  return input.value === '' ? null : Number(input.value);
}

function profileForm(ctx, userId, profile) {
  const p = profile || { visibility: 'members_only', looking_for: {} };
  const name = field('Display name', { name: 'display_name', required: true, maxlength: 64, value: p.display_name || '' });
  const instruments = repeater('Instruments', 'Add instrument', instrumentRow,
    p.instruments?.length ? p.instruments : [{}]);
  const genres = field('Genres', { value: (p.genres || []).join(', ') }, { hint: 'Separate with commas, e.g. funk, jazz.' });
  const influences = field('Influences', { value: (p.influences || []).join(', ') }, { hint: 'Artists, separated by commas.' });
  const bio = field('Bio', { maxlength: 2000, value: p.bio || '' }, { tag: 'textarea' });
  const city = field('City', { maxlength: 80, value: p.city || '' });
  const lat = field('Latitude', { type: 'number', step: 'any', min: -90, max: 90, value: p.coordinates?.latitude ?? '' },
    { hint: 'Stored rounded to 0.1° (about 11 km).' });
  const lon = field('Longitude', { type: 'number', step: 'any', min: -180, max: 180, value: p.coordinates?.longitude ?? '' });
  const tz = field('Time zone', {
    value: p.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone || '',
    maxlength: 64,
  }, { hint: 'IANA name, e.g. Europe/Berlin.' });
  const availability = repeater('Weekly availability', 'Add time slot', slotRow, p.availability || []);
  const wanted = field('Instruments wanted', { value: (p.looking_for?.instruments || []).join(', ') },
    { hint: 'Separate with commas, e.g. drums, bass guitar.' });
  const goalsId = uid('goals');
  const goalBoxes = GOALS.map(([value, label]) => {
    const id = uid('goal');
    const box = h('input', { type: 'checkbox', id, value, checked: (p.looking_for?.goals || []).includes(value) });
    return { box, el: h('label', { for: id }, box, label) };
  });
  const goals = h('fieldset', { id: goalsId }, h('legend', {}, 'Goals'), h('div', { class: 'checks' }, goalBoxes.map((g) => g.el)));
  const latency = field('Maximum one-way latency for online jams (ms)', {
    type: 'number', min: 1, max: 500, value: p.max_latency_ms ?? '',
  }, { hint: 'Around 25 ms feels like playing in one room; above 50 ms most jams get hard.' });
  const avatar = field('Avatar URL', { type: 'url', maxlength: 2048, value: p.avatar_url || '' });
  const visibility = field('Who can see this profile', { value: p.visibility }, {
    tag: 'select',
    options: [['public', 'Everyone'], ['members_only', 'Signed-in members'], ['private', 'Only me']],
  });

  const status = statusLine();
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary' }, 'Save profile');
  let exists = Boolean(profile);
  const form = h('form', {
    novalidate: true,
    onsubmit: async (e) => {
      e.preventDefault();
      errors.replaceChildren();
      status.show('');
      if (!form.reportValidity()) return;
      const latitude = numberOrNull(lat.control);
      const longitude = numberOrNull(lon.control);
      if ((latitude === null) !== (longitude === null)) {
        errors.replaceChildren(errorBox(new Error('Give both latitude and longitude, or neither.')));
        return;
      }
      const body = {
        display_name: name.control.value.trim(),
        instruments: instruments.read(),
        genres: splitList(genres.control.value),
        influences: splitList(influences.control.value),
        bio: bio.control.value,
        city: city.control.value.trim() || null,
        coordinates: latitude === null ? null : { latitude, longitude },
        time_zone: tz.control.value.trim() || null,
        availability: availability.read(),
        looking_for: {
          instruments: splitList(wanted.control.value),
          goals: goalBoxes.filter((g) => g.box.checked).map((g) => g.box.value),
        },
        max_latency_ms: numberOrNull(latency.control),
        avatar_url: avatar.control.value.trim() || null,
        visibility: visibility.control.value,
      };
      button.disabled = true;
      try {
        const saved = exists
          ? await ctx.api('PUT', `/api/v1/profiles/${encodeURIComponent(userId)}`, body)
          : await ctx.api('POST', '/api/v1/profiles', body);
        exists = true;
        if (saved?.coordinates) {
          lat.control.value = saved.coordinates.latitude;
          lon.control.value = saved.coordinates.longitude;
        }
        status.show('Profile saved.', 'ok');
        document.getElementById('no-profile-yet')?.remove();
      } catch (err) {
        errors.replaceChildren(errorBox(err));
      } finally {
        button.disabled = false;
      }
    },
  },
  h('section', { class: 'card' }, h('h2', {}, 'About you'), name, bio, avatar, visibility),
  h('section', { class: 'card' }, h('h2', {}, 'What you play'), instruments.el,
    h('div', { class: 'grid' }, genres, influences)),
  h('section', { class: 'card' }, h('h2', {}, 'Where and when'),
    h('div', { class: 'grid' }, city, lat, lon, tz), availability.el),
  h('section', { class: 'card' }, h('h2', {}, 'What you are looking for'), wanted, goals, latency),
  errors, status, h('div', { class: 'actions' }, button));
  return form;
}

/** Change the password; the server then ends every session, so the user logs in again. */
function passwordForm(ctx) {
  const current = field('Current password', { type: 'password', required: true, autocomplete: 'current-password' });
  const next = field('New password', { type: 'password', required: true, minlength: 8, autocomplete: 'new-password' },
    { hint: 'At least 8 characters. You will be logged out everywhere.' });
  const errors = h('div');
  const form = h('form', {
    class: 'card narrow',
    'aria-labelledby': 'password-h',
    onsubmit: async (e) => {
      e.preventDefault();
      errors.replaceChildren();
      if (!form.reportValidity()) return;
      try {
        await ctx.api('POST', '/api/v1/auth/password', {
          current_password: current.control.value,
          new_password: next.control.value,
        });
        ctx.session.clear();
        ctx.notify('Password changed. Log in with the new password.');
        ctx.navigate('#/login');
      } catch (err) {
        errors.replaceChildren(errorBox(err));
      }
    },
  }, h('h2', { id: 'password-h' }, 'Change password'), current, next, errors,
  h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Change password')));
  return form;
}

export async function render(container, _params, ctx) {
  const userId = ctx.session.get()?.account?.id;
  let profile = null;
  try {
    profile = await ctx.api('GET', `/api/v1/profiles/${encodeURIComponent(userId)}`);
  } catch (e) {
    if (e.status !== 404) {
      page(container, 'Your profile', errorBox(e));
      return;
    }
  }
  page(container, 'Your profile',
    profile ? null : h('p', { id: 'no-profile-yet' }, 'You have no profile yet. Fill it in so other musicians can find you.'),
    profileForm(ctx, userId, profile), passwordForm(ctx));
}
