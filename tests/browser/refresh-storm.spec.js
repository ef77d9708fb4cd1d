// The refresh storm (React + Django REST framework + simplejwt with ROTATE_REFRESH_TOKENS
// and BLACKLIST_AFTER_ROTATION): every component read the token from
// localStorage and handled its own 401. When the access token expires under a
// page that fires many calls at once, each call refreshes on its own with the
// same refresh token, which rotation blacklists after the first use.
//
// simplejwt's rotation is not atomic (concurrent refreshes with one token may
// all succeed before the blacklist row is written), so what is asserted is
// what the server counted: how many refreshes it served.
import { expect, test } from '@playwright/test';

import { startServer, startStatic } from '../servers/launch.js';
import { counters, openHarness, pathSeen, repoRoot, resetCounters, setAccessTtl, sleep } from './helpers.js';

let web;
let django;
const CALLS = 50;
const STATUS = '/api/v1/backup/system/system_status/';
const REFRESH = '/api/v1/auth/token/refresh/';

test.beforeAll(async () => {
  web = await startStatic(repoRoot);
  django = await startServer('django', { allowOrigin: web.origin, accessTtl: 60 });
});

test.afterAll(async () => {
  await Promise.all([django?.stop(), web?.stop()]);
});

/** Signs in with a 1 s access token, then lets it expire; tokens issued later live 60 s. */
async function expireAfterLogin(page, login) {
  await setAccessTtl(django, 1);
  await page.evaluate(login, django.origin);
  await setAccessTtl(django, 60);
  await sleep(2100);
  await resetCounters(django);
}

test.describe('scenario 6: 50 concurrent calls on an expired access token (simplejwt rotation + blacklist)', () => {
  test.describe.configure({ timeout: 60_000 });

  test('without authgate: every call refreshes on its own', async ({ page }) => {
    await openHarness(page, web);
    await expireAfterLogin(page, async (base) => {
      const res = await fetch(`${base}/api/v1/auth/token/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: 'test123' }),
      });
      const { access, refresh } = await res.json();
      localStorage.setItem('accessToken', access);
      localStorage.setItem('refreshToken', refresh);
    });

    const statuses = await page.evaluate(
      async ([base, calls]) => {
        // BackupManagement.tsx and friends: read the token, on 401 refresh and retry.
        const call = async () => {
          const get = () =>
            fetch(`${base}/api/v1/backup/system/system_status/`, {
              headers: { Authorization: `Bearer ${localStorage.getItem('accessToken')}` },
            });
          let res = await get();
          if (res.status === 401) {
            const r = await fetch(`${base}/api/v1/auth/token/refresh/`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({ refresh: localStorage.getItem('refreshToken') }),
            });
            if (!r.ok) return `refresh ${r.status}`;
            const data = await r.json();
            localStorage.setItem('accessToken', data.access);
            localStorage.setItem('refreshToken', data.refresh);
            res = await get();
          }
          return res.status;
        };
        return Promise.all(Array.from({ length: calls }, call));
      },
      [django.origin, CALLS],
    );

    const seen = await counters(django);
    expect(pathSeen(seen, STATUS).statuses[401]).toBe(CALLS); // every call first hit the expired token
    expect(seen.refreshes).toBeGreaterThan(1); // the refresh storm of per-call refreshing
    expect(seen.refreshes).toBe(pathSeen(seen, REFRESH).requests);
    // Whichever refreshes lost the race to the blacklist failed outright.
    const failedRefreshes = statuses.filter((s) => typeof s === 'string').length;
    expect(failedRefreshes).toBe(pathSeen(seen, REFRESH).statuses[401] ?? 0);
  });

  test('with authgate: exactly one refresh, all 50 calls succeed with the new token', async ({ page }) => {
    const pageErrors = await openHarness(page, web);
    const options = {
      baseUrl: django.origin,
      public: ['/api/v1/auth/'],
      login: { url: '/api/v1/auth/token/' },
      refresh: { url: '/api/v1/auth/token/refresh/' }, // simplejwt: {"refresh": ...} → {access, refresh}
      storage: 'session',
      refreshSkewSeconds: 0,
    };
    // Signed in earlier in this tab; the page was left (a running gate would have
    // refreshed proactively) and its 1 s access token expired meanwhile.
    await setAccessTtl(django, 1);
    await page.evaluate(async (opts) => {
      sessionStorage.clear();
      await h.createAuthGate(opts).login({ username: 'admin', password: 'test123' });
    }, options);
    await setAccessTtl(django, 60);
    await page.goto('about:blank');
    await sleep(2100);
    await resetCounters(django);
    await openHarness(page, web);

    const results = await page.evaluate(
      ([opts, calls]) => {
        window.gate = h.createAuthGate(opts);
        // The page's components all fetch at once, in the tick the gate is created.
        return Promise.all(
          Array.from({ length: calls }, () =>
            h.settle(window.gate.fetch('/api/v1/backup/system/system_status/')).then((r) => r.status ?? r.code),
          ),
        );
      },
      [options, CALLS],
    );

    expect(results).toEqual(Array(CALLS).fill(200));
    const seen = await counters(django);
    expect(seen.refreshes).toBe(1);
    expect(seen.logins).toBe(0); // the session came back from sessionStorage
    expect(pathSeen(seen, REFRESH).statuses).toEqual({ 200: 1 });
    expect(pathSeen(seen, STATUS)).toMatchObject({ requests: CALLS, bearer: CALLS, statuses: { 200: CALLS } });
    expect(seen.status_401).toBe(0); // no blacklisted-token errors, and no call sent with the expired token
    const bearers = new Set(seen.auth_headers.filter(Boolean));
    expect(bearers.size).toBe(1); // all 50 carried the one refreshed token
    expect(await page.evaluate(() => window.gate.state)).toBe('authenticated');
    expect(pageErrors).toEqual([]);
  });
});
