// Scenario 10: where the session lives between page loads. 'session' and
// 'local' survive a reload (no second login reaches the server); 'memory' does
// not; and whatever garbage sits under the storage key (an old format, a
// truncated write, another app's value) gives a clean 'anonymous' gate and no
// page error, from which a login works as usual.
import { expect, test } from '@playwright/test';

import { startServer, startStatic } from '../servers/launch.js';
import { counters, harnessReady, openHarness, pathSeen, repoRoot, resetCounters } from './helpers.js';

let web;
let api;

test.beforeAll(async () => {
  web = await startStatic(repoRoot);
  api = await startServer('fastapi', { allowOrigin: web.origin, accessTtl: 60 });
});

test.afterAll(async () => {
  await Promise.all([api?.stop(), web?.stop()]);
});

test.beforeEach(async () => {
  await resetCounters(api);
});

const OPTIONS = (baseUrl, storage) => ({
  baseUrl,
  public: ['/api/v1/auth/login', '/api/v1/auth/refresh', '/health'],
  login: { url: '/api/v1/auth/login' },
  refresh: { url: '/api/v1/auth/refresh' },
  storage,
});

/** Creates the page's gate and says what it found. */
const startGate = (page, options) =>
  page.evaluate(async (opts) => {
    window.gate = h.createAuthGate(opts);
    const ready = await window.gate.ready();
    const me = await h.settle(window.gate.fetch('/api/v1/auth/me'));
    return { ready, state: window.gate.state, me: { ok: me.ok, status: me.status, code: me.code } };
  }, options);

test.describe('scenario 10: persistence across a reload', () => {
  for (const storage of ['session', 'local']) {
    test(`storage '${storage}': the session survives a reload`, async ({ page }) => {
      const pageErrors = await openHarness(page, web);
      await page.evaluate(async (opts) => {
        localStorage.clear();
        sessionStorage.clear();
        await h.createAuthGate(opts).login({ username: 'demo', password: 'demo' });
      }, OPTIONS(api.origin, storage));
      await page.reload();
      await harnessReady(page);

      const after = await startGate(page, OPTIONS(api.origin, storage));
      expect(after).toEqual({ ready: 'authenticated', state: 'authenticated', me: { ok: true, status: 200, code: undefined } });
      const seen = await counters(api);
      expect(seen.logins).toBe(1); // no second login
      expect(seen.refreshes).toBe(0); // the stored access token was still good
      expect(pathSeen(seen, '/api/v1/auth/me')).toMatchObject({ requests: 1, bearer: 1, statuses: { 200: 1 } });
      // Only the chosen area holds the session.
      const other = storage === 'session' ? 'localStorage' : 'sessionStorage';
      expect(await page.evaluate((name) => window[name].length, other)).toBe(0);
      expect(pageErrors).toEqual([]);
    });
  }

  test("storage 'memory': a reload forgets the session", async ({ page }) => {
    const pageErrors = await openHarness(page, web);
    await page.evaluate(async (opts) => {
      localStorage.clear();
      sessionStorage.clear();
      const gate = h.createAuthGate(opts);
      await gate.login({ username: 'demo', password: 'demo' });
      if ((await gate.fetch('/api/v1/auth/me')).status !== 200) throw new Error('not signed in');
    }, OPTIONS(api.origin, 'memory'));
    expect(await page.evaluate(() => localStorage.length + sessionStorage.length)).toBe(0); // nothing written
    await page.reload();
    await harnessReady(page);
    await resetCounters(api);

    const after = await startGate(page, OPTIONS(api.origin, 'memory'));
    expect(after).toEqual({ ready: 'anonymous', state: 'anonymous', me: { ok: false, status: null, code: 'NO_TOKEN' } });
    const seen = await counters(api);
    expect(seen.requests + seen.preflights).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  const GARBAGE = {
    'not JSON': 'definitely not json',
    'truncated write': '{"v":1,"type":"tokens","gen":3,"access":"eyJhbGciOi',
    'a future format': '{"v":2,"type":"tokens","gen":1,"access":"a.b.c","exp":99999999999999}',
    'wrong types': '{"v":1,"type":"tokens","gen":"1","access":42,"refresh":[],"exp":"soon"}',
    'negative generation': '{"v":1,"type":"tokens","gen":-1,"access":"a.b.c","exp":1}',
    'empty access token': '{"v":1,"type":"tokens","gen":1,"access":"","exp":0}',
    'unknown type': '{"v":1,"type":"admin","gen":1}',
    'JSON null': 'null',
    'an array': '[1,2,3]',
    'deep nesting': `${'['.repeat(5000)}${']'.repeat(5000)}`,
    'lone surrogate': '{"v":1,"type":"tokens","gen":1,"access":"\uD800","exp":0}',
    'huge value': `{"v":1,"type":"tokens","gen":1,"access":"${'x'.repeat(200_000)}"`,
  };

  test('garbage under the storage key: a clean anonymous gate, no page error, login works', async ({ page }) => {
    const pageErrors = await openHarness(page, web);
    const consoleErrors = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    for (const [name, value] of Object.entries(GARBAGE)) {
      await page.evaluate((text) => {
        sessionStorage.clear();
        localStorage.clear();
        localStorage.setItem('authgate', text);
      }, value);
      await page.reload();
      await harnessReady(page);
      const found = await startGate(page, OPTIONS(api.origin, 'local'));
      expect(found, name).toEqual({ ready: 'anonymous', state: 'anonymous', me: { ok: false, status: null, code: 'NO_TOKEN' } });
    }
    const seen = await counters(api);
    expect(seen.requests + seen.preflights).toBe(0); // no garbage ever became a bearer

    // From the last one: a login works and overwrites the garbage with a real session.
    const login = await page.evaluate(async () => {
      await window.gate.login({ username: 'demo', password: 'demo' });
      return { state: window.gate.state, me: (await window.gate.fetch('/api/v1/auth/me')).status };
    });
    expect(login).toEqual({ state: 'authenticated', me: 200 });
    const stored = JSON.parse(await page.evaluate(() => localStorage.getItem('authgate')));
    expect(stored).toMatchObject({ v: 1, type: 'tokens' });
    expect(pageErrors).toEqual([]);
    expect(consoleErrors.filter((text) => !text.includes('favicon') && !text.includes('404'))).toEqual([]);
  });
});
