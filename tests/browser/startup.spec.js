// The start-up race (Vue 3 + Pinia + axios, Flask behind nginx): the auto-login
// races the dashboard's fetches, and a second axios instance goes out without the
// bearer. Each test first reproduces the failure with the naive code,
// then runs the same app code through authgate, and asserts on what Flask saw.
//
// Every call goes through the real nginx reverse proxy in front of Flask, on
// another origin than the page; the counters are read from Flask itself.
import { expect, test } from '@playwright/test';

import { startServer, startStatic } from '../servers/launch.js';
import { counters, openHarness, pathSeen, repoRoot, resetCounters, setAccessTtl, sleep } from './helpers.js';

let web;
let flask;
let proxy;

test.beforeAll(async () => {
  web = await startStatic(repoRoot);
  flask = await startServer('flask', { allowOrigin: web.origin, corsVariant: 'good', accessTtl: 60 });
  proxy = await startServer('nginx', { upstreamPort: flask.port });
});

test.afterAll(async () => {
  await Promise.all([proxy?.stop(), flask?.stop(), web?.stop()]);
});

test.beforeEach(async () => {
  await setAccessTtl(flask, 60);
  await resetCounters(flask);
});

const dashboardUrl = (mode) =>
  `${web.origin}/tests/browser/pages/startup-dashboard.html?api=${encodeURIComponent(proxy.origin)}&mode=${mode}`;

test.describe('scenario 1: auto-login racing the dashboard at start-up', () => {
  test('without authgate: the dashboard fetches beat the auto-login and Flask answers 401', async ({ page }) => {
    // A refresh token persisted by an earlier login (obtained directly from Flask).
    const login = await fetch(`${flask.origin}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'demo', password: 'demo' }),
    });
    const { refresh_token: refresh } = await login.json();
    await page.goto(`${web.origin}/tests/browser/pages/harness.html`);
    await page.evaluate((token) => {
      localStorage.clear();
      localStorage.setItem('refresh_token', token);
    }, refresh);
    await resetCounters(flask);

    await page.goto(dashboardUrl('naive'));
    const results = await page.evaluate(() => window.dashboard);
    await expect(page.locator('#state')).toHaveText('done'); // the auto-login did finish, too late

    expect(results.map((r) => r.status)).toEqual([401, 401, 401]);
    const seen = await counters(flask);
    expect(seen.status_401).toBe(3);
    expect(pathSeen(seen, '/api/dashboard/stats')).toMatchObject({ requests: 2, bearer: 0, statuses: { 401: 2 } });
    expect(pathSeen(seen, '/api/dashboard/items')).toMatchObject({ requests: 1, bearer: 0, statuses: { 401: 1 } });
    expect(seen.refreshes).toBe(1);
  });

  test('with authgate: the calls wait for the refresh, zero 401s reach Flask', async ({ page }) => {
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error));
    // An earlier visit signed in through the gate; its access token has expired since,
    // so only the persisted refresh token can make the session usable again.
    await setAccessTtl(flask, 1);
    await page.goto(`${web.origin}/tests/browser/pages/harness.html`);
    await page.evaluate(() => localStorage.clear());
    await page.goto(dashboardUrl('login'));
    expect(await page.evaluate(() => window.dashboard)).toEqual([]);
    await expect(page.locator('#state')).toHaveText('authenticated');
    // The earlier visit ends: its gate stops before its own refresh at expiry could store a
    // token minted after the lifetime goes back to 60 s (on a loaded machine a second passes
    // quickly); a refresh it made before this point minted a 1 s token, expired below too.
    await page.evaluate(() => window.gate.destroy());
    await setAccessTtl(flask, 60);
    await page.goto('about:blank');
    await sleep(2100); // the stored access token (1 s) is now expired
    await resetCounters(flask);

    await page.goto(dashboardUrl('gate'));
    const results = await page.evaluate(() => window.dashboard);
    expect(results).toEqual([
      { path: '/api/dashboard/stats', status: 200 },
      { path: '/api/dashboard/items', status: 200 },
      { path: '/api/dashboard/stats', status: 200 },
    ]);
    await expect(page.locator('#state')).toHaveText('authenticated');

    const seen = await counters(flask);
    expect(seen.status_401).toBe(0);
    expect(seen.status_403).toBe(0);
    expect(seen.refreshes).toBe(1); // one auto-login, however many calls waited for it
    expect(seen.logins).toBe(0);
    expect(pathSeen(seen, '/api/dashboard/stats')).toMatchObject({ requests: 2, bearer: 2, statuses: { 200: 2 } });
    expect(pathSeen(seen, '/api/dashboard/items')).toMatchObject({ requests: 1, bearer: 1, statuses: { 200: 1 } });
    // The refresh reached Flask before any dashboard call: nothing went out with the stale token.
    expect(seen.auth_headers[0]).toBeNull(); // the refresh itself carries no bearer
    expect(new Set(seen.auth_headers.slice(1)).size).toBe(1);
    expect(pageErrors).toEqual([]);
  });
});

test.describe('scenario 2: a second axios instance', () => {
  test('without authgate: the store uses the default axios and Flask answers 401', async ({ page }) => {
    await openHarness(page, web);
    const results = await page.evaluate(async (base) => {
      const { axios } = await h.axios();
      // services/api.js: the shared instance, with the interceptor that adds the bearer.
      let token = null;
      const api = axios.create({ baseURL: base });
      api.interceptors.request.use((config) => {
        if (token) config.headers.Authorization = `Bearer ${token}`;
        return config;
      });
      const { data } = await api.post('/api/auth/login', { username: 'demo', password: 'demo' });
      token = data.access_token;
      return {
        shared: await h.settle(api.get('/api/dashboard/stats')),
        // stores/auth.js: `import axios from 'axios'`, not the shared instance.
        store: await h.settle(axios.get(`${base}/api/dashboard/items`)),
        // a component that made its own instance
        other: await h.settle(axios.create({ baseURL: base }).get('/api/dashboard/items')),
      };
    }, proxy.origin);
    expect(results.shared.status).toBe(200);
    expect(results.store).toMatchObject({ ok: false, status: 401 });
    expect(results.other).toMatchObject({ ok: false, status: 401 });
    const seen = await counters(flask);
    expect(pathSeen(seen, '/api/dashboard/stats')).toMatchObject({ requests: 1, bearer: 1 });
    expect(pathSeen(seen, '/api/dashboard/items')).toMatchObject({ requests: 2, bearer: 0, statuses: { 401: 2 } });
  });

  test('with authgate/axios: every instance, the default one included, carries the bearer', async ({ page }) => {
    const pageErrors = await openHarness(page, web);
    const results = await page.evaluate(async (base) => {
      const { axios, routeThroughGate } = await h.axios();
      const gate = h.createAuthGate({
        baseUrl: base,
        public: ['/api/auth/', '/api/health'],
        login: { url: '/api/auth/login' },
        refresh: { url: '/api/auth/refresh' },
      });
      const api = axios.create({ baseURL: base }); // the shared instance, made before routing
      routeThroughGate(api, gate);
      routeThroughGate(axios, gate); // the default one
      await gate.login({ username: 'demo', password: 'demo' });
      return {
        shared: await h.settle(api.get('/api/dashboard/stats')),
        store: await h.settle(axios.get(`${base}/api/dashboard/items`)),
        // made after routing: axios.create() copies the default's adapter
        other: await h.settle(axios.create({ baseURL: base }).get('/api/dashboard/items')),
      };
    }, proxy.origin);
    expect(results.shared).toMatchObject({ ok: true, status: 200 });
    expect(results.store).toMatchObject({ ok: true, status: 200 });
    expect(results.other).toMatchObject({ ok: true, status: 200 });
    const seen = await counters(flask);
    expect(seen.status_401).toBe(0);
    expect(pathSeen(seen, '/api/dashboard/stats')).toMatchObject({ requests: 1, bearer: 1, statuses: { 200: 1 } });
    expect(pathSeen(seen, '/api/dashboard/items')).toMatchObject({ requests: 2, bearer: 2, statuses: { 200: 2 } });
    expect(pageErrors).toEqual([]);
  });
});
