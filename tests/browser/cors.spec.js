// A CORS policy that allows
// the origin but not the Authorization header. The browser sends the preflight,
// refuses the answer and hands the app a bare "TypeError: Failed to fetch",
// easily blamed on the browser cache. And the other way round: a plain 401 that was
// taken for a CORS error. Flask with flask-cors, variants no-auth-header and good.
import { expect, test } from '@playwright/test';

import { startServer, startStatic } from '../servers/launch.js';
import { counters, openHarness, pathSeen, repoRoot, resetCounters } from './helpers.js';

let web;
let badCors; // flask --cors-variant no-auth-header
let goodCors; // flask --cors-variant good

test.beforeAll(async () => {
  web = await startStatic(repoRoot);
  [badCors, goodCors] = await Promise.all([
    startServer('flask', { allowOrigin: web.origin, corsVariant: 'no-auth-header' }),
    startServer('flask', { allowOrigin: web.origin, corsVariant: 'good' }),
  ]);
});

test.afterAll(async () => {
  await Promise.all([badCors?.stop(), goodCors?.stop(), web?.stop()]);
});

test.beforeEach(async () => {
  await Promise.all([resetCounters(badCors), resetCounters(goodCors)]);
});

const GATE_OPTIONS = (baseUrl) => ({
  baseUrl,
  public: ['/api/auth/', '/api/health'],
  login: { url: '/api/auth/login' },
  refresh: { url: '/api/auth/refresh' },
});
const STATS = '/api/dashboard/stats';

test.describe('scenario 5: a CORS block, told apart from a 401', () => {
  test('without authgate: a bare TypeError, and the server only ever saw the preflight', async ({ page }) => {
    await openHarness(page, web);
    const result = await page.evaluate(async (base) => {
      const login = await fetch(`${base}/api/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'demo', password: 'demo' }),
      });
      const { access_token: token } = await login.json();
      return h.settle(fetch(`${base}/api/dashboard/stats`, { headers: { Authorization: `Bearer ${token}` } }));
    }, badCors.origin);
    expect(result).toMatchObject({ ok: false, name: 'TypeError', message: 'Failed to fetch' });
    const seen = await counters(badCors);
    expect(pathSeen(seen, STATS)).toMatchObject({ requests: 0, preflights: 1 });
  });

  test('with authgate: CORS_OR_NETWORK naming the Authorization header and the origin; diagnose() finds the preflight', async ({ page }) => {
    const pageErrors = await openHarness(page, web);
    const result = await page.evaluate(async (options) => {
      const gate = h.createAuthGate(options);
      await gate.login({ username: 'demo', password: 'demo' }); // public, simple enough to pass this CORS policy
      let causeName = null;
      const call = await gate.fetch('/api/dashboard/stats').catch((error) => {
        causeName = error.cause?.name ?? null;
        return error;
      });
      return {
        state: gate.state,
        call: await h.settle(Promise.reject(call)),
        causeName,
        diagnosis: await gate.diagnose('/api/dashboard/stats'),
      };
    }, GATE_OPTIONS(badCors.origin));

    expect(result.state).toBe('authenticated'); // a CORS block is not a logout
    expect(result.call).toMatchObject({ ok: false, name: 'AuthGateError', code: 'CORS_OR_NETWORK' });
    expect(result.call.message).toContain('Authorization');
    expect(result.call.message).toContain(web.origin);
    expect(result.call.message).toContain(`${badCors.origin}${STATS}`);
    expect(result.causeName).toBe('TypeError'); // the browser's error is kept as `cause`

    const d = result.diagnosis;
    expect(d).toMatchObject({
      url: `${badCors.origin}${STATS}`,
      origin: badCors.origin,
      pageOrigin: web.origin,
      crossOrigin: true,
      protected: true,
      reachable: true,
      status: null,
      preflight: { needed: true, ok: false },
      serverMustAllow: { origin: web.origin },
    });
    expect(d.preflight.reasons.join(' ')).toContain('Authorization');
    expect(d.serverMustAllow.headers).toContain('Authorization');
    expect(d.cause).toMatch(/preflight/i);
    expect(d.cause).toContain('Authorization');

    const seen = await counters(badCors);
    expect(seen.logins).toBe(1);
    // The gate's call and diagnose()'s bearer probe were both stopped at the preflight:
    // the only requests that reached the route are diagnose()'s two probes without a bearer.
    expect(pathSeen(seen, STATS)).toMatchObject({ requests: 2, bearer: 0, preflights: 2 });
    expect(pageErrors).toEqual([]);
  });

  test('without authgate: a 401 from a working CORS policy is a readable 401', async ({ page }) => {
    await openHarness(page, web);
    const result = await page.evaluate(
      (base) => h.settle(fetch(`${base}/api/dashboard/stats`, { headers: { Authorization: 'Bearer expired-or-forged' } })),
      goodCors.origin,
    );
    expect(result).toMatchObject({ ok: true, status: 401 });
    expect(pathSeen(await counters(goodCors), STATS)).toMatchObject({ requests: 1, statuses: { 401: 1 } });
  });

  test('with authgate: a plain 401 is reported as a 401, not as CORS', async ({ page }) => {
    const pageErrors = await openHarness(page, web);
    const result = await page.evaluate(async (options) => {
      const gate = h.createAuthGate(options);
      await gate.ready();
      gate.setTokens({ access: 'expired-or-forged' }); // no refresh token to fall back on
      return {
        call: await h.settle(gate.fetch('/api/dashboard/stats')),
        state: gate.state,
        diagnosis: await gate.diagnose('/api/dashboard/stats'),
      };
    }, GATE_OPTIONS(goodCors.origin));

    expect(result.call).toMatchObject({ ok: false, name: 'AuthGateError', status: 401 });
    expect(result.call.code).not.toBe('CORS_OR_NETWORK');
    expect(result.call.code).toBe('SESSION_EXPIRED');
    expect(result.call.message).not.toMatch(/CORS/);
    expect(result.state).toBe('anonymous');

    expect(result.diagnosis).toMatchObject({ reachable: true, status: 401, preflight: { needed: true, ok: true } });
    expect(result.diagnosis.cause).toMatch(/not CORS/);

    const seen = await counters(goodCors);
    expect(pathSeen(seen, STATS).statuses[401]).toBeGreaterThanOrEqual(1);
    expect(seen.auth_headers).toContain('Bearer expired-or-forged');
    expect(seen.refreshes).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
