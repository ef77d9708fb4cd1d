// Scenario 7: two tabs of one app (two pages in one browser context) sharing a
// session through storage 'local'. Without coordination each tab refreshes on
// its own and, with rotating refresh tokens, one of them burns the other's
// token; with authgate the tabs share one refresh (navigator.locks), its
// result (BroadcastChannel / storage) and the logout. Against FastAPI, whose
// refresh tokens work once.
import { expect, test } from '@playwright/test';

import { startServer, startStatic } from '../servers/launch.js';
import { counters, openHarness, pathSeen, repoRoot, resetCounters, setAccessTtl, sleep } from './helpers.js';

let web;
let api;
const ME = '/api/v1/auth/me';
const REFRESH = '/api/v1/auth/refresh';

test.beforeAll(async () => {
  web = await startStatic(repoRoot);
  api = await startServer('fastapi', { allowOrigin: web.origin, accessTtl: 60 });
});

test.afterAll(async () => {
  await Promise.all([api?.stop(), web?.stop()]);
});

test.beforeEach(async () => {
  await setAccessTtl(api, 60);
  await resetCounters(api);
});

const OPTIONS = (baseUrl, extra = {}) => ({
  baseUrl,
  public: ['/api/v1/auth/login', '/api/v1/auth/refresh', '/health'],
  login: { url: '/api/v1/auth/login' },
  refresh: { url: '/api/v1/auth/refresh' },
  storage: 'local',
  refreshSkewSeconds: 0,
  ...extra,
});

/** Two tabs of the app in one browser context, each with the harness loaded. */
async function twoTabs(context) {
  const a = await context.newPage();
  const b = await context.newPage();
  const pageErrors = [];
  for (const page of [a, b]) page.on('pageerror', (error) => pageErrors.push(error));
  await openHarness(a, web);
  await openHarness(b, web);
  await a.evaluate(() => localStorage.clear());
  return { a, b, pageErrors };
}

/** Creates the tab's gate as window.gate, recording its state changes in window.states. */
function openGate(page, options) {
  return page.evaluate((opts) => {
    window.states = [];
    window.gate = h.createAuthGate(opts);
    window.gate.subscribe((state) => window.states.push(state));
    return window.gate.ready();
  }, options);
}

const callMe = (page, n) =>
  page.evaluate((count) => Promise.all(Array.from({ length: count }, () => h.settle(window.gate.fetch('/api/v1/auth/me')))), n);

test.describe('scenario 7: two tabs, one session', () => {
  test('without authgate: both tabs refresh with the same rotating token and one of them is logged out', async ({ context }) => {
    const { a, b } = await twoTabs(context);
    await setAccessTtl(api, 1);
    await a.evaluate(async (base) => {
      const res = await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'demo', password: 'demo' }),
      });
      const data = await res.json();
      localStorage.setItem('access', data.access_token);
      localStorage.setItem('refresh', data.refresh_token);
    }, api.origin);
    await setAccessTtl(api, 60);
    await sleep(2100);
    await resetCounters(api);
    // Each tab's own "refresh on 401" interceptor.
    const naiveCall = (base) =>
      (async () => {
        const get = () =>
          fetch(`${base}/api/v1/auth/me`, { headers: { Authorization: `Bearer ${localStorage.getItem('access')}` } });
        let res = await get();
        if (res.status !== 401) return res.status;
        const r = await fetch(`${base}/api/v1/auth/refresh`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ refresh: localStorage.getItem('refresh') }),
        });
        if (!r.ok) return `logged out (refresh ${r.status})`;
        const data = await r.json();
        localStorage.setItem('access', data.access_token);
        localStorage.setItem('refresh', data.refresh_token);
        res = await get();
        return res.status;
      })();
    const outcomes = await Promise.all([a.evaluate(naiveCall, api.origin), b.evaluate(naiveCall, api.origin)]);
    const seen = await counters(api);
    expect(seen.refreshes).toBe(2);
    expect(pathSeen(seen, REFRESH).statuses).toEqual({ 200: 1, 401: 1 }); // the second tab's token was already used
    expect(outcomes.sort()).toEqual([200, 'logged out (refresh 401)']);
  });

  async function bothTabsRefreshAtOnce(context, storage) {
    const { a, b, pageErrors } = await twoTabs(context);
    await setAccessTtl(api, 2);
    expect(await openGate(a, OPTIONS(api.origin, { storage }))).toBe('anonymous');
    await a.evaluate(() => window.gate.login({ username: 'demo', password: 'demo' }));
    await setAccessTtl(api, 60);
    await openGate(b, OPTIONS(api.origin, { storage }));
    await expect.poll(() => b.evaluate(() => window.gate.state)).toBe('authenticated'); // from tab A's session
    await resetCounters(api);
    // Both tabs' tokens expire at the same instant: both gates' timers fire, and both tabs call.
    await sleep(2100);
    const [fromA, fromB] = await Promise.all([callMe(a, 5), callMe(b, 5)]);

    expect([...fromA, ...fromB].map((r) => r.status)).toEqual(Array(10).fill(200));
    const seen = await counters(api);
    expect(seen.refreshes).toBe(1);
    expect(pathSeen(seen, REFRESH).statuses).toEqual({ 200: 1 });
    expect(pathSeen(seen, ME)).toMatchObject({ requests: 10, bearer: 10, statuses: { 200: 10 } });
    expect(seen.status_401).toBe(0);
    expect(new Set(seen.auth_headers.filter(Boolean)).size).toBe(1); // both tabs used the one refreshed token
    for (const page of [a, b]) expect(await page.evaluate(() => window.gate.state)).toBe('authenticated');
    expect(pageErrors).toEqual([]);
  }

  test('with authgate: both tabs need a refresh at once → one refresh on the server, both succeed', ({ context }) =>
    bothTabsRefreshAtOnce(context, 'local'));

  test('the same with memory storage, where tabs share tokens only by message', ({ context }) =>
    bothTabsRefreshAtOnce(context, 'memory'));

  test('storage and messages that reach the other tab late: still one refresh, both tabs get the new token', async ({ context }) => {
    // Chromium runs tabs in separate processes: what one tab writes to localStorage or
    // broadcasts reaches the other a little later, and the lock grant can come first.
    // Here every tab sees the others' storage writes and messages 1.5 s late.
    const { a, b, pageErrors } = await twoTabs(context);
    const key = 'late-tabs';
    for (const page of [a, b]) {
      await page.evaluate((name) => {
        const LAG_MS = 1500;
        const realGet = Storage.prototype.getItem;
        let shown = realGet.call(localStorage, name);
        let seen = shown;
        window.lateTabs = setInterval(() => {
          const now = realGet.call(localStorage, name);
          if (now === seen) return;
          seen = now;
          setTimeout(() => (shown = now), LAG_MS);
        }, 10);
        Storage.prototype.getItem = function (k) {
          return this === localStorage && k === name ? shown : realGet.call(this, k);
        };
        const realAdd = EventTarget.prototype.addEventListener;
        EventTarget.prototype.addEventListener = function (type, fn, ...rest) {
          const late = type === 'storage' ? (e) => setTimeout(() => fn(e), LAG_MS) : fn;
          return realAdd.call(this, type, late, ...rest);
        };
        Object.defineProperty(BroadcastChannel.prototype, 'onmessage', {
          set(fn) {
            realAdd.call(this, 'message', (e) => setTimeout(() => fn(e), LAG_MS));
          },
        });
      }, key);
    }
    await setAccessTtl(api, 2);
    await openGate(a, OPTIONS(api.origin, { storageKey: key }));
    await a.evaluate(() => window.gate.login({ username: 'demo', password: 'demo' }));
    await setAccessTtl(api, 60);
    await sleep(1600); // B's view of storage has A's session now
    expect(await openGate(b, OPTIONS(api.origin, { storageKey: key }))).toBe('authenticated');
    await resetCounters(api);
    await sleep(2100); // both tabs' tokens have expired
    const [fromA, fromB] = await Promise.all([callMe(a, 3), callMe(b, 3)]);

    expect([...fromA, ...fromB].map((r) => r.status)).toEqual(Array(6).fill(200));
    const seen = await counters(api);
    expect(seen.refreshes).toBe(1);
    expect(pathSeen(seen, REFRESH).statuses).toEqual({ 200: 1 });
    expect(seen.status_401).toBe(0);
    expect(new Set(seen.auth_headers.filter(Boolean)).size).toBe(1);
    for (const page of [a, b]) expect(await page.evaluate(() => window.gate.state)).toBe('authenticated');
    expect(pageErrors).toEqual([]);
  });

  test('with authgate: a token refreshed in one tab is used by the other without a second refresh', async ({ context }) => {
    const { a, b, pageErrors } = await twoTabs(context);
    // Tab A refreshes 2 s before expiry, tab B only at expiry: A's refresh comes first.
    await setAccessTtl(api, 4);
    await openGate(a, OPTIONS(api.origin, { refreshSkewSeconds: 2 }));
    await a.evaluate(() => window.gate.login({ username: 'demo', password: 'demo' }));
    const loggedInAt = Date.now();
    await setAccessTtl(api, 60);
    expect(await openGate(b, OPTIONS(api.origin))).toBe('authenticated');
    const [before] = await callMe(b, 1);
    expect(before.status).toBe(200);
    const loginBearer = (await counters(api)).auth_headers.at(-1);
    await resetCounters(api);

    await expect.poll(async () => (await counters(api)).refreshes, { timeout: 5000 }).toBe(1); // tab A's
    const [afterRefresh] = await callMe(b, 1); // B's old token would still be valid: B must have switched anyway
    await sleep(Math.max(0, loggedInAt + 4200 - Date.now())); // now the login token has expired for sure
    const [afterExpiry] = await callMe(b, 1);

    expect([afterRefresh.status, afterExpiry.status]).toEqual([200, 200]);
    const seen = await counters(api);
    expect(seen.refreshes).toBe(1); // B never refreshed
    expect(seen.status_401).toBe(0);
    const bearers = seen.auth_headers.filter(Boolean);
    expect(bearers).toHaveLength(2);
    expect(bearers[0]).toBe(bearers[1]);
    expect(bearers[0]).not.toBe(loginBearer);
    expect(pageErrors).toEqual([]);
  });

  test('with authgate: logout in one tab → the other is anonymous within 2 s', async ({ context }) => {
    const { a, b, pageErrors } = await twoTabs(context);
    await openGate(a, OPTIONS(api.origin));
    await a.evaluate(() => window.gate.login({ username: 'demo', password: 'demo' }));
    expect(await openGate(b, OPTIONS(api.origin))).toBe('authenticated');
    await resetCounters(api);

    const loggedOutAt = Date.now();
    await a.evaluate(() => window.gate.logout());
    await expect.poll(() => b.evaluate(() => window.gate.state), { timeout: 2000, intervals: [50] }).toBe('anonymous');
    expect(Date.now() - loggedOutAt).toBeLessThan(2000);
    expect(await b.evaluate(() => window.states)).toContain('anonymous'); // B's subscribers were told

    const call = await callMe(b, 1);
    expect(call[0]).toMatchObject({ ok: false, code: 'NO_TOKEN' });
    const seen = await counters(api);
    expect(seen.requests + seen.preflights).toBe(0); // nothing left tab B
    expect(await a.evaluate(() => localStorage.length)).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  test('with the default memory storage: a tab opened later gets the session from the open one, no second login', async ({ context }) => {
    const { a, b, pageErrors } = await twoTabs(context);
    const memory = OPTIONS(api.origin, { storage: 'memory' }); // nothing on disk: tabs share by message
    await openGate(a, memory);
    await a.evaluate(() => window.gate.login({ username: 'demo', password: 'demo' }));
    await resetCounters(api);

    await openGate(b, memory); // ready() says 'anonymous' at once: B does not wait for other tabs
    await expect.poll(() => b.evaluate(() => window.gate.state), { timeout: 2000, intervals: [50] }).toBe('authenticated');
    const call = await callMe(b, 1);
    expect(call[0]).toMatchObject({ ok: true, status: 200 });
    const seen = await counters(api);
    expect(seen.logins).toBe(0);
    expect(seen.refreshes).toBe(0);
    expect(pathSeen(seen, '/api/v1/auth/me')).toMatchObject({ requests: 1, bearer: 1 });
    expect(await b.evaluate(() => localStorage.length + sessionStorage.length)).toBe(0); // still nothing stored
    expect(pageErrors).toEqual([]);
  });
});
