// Shared fixtures for the Node tests of dist/ (the wasm core behind the JS shim).
import { createAuthGate } from '../../dist/index.js';

export const API = 'http://api.test';
export const T0 = 1_700_000_000_000;

/** A wall clock the test moves by hand. */
export function fakeClock(start = T0) {
  const clock = {
    t: start,
    now: () => clock.t,
    advance: (ms) => {
      clock.t += ms;
    },
  };
  return clock;
}

/**
 * A fake fetch. `handler(record)` answers each request (a Response, a promise
 * of one, or a throw); `requests` keeps what the "server" saw.
 */
export function fakeServer(handler) {
  const requests = [];
  async function fetch(input, init) {
    const request = new Request(input, init);
    const record = {
      url: request.url,
      path: new URL(request.url).pathname,
      method: request.method,
      mode: request.mode,
      credentials: request.credentials,
      authorization: request.headers.get('authorization'),
      contentType: request.headers.get('content-type'),
      body: request.body ? await request.text() : null,
    };
    requests.push(record);
    return handler(record);
  }
  const count = (path) => requests.filter((r) => r.path === path).length;
  return { fetch, requests, count };
}

export const json = (value, status = 200) => Response.json(value, { status });

export const tokens = (access, refresh, expiresIn = 3600) =>
  json({ access_token: access, refresh_token: refresh, expires_in: expiresIn });

/** A promise with its settlers outside. */
export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets pending promises, fetches and channel messages run until `condition()` holds. */
export async function until(condition, what = 'condition') {
  // Real time (the first call may wait for the wasm to compile); setImmediate is never mocked here.
  const giveUp = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > giveUp) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Lets whatever is already under way (promises, fake requests) run a few turns. */
export async function settle() {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A Storage-like area shared by "tabs". */
export function memoryArea() {
  const map = new Map();
  return {
    map,
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => map.set(k, String(v)),
    removeItem: (k) => map.delete(k),
  };
}

let keys = 0;

/** A gate with the usual endpoints, its own storage key and no cross-tab traffic unless asked. */
export function gateFor(server, clock, extra = {}) {
  return createAuthGate({
    baseUrl: API,
    public: ['/auth'],
    login: { url: '/auth/login' },
    refresh: { url: '/auth/refresh' },
    storageKey: `authgate-test-${++keys}`,
    crossTab: false,
    fetch: server.fetch,
    now: clock.now,
    ...extra,
  });
}

/** Runs fn with a page origin, as in a browser at `origin`. */
export async function onPage(origin, fn) {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'location');
  globalThis.location = { origin, href: `${origin}/` };
  try {
    return await fn();
  } finally {
    if (saved) Object.defineProperty(globalThis, 'location', saved);
    else delete globalThis.location;
  }
}
