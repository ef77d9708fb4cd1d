// The missing bearer (a Next.js client + FastAPI with HTTPBearer): a raw fetch with
// credentials:'include' but no Authorization header gets FastAPI's 403
// {"detail":"Not authenticated"}, and modules that each had their own API URL
// fallback drift to different ports. Each test first shows the failure with
// the naive code, then the same code with authgate, asserting on what FastAPI saw.
import { expect, test } from '@playwright/test';

import { freePort, startServer, startStatic } from '../servers/launch.js';
import { counters, openHarness, pathSeen, repoRoot, resetCounters } from './helpers.js';

let web;
let api;

test.beforeAll(async () => {
  web = await startStatic(repoRoot);
  api = await startServer('fastapi', { allowOrigin: web.origin });
});

test.afterAll(async () => {
  await Promise.all([api?.stop(), web?.stop()]);
});

test.beforeEach(async () => {
  await resetCounters(api);
});

const GATE_OPTIONS = (baseUrl) => ({
  baseUrl,
  public: ['/api/v1/auth/login', '/api/v1/auth/refresh', '/health'],
  login: { url: '/api/v1/auth/login' },
  refresh: { url: '/api/v1/auth/refresh' },
});

// generate-client.tsx's handleGenerate, as written: cookies, no Authorization header.
const CREATE_SESSION = `(base) => fetch(base + '/api/v1/sessions', {
  method: 'POST',
  credentials: 'include',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ title: 'Q3 report' }),
})`;

test.describe('scenario 3: a raw fetch to POST /api/v1/sessions', () => {
  test("without authgate: credentials:'include' sends no bearer and FastAPI answers 403", async ({ page }) => {
    await openHarness(page, web);
    const result = await page.evaluate(
      async ([base, createSession]) => {
        // Login succeeded (the axios pages work): the token is there, but this fetch does not use it.
        const login = await fetch(`${base}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ username: 'demo', password: 'demo' }),
        });
        document.cookie = `client_token=${(await login.json()).access_token}; path=/`;
        return h.settle((0, eval)(createSession)(base));
      },
      [api.origin, CREATE_SESSION],
    );
    expect(result).toMatchObject({ ok: true, status: 403, body: { detail: 'Not authenticated' } });
    const seen = await counters(api);
    expect(seen.status_403).toBe(1);
    expect(pathSeen(seen, '/api/v1/sessions')).toMatchObject({ requests: 1, bearer: 0, statuses: { 403: 1 } });
  });

  test("with guardGlobalFetch('authorize'): the same raw fetch goes out with the bearer and succeeds", async ({ page }) => {
    const pageErrors = await openHarness(page, web);
    const result = await page.evaluate(
      async ([options, createSession]) => {
        const gate = h.createAuthGate(options);
        gate.guardGlobalFetch('authorize'); // at start-up, before the core has loaded

        await gate.login({ username: 'demo', password: 'demo' });
        return h.settle((0, eval)(createSession)(options.baseUrl)); // the app code is unchanged
      },
      [GATE_OPTIONS(api.origin), CREATE_SESSION],
    );
    expect(result).toMatchObject({ ok: true, status: 201, body: { id: 's-1', owner: 'demo' } });
    const seen = await counters(api);
    expect(seen.status_403).toBe(0);
    expect(seen.status_401).toBe(0);
    expect(pathSeen(seen, '/api/v1/sessions')).toMatchObject({ requests: 1, bearer: 1, statuses: { 201: 1 } });
    expect(pageErrors).toEqual([]);
  });

  test("with guardGlobalFetch('refuse') on an anonymous gate: NO_TOKEN, and FastAPI never saw the call", async ({ page }) => {
    const pageErrors = await openHarness(page, web);
    const result = await page.evaluate(
      async ([options, createSession]) => {
        const gate = h.createAuthGate(options);
        gate.guardGlobalFetch('refuse'); // at start-up, before the core has loaded
        const state = await gate.ready();
        return { state, call: await h.settle((0, eval)(createSession)(options.baseUrl)) };
      },
      [GATE_OPTIONS(api.origin), CREATE_SESSION],
    );
    expect(result.state).toBe('anonymous');
    expect(result.call).toMatchObject({ ok: false, name: 'AuthGateError', code: 'NO_TOKEN', isAuthGateError: true });
    expect(result.call.message).toContain('/api/v1/sessions');
    const seen = await counters(api);
    expect(pathSeen(seen, '/api/v1/sessions')).toMatchObject({ requests: 0, preflights: 0 });
    expect(seen.requests + seen.preflights).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  // The guard judges raw calls with the core, so it must never hold up the core's own download.
  test('a guard installed in the same tick as createAuthGate still lets the gate become ready', async ({ page }) => {
    await openHarness(page, web);
    const outcome = await page.evaluate(async (options) => {
      const gate = h.createAuthGate(options);
      gate.guardGlobalFetch('refuse');
      const timeout = new Promise((resolve) => setTimeout(() => resolve('still initializing after 5 s'), 5000));
      return Promise.race([gate.ready(), timeout]);
    }, GATE_OPTIONS(api.origin));
    expect(outcome).toBe('anonymous');
  });
});

test.describe('scenario 4: base URL drift', () => {
  test('without authgate: two modules, two fallbacks, half the calls go to a port where nothing runs', async ({ page }) => {
    const stalePort = await freePort(); // what the other modules default to: nothing listens there
    await openHarness(page, web);
    const results = await page.evaluate(
      async ([apiUrl, staleUrl]) => {
        const env = {}; // NEXT_PUBLIC_API_URL is missing in this environment
        const libApi = env.NEXT_PUBLIC_API_URL || apiUrl; // lib/api.ts
        const otherModules = env.NEXT_PUBLIC_API_URL || staleUrl; // sessions.ts, blog.ts
        return Promise.all([
          h.settle(fetch(`${libApi}/health`)),
          h.settle(fetch(`${otherModules}/health`)),
          h.settle(fetch(`${libApi}/api/v1/documents`)),
          h.settle(fetch(`${otherModules}/api/v1/documents`)),
        ]);
      },
      [api.origin, `http://127.0.0.1:${stalePort}`],
    );
    expect(results.map((r) => r.ok)).toEqual([true, false, true, false]);
    expect(results[1]).toMatchObject({ name: 'TypeError' }); // a bare "Failed to fetch"
    const seen = await counters(api);
    expect(pathSeen(seen, '/health').requests).toBe(1);
    expect(pathSeen(seen, '/api/v1/documents').requests).toBe(1);
  });

  test('with authgate: relative paths from every module reach the one baseUrl, with the bearer', async ({ page }) => {
    const pageErrors = await openHarness(page, web);
    const results = await page.evaluate(async (options) => {
      const gate = h.createAuthGate(options);
      const { axios, routeThroughGate } = await h.axios();
      const client = axios.create(); // no baseURL of its own
      routeThroughGate(client, gate);
      await gate.login({ username: 'demo', password: 'demo' });
      const calls = await Promise.all([
        h.settle(gate.fetch('/health')), // public
        h.settle(gate.fetch('/api/v1/documents')),
        h.settle(gate.fetch('api/v1/auth/me')), // no leading slash
        h.settle(gate.fetch('/api/v1/sessions', { method: 'POST' })),
        h.settle(gate.fetch(new URL('/api/v1/documents?page=2', options.baseUrl))),
        h.settle(client.get('/api/v1/documents')),
        h.settle(client.post('/api/v1/sessions', {})),
      ]);
      return calls.map(({ ok, status, url }) => ({ ok, status, url: url ?? null }));
    }, GATE_OPTIONS(api.origin));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 201, 200, 200, 201]);
    for (const { url } of results.filter((r) => r.url !== null)) expect(url.startsWith(`${api.origin}/`)).toBe(true);
    const seen = await counters(api);
    expect(pathSeen(seen, '/health')).toMatchObject({ requests: 1, bearer: 0 }); // public: no bearer
    expect(pathSeen(seen, '/api/v1/documents')).toMatchObject({ requests: 3, bearer: 3, statuses: { 200: 3 } });
    expect(pathSeen(seen, '/api/v1/auth/me')).toMatchObject({ requests: 1, bearer: 1, statuses: { 200: 1 } });
    expect(pathSeen(seen, '/api/v1/sessions')).toMatchObject({ requests: 2, bearer: 2, statuses: { 201: 2 } });
    expect(seen.status_401 + seen.status_403).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
