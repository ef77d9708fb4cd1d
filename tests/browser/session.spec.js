// The session API in Chromium against the real FastAPI backend: gate.session,
// onSession and getAccessToken after a real login, and LOGIN_FAILED quoting the
// server's own words.
import { expect, test } from '@playwright/test';

import { startServer, startStatic } from '../servers/launch.js';
import { counters, openHarness, repoRoot, resetCounters } from './helpers.js';

let web;
let api;

test.beforeAll(async () => {
  web = await startStatic(repoRoot);
  api = await startServer('fastapi', { allowOrigin: web.origin, accessTtl: 60 });
});

test.afterAll(async () => {
  await Promise.all([api?.stop(), web?.stop()]);
});

test.beforeEach(() => resetCounters(api));

const OPTIONS = (baseUrl) => ({
  baseUrl,
  public: ['/api/v1/auth/login', '/api/v1/auth/refresh', '/health'],
  login: { url: '/api/v1/auth/login' },
  refresh: { url: '/api/v1/auth/refresh' },
});

test('session, onSession and getAccessToken in the page: claims from the token, no token in the session', async ({ page }) => {
  const errors = await openHarness(page, web);
  const result = await page.evaluate(async (o) => {
    const gate = h.createAuthGate(o);
    const heard = [];
    gate.onSession((s) => heard.push(s));
    await gate.ready();
    const before = gate.session;
    await gate.login({ username: 'demo', password: 'demo' });
    const token = await gate.getAccessToken();
    const session = gate.session;
    const ws = await h.settle(fetch(`${o.baseUrl}/api/v1/auth/me`, { headers: { Authorization: `Bearer ${token}` } }));
    await gate.logout();
    return { before, session, heard, ws, leaked: JSON.stringify(heard).includes(token), after: gate.session };
  }, OPTIONS(api.origin));
  expect(result.before).toBeNull();
  expect(result.session).toMatchObject({ tokenType: 'Bearer', claims: { sub: 'demo' } });
  expect(result.session.expiresAt).toBeGreaterThan(Date.now());
  expect(result.heard.length).toBe(2);
  expect(result.heard.at(-1)).toBeNull();
  expect(result.leaked).toBe(false);
  expect(result.ws).toMatchObject({ ok: true, status: 200, body: { username: 'demo' } });
  expect(result.after).toBeNull();
  expect(errors).toEqual([]);
});

test('a refused login rejects LOGIN_FAILED with FastAPI\'s detail in the message', async ({ page }) => {
  const errors = await openHarness(page, web);
  const result = await page.evaluate(
    (o) => h.settle(h.createAuthGate(o).login({ username: 'demo', password: 'wrong' })),
    OPTIONS(api.origin),
  );
  expect(result).toMatchObject({ ok: false, code: 'LOGIN_FAILED', status: 401 });
  expect(result.message).toContain(`POST ${api.origin}/api/v1/auth/login`);
  expect(result.message).toContain('The server said: "Incorrect username or password"');
  expect((await counters(api)).logins).toBe(1);
  expect(errors).toEqual([]);
});
