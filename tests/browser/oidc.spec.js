// Signing in through a real OpenID provider (node-oidc-provider, tests/servers/oidc/):
// authorization code + PKCE with its development login and consent forms filled
// by the test, the code exchanged once, refreshes with rotating refresh tokens
// that revoke the grant when presented twice, logout at the provider, and an
// API that accepts only the provider's access tokens. Every assertion that
// matters is on what the provider and the API counted.
import { expect, test } from '@playwright/test';

import { startServer, startStatic } from '../servers/launch.js';
import { refreshGrant } from '../servers/oidc/node-client.js';
import { counters, pathSeen, recorderLog, repoRoot, resetCounters, resetRecorder, sleep } from './helpers.js';

let web;
let idp;
let api;
let recorder;
let pageUrl;
const SCOPE = 'openid offline_access api:read';

test.beforeAll(async () => {
  web = await startStatic(repoRoot);
  pageUrl = `${web.origin}/tests/browser/pages/oidc.html`;
  idp = await startServer('oidc', { redirectUris: pageUrl, accessTtl: 60 });
  [api, recorder] = await Promise.all([
    // The API wants its own scope, which the app asks for beside the OpenID ones.
    startServer('resource', { issuer: idp.issuer, allowOrigin: web.origin, requireScope: 'api:read' }),
    startServer('recorder'),
  ]);
});

test.afterAll(async () => {
  await Promise.all([idp?.stop(), api?.stop(), recorder?.stop(), web?.stop()]);
});

test.beforeEach(async () => {
  await setAccessTtl(60);
  await Promise.all([resetCounters(idp), resetCounters(api), resetRecorder(recorder)]);
});

async function hook(path, init) {
  const res = await fetch(`${idp.origin}${path}`, init);
  if (!res.ok) throw new Error(`${path} on the provider: HTTP ${res.status}`);
  return res.json();
}
const setAccessTtl = (seconds) => hook('/__control', {
  method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ access_ttl: seconds }),
});
/** The provider's successful token responses since the last reset, oldest first. */
const issued = async () => (await hook('/__tokens')).issued;
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));

/** Every page of this browser context gets the servers' addresses before its scripts run. */
async function configure(context, gate = {}) {
  await context.addInitScript((config) => { window.oidcTest = config; },
    { issuer: idp.issuer, clientId: idp.clientId, api: api.origin, scope: SCOPE, gate });
}

async function openApp(page, query = '') {
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`${pageUrl}${query}`);
  await appReady(page);
  return errors;
}

const appReady = (page) => expect(page.locator('html')).toHaveAttribute('data-oidc', 'ready');

/** Calls gate.loginWithRedirect(options) and waits until the page is at the provider. */
async function startLogin(page, options = {}) {
  const outcome = page.evaluate((opts) => window.gate.loginWithRedirect(opts).then(
    () => null,
    (error) => `${error.code}: ${error.message}`,
  ), options).catch((error) => {
    // The navigation to the provider ends the page's context; anything else is a failure.
    if (/context was destroyed|navigat/i.test(error.message)) return null;
    return `(page error) ${error.message}`;
  });
  const refused = outcome.then((message) => {
    if (message) throw new Error(`loginWithRedirect rejected ${message}`);
    return new Promise(() => {}); // resolved or cut short by the navigation: the URL decides
  });
  await Promise.race([page.waitForURL((url) => url.origin === idp.origin), refused]);
}

/** Fills the provider's development login form as `login`, then its consent form. */
async function passProviderForms(page, login = 'alice') {
  await page.locator('input[name="prompt"][value="login"]').waitFor({ state: 'attached' });
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', 'any password');
  await page.click('button[type="submit"]');
  await page.locator('input[name="prompt"][value="consent"]').waitFor({ state: 'attached' });
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.href.startsWith(pageUrl) && url.searchParams.has('code'));
  await appReady(page);
}

/** Opens the app, signs in at the provider and lands back on the redirect URI (callback not handled yet). */
async function reachCallback(page, loginOptions = {}) {
  const errors = await openApp(page);
  await startLogin(page, loginOptions);
  await passProviderForms(page);
  return errors;
}

const handleCallback = (page, url) => page.evaluate((u) => h.settle(window.gate.handleRedirectCallback(u ?? undefined)), url ?? null);

/** Signs in and handles the callback once; the page is then authenticated. */
async function signIn(page, loginOptions = {}) {
  const errors = await reachCallback(page, loginOptions);
  const result = await handleCallback(page);
  expect(result, JSON.stringify(result)).toMatchObject({ ok: true });
  return errors;
}

const callApi = (page, path, n = 1) => page.evaluate(({ p, count }) =>
  Promise.all(Array.from({ length: count }, () => h.settle(window.gate.fetch(p)))), { p: path, count: n });

/**
 * Waits until the newest access token has expired for the API (its JWT exp, one-second
 * granularity) and for the gate, which may count expires_in from when the callback ended
 * (`signedInAt`, a moment after the token was issued).
 */
async function outliveAccessToken(signedInAt, ttlSeconds) {
  const { exp } = claimsOf((await issued()).at(-1).access_token);
  const wait = Math.max(exp * 1000, signedInAt + ttlSeconds * 1000) - Date.now() + 500;
  if (wait > 0) await sleep(wait);
}

test.describe('OpenID Connect: authorization code + PKCE against a real provider', () => {
  test('a full redirect login: PKCE S256, the code exchanged once, the claims in gate.session, a protected call', async ({ page, context }) => {
    await configure(context);
    const errors = await openApp(page);
    const authorizeRequest = page.waitForRequest((r) => r.url().startsWith(`${idp.issuer}/auth?`));
    await startLogin(page, { returnTo: '/dashboard?tab=2' });
    const sent = new URL((await authorizeRequest).url()).searchParams;
    expect(Object.fromEntries([...sent].filter(([k]) => ['response_type', 'client_id', 'redirect_uri', 'code_challenge_method'].includes(k))))
      .toEqual({ response_type: 'code', client_id: idp.clientId, redirect_uri: pageUrl, code_challenge_method: 'S256' });
    expect(sent.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sent.get('state')).toBeTruthy();
    expect(sent.get('nonce')).toBeTruthy();
    expect(sent.get('scope')).toBe(SCOPE);
    expect(sent.get('prompt')).toBeNull(); // the gate adds no prompt=consent

    await passProviderForms(page, 'alice');
    const result = await handleCallback(page);
    expect(result).toEqual({ ok: true, value: { returnTo: '/dashboard?tab=2' } });
    // code, state and iss are gone from the address bar.
    expect(await page.evaluate(() => location.search)).toBe('');

    const [tokens] = await issued();
    expect(await page.evaluate(() => window.gate.state)).toBe('authenticated');
    const [me] = await callApi(page, '/api/me');
    expect(me).toMatchObject({ ok: true, status: 200, body: { sub: 'alice', client_id: idp.clientId } });

    const seen = await counters(idp);
    expect([seen.authorization, seen.logins, seen.consents]).toEqual([1, 1, 1]);
    expect(seen.token_by_grant).toEqual({ authorization_code: 1, refresh_token: 0 });
    expect(seen.token_errors).toBe(0);
    const apiSeen = await counters(api);
    expect(pathSeen(apiSeen, '/api/me')).toMatchObject({ requests: 1, bearer: 1, statuses: { 200: 1 } });
    expect(apiSeen.auth_headers).toEqual([`Bearer ${tokens.access_token}`]);
    const session = await page.evaluate(() => ({ state: window.gate.state, session: window.gate.session }));
    expect(session.session.tokenType).toBe('Bearer');
    expect(session.session.claims).toMatchObject({ iss: idp.issuer, aud: idp.clientId, sub: 'alice' });
    // The granted scope of the access token, which is for the API: its own scope only.
    expect(session.session.scope).toBe('api:read');
    // From expires_in or the JWT's exp: either way within a few seconds of the exp the provider wrote.
    expect(Math.abs(session.session.expiresAt - claimsOf(tokens.access_token).exp * 1000)).toBeLessThan(5000);
    const shown = JSON.stringify(session.session);
    for (const token of [tokens.access_token, tokens.refresh_token, tokens.id_token]) expect(shown).not.toContain(token);

    expect(errors).toEqual([]);
  });

  test('React StrictMode: two callbacks for one redirect exchange the code once and settle alike', async ({ page, context }) => {
    await configure(context);
    const errors = await reachCallback(page, { returnTo: '/after-login' });
    const [first, second, later] = await page.evaluate(async () => {
      // StrictMode runs the callback route's effect twice in one tick, once without a URL and once with it.
      const both = await Promise.all([
        h.settle(window.gate.handleRedirectCallback()),
        h.settle(window.gate.handleRedirectCallback(location.href)),
      ]);
      return [...both, await h.settle(window.gate.handleRedirectCallback())];
    });
    expect(first).toEqual({ ok: true, value: { returnTo: '/after-login' } });
    expect(second).toEqual(first);
    expect(later).toEqual(first);
    const seen = await counters(idp);
    expect(seen.token_by_grant.authorization_code).toBe(1);
    expect(seen.token_errors).toBe(0);
    const [me] = await callApi(page, '/api/me');
    expect(me).toMatchObject({ ok: true, status: 200 });
    expect(errors).toEqual([]);
  });

  test('a tampered state is refused with LOGIN_REQUIRED and the provider sees no token request', async ({ page, context }) => {
    await configure(context);
    const errors = await reachCallback(page);
    const landed = new URL(page.url());
    landed.searchParams.set('state', `${landed.searchParams.get('state')}x`);
    await page.goto(landed.href); // a crafted link with the real code and a state the app never made
    await appReady(page);
    const result = await handleCallback(page);
    expect(result).toMatchObject({ ok: false, isAuthGateError: true, code: 'LOGIN_REQUIRED' });
    expect(await page.evaluate(() => window.gate.ready())).toBe('anonymous');
    const [call] = await callApi(page, '/api/me');
    expect(call).toMatchObject({ ok: false, code: 'NO_TOKEN' });
    const seen = await counters(idp);
    expect(seen.token_requests).toBe(0);
    expect(pathSeen(await counters(api), '/api/me').requests).toBe(0);
    expect(await page.evaluate(() => window.gate.session)).toBeNull();
    expect(errors).toEqual([]);
  });

  test('the user cancels at the provider: LOGIN_REQUIRED with its error_description, no token request', async ({ page, context }) => {
    await configure(context);
    const errors = await openApp(page);
    await startLogin(page);
    await page.locator('input[name="prompt"][value="login"]').waitFor({ state: 'attached' });
    await page.getByRole('link', { name: /Cancel/ }).click();
    await page.waitForURL((url) => url.href.startsWith(pageUrl) && url.searchParams.get('error') === 'access_denied');
    await appReady(page);
    const result = await handleCallback(page);
    expect(result).toMatchObject({ ok: false, isAuthGateError: true, code: 'LOGIN_REQUIRED' });
    expect(result.message).toContain('End-User aborted interaction');
    expect(await page.evaluate(() => window.gate.ready())).toBe('anonymous');
    const seen = await counters(idp);
    expect([seen.authorization, seen.token_requests]).toEqual([1, 0]);
    expect(errors).toEqual([]);
  });

  test('a callback URL opened again after the login is LOGIN_REQUIRED and sends nothing', async ({ page, context }) => {
    await configure(context);
    const errors = await reachCallback(page);
    const landed = page.url();
    expect(await handleCallback(page)).toMatchObject({ ok: true });
    await page.goto(landed); // the back button, or a copied link: the transaction is used up
    await appReady(page);
    const replay = await handleCallback(page);
    expect(replay).toMatchObject({ ok: false, isAuthGateError: true, code: 'LOGIN_REQUIRED' });
    expect((await counters(idp)).token_by_grant).toEqual({ authorization_code: 1, refresh_token: 0 });
    expect(errors).toEqual([]);
  });

  test('20 calls on an expired access token cost one refresh, and all of them go out with the new token', async ({ page, context }) => {
    await configure(context);
    await setAccessTtl(2);
    await signIn(page);
    const signedInAt = Date.now();
    await setAccessTtl(60);
    // The user leaves and comes back after the token expired: the gate starts with an expired session.
    await page.goto('about:blank');
    await outliveAccessToken(signedInAt, 2);
    await Promise.all([resetCounters(idp), resetCounters(api)]);
    const errors = await openApp(page);
    const calls = await callApi(page, '/api/items', 20);
    expect(calls.map((c) => c.status)).toEqual(Array(20).fill(200));

    const seen = await counters(idp);
    expect(seen.token_by_grant).toEqual({ authorization_code: 0, refresh_token: 1 });
    expect([seen.token_errors, seen.reuse_detected]).toEqual([0, 0]);
    const [fresh] = await issued();
    expect(fresh.grant_type).toBe('refresh_token');
    const apiSeen = await counters(api);
    expect(pathSeen(apiSeen, '/api/items')).toMatchObject({ requests: 20, bearer: 20, statuses: { 200: 20 } });
    expect(new Set(apiSeen.auth_headers)).toEqual(new Set([`Bearer ${fresh.access_token}`]));
    expect(errors).toEqual([]);
  });

  test('two tabs on an expired token: one refresh, no refresh token presented twice, nobody logged out', async ({ page, context }) => {
    await configure(context, { storage: 'local' });
    await setAccessTtl(2);
    await signIn(page);
    const signedInAt = Date.now();
    await setAccessTtl(60);
    await page.goto('about:blank');
    await outliveAccessToken(signedInAt, 2);
    await Promise.all([resetCounters(idp), resetCounters(api)]);

    const other = await context.newPage();
    // Both tabs come back at once, each with the same expired token.
    const errors = (await Promise.all([openApp(page), openApp(other)])).flat();
    const [a, b] = await Promise.all([callApi(page, '/api/items', 10), callApi(other, '/api/items', 10)]);
    expect([...a, ...b].map((c) => c.status)).toEqual(Array(20).fill(200));

    const seen = await counters(idp);
    expect(seen.token_by_grant.refresh_token).toBe(1);
    expect([seen.reuse_detected, seen.grants_revoked, seen.token_errors]).toEqual([0, 0, 0]);
    // Both tabs are still signed in and keep working with the one new token.
    for (const tab of [page, other]) {
      expect(await tab.evaluate(() => window.gate.state)).toBe('authenticated');
      expect(await tab.evaluate(() => window.states.includes('anonymous'))).toBe(false);
      const [again] = await callApi(tab, '/api/me');
      expect(again).toMatchObject({ ok: true, status: 200 });
    }
    const [fresh] = await issued();
    expect(new Set((await counters(api)).auth_headers)).toEqual(new Set([`Bearer ${fresh.access_token}`]));
    expect((await counters(idp)).token_by_grant.refresh_token).toBe(1);
    expect(errors).toEqual([]);
  });

  test('logout revokes the refresh token and ends the session at the provider', async ({ page, context }) => {
    await configure(context);
    const errors = await signIn(page);
    const [tokens] = await issued();
    const endSession = page.waitForRequest((r) => r.url().startsWith(`${idp.issuer}/session/end?`));
    const loggingOut = page.evaluate(() => window.gate.logout({ redirect: true })).catch((error) => {
      if (!/context was destroyed|navigat/i.test(error.message)) throw error; // the page navigates away
    });
    const sent = new URL((await Promise.race([endSession, loggingOut.then(() => endSession)])).url()).searchParams;
    expect(Object.fromEntries(sent)).toMatchObject({
      id_token_hint: tokens.id_token, post_logout_redirect_uri: pageUrl, client_id: idp.clientId,
    });
    // The revocation went out before the page left (keepalive), with the refresh token.
    const atLogout = await counters(idp);
    expect(atLogout.revocations).toBe(1);
    expect(atLogout.grants_revoked).toBe(1);

    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL((url) => url.href.startsWith(pageUrl) && !url.searchParams.has('code'));
    await appReady(page);
    expect(await page.evaluate(() => window.gate.ready())).toBe('anonymous');
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
    expect(stored).not.toContain(tokens.refresh_token);
    expect(stored).not.toContain(tokens.access_token);

    const seen = await counters(idp);
    expect([seen.end_session, seen.sessions_ended, seen.revocations]).toEqual([1, 1, 1]);
    // The provider refuses the refresh token now.
    const later = await refreshGrant(idp.issuer, idp.clientId, tokens.refresh_token);
    expect(later.status).toBe(400);
    expect(later.body.error).toBe('invalid_grant');
    expect(await page.evaluate(() => window.gate.session)).toBeNull();
    expect(errors).toEqual([]);
    // The provider's login session is over: signing in again asks for the password.
    await startLogin(page);
    await expect(page.locator('input[name="prompt"][value="login"]')).toHaveCount(1);
  });

  test('the access token never reaches a foreign origin', async ({ page, context }) => {
    await configure(context);
    const errors = await signIn(page);
    const [tokens] = await issued();
    const results = await page.evaluate(async ({ foreign, token }) => ({
      api: await h.settle(window.gate.fetch('/api/me')),
      plain: await h.settle(window.gate.fetch(`${foreign}/collect?x=1`)),
      // The caller puts the gate's own token on a call to another origin.
      smuggled: await h.settle(window.gate.fetch(`${foreign}/collect`, { headers: { Authorization: `Bearer ${token}` } })),
    }), { foreign: recorder.origin, token: tokens.access_token });
    expect(results.api).toMatchObject({ ok: true, status: 200 });
    expect(results.plain).toMatchObject({ ok: true, status: 200 });
    expect(results.smuggled).toMatchObject({ ok: false, code: 'FOREIGN_ORIGIN' });

    const log = await recorderLog(recorder);
    expect(log.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /collect?x=1']);
    const everything = JSON.stringify(log);
    for (const token of [tokens.access_token, tokens.refresh_token, tokens.id_token]) expect(everything).not.toContain(token);
    expect(log.every((r) => !('authorization' in r.headers))).toBe(true);
    // getAccessToken() hands out that same token, for callers outside gate.fetch.
    expect(await page.evaluate(() => window.gate.getAccessToken())).toBe(tokens.access_token);
    expect(errors).toEqual([]);
  });
});
