// The five incidents, each run twice against a real backend: the plain way,
// as apps commonly write it, then through authgate. Each side is measured by
// the server's own counters (GET /__counters before and after).
//
// Every gate made here is a throwaway "lab" gate with its own storage key, so
// it shares nothing with the live gate at the top of the page; the live gate
// talks to the FastAPI server, and the incidents that count refreshes run
// against the Flask servers, so the live gate's own refreshes never show up in
// an incident's numbers.

import { nativeFetch } from './recorder.js';

export const DEMO_USER = { username: 'demo', password: 'demo' };
export const FASTAPI = { login: '/api/v1/auth/login', refresh: '/api/v1/auth/refresh', health: '/health' };
export const FLASK = { login: '/api/auth/login', refresh: '/api/auth/refresh', health: '/api/health' };
const STATS = '/api/dashboard/stats';
const ITEMS = '/api/dashboard/items';
const DEFAULT_TTL = 20;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition, what, timeoutMs = 8000) {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export async function serverCounters(origin) {
  const res = await nativeFetch(`${origin}/__counters`, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${origin}/__counters answered ${res.status}`);
  return res.json();
}

export async function setAccessTtl(origin, seconds) {
  const res = await nativeFetch(`${origin}/__control`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ access_ttl: seconds }),
  });
  if (!res.ok) throw new Error(`${origin}/__control answered ${res.status}`);
  return res.json();
}

/** What the server counted between two snapshots; `paths` are the routes this incident is about. */
function difference(a, b, routes, paths) {
  const d = {};
  for (const key of ['requests', 'preflights', 'status_401', 'status_403', 'logins', 'refreshes']) d[key] = b[key] - a[key];
  const pathDelta = (path, field) => (b.by_path[path]?.[field] ?? 0) - (a.by_path[path]?.[field] ?? 0);
  const statusDelta = (path, codes) => codes.reduce(
    (n, code) => n + (b.by_path[path]?.statuses[code] ?? 0) - (a.by_path[path]?.statuses[code] ?? 0), 0);
  d.refreshes_refused = statusDelta(routes.refresh, ['400', '401', '403']);
  d.route_requests = paths.reduce((n, p) => n + pathDelta(p, 'requests'), 0);
  d.route_bearer = paths.reduce((n, p) => n + pathDelta(p, 'bearer'), 0);
  d.route_preflights = paths.reduce((n, p) => n + pathDelta(p, 'preflights'), 0);
  d.route_ok = paths.reduce((n, p) => n + statusDelta(p, ['200', '201']), 0);
  return d;
}

async function measure(origin, routes, paths) {
  const before = await serverCounters(origin);
  return { stop: async () => difference(before, await serverCounters(origin), routes, paths) };
}

function labGate(ctx, source, origin, routes, extra = {}) {
  return ctx.createAuthGate({
    baseUrl: origin,
    login: { url: routes.login },
    refresh: { url: routes.refresh },
    public: [routes.login, routes.refresh, routes.health],
    storage: 'memory',
    storageKey: `authgate-lab-${source.replace(/\W+/g, '-')}`,
    crossTab: false,
    fetch: ctx.recorder.instrument(source, { base: origin, ...routes }),
    ...extra,
  });
}

async function plainLogin(fetch, origin, routes) {
  const res = await fetch(`${origin}${routes.login}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(DEMO_USER),
  });
  if (!res.ok) throw new Error(`sign-in failed: ${res.status}`);
  const body = await res.json();
  return { access: body.access_token, refresh: body.refresh_token }; // the page's "localStorage"; never shown
}

const settledStatus = (r) => (r.status === 'fulfilled' ? (r.value.status ?? r.value)
  : (r.reason?.response?.status ?? r.reason?.code ?? r.reason?.message)); // axios errors carry the response
const tally = (values) => {
  const counts = new Map();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].map(([v, n]) => (n > 1 ? `${n} × ${v}` : `${v}`)).join(', ');
};

// ---------------------------------------------------------------------------------------------

export const INCIDENTS = [
  {
    id: '000',
    title: 'The dashboard fetched before auto-login finished',
    stack: 'start-up race · Vue 3 + Pinia + axios · Flask',
    story: 'On start, the auth store renews the session while Dashboard.vue, mounted at the same moment, '
      + 'already asks for its data. Those calls leave with no token: a burst of 401s, an empty dashboard. '
      + 'The team added an auth_ready flag by hand.',
    server: 'flask',
    routes: FLASK,
    paths: [STATS, ITEMS],
    counters: [['status_401', '401 answers'], ['route_bearer', 'dashboard calls with a bearer'], ['refreshes', 'refreshes served']],
    plain: {
      title: 'axios, as the team wrote it',
      code: `// stores/auth.js: autoLogin() on app start
const { data } = await api.post('/api/auth/refresh',
  { refresh: localStorage.refresh });
api.defaults.headers.common.Authorization =
  \`Bearer \${data.access_token}\`;

// Dashboard.vue mounted(): at the same moment
api.get('/api/dashboard/stats');
api.get('/api/dashboard/items');`,
      async run(ctx, origin, incident) {
        const fetch = ctx.recorder.plainFetch('000 plain');
        const previous = await plainLogin(fetch, origin, FLASK); // the previous visit left a refresh token behind
        const m = await measure(origin, FLASK, incident.paths);
        const api = ctx.axios.create({ baseURL: origin, adapter: 'fetch', env: { fetch } });
        const autoLogin = (async () => {
          const { data } = await api.post(FLASK.refresh, { refresh: previous.refresh });
          api.defaults.headers.common.Authorization = `Bearer ${data.access_token}`;
        })();
        const dashboard = Promise.allSettled([api.get(STATS), api.get(ITEMS)]);
        await autoLogin;
        const results = await dashboard;
        const counts = await m.stop();
        return {
          counts,
          good: false,
          verdict: `Dashboard: ${tally(results.map(settledStatus))}. The auto-login succeeded, after the dashboard had already asked.`,
        };
      },
    },
    gate: {
      title: 'through authgate',
      code: `const gate = createAuthGate({ baseUrl,
  storage: 'session', ... });

// Dashboard: no auth_ready flag
gate.fetch('/api/dashboard/stats');
gate.fetch('/api/dashboard/items');`,
      async run(ctx, origin, incident) {
        // The previous visit: signed in, then the tab was closed; its access token expired since.
        const key = 'authgate-lab-000';
        const options = { storage: 'session', storageKey: key };
        await setAccessTtl(origin, 1);
        const previous = labGate(ctx, '000 gate · previous visit', origin, FLASK, options);
        try {
          await previous.ready();
          await previous.login(DEMO_USER);
        } finally {
          previous.destroy();
          await setAccessTtl(origin, DEFAULT_TTL);
        }
        await sleep(1500);
        const m = await measure(origin, FLASK, incident.paths);
        // The app starts again: the gate restores (and renews) the session while the dashboard asks.
        const gate = labGate(ctx, '000 gate', origin, FLASK, options);
        try {
          const results = await Promise.allSettled([
            ctx.recorder.call(gate, '000 gate', origin, STATS),
            ctx.recorder.call(gate, '000 gate', origin, ITEMS),
          ]);
          const counts = await m.stop();
          return {
            counts,
            good: counts.status_401 === 0,
            verdict: `Dashboard: ${tally(results.map(settledStatus))}. Both calls waited while the gate renewed the session, then left with the bearer.`,
          };
        } finally {
          gate.destroy();
          sessionStorage.removeItem(key);
        }
      },
    },
  },

  {
    id: '001',
    title: 'Fifty calls on an expired token',
    stack: 'refresh storm · React, JWT in localStorage · Flask',
    story: 'Every component read localStorage.accessToken and set the header itself. After a laptop sleep the '
      + 'token has expired and the page fires fifty calls at once. The usual first fix, "on 401, refresh and '
      + 'retry", runs once per call: fifty refreshes of one rotating refresh token, and most are refused.',
    server: 'flask',
    routes: FLASK,
    paths: [STATS],
    counters: [['status_401', '401 answers'], ['refreshes', 'refresh requests'], ['refreshes_refused', 'refreshes refused']],
    plain: {
      title: 'fetch + refresh-on-401 per call',
      code: `const token = localStorage.getItem('accessToken');
let res = await fetch(url,
  { headers: { Authorization: \`Bearer \${token}\` } });
if (res.status === 401) {     // each call on its own
  await refresh();            // POST /api/auth/refresh
  res = await fetch(url, …);
}`,
      async run(ctx, origin, incident) {
        const fetch = ctx.recorder.plainFetch('001 plain');
        const m = await measure(origin, FLASK, incident.paths);
        await setAccessTtl(origin, 2);
        let stored;
        try {
          stored = await plainLogin(fetch, origin, FLASK);
        } finally {
          await setAccessTtl(origin, DEFAULT_TTL);
        }
        await sleep(2300); // the laptop sleeps; the access token expires
        const refresh = async () => {
          const res = await fetch(`${origin}${FLASK.refresh}`, {
            method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh: stored.refresh }),
          });
          if (!res.ok) return false;
          const body = await res.json();
          stored = { access: body.access_token, refresh: body.refresh_token };
          return true;
        };
        const one = async () => {
          const get = () => fetch(`${origin}${STATS}`, { headers: { Authorization: `Bearer ${stored.access}` } });
          let res = await get();
          if (res.status === 401 && (await refresh())) res = await get();
          return res.status;
        };
        const statuses = await Promise.all(Array.from({ length: 50 }, one));
        const counts = await m.stop();
        const ok = statuses.filter((s) => s === 200).length;
        return {
          counts,
          good: false,
          verdict: `${ok} of 50 calls succeeded; ${50 - ok} ended on a 401 and "please log in again". `
            + `${counts.refreshes} refreshes for one expired token.`,
        };
      },
    },
    gate: {
      title: 'through authgate',
      code: `// the laptop wakes up: 50 calls at once
await Promise.all(
  urls.map((url) => gate.fetch(url)));`,
      async run(ctx, origin, incident) {
        // A sleeping laptop: the tab's clock and timers stop, then time jumps.
        // The gate's documented `now` option stands still meanwhile, so its
        // proactive refresh cannot run before the token expires.
        let asleepAt = null;
        const m = await measure(origin, FLASK, incident.paths);
        await setAccessTtl(origin, 2);
        const gate = labGate(ctx, '001 gate', origin, FLASK, { now: () => asleepAt ?? Date.now() });
        try {
          try {
            await gate.ready();
            await gate.login(DEMO_USER);
            asleepAt = Date.now();
          } finally {
            await setAccessTtl(origin, DEFAULT_TTL);
          }
          await sleep(2300);
          asleepAt = null; // awake: the access token expired while asleep
          const results = await Promise.allSettled(
            Array.from({ length: 50 }, () => ctx.recorder.call(gate, '001 gate', origin, STATS)));
          const counts = await m.stop();
          const ok = results.filter((r) => r.status === 'fulfilled' && r.value.status === 200).length;
          return {
            counts,
            good: counts.refreshes === 1 && ok === 50,
            verdict: `${ok} of 50 calls succeeded. They queued behind one refresh, then left with the new token.`,
          };
        } finally {
          gate.destroy();
        }
      },
    },
  },

  {
    id: '002',
    title: 'One raw fetch forgot the header',
    stack: 'missing bearer · Next.js · FastAPI HTTPBearer',
    story: 'The axios client added the bearer, so uploads worked. The Generate page called fetch() directly, '
      + 'with cookies but no Authorization header. FastAPI\'s HTTPBearer answers that with '
      + '403 {"detail":"Not authenticated"}, and only that page broke.',
    server: 'fastapi',
    routes: FASTAPI,
    paths: ['/api/v1/sessions'],
    counters: [['status_403', '403 answers'], ['route_bearer', 'POST /sessions with a bearer'], ['route_ok', 'sessions created']],
    plain: {
      title: 'axios for some calls, raw fetch for one',
      code: `// lib/api.ts: the axios client adds the bearer
api.interceptors.request.use((c) => {
  c.headers.Authorization = \`Bearer \${clientToken}\`;
  return c; });
await api.get('/api/v1/documents');     // fine

// generate-client.tsx: cookies, no header
await fetch(\`\${API}/api/v1/sessions\`, {
  method: 'POST', credentials: 'include',
  headers: { 'Content-Type': 'application/json' },
  body });`,
      async run(ctx, origin, incident) {
        const fetch = ctx.recorder.plainFetch('002 plain');
        const m = await measure(origin, FASTAPI, incident.paths);
        const api = ctx.axios.create({ baseURL: origin, adapter: 'fetch', env: { fetch } });
        const { data } = await api.post(FASTAPI.login, DEMO_USER);
        const clientToken = data.access_token;
        api.interceptors.request.use((config) => {
          config.headers.Authorization = `Bearer ${clientToken}`;
          return config;
        });
        const docs = await api.get('/api/v1/documents');
        const res = await fetch(`${origin}/api/v1/sessions`, {
          method: 'POST', credentials: 'include',
          headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ title: 'Q3 report' }),
        });
        const body = await res.json().catch(() => ({}));
        const counts = await m.stop();
        return {
          counts,
          good: false,
          verdict: `Documents: ${docs.status}. Create session: ${res.status} ${JSON.stringify(body)}.`,
        };
      },
    },
    gate: {
      title: 'through authgate',
      code: `gate.guardGlobalFetch('authorize'); // once
await gate.fetch('/api/v1/documents');

// the same raw fetch, untouched
await fetch(\`\${API}/api/v1/sessions\`, {
  method: 'POST', credentials: 'include', … });`,
      async run(ctx, origin, incident) {
        const m = await measure(origin, FASTAPI, incident.paths);
        const gate = labGate(ctx, '002 gate', origin, FASTAPI);
        let unguard = () => {};
        try {
          await gate.ready();
          await gate.login(DEMO_USER);
          const docs = await ctx.recorder.call(gate, '002 gate', origin, '/api/v1/documents');
          unguard = gate.guardGlobalFetch('authorize');
          // The app's raw fetch, word for word: the guard routes it through the gate.
          const res = await fetch(`${origin}/api/v1/sessions`, {
            method: 'POST', credentials: 'include',
            headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ title: 'Q3 report' }),
          });
          const body = await res.json().catch(() => ({}));
          const counts = await m.stop();
          return {
            counts,
            good: res.status === 201,
            verdict: `Documents: ${docs.status}. Create session: ${res.status} ${JSON.stringify(body)}. `
              + 'The forgotten raw fetch was caught by the guard and got its bearer.',
          };
        } finally {
          unguard();
          gate.destroy();
        }
      },
    },
  },

  {
    id: '003',
    title: 'A CORS block that looked like a 401',
    stack: 'CORS or 401 · fetch from :3000 to an API on :8000 · Flask, CORS without Authorization',
    story: 'The browser said "blocked by CORS policy". curl with a bearer worked, so the team concluded the '
      + 'backend was fine and blamed a cached 401: "hard refresh". Here the server allows the page\'s origin '
      + 'but not the Authorization header, so the preflight fails and the real call is never sent.',
    server: 'flaskCors',
    routes: FLASK,
    paths: [STATS],
    counters: [['route_preflights', 'preflights'], ['route_requests', 'calls that reached the route'], ['status_401', '401 answers']],
    plain: {
      title: 'fetch, as commonly written',
      code: `fetch(\`\${API}/api/dashboard/stats\`, {
  credentials: 'include',
  headers: { Authorization: \`Bearer \${token}\` },
});
// "Probably a cached 401: hard refresh."`,
      async run(ctx, origin, incident) {
        const fetch = ctx.recorder.plainFetch('003 plain');
        const m = await measure(origin, FLASK, incident.paths);
        const tokens = await plainLogin(fetch, origin, FLASK);
        let message;
        try {
          const res = await fetch(`${origin}${STATS}`, { credentials: 'include', headers: { Authorization: `Bearer ${tokens.access}` } });
          message = `${res.status}`;
        } catch (error) {
          message = `${error.name}: ${error.message}`;
        }
        const counts = await m.stop();
        return {
          counts,
          good: false,
          verdict: `The app got "${message}": no status, no reason. Nothing says the server never saw the call.`,
        };
      },
    },
    gate: {
      title: 'through authgate',
      code: `try { await gate.fetch('/api/dashboard/stats'); }
catch (e) { e.code; e.message; } // in words

await gate.diagnose('/api/dashboard/stats');`,
      async run(ctx, origin, incident) {
        const m = await measure(origin, FLASK, incident.paths);
        const gate = labGate(ctx, '003 gate', origin, FLASK);
        try {
          await gate.ready();
          await gate.login(DEMO_USER);
          let error = null;
          try {
            await ctx.recorder.call(gate, '003 gate', origin, STATS);
          } catch (e) {
            error = e;
          }
          const counts = await m.stop(); // before diagnose(), whose probes the server also counts
          const diagnosis = await gate.diagnose(STATS).catch(() => null);
          return {
            counts,
            good: error?.code === 'CORS_OR_NETWORK',
            verdict: error ? `Rejected ${error.code}, and the message says what happened:` : 'The call unexpectedly succeeded.',
            details: [error?.message, diagnosis && `diagnose(): ${diagnosis.cause}`],
          };
        } finally {
          gate.destroy();
        }
      },
    },
  },

  {
    id: 'tabs',
    title: 'Two tabs, one rotating refresh token',
    stack: 'every SPA with a token in localStorage · Flask',
    story: 'Two tabs share the refresh token. When the access token is due, both tabs refresh at once with the same '
      + 'refresh token: the server rotates it for the first and refuses the second, which signs the user out. '
      + 'And a logout in one tab leaves the other one looking signed in.',
    server: 'flask',
    routes: FLASK,
    paths: [STATS],
    counters: [['refreshes', 'refresh requests'], ['refreshes_refused', 'refreshes refused'], ['status_401', '401 answers']],
    plain: {
      title: 'fetch, each tab on its own timer',
      code: `// in each tab, when the token is due
await fetch('/api/auth/refresh', { method: 'POST',
  body: JSON.stringify(
    { refresh: localStorage.refresh }) });

// logout in tab A
localStorage.clear();  // tab B is not told`,
      async run(ctx, origin, incident) {
        const fetchA = ctx.recorder.plainFetch('tabs plain · tab A');
        const fetchB = ctx.recorder.plainFetch('tabs plain · tab B');
        const m = await measure(origin, FLASK, incident.paths);
        await setAccessTtl(origin, 1);
        let storage;
        try {
          storage = await plainLogin(fetchA, origin, FLASK);
        } finally {
          await setAccessTtl(origin, DEFAULT_TTL);
        }
        const tabs = [{ name: 'A', fetch: fetchA, access: storage.access }, { name: 'B', fetch: fetchB, access: storage.access }];
        await sleep(1200); // both tabs' timers fire when the token expires
        await Promise.all(tabs.map(async (tab) => {
          const res = await tab.fetch(`${origin}${FLASK.refresh}`, {
            method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh: storage.refresh }),
          });
          tab.refreshed = res.ok;
          if (res.ok) {
            const body = await res.json();
            storage = { access: body.access_token, refresh: body.refresh_token };
            tab.access = storage.access;
          }
        }));
        for (const tab of tabs) {
          tab.call = (await tab.fetch(`${origin}${STATS}`, { headers: { Authorization: `Bearer ${tab.access}` } })).status;
        }
        const winner = tabs.find((t) => t.refreshed) ?? tabs[0];
        const loser = tabs.find((t) => t !== winner);
        storage = null; // the winner logs out: localStorage.clear(); nothing tells the other tab
        const counts = await m.stop();
        return {
          counts,
          good: false,
          verdict: `Tab ${winner.name}: refreshed, call ${winner.call}. Tab ${loser.name}: refresh ${loser.refreshed ? 'ok' : 'refused'}, `
            + `call ${loser.call}. Then tab ${winner.name} logs out; tab ${loser.name} is not told and still shows "signed in".`,
        };
      },
    },
    gate: {
      title: 'through authgate',
      code: `createAuthGate({ ..., storage: 'local' });
// crossTab (default): one tab refreshes,
// the others adopt its tokens

await gate.logout();  // every tab signs out`,
      async run(ctx, origin, incident) {
        // Two gates in this page behave as two tabs: same storage key,
        // BroadcastChannel and navigator.locks are per origin, not per tab.
        const key = 'authgate-lab-tabs';
        localStorage.removeItem(key);
        const options = { storage: 'local', storageKey: key, crossTab: true };
        const m = await measure(origin, FLASK, incident.paths);
        const a = labGate(ctx, 'tabs gate · tab A', origin, FLASK, options);
        const b = labGate(ctx, 'tabs gate · tab B', origin, FLASK, options);
        try {
          await Promise.all([a.ready(), b.ready()]);
          await setAccessTtl(origin, 1);
          try {
            await a.login(DEMO_USER);
          } finally {
            await setAccessTtl(origin, DEFAULT_TTL);
          }
          await waitFor(() => b.state === 'authenticated', 'tab B to adopt the session');
          // Both tabs' timers are due within a second: wait for the (one) refresh to land.
          const refreshed = () => ctx.recorder.rows.some((r) => r.kind === 'refresh' && r.source.startsWith('tabs gate') && r.endAt !== null);
          await waitFor(refreshed, 'the refresh');
          await sleep(300);
          const calls = await Promise.all([
            ctx.recorder.call(a, 'tabs gate · tab A', origin, STATS).then((r) => r.status),
            ctx.recorder.call(b, 'tabs gate · tab B', origin, STATS).then((r) => r.status),
          ]);
          await a.logout();
          await waitFor(() => b.state === 'anonymous', 'tab B to hear of the logout');
          const after = await ctx.recorder.call(b, 'tabs gate · tab B', origin, STATS).then((r) => r.status, (e) => e.code);
          const counts = await m.stop();
          return {
            counts,
            good: counts.refreshes === 1 && counts.status_401 === 0,
            verdict: `One refresh for both tabs; calls: A ${calls[0]}, B ${calls[1]}. Tab A logs out: tab B is `
              + `"${b.state}" at once, and its next call is refused ${after}, never sent.`,
          };
        } finally {
          a.destroy();
          b.destroy();
          localStorage.removeItem(key);
        }
      },
    },
  },
];
