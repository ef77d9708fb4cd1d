// Where calls go, proven on the servers' own counters in Chromium:
// - a raw fetch('/api/x') routed by guardGlobalFetch('authorize') on a page whose (trusted) origin
//   is not baseUrl's reaches the page's origin, as the browser would have sent it;
// - a gate with a mistyped option under guardGlobalFetch('warn') leaves unrelated traffic alone,
//   refuses raw calls to its API and says why once;
// - a baseUrl with a path is a prefix for call paths (and for the login endpoint).
import { expect, test } from '@playwright/test';

import { startServer, startStatic } from '../servers/launch.js';
import { counters, openHarness, pathSeen, recorderLog, repoRoot, resetCounters, resetRecorder } from './helpers.js';

let web;
let api;
let recorder;

test.beforeAll(async () => {
  // The package is also imported from the recorder's origin: the static server allows that.
  web = await startStatic(repoRoot, { headers: { 'Access-Control-Allow-Origin': '*' } });
  recorder = await startServer('recorder');
  api = await startServer('fastapi', { allowOrigin: [web.origin, recorder.origin] });
});

test.afterAll(async () => {
  await Promise.all([api?.stop(), recorder?.stop(), web?.stop()]);
});

test.beforeEach(async () => {
  await Promise.all([resetCounters(api), resetRecorder(recorder)]);
});

const AUTH = {
  public: ['/api/v1/auth/login', '/api/v1/auth/refresh', '/health'],
  login: { url: '/api/v1/auth/login' },
  refresh: { url: '/api/v1/auth/refresh' },
};

test("a routed raw fetch('/api/x') goes to the page's trusted origin, not to baseUrl's", async ({ page }) => {
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  // The page lives on the recorder's origin, which the gate trusts besides baseUrl (FastAPI).
  await page.goto(`${recorder.origin}/app/page`);
  const result = await page.evaluate(
    async ([packageUrl, options]) => {
      const { createAuthGate } = await import(packageUrl);
      const gate = createAuthGate(options);
      await gate.login({ username: 'demo', password: 'demo' });
      gate.guardGlobalFetch('authorize');
      const response = await fetch('/api/x');
      return { status: response.status, url: response.url, state: gate.state };
    },
    [`${web.origin}/dist/index.js`, { ...AUTH, baseUrl: api.origin, trustedOrigins: [recorder.origin] }],
  );
  expect(result).toEqual({ status: 200, url: `${recorder.origin}/api/x`, state: 'authenticated' });

  const calls = (await recorderLog(recorder)).filter((entry) => entry.path === '/api/x');
  expect(calls.map((entry) => entry.method)).toEqual(['GET']);
  expect(calls[0].headers.authorization).toMatch(/^Bearer ey/); // routed through the gate, with its token
  const seen = await counters(api);
  expect(pathSeen(seen, '/api/x').requests).toBe(0); // and never sent to baseUrl's origin
  expect(pathSeen(seen, '/api/v1/auth/login').requests).toBe(1);
  expect(errors).toEqual([]);
});

test("a gate with a mistyped option under 'warn' leaves unrelated traffic alone", async ({ page }) => {
  const pageErrors = await openHarness(page, web);
  const consoleErrors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  const results = await page.evaluate(
    async ([options, elsewhere]) => {
      const gate = h.createAuthGate(options);
      const ready = await h.settle(gate.ready());
      gate.guardGlobalFetch('warn');
      return {
        ready,
        unrelated: await h.settle(fetch(`${elsewhere}/unrelated`)),
        api: await h.settle(fetch(`${options.baseUrl}/api/v1/documents`)),
        again: await h.settle(fetch(`${elsewhere}/again`)),
      };
    },
    [{ ...AUTH, baseUrl: api.origin, protec: ['/api'] }, recorder.origin],
  );
  expect(results.ready).toMatchObject({ ok: false, code: 'BAD_CONFIG' });
  expect(results.unrelated).toMatchObject({ ok: true, status: 200 });
  expect(results.again).toMatchObject({ ok: true, status: 200 });
  expect(results.api).toMatchObject({ ok: false, code: 'BAD_CONFIG' });
  expect(results.api.message).toContain('protec');

  const paths = (await recorderLog(recorder)).map((entry) => entry.path);
  expect(paths).toEqual(['/unrelated', '/again']);
  expect(pathSeen(await counters(api), '/api/v1/documents').requests).toBe(0); // failed closed, not sent
  const told = consoleErrors.filter((text) => text.includes('protec is not an option'));
  expect(told).toHaveLength(1);
  expect(pageErrors).toEqual([]);
});

test('a baseUrl with a path is a prefix for call paths, with or without a leading slash', async ({ page }) => {
  const pageErrors = await openHarness(page, web);
  const results = await page.evaluate(async (options) => {
    const gate = h.createAuthGate(options);
    await gate.login({ username: 'demo', password: 'demo' }); // /auth/login under the prefix
    return {
      documents: await h.settle(gate.fetch('/documents')),
      me: await h.settle(gate.fetch('auth/me')),
    };
  }, {
    baseUrl: `${api.origin}/api/v1`,
    public: ['/api/v1/auth/login', '/api/v1/auth/refresh'],
    login: { url: '/auth/login' },
    refresh: { url: 'auth/refresh' },
  });
  expect(results.documents).toMatchObject({ ok: true, status: 200, url: `${api.origin}/api/v1/documents` });
  expect(results.me).toMatchObject({ ok: true, status: 200, url: `${api.origin}/api/v1/auth/me` });

  const seen = await counters(api);
  expect(pathSeen(seen, '/api/v1/auth/login')).toMatchObject({ requests: 1, bearer: 0 });
  expect(pathSeen(seen, '/api/v1/documents')).toMatchObject({ requests: 1, bearer: 1, statuses: { 200: 1 } });
  expect(pathSeen(seen, '/api/v1/auth/me')).toMatchObject({ requests: 1, bearer: 1, statuses: { 200: 1 } });
  for (const path of ['/documents', '/auth/me', '/auth/login']) expect(pathSeen(seen, path).requests).toBe(0);
  expect(pageErrors).toEqual([]);
});
