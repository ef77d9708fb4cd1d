// Scenario 8: the token never leaves its trusted origin. The recorder is a
// second origin with a permissive CORS policy that logs every header it gets:
// had anything attached the bearer, the browser would really have sent it.
// A common mistake attaches the bearer in an axios interceptor, to whatever
// URL the instance is asked for.
import { expect, test } from '@playwright/test';

import { startServer, startStatic } from '../servers/launch.js';
import { counters, openHarness, pathSeen, recorderLog, repoRoot, resetCounters, resetRecorder } from './helpers.js';

let web;
let api;
let recorder;

test.beforeAll(async () => {
  web = await startStatic(repoRoot);
  [api, recorder] = await Promise.all([startServer('fastapi', { allowOrigin: web.origin }), startServer('recorder')]);
});

test.afterAll(async () => {
  await Promise.all([api?.stop(), recorder?.stop(), web?.stop()]);
});

test.beforeEach(async () => {
  await Promise.all([resetCounters(api), resetRecorder(recorder)]);
});

const OPTIONS = (baseUrl) => ({
  baseUrl,
  public: ['/api/v1/auth/login', '/api/v1/auth/refresh', '/health'],
  login: { url: '/api/v1/auth/login' },
  refresh: { url: '/api/v1/auth/refresh' },
});

const entriesFor = (log, path) => log.filter((entry) => entry.path.startsWith(path));

test.describe('scenario 8: no token leaks to another origin', () => {
  test('without authgate: the interceptor puts the bearer on a call to the recorder', async ({ page }) => {
    await openHarness(page, web);
    await page.evaluate(
      async ([base, elsewhere]) => {
        const { axios } = await h.axios();
        let token = null;
        const api = axios.create({ baseURL: base });
        api.interceptors.request.use((config) => {
          if (token) config.headers.Authorization = `Bearer ${token}`;
          return config;
        });
        token = (await api.post('/api/v1/auth/login', { username: 'demo', password: 'demo' })).data.access_token;
        await api.get(`${elsewhere}/avatar`); // an absolute URL: axios ignores baseURL, the interceptor does not
      },
      [api.origin, recorder.origin],
    );
    const log = await recorderLog(recorder);
    const call = entriesFor(log, '/avatar').find((entry) => entry.method === 'GET');
    expect(call.headers.authorization).toMatch(/^Bearer ey/); // the user's token, now at a third party
  });

  test('with authgate: gate.fetch, the guard and a routed axios send no Authorization to the recorder', async ({ page }) => {
    const pageErrors = await openHarness(page, web);
    const results = await page.evaluate(
      async ([options, elsewhere]) => {
        const gate = h.createAuthGate(options);
        await gate.ready();
        gate.guardGlobalFetch('authorize');
        const { axios, routeThroughGate } = await h.axios();
        const client = axios.create({ baseURL: options.baseUrl });
        routeThroughGate(client, gate);
        await gate.login({ username: 'demo', password: 'demo' });
        return {
          me: await h.settle(gate.fetch('/api/v1/auth/me')),
          viaGate: await h.settle(gate.fetch(`${elsewhere}/via-gate`)),
          viaGuard: await h.settle(fetch(`${elsewhere}/via-guard`)),
          viaAxios: await h.settle(client.get(`${elsewhere}/via-axios`)),
          state: gate.state,
        };
      },
      [OPTIONS(api.origin), recorder.origin],
    );
    expect(results.me).toMatchObject({ ok: true, status: 200 });
    for (const name of ['viaGate', 'viaGuard', 'viaAxios']) expect(results[name]).toMatchObject({ ok: true, status: 200 });
    expect(results.state).toBe('authenticated');

    const log = await recorderLog(recorder);
    for (const path of ['/via-gate', '/via-guard', '/via-axios']) {
      const entries = entriesFor(log, path);
      expect(entries.map((e) => e.method)).toEqual(['GET']); // no preflight either: nothing asked for Authorization
      expect(entries[0].headers).not.toHaveProperty('authorization');
    }
    const bearer = (await counters(api)).auth_headers.find(Boolean);
    expect(JSON.stringify(log)).not.toContain(bearer.slice('Bearer '.length));
    expect(pageErrors).toEqual([]);
  });

  test("with authgate: putting the gate's token on a call to the recorder by hand rejects FOREIGN_ORIGIN", async ({ page }) => {
    const pageErrors = await openHarness(page, web);
    await page.evaluate(async (options) => {
      window.gate = h.createAuthGate(options);
      await window.gate.login({ username: 'demo', password: 'demo' });
      await window.gate.fetch('/api/v1/auth/me');
    }, OPTIONS(api.origin));
    // The token as the app could have copied it (here: as the API received it).
    const bearer = (await counters(api)).auth_headers.find(Boolean);
    expect(bearer).toMatch(/^Bearer ey/);

    const result = await page.evaluate(
      ([elsewhere, authorization]) =>
        h.settle(window.gate.fetch(`${elsewhere}/hand-put`, { headers: { Authorization: authorization } })),
      [recorder.origin, bearer],
    );
    expect(result).toMatchObject({ ok: false, name: 'AuthGateError', code: 'FOREIGN_ORIGIN' });
    expect(result.message).toContain(recorder.origin);
    expect(result.message).not.toContain(bearer.slice('Bearer '.length)); // the error does not repeat the token
    expect(entriesFor(await recorderLog(recorder), '/hand-put')).toEqual([]); // not even a preflight
    expect(await page.evaluate(() => window.gate.state)).toBe('authenticated');
    expect(pageErrors).toEqual([]);
  });

  test('with authgate: a redirect from the trusted API to the recorder does not carry the token along', async ({ page }) => {
    const pageErrors = await openHarness(page, web);
    const result = await page.evaluate(
      async ([options, elsewhere]) => {
        const gate = h.createAuthGate(options);
        await gate.login({ username: 'demo', password: 'demo' });
        return h.settle(gate.fetch(`/api/v1/redirect?to=${encodeURIComponent(`${elsewhere}/landed`)}`));
      },
      [OPTIONS(api.origin), recorder.origin],
    );
    expect(result).toMatchObject({ ok: true, status: 200, url: `${recorder.origin}/landed` });

    const seen = await counters(api);
    // The trusted API got the bearer (its route requires it) and answered the redirect...
    expect(pathSeen(seen, '/api/v1/redirect')).toMatchObject({ requests: 1, bearer: 1, statuses: { 302: 1 } });
    const bearer = seen.auth_headers.find(Boolean);
    // ...and the browser followed it to the recorder without the token.
    const landed = entriesFor(await recorderLog(recorder), '/landed');
    expect(landed.length).toBeGreaterThanOrEqual(1);
    for (const entry of landed) {
      expect(entry.headers).not.toHaveProperty('authorization');
      expect(JSON.stringify(entry.headers)).not.toContain(bearer.slice('Bearer '.length));
    }
    expect(pageErrors).toEqual([]);
  });
});
