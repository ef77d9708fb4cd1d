// Retries, timeouts, sleep and a network that comes back, in Chromium against
// the real FastAPI backend, asserting on what the server counted.
import { expect, test } from '@playwright/test';

import { startServer, startStatic } from '../servers/launch.js';
import { counters, openHarness, pathSeen, repoRoot, resetCounters, setAccessTtl, sleep } from './helpers.js';

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

const OPTIONS = (baseUrl, extra = {}) => ({
  baseUrl,
  public: ['/api/v1/auth/login', '/api/v1/auth/refresh', '/health'],
  login: { url: '/api/v1/auth/login' },
  refresh: { url: '/api/v1/auth/refresh' },
  ...extra,
});

/** Requests as they arrived at the server (also those never answered), by path. */
const arrivals = async () => (await fetch(`${api.origin}/__arrivals`)).json();

async function loggedIn(page, options) {
  await page.evaluate(async (o) => {
    window.gate = h.createAuthGate(o);
    await window.gate.login({ username: 'demo', password: 'demo' });
  }, options);
}

test('503 with Retry-After: 1 twice, then 200: the call resolves and the server saw three requests', async ({ page }) => {
  const errors = await openHarness(page, web);
  await loggedIn(page, OPTIONS(api.origin, { retry: {} }));
  const { result, ms } = await page.evaluate(async () => {
    const t0 = performance.now();
    const result = await h.settle(window.gate.fetch('/api/v1/flaky'));
    return { result, ms: performance.now() - t0 };
  });
  expect(result).toMatchObject({ ok: true, status: 200, body: { owner: 'demo', attempt: 3 } });
  // Retry-After was honoured: two waits of 1 s (the back-off alone would be 300-600 ms each).
  // A lower bound only: a slow machine makes this longer, never shorter.
  expect(ms).toBeGreaterThanOrEqual(1950);
  const seen = await counters(api);
  expect(pathSeen(seen, '/api/v1/flaky').requests).toBe(3);
  expect(pathSeen(seen, '/api/v1/flaky').statuses).toEqual({ 503: 2, 200: 1 });
  expect(pathSeen(seen, '/api/v1/flaky').bearer).toBe(3);
  expect(seen.refreshes).toBe(0);
  expect(errors).toEqual([]);
});

test('a route that never answers: TIMEOUT naming the call and its limit; the server saw one request', async ({ page }) => {
  const errors = await openHarness(page, web);
  await loggedIn(page, OPTIONS(api.origin, { retry: {}, timeoutMs: 1500 }));
  const result = await page.evaluate(() => h.settle(window.gate.fetch('/api/v1/silent')));
  expect(result).toMatchObject({ ok: false, isAuthGateError: true, code: 'TIMEOUT' });
  expect(result.message).toContain(`GET ${api.origin}/api/v1/silent`);
  expect(result.message).toContain('1500 ms');
  await sleep(1500); // a retry would have arrived by now
  expect((await arrivals())['/api/v1/silent']).toBe(1);
  expect(errors).toEqual([]);
});

test('a page that slept two hours: the wake refreshes once, the next calls see no 401', async ({ page }) => {
  await page.clock.install();
  const errors = await openHarness(page, web);
  await loggedIn(page, OPTIONS(api.origin));
  await resetCounters(api);
  // The lid closes: two hours pass and no timer fires. Then the page is visible again.
  const now = await page.evaluate(() => Date.now());
  await page.clock.setSystemTime(now + 2 * 3600_000);
  await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  await expect.poll(async () => (await counters(api)).refreshes).toBe(1); // on wake, before any call
  const calls = await page.evaluate(() =>
    Promise.all(['/api/v1/auth/me', '/api/v1/documents', '/api/v1/auth/me'].map((p) => h.settle(window.gate.fetch(p)))),
  );
  for (const call of calls) expect(call).toMatchObject({ ok: true, status: 200 });
  const seen = await counters(api);
  expect(seen.refreshes).toBe(1);
  expect(seen.status_401).toBe(0);
  expect(errors).toEqual([]);
});

test('two tabs wake from the same sleep: one refresh on the server, both tabs get the new token', async ({ context }) => {
  await context.clock.install();
  const tabs = [await context.newPage(), await context.newPage()];
  const errors = [];
  for (const tab of tabs) errors.push(...(await openHarness(tab, web)));
  const options = OPTIONS(api.origin, { storage: 'local', storageKey: 'wake-tabs' });
  await tabs[0].evaluate(() => localStorage.clear());
  await loggedIn(tabs[0], options);
  await tabs[1].evaluate(async (o) => {
    window.gate = h.createAuthGate(o);
    await window.gate.ready();
  }, options);
  await resetCounters(api);
  const now = await tabs[0].evaluate(() => Date.now());
  await context.clock.setSystemTime(now + 2 * 3600_000);
  await Promise.all(tabs.map((tab) => tab.evaluate(() => document.dispatchEvent(new Event('visibilitychange')))));
  await expect.poll(async () => (await counters(api)).refreshes).toBe(1);
  const calls = await Promise.all(tabs.map((tab) => tab.evaluate(() => h.settle(window.gate.fetch('/api/v1/auth/me')))));
  for (const call of calls) expect(call).toMatchObject({ ok: true, status: 200 });
  const seen = await counters(api);
  expect(seen.refreshes).toBe(1);
  expect(seen.status_401).toBe(0);
  expect(new Set(seen.auth_headers.filter(Boolean)).size).toBe(1); // both tabs used the one new token
  expect(errors).toEqual([]);
});

test('offline through a refresh, then online: the refresh goes at once and a call made right away succeeds', async ({ page, context }) => {
  const errors = await openHarness(page, web);
  await setAccessTtl(api, 3);
  await loggedIn(page, OPTIONS(api.origin, { readyTimeoutMs: 3000 }));
  await setAccessTtl(api, 60);
  await resetCounters(api);
  await context.setOffline(true);
  await sleep(9000); // the token expires; refresh attempts fail and the back-off grows past 8 s
  expect((await counters(api)).refreshes).toBe(0);
  await context.setOffline(false);
  const result = await page.evaluate(() => h.settle(window.gate.fetch('/api/v1/documents')));
  expect(result).toMatchObject({ ok: true, status: 200 });
  const seen = await counters(api);
  expect(seen.refreshes).toBe(1);
  expect(pathSeen(seen, REFRESH).statuses).toEqual({ 200: 1 });
  expect(seen.status_401).toBe(0);
  expect(errors).toEqual([]);
});
