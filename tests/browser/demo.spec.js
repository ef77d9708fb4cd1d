// The demo page end to end, against the backends scripts/demo.sh starts
// (FastAPI, Flask, Flask whose CORS forgets Authorization), on free ports:
// sign in, run every incident button, check the server counters the page
// shows against GET /__counters, open the second tab, and save screenshots
// at 1280 and 390 px wide into test-results/.
import { expect, test } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { startServer, startStatic } from '../servers/launch.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const shots = fileURLToPath(new URL('../../test-results/', import.meta.url));
let web;
let api;
let flask;
let flaskCors;
let idp;
let resource;

test.beforeAll(async () => {
  web = await startStatic(repoRoot);
  [api, flask, flaskCors, idp] = await Promise.all([
    startServer('fastapi', { allowOrigin: web.origin }),
    startServer('flask', { allowOrigin: web.origin, corsVariant: 'good' }),
    startServer('flask', { allowOrigin: web.origin, corsVariant: 'no-auth-header' }),
    startServer('oidc', { redirectUris: `${web.origin}/web/`, accessTtl: 20 }),
  ]);
  resource = await startServer('resource', { issuer: idp.issuer, allowOrigin: web.origin });
});

test.afterAll(async () => {
  await Promise.all([web?.stop(), api?.stop(), flask?.stop(), flaskCors?.stop(), idp?.stop(), resource?.stop()]);
});

const counters = async (server) => (await fetch(`${server.origin}/__counters`)).json();
const pageUrl = () => `${web.origin}/web/?${new URLSearchParams({
  api: api.origin, flask: flask.origin, flaskCors: flaskCors.origin, idp: idp.origin, rs: resource.origin,
})}`;

/** Runs one incident from its button and returns what the page shows: {plain: {key: n}, gate: {key: n}}. */
async function runIncident(page, id, { keyboard = false } = {}) {
  const article = page.locator(`[data-incident="${id}"]`);
  const button = article.getByRole('button', { name: 'Run both ways' });
  if (keyboard) {
    await button.focus();
    await page.keyboard.press('Enter');
  } else {
    await button.click();
  }
  await expect(article).toHaveAttribute('data-state', 'done', { timeout: 60_000 });
  const shown = {};
  for (const side of ['plain', 'gate']) {
    const section = article.locator(`[data-side="${side}"]`);
    await expect(section).not.toHaveAttribute('data-state', 'error');
    shown[side] = { verdict: await section.locator('.outcome').innerText(), state: await section.getAttribute('data-state') };
    for (const box of await section.locator('[data-counter]').all()) {
      shown[side][await box.getAttribute('data-counter')] = Number(await box.locator('dd').textContent());
    }
  }
  return shown;
}

const delta = (before, after, key) => after[key] - before[key];
const pathDelta = (before, after, path, key) => (after.by_path[path]?.[key] ?? 0) - (before.by_path[path]?.[key] ?? 0);

test('the demo page runs every incident; the counters it shows are the servers\' own', async ({ page, context }) => {
  test.setTimeout(180_000);
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error));
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(pageUrl());

  // The live gate: sign in, call through it, and a call to an untrusted origin leaves without the token.
  await expect(page.locator('#state')).toHaveText('anonymous');
  await page.getByRole('button', { name: 'Call GET /api/v1/auth/me' }).click();
  await expect(page.locator('#result')).toContainText('NO_TOKEN');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.locator('#state')).toHaveText('authenticated');
  await expect(page.locator('#token-left')).toContainText('s left of 20 s');
  await expect(page.locator('#token-next')).toContainText('Next refresh in');
  await page.getByRole('button', { name: 'Call GET /api/v1/auth/me' }).click();
  await expect(page.locator('#result')).toHaveText('200 you are demo');
  await page.getByRole('button', { name: /not trusted/ }).click();
  await expect(page.locator('#result')).toContainText('sent without the token');
  const log = page.getByRole('log');
  await expect(log).toContainText('refused NO_TOKEN');
  await expect(log).toContainText(`${api.origin}/api/v1/auth/me`);
  await expect(log).toContainText('sent without the token: not a trusted origin');

  // 000: the auto-login race (Flask). The first one from the keyboard.
  let before = await counters(flask);
  const race = await runIncident(page, '000', { keyboard: true });
  let after = await counters(flask);
  expect(race.plain.status_401).toBe(2);
  expect(race.gate).toMatchObject({ status_401: 0, route_bearer: 2, refreshes: 1, state: 'good' });
  expect(delta(before, after, 'status_401')).toBe(race.plain.status_401 + race.gate.status_401);
  expect(delta(before, after, 'refreshes')).toBe(race.plain.refreshes + race.gate.refreshes);
  expect(pathDelta(before, after, '/api/dashboard/stats', 'bearer') + pathDelta(before, after, '/api/dashboard/items', 'bearer'))
    .toBe(race.plain.route_bearer + race.gate.route_bearer);
  await expect(log).toContainText('waited for readiness');

  // 001: fifty calls on an expired token (Flask).
  before = await counters(flask);
  const storm = await runIncident(page, '001');
  after = await counters(flask);
  expect(storm.plain.status_401).toBeGreaterThanOrEqual(50);
  expect(storm.plain.refreshes).toBe(50);
  expect(storm.plain.refreshes_refused).toBeGreaterThan(0);
  expect(storm.gate).toMatchObject({ status_401: 0, refreshes: 1, refreshes_refused: 0, state: 'good' });
  expect(storm.gate.verdict).toContain('50 of 50 calls succeeded');
  expect(delta(before, after, 'status_401')).toBe(storm.plain.status_401 + storm.gate.status_401);
  expect(delta(before, after, 'refreshes')).toBe(storm.plain.refreshes + storm.gate.refreshes);
  await expect(log).toContainText('50 × GET');
  await expect(log).toContainText('queued behind the refresh');

  // 002: the raw fetch without its header (FastAPI's 403).
  before = await counters(api);
  const raw = await runIncident(page, '002');
  after = await counters(api);
  expect(raw.plain).toMatchObject({ status_403: 1, route_bearer: 0, route_ok: 0 });
  expect(raw.plain.verdict).toContain('403 {"detail":"Not authenticated"}');
  expect(raw.gate).toMatchObject({ status_403: 0, route_bearer: 1, route_ok: 1, state: 'good' });
  expect(delta(before, after, 'status_403')).toBe(1);
  expect(after.by_path['/api/v1/sessions'].statuses).toMatchObject({ 403: 1, 201: 1 });
  await expect(log).toContainText('raw fetch() caught by guardGlobalFetch');

  // 003: the CORS block that looks like a 401 (Flask, CORS without Authorization).
  before = await counters(flaskCors);
  const cors = await runIncident(page, '003');
  after = await counters(flaskCors);
  for (const side of ['plain', 'gate']) {
    expect(cors[side]).toMatchObject({ route_requests: 0, route_preflights: 1, status_401: 0 });
  }
  expect(cors.plain.verdict).toContain('TypeError');
  expect(cors.gate.verdict).toContain('CORS_OR_NETWORK');
  expect(cors.gate.verdict).toMatch(/Authorization/);
  // No call carrying a bearer ever reached the route (diagnose's probes come after the gate's count).
  expect(pathDelta(before, after, '/api/dashboard/stats', 'bearer')).toBe(0);
  expect(pathDelta(before, after, '/api/dashboard/stats', 'preflights')).toBeGreaterThanOrEqual(2);
  await expect(page.locator('[data-incident="003"] [data-side="gate"] .details')).toContainText('diagnose()');
  await expect(log).toContainText('blocked by CORS');

  // Two tabs (Flask): one refresh between them, and the logout reaches the other tab.
  before = await counters(flask);
  const tabs = await runIncident(page, 'tabs');
  after = await counters(flask);
  expect(tabs.plain).toMatchObject({ refreshes: 2, refreshes_refused: 1 });
  expect(tabs.gate).toMatchObject({ refreshes: 1, refreshes_refused: 0, status_401: 0, state: 'good' });
  expect(tabs.gate.verdict).toContain('refused NO_TOKEN');
  expect(delta(before, after, 'refreshes')).toBe(3);

  // The real second tab: same session, and a logout here signs it out there.
  const [second] = await Promise.all([context.waitForEvent('page'), page.getByRole('link', { name: /second tab/ }).click()]);
  second.on('pageerror', (error) => pageErrors.push(error));
  await expect(second.locator('#state')).toHaveText('authenticated');
  await expect(second.locator('#token-left')).toContainText('s left of');

  // Screenshots, after every incident has run: the laptop width, then the phone width.
  mkdirSync(shots, { recursive: true });
  await page.bringToFront();
  await page.evaluate(() => {
    window.scrollTo(0, 0);
    document.querySelector('.live').scrollTop = 0; // the link click scrolled the sticky card
  });
  const wide = `${shots}demo-1280.png`;
  await page.screenshot({ path: wide, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.evaluate(() => window.scrollTo(0, 0));
  const narrowTop = `${shots}demo-390-top.png`;
  await page.screenshot({ path: narrowTop });
  const narrow = `${shots}demo-390.png`;
  await page.screenshot({ path: narrow, fullPage: true });
  console.log(`screenshots:\n  ${wide}\n  ${narrowTop}\n  ${narrow}`);
  await page.setViewportSize({ width: 1280, height: 900 });

  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await expect(page.locator('#state')).toHaveText('anonymous');
  await expect(second.locator('#state')).toHaveText('anonymous');
  await expect(second.getByRole('log')).toContainText('the other tab logged out');

  // No token any server saw is on either page.
  const seen = (await Promise.all([api, flask, flaskCors].map(counters))).flatMap((c) => c.auth_headers);
  const tokens = [...new Set(seen.filter((v) => v?.startsWith('Bearer ')).map((v) => v.slice('Bearer '.length)))]
    .filter((t) => t.length > 40);
  expect(tokens.length).toBeGreaterThan(0);
  for (const p of [page, second]) {
    const html = await p.content();
    for (const token of tokens) expect(html).not.toContain(token);
  }
  expect(pageErrors).toEqual([]);
});

test('the demo page signs in through the OpenID provider and calls its API', async ({ page }) => {
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error));
  await page.goto(pageUrl());
  await page.getByRole('button', { name: 'Sign in with the OpenID provider' }).click();
  // At the provider, or the page says why not.
  const refusal = page.locator('#oidc-status').filter({ hasText: /Error|[A-Z]+_[A-Z]+:/ });
  const refused = await Promise.race([
    page.waitForURL((url) => url.origin === idp.origin).then(() => null),
    refusal.waitFor().then(() => refusal.textContent(), () => null),
  ]);
  expect(refused, 'the page did not go to the provider').toBeNull();
  await page.fill('input[name="login"]', 'alice');
  await page.fill('input[name="password"]', 'any password');
  await page.click('button[type="submit"]');
  await page.locator('input[name="prompt"][value="consent"]').waitFor({ state: 'attached' });
  await page.click('button[type="submit"]');
  // Back on the page, without its query: it finds its servers again and handles the callback.
  await expect(page.locator('#oidc-status')).toHaveText('GET /api/me → 200 you are alice');
  await expect(page.getByRole('button', { name: 'Log out at the provider' })).toBeVisible();
  const log = page.getByRole('log');
  await expect(log).toContainText('code exchange with the PKCE verifier, once');
  await expect(log).toContainText(`${resource.origin}/api/me`);
  const seen = await counters(idp);
  expect(seen.token_by_grant).toEqual({ authorization_code: 1, refresh_token: 0 });
  expect((await counters(resource)).by_path['/api/me']).toMatchObject({ requests: 1, bearer: 1, statuses: { 200: 1 } });
  expect(pageErrors).toEqual([]);
});
