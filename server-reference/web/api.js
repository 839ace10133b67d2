// Fetch wrapper for the Tutti API: JSON in and out, the bearer access token, one refresh on 401
// through /api/v1/auth/refresh (shared by concurrent callers, because refresh tokens rotate and a
// reused one ends the session), and `{code, message}` error bodies turned into `ApiError`s.

const STORAGE_KEY = 'tutti.session';

/** An error the API (or the network) reported; `message` is meant for the user. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** The signed-in session, kept in localStorage so a reload stays signed in. */
export const session = {
  listeners: new Set(),
  get() {
    try {
      return JSON.parse(localStorage.getItem(STORAGE_KEY)) || null;
    } catch {
      return null;
    }
  },
  /** Stores an AuthResponse (`account`, `access_token`, `refresh_token`). */
  set(auth) {
    const value = { account: auth.account, access: auth.access_token, refresh: auth.refresh_token };
    localStorage.setItem(STORAGE_KEY, JSON.stringify(value));
    this.listeners.forEach((f) => f(value));
  },
  clear() {
    localStorage.removeItem(STORAGE_KEY);
    this.listeners.forEach((f) => f(null));
  },
  /** Calls `f(sessionOrNull)` on every change (also from other tabs). */
  subscribe(f) {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  },
};

window.addEventListener('storage', (e) => {
  if (e.key === STORAGE_KEY) session.listeners.forEach((f) => f(session.get()));
});

let refreshing = null;

/** Exchanges the refresh token once, however many requests hit a 401 at the same time. */
function refreshOnce() {
  if (!refreshing) {
    const current = session.get();
    refreshing = (async () => {
      if (!current?.refresh) return false;
      const res = await fetch('/api/v1/auth/refresh', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: current.refresh }),
      });
      if (!res.ok) {
        session.clear();
        return false;
      }
      session.set(await res.json());
      return true;
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function errorFrom(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's page, say): fall through to the status text.
  }
  const message = body?.message || `${res.status} ${res.statusText || 'request failed'}`;
  return new ApiError(res.status, body?.code || 'http_error', message);
}

/**
 * `api(method, path, body?)` → parsed JSON (or null for 204). Throws `ApiError`.
 * Sends the access token when signed in; on 401 refreshes once and retries.
 */
export async function api(method, path, body, { retry = true } = {}) {
  const headers = {};
  const current = session.get();
  if (current?.access) headers.authorization = `Bearer ${current.access}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');
  }
  if (res.status === 401 && retry && current?.refresh) {
    if (await refreshOnce()) return api(method, path, body, { retry: false });
  }
  if (!res.ok) throw await errorFrom(res);
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/** Builds a query string from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
