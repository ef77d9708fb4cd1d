// Scenario 9: the session ends on the server (every refresh token revoked, as
// after a password change or an admin's logout). The gate must say so once:
// SESSION_EXPIRED for the calls waiting on the refresh, state 'anonymous',
// subscribers told, storage cleared, and no retry loop hammering the server.
import { expect, test } from '@playwright/test';

import { startServer, startStatic } from '../servers/launch.js';
import {
  counters,
  harnessReady,
  openHarness,
  pathSeen,
  repoRoot,
  resetCounters,
  revokeSessions,
  setAccessTtl,
  sleep,
} from './helpers.js';

let web;
let api;
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

const OPTIONS = (baseUrl) => ({
  baseUrl,
  public: ['/api/v1/auth/login', '/api/v1/auth/refresh', '/health'],
  login: { url: '/api/v1/auth/login' },
  refresh: { url: '/api/v1/auth/refresh' },
  storage: 'session',
  refreshSkewSeconds: 0,
});

/** The counters must not move any more: nothing is retried in the background. */
async function expectQuiet(server, ms) {
  const before = await counters(server);
  await sleep(ms);
  const after = await counters(server);
  expect(after.requests + after.preflights).toBe(before.requests + before.preflights);
}

test.describe('scenario 9: an expired session', () => {
  test('calls waiting on the refresh reject SESSION_EXPIRED; anonymous, subscribers told, nothing retried', async ({ page }) => {
    const pageErrors = await openHarness(page, web);
    // Signed in earlier in this tab; meanwhile the access token expired and the server revoked the session.
    await setAccessTtl(api, 1);
    await page.evaluate(async (options) => {
      sessionStorage.clear();
      await h.createAuthGate(options).login({ username: 'demo', password: 'demo' });
    }, OPTIONS(api.origin));
    await setAccessTtl(api, 60);
    await page.goto('about:blank');
    await sleep(2100);
    await revokeSessions(api);
    await resetCounters(api);
    await page.goto(`${web.origin}/tests/browser/pages/harness.html`);
    await harnessReady(page);

    const result = await page.evaluate(async (options) => {
      const gate = h.createAuthGate(options);
      window.gate = gate;
      const states = [];
      gate.subscribe((state) => states.push(state));
      // The page's calls, issued at start-up: they wait for the refresh of the expired token.
      const calls = await Promise.all(
        ['/api/v1/auth/me', '/api/v1/documents', '/api/v1/auth/me'].map((path) => h.settle(gate.fetch(path))),
      );
      return { calls, states, state: gate.state, stored: sessionStorage.getItem('authgate') };
    }, OPTIONS(api.origin));

    for (const call of result.calls) {
      expect(call).toMatchObject({ ok: false, name: 'AuthGateError', code: 'SESSION_EXPIRED' });
    }
    expect(result.state).toBe('anonymous');
    expect(result.states.at(-1)).toBe('anonymous');
    expect(result.stored === null || !result.stored.includes('"access"')).toBe(true); // the tokens are gone

    const seen = await counters(api);
    expect(seen.refreshes).toBe(1); // one refused refresh: no retry of a 401
    expect(pathSeen(seen, REFRESH).statuses).toEqual({ 401: 1 });
    expect(pathSeen(seen, '/api/v1/auth/me').requests).toBe(0); // nothing went out with the expired token
    expect(pathSeen(seen, '/api/v1/documents').requests).toBe(0);

    // Later calls are refused before the network: the user has to sign in again.
    const later = await page.evaluate(() => h.settle(window.gate.fetch('/api/v1/documents')));
    expect(later).toMatchObject({ ok: false, code: 'NO_TOKEN' });
    expect(pathSeen(await counters(api), '/api/v1/documents').requests).toBe(0);
    await expectQuiet(api, 3000);
    expect(pageErrors).toEqual([]);
  });

  test('a live session whose refresh is refused: anonymous, subscribers told, later calls NO_TOKEN, counters stop', async ({ page }) => {
    const pageErrors = await openHarness(page, web);
    await setAccessTtl(api, 2);
    await page.evaluate(async (options) => {
      sessionStorage.clear();
      window.states = [];
      window.gate = h.createAuthGate(options);
      window.gate.subscribe((state) => window.states.push(state));
      await window.gate.login({ username: 'demo', password: 'demo' });
    }, OPTIONS(api.origin));
    await setAccessTtl(api, 60);
    await revokeSessions(api);
    await resetCounters(api);

    // At expiry the gate refreshes on its own; the server refuses; the app hears about it.
    await expect.poll(() => page.evaluate(() => window.gate.state), { timeout: 5000 }).toBe('anonymous');
    const states = await page.evaluate(() => window.states);
    const loggedIn = states.indexOf('authenticated'); // the login
    expect(loggedIn).toBeGreaterThanOrEqual(0);
    expect(states.slice(loggedIn + 1)).toContain('anonymous'); // told when the session ended
    expect(states.at(-1)).toBe('anonymous');

    const later = await page.evaluate(() => h.settle(window.gate.fetch('/api/v1/auth/me')));
    expect(later).toMatchObject({ ok: false, code: 'NO_TOKEN' });

    const seen = await counters(api);
    expect(seen.refreshes).toBe(1);
    expect(pathSeen(seen, REFRESH).statuses).toEqual({ 401: 1 });
    expect(pathSeen(seen, '/api/v1/auth/me').requests).toBe(0);
    await expectQuiet(api, 3000);
    expect(await page.evaluate(() => sessionStorage.getItem('authgate')?.includes('"access"') ?? false)).toBe(false);
    expect(pageErrors).toEqual([]);
  });
});
