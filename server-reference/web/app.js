// The app shell: a hash router (`#/page/params`), the navigation bar reflecting the auth state,
// and a notice area. Each page is a module in pages/ exporting
// `render(container, params, ctx)`, which may return a clean-up function (closing an
// EventSource, a peer connection…) that runs when the user leaves the page.

import { api, session, ApiError } from './api.js';
import { h } from './dom.js';

/** Route name → page module, whether it needs a signed-in user, nav label. */
const ROUTES = {
  lobby: { module: './pages/lobby.js', label: 'Lobby' },
  venues: { module: './pages/venues.js', label: 'Venues' },
  recommendations: { module: './pages/recommendations.js', label: 'Recommendations', auth: true },
  profile: { module: './pages/profile.js', label: 'Profile', auth: true },
  login: { module: './pages/login.js' },
  signup: { module: './pages/signup.js' },
  rooms: { module: './pages/room.js' },
  musicians: { module: './pages/musician.js' },
};
const DEFAULT_ROUTE = 'lobby';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const notice = document.getElementById('notice');
let cleanup = null;
let noticeTimer = null;
/** The render in progress: a newer navigation makes an older, slower one drop its result. */
let currentRender = null;

/** Shows a short message to the user (errors stay until the next navigation). */
function notify(message, kind = 'info') {
  notice.textContent = message;
  notice.dataset.kind = kind;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  if (kind !== 'error') noticeTimer = setTimeout(() => { notice.hidden = true; }, 6000);
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** `#/rooms/abc?x=1` → `{ name: 'rooms', params: ['abc'], query: URLSearchParams }`. */
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [pathPart, queryPart = ''] = raw.split('?');
  const [name = '', ...params] = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  return { name: name || DEFAULT_ROUTE, params, query: new URLSearchParams(queryPart) };
}

async function logOut() {
  try {
    await api('POST', '/api/v1/auth/logout');
  } catch (e) {
    // The session ends locally whatever the server says (it may already be revoked).
    if (!(e instanceof ApiError)) throw e;
  }
  session.clear();
  notify('You are logged out.');
  navigate('#/login');
}

function renderNav() {
  const current = parseHash().name;
  const signedIn = session.get();
  const link = (name, label) => h('a', {
    href: `#/${name}`,
    'aria-current': current === name ? 'page' : undefined,
  }, label);
  const items = [link('lobby', 'Lobby'), link('venues', 'Venues')];
  if (signedIn) {
    items.push(link('recommendations', 'Recommendations'), link('profile', 'Profile'),
      h('button', { type: 'button', class: 'link-button', onclick: logOut }, 'Log out'));
  } else {
    items.push(link('login', 'Log in'), link('signup', 'Sign up'));
  }
  nav.replaceChildren(h('ul', {}, items.map((i) => h('li', {}, i))));
}

async function route() {
  const { name, params, query } = parseHash();
  if (typeof cleanup === 'function') {
    try { cleanup(); } catch (e) { console.warn('page clean-up failed', e); }
  }
  cleanup = null;
  if (notice.dataset.kind === 'error') notice.hidden = true;
  renderNav();
  const spec = ROUTES[name];
  if (!spec) {
    main.replaceChildren(h('h1', { tabindex: '-1' }, 'Page not found'),
      h('p', {}, h('a', { href: '#/lobby' }, 'Go to the lobby')));
    main.querySelector('h1').focus();
    return;
  }
  if (spec.auth && !session.get()) {
    notify('Please log in first.');
    location.replace(`#/login?next=${encodeURIComponent(location.hash)}`);
    return;
  }
  const token = Symbol('render');
  currentRender = token;
  main.setAttribute('aria-busy', 'true');
  try {
    const mod = await import(spec.module);
    if (currentRender !== token) return; // the user moved on while the module loaded
    const ctx = { api, session, navigate, notify, query };
    const done = await mod.render(main, params, ctx);
    if (currentRender !== token) {
      // Left while the page was still loading: undo what it set up (an EventSource, say).
      if (typeof done === 'function') done();
      return;
    }
    cleanup = done;
  } catch (e) {
    if (currentRender === token) {
      main.replaceChildren(h('h1', { tabindex: '-1' }, 'Something went wrong'),
        h('div', { class: 'error', role: 'alert' }, e.message || String(e)));
    }
  } finally {
    if (currentRender === token) main.removeAttribute('aria-busy');
  }
  const heading = main.querySelector('h1');
  if (heading && currentRender === token) heading.focus({ preventScroll: false });
}

session.subscribe(renderNav);
window.addEventListener('hashchange', route);
// replaceState fires no hashchange: the one route() below renders the default page.
if (!location.hash) history.replaceState(null, '', `#/${DEFAULT_ROUTE}`);
route();

