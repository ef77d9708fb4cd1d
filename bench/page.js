// The bench page: builds each client the way an app would, with its auth glue,
// and runs the loops run.mjs asks for (window.bench). Served with COOP/COEP by
// bench/server.mjs, so performance.now() resolves to 5 µs.
import { createAuthGate } from '/dist/index.js';
import { loadCore } from '/dist/core.js';
import { axios, createAuthRefreshInterceptor, createFetch, ky, ofetch } from '/vendor/clients.js';

const origin = location.origin;
const DATA = '/api/data';
const REFRESH = '/api/auth/refresh';
const nativeFetch = window.fetch.bind(window);

// ---- backends: the loopback server, an immediate stub, an in-page fake ----------

async function login(fetchImpl = nativeFetch) {
  const r = await fetchImpl(`${origin}/api/auth/login`, { method: 'POST', body: '{}' });
  const t = await r.json();
  return { access: t.access_token, refresh: t.refresh_token, expiresIn: t.expires_in };
}

const BODY = '{"ok":true,"serial":1}';
const stubFetch = () =>
  Promise.resolve(new Response(BODY, { status: 200, headers: { 'Content-Type': 'application/json' } }));
const stubAxiosAdapter = (config) =>
  Promise.resolve({
    data: BODY,
    status: 200,
    statusText: 'OK',
    headers: { 'content-type': 'application/json' },
    config,
    request: {},
  });

/**
 * The loopback server's token API, in the page: every answer comes a task
 * later (setTimeout 0), a refresh after `refreshDelayMs`. Used for the
 * 10,000-call storms, where Chromium's own loopback throughput (6
 * connections per host) would hide how each client's work grows.
 */
function fakeBackend({ refreshDelayMs = 20 } = {}) {
  let serial = 0;
  const access = new Set();
  const refresh = new Set();
  const counters = { data200: 0, data401: 0, refreshServed: 0, refreshRefused: 0, logins: 0 };
  const issue = () => {
    serial += 1;
    const t = { access_token: `acc.${serial}`, refresh_token: `ref.${serial}`, token_type: 'bearer', expires_in: 3600 };
    access.add(t.access_token);
    refresh.add(t.refresh_token);
    return t;
  };
  const answer = (status, body) =>
    new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  const later = (ms) => new Promise((r) => setTimeout(r, ms));
  async function fetchImpl(input, init) {
    const request = new Request(input instanceof Request ? input : new URL(String(input), origin), init);
    const path = new URL(request.url).pathname;
    if (path === REFRESH) {
      let token = '';
      try {
        token = JSON.parse(await request.text()).refresh ?? '';
      } catch {}
      await later(refreshDelayMs);
      if (!refresh.delete(token)) {
        counters.refreshRefused += 1;
        return answer(401, { detail: 'Invalid refresh token' });
      }
      counters.refreshServed += 1;
      return answer(200, issue());
    }
    await later(0);
    if (path === '/api/auth/login') {
      counters.logins += 1;
      return answer(200, issue());
    }
    const auth = request.headers.get('Authorization') ?? '';
    if (access.has(auth.slice(7))) {
      counters.data200 += 1;
      return answer(200, { ok: true, serial });
    }
    counters.data401 += 1;
    return answer(401, { detail: 'Invalid or expired token' });
  }
  return {
    fetch: fetchImpl,
    counters,
    expire: () => access.clear(),
    reset: () => Object.keys(counters).forEach((k) => (counters[k] = 0)),
  };
}

/** What apps write around ky/ofetch: one shared refresh promise, cleared when it settles. */
function sharedRefresher(tok, fetchImpl) {
  let refreshing = null;
  return () =>
    (refreshing ??= (async () => {
      const r = await fetchImpl(`${origin}${REFRESH}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh: tok.refresh }),
      });
      if (!r.ok) throw new Error(`refresh ${r.status}`);
      const t = await r.json();
      tok.access = t.access_token;
      tok.refresh = t.refresh_token;
    })().finally(() => {
      refreshing = null;
    }));
}

// ---- the clients -----------------------------------------------------------------

/**
 * Each builder returns {call(): Promise<json>, destroy?()}. `backend`:
 * 'net' (the loopback server), 'stub' (the client's fetch, axios: adapter,
 * answers at once in-page) or a fakeBackend() object.
 */
const fetchFor = (backend) => (backend === 'net' ? nativeFetch : backend === 'stub' ? stubFetch : backend.fetch);

const builders = {
  async fetch({ backend, tok }) {
    const f = fetchFor(backend);
    return {
      async call() {
        const r = await f(DATA, { headers: { Authorization: `Bearer ${tok.access}` } });
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return r.json();
      },
    };
  },

  async authgate({ backend, tok, now, storage = 'memory', crossTab = false }) {
    const gate = createAuthGate({
      baseUrl: origin,
      public: ['/api/auth/'],
      refresh: { url: REFRESH },
      storage,
      crossTab,
      ...(backend === 'net' ? {} : { fetch: fetchFor(backend) }),
      ...(now ? { now } : {}),
    });
    if (tok) gate.setTokens({ access: tok.access, refresh: tok.refresh, expiresIn: tok.expiresIn });
    await gate.ready();
    return {
      gate,
      async call() {
        const r = await gate.fetch(DATA);
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        return r.json();
      },
      destroy: () => gate.destroy(),
    };
  },

  // axios 1.x: a request interceptor adds the bearer, axios-auth-refresh (defaults) refreshes on 401.
  async axios({ backend, tok }) {
    const transport =
      backend === 'net' ? {} : backend === 'stub' ? { adapter: stubAxiosAdapter } : { adapter: 'fetch', env: { fetch: backend.fetch } };
    const ax = axios.create({ baseURL: origin, ...transport });
    const plain = axios.create({ baseURL: origin, ...transport });
    ax.interceptors.request.use((config) => {
      config.headers.Authorization = `Bearer ${tok.access}`;
      return config;
    });
    createAuthRefreshInterceptor(ax, async (failed) => {
      const r = await plain.post(REFRESH, { refresh: tok.refresh });
      tok.access = r.data.access_token;
      tok.refresh = r.data.refresh_token;
      failed.response.config.headers.Authorization = `Bearer ${tok.access}`;
    });
    return { call: async () => (await ax.get(DATA)).data };
  },

  // ky: beforeRequest adds the bearer; afterResponse refreshes (shared promise) and replays once on 401.
  async ky({ backend, tok }) {
    const f = fetchFor(backend);
    const refresh = sharedRefresher(tok, f);
    const api = ky.create({
      prefixUrl: origin,
      fetch: f,
      hooks: {
        beforeRequest: [(request) => request.headers.set('Authorization', `Bearer ${tok.access}`)],
        afterResponse: [
          async (request, _options, response) => {
            if (response.status !== 401 || request.headers.get('X-Replay')) return response;
            await refresh();
            request.headers.set('Authorization', `Bearer ${tok.access}`);
            request.headers.set('X-Replay', '1');
            return ky(request, { fetch: f });
          },
        ],
      },
    });
    return { call: () => api.get(DATA.slice(1)).json() };
  },

  // ofetch: onRequest adds the bearer; on 401 onResponseError refreshes (shared promise), retry replays once.
  async ofetch({ backend, tok }) {
    const f = fetchFor(backend);
    const refresh = sharedRefresher(tok, f);
    const base = backend === 'net' ? ofetch : createFetch({ fetch: f });
    const $f = base.create({
      baseURL: origin,
      retry: 1,
      retryStatusCodes: [401],
      onRequest({ options }) {
        options.headers = new Headers(options.headers);
        options.headers.set('Authorization', `Bearer ${tok.access}`);
      },
      async onResponseError({ response }) {
        if (response.status === 401) await refresh().catch(() => {});
      },
    });
    return { call: () => $f(DATA) };
  },
};

// ---- what run.mjs calls ------------------------------------------------------------

const live = new Map(); // name → client (one per client, per mode)

async function client(name, stub) {
  const key = `${name}:${stub ? 'stub' : 'net'}`;
  if (!live.has(key)) {
    const tok = await login();
    live.set(key, await builders[name]({ backend: stub ? 'stub' : 'net', tok }));
  }
  return live.get(key);
}

window.bench = {
  clients: Object.keys(builders),

  /**
   * What each DPoP call adds in the page: one ES256 signature by a non-extractable P-256 key
   * over a signing input of a typical proof's size. Returns ms per signature over n.
   */
  async dpopSign(n) {
    const { privateKey } = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const input = new TextEncoder().encode('e'.repeat(620)); // header + payload of a resource proof, base64url
    const algorithm = { name: 'ECDSA', hash: 'SHA-256' };
    for (let i = 0; i < 20; i++) await crypto.subtle.sign(algorithm, privateKey, input);
    const t = performance.now();
    for (let i = 0; i < n; i++) await crypto.subtle.sign(algorithm, privateKey, input);
    return (performance.now() - t) / n;
  },

  /** Prepares a client (login, ready) outside the timed loop. */
  async prepare(name, stub) {
    const c = await client(name, stub);
    await c.call(); // warm the path once
    return true;
  },

  /** n sequential calls; returns the wall time in ms (performance.now, 5 µs under COOP/COEP). */
  async loop(name, stub, n) {
    const c = await client(name, stub);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await c.call();
    return performance.now() - t0;
  },

  timerResolution() {
    let min = Infinity;
    let last = performance.now();
    for (let i = 0; i < 200000 && min > 0.001; i++) {
      const t = performance.now();
      if (t !== last) {
        min = Math.min(min, t - last);
        last = t;
      }
    }
    return { crossOriginIsolated: self.crossOriginIsolated, resolutionMs: min };
  },

  /**
   * Refresh storm: a fresh session, then the server revokes the access token
   * (`expiry: 'server'`, the 401 path every client has) or, authgate only,
   * the gate's clock moves past the expiry (`expiry: 'known'`, refresh before
   * sending). n calls at once; wall time from the first call to the last settle.
   */
  async storm(name, n, expiry = 'server', where = 'net') {
    const fake = where === 'fake' ? fakeBackend() : null;
    const backend = fake ?? 'net';
    const tok = await login(fetchFor(backend));
    let skew = 0;
    const now = () => Date.now() + skew;
    const c = await builders[name]({ backend, tok, ...(name === 'authgate' ? { now } : {}) });
    await c.call();
    if (fake) {
      fake.expire();
      fake.reset();
    } else {
      await nativeFetch('/__expire', { method: 'POST' });
      await nativeFetch('/__reset', { method: 'POST' });
    }
    if (expiry === 'known') skew = 2 * 3600 * 1000;
    const t0 = performance.now();
    const results = await Promise.allSettled(Array.from({ length: n }, () => c.call()));
    const ms = performance.now() - t0;
    const server = fake ? { ...fake.counters } : await (await nativeFetch('/__counters')).json();
    c.destroy?.();
    const failures = results.filter((r) => r.status === 'rejected');
    return {
      ms,
      ok: n - failures.length,
      firstError: failures[0] ? String(failures[0].reason?.code ?? failures[0].reason?.message ?? failures[0].reason) : null,
      server,
    };
  },

  // ---- tabs: storage 'local' + crossTab ----
  async tabOpen({ first }) {
    const tok = first ? await login() : null;
    const c = await builders.authgate({ backend: 'net', tok, storage: 'local', crossTab: true });
    window.__tab = c;
    return c.gate.state;
  },
  /** Fires one protected call at epoch time `at`; resolves to when (epoch ms) this tab had its answer. */
  async tabFire(at) {
    const c = window.__tab;
    await new Promise((r) => setTimeout(r, Math.max(0, at - (performance.timeOrigin + performance.now()))));
    const start = performance.timeOrigin + performance.now();
    try {
      await c.call();
      return { ok: true, start, done: performance.timeOrigin + performance.now() };
    } catch (error) {
      return { ok: false, start, done: performance.timeOrigin + performance.now(), error: String(error.code ?? error) };
    }
  },

  // ---- wasm memory: 10,000 calls queued behind a refresh that the test holds ----
  async memory(n) {
    const core = await loadCore();
    const heap = () => core.m.HEAPU8.length;
    const atLoad = { heapBytes: heap(), liveBlocks: core.liveAllocations() };
    let release;
    const held = new Promise((r) => {
      release = r;
    });
    let refreshes = 0;
    const fetchImpl = (input, init) => {
      const url = typeof input === 'string' ? input : input.url;
      if (url.endsWith(REFRESH)) {
        refreshes += 1;
        return held.then(
          () =>
            new Response(
              JSON.stringify({ access_token: 'acc.new', refresh_token: 'ref.new', expires_in: 3600 }),
              { status: 200, headers: { 'Content-Type': 'application/json' } },
            ),
        );
      }
      return stubFetch(input, init);
    };
    let skew = 0;
    const gate = createAuthGate({
      baseUrl: origin,
      public: ['/api/auth/'],
      refresh: { url: REFRESH },
      fetch: fetchImpl,
      now: () => Date.now() + skew,
    });
    gate.setTokens({ access: 'acc.old', refresh: 'ref.old', expiresIn: 3600 });
    await gate.ready();
    await (await gate.fetch(DATA)).json();
    const start = { heapBytes: heap(), liveBlocks: core.liveAllocations() };
    skew = 2 * 3600 * 1000; // the access token is now expired: every call waits for the refresh
    const calls = Array.from({ length: n }, () => gate.fetch(DATA).then((r) => r.json()));
    // Wait until every call has reached the core: the refresh is held, so nothing drains meanwhile.
    for (let last = -1, still = 0; still < 3; ) {
      await new Promise((r) => setTimeout(r, 50));
      const blocks = core.liveAllocations();
      still = blocks === last && refreshes > 0 ? still + 1 : 0;
      last = blocks;
    }
    const queued = { heapBytes: heap(), liveBlocks: core.liveAllocations(), refreshes };
    release();
    const settled = await Promise.allSettled(calls);
    await new Promise((r) => setTimeout(r, 0));
    const drained = { heapBytes: heap(), liveBlocks: core.liveAllocations() };
    // The same storm again: at steady state the memory the first one grew to is enough.
    skew = 4 * 3600 * 1000;
    await Promise.allSettled(Array.from({ length: n }, () => gate.fetch(DATA).then((r) => r.json())));
    await new Promise((r) => setTimeout(r, 0));
    const again = { heapBytes: heap(), liveBlocks: core.liveAllocations(), refreshes };
    gate.destroy();
    return {
      atLoad,
      start,
      queued,
      drained,
      again,
      ok: settled.filter((r) => r.status === 'fulfilled').length,
      initialMemoryBytes: start.heapBytes,
    };
  },
};
window.benchReady = true;
