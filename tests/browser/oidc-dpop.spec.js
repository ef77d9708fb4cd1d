// DPoP (RFC 9449) against the real OpenID provider (node-oidc-provider with a nonce required and
// the client registered for DPoP-bound access tokens) and its API, which verifies every proof
// (tests/servers/oidc/resource.js --dpop-nonce: signature with the embedded key, typ, alg, htm,
// htu, iat, jti, ath, the token's cnf.jkt, its own nonce). Signing in is oidc.spec.js's walk
// through the provider's development forms. The assertions are on what the servers counted.
import { expect, test } from '@playwright/test';
import { createHash } from 'node:crypto';

import { startServer, startStatic } from '../servers/launch.js';
import { dpopKey } from '../servers/oidc/node-client.js';
import { counters, pathSeen, repoRoot, resetCounters, sleep } from './helpers.js';

let web;
let idp;
let api;
let pageUrl;
const SCOPE = 'openid offline_access api:read';
const JKT = /^[A-Za-z0-9_-]{43}$/; // a base64url SHA-256 thumbprint

test.beforeAll(async () => {
  web = await startStatic(repoRoot);
  pageUrl = `${web.origin}/tests/browser/pages/oidc.html`;
  idp = await startServer('oidc', { redirectUris: pageUrl, accessTtl: 60, dpopNonce: true, dpopRequired: true });
  api = await startServer('resource', {
    issuer: idp.issuer, allowOrigin: web.origin, requireScope: 'api:read', dpopNonce: true,
  });
});

test.afterAll(async () => {
  await Promise.all([idp?.stop(), api?.stop(), web?.stop()]);
});

test.beforeEach(async () => {
  await setAccessTtl(60);
  await Promise.all([resetCounters(idp), resetCounters(api)]);
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
const headerOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url'));
const sha256url = (text) => createHash('sha256').update(text).digest('base64url');

/** Every page of this browser context gets the servers' addresses and the gate options before its scripts run. */
async function configure(context, gate = {}) {
  await context.addInitScript((config) => { window.oidcTest = config; },
    { issuer: idp.issuer, clientId: idp.clientId, api: api.origin, scope: SCOPE, gate: { dpop: true, ...gate } });
}

const appReady = (page) => expect(page.locator('html')).toHaveAttribute('data-oidc', 'ready');

async function openApp(page) {
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(pageUrl);
  await appReady(page);
  return errors;
}

/** Opens the app, signs in at the provider's forms as alice and handles the callback: authenticated. */
async function signIn(page) {
  const errors = await openApp(page);
  const refusal = page.evaluate(() => window.gate.loginWithRedirect().then(() => null, (e) => `${e.code}: ${e.message}`))
    .catch(() => null); // the navigation to the provider ends the page's context
  await Promise.race([
    page.waitForURL((url) => url.origin === idp.origin),
    // A refusal fails the test; otherwise the URL decides.
    refusal.then((why) => (why ? Promise.reject(new Error(`loginWithRedirect rejected ${why}`)) : new Promise(() => {}))),
  ]);
  await page.locator('input[name="prompt"][value="login"]').waitFor({ state: 'attached' });
  await page.fill('input[name="login"]', 'alice');
  await page.fill('input[name="password"]', 'any password');
  await page.click('button[type="submit"]');
  await page.locator('input[name="prompt"][value="consent"]').waitFor({ state: 'attached' });
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.href.startsWith(pageUrl) && url.searchParams.has('code'));
  await appReady(page);
  const result = await page.evaluate(() => h.settle(window.gate.handleRedirectCallback()));
  expect(result, JSON.stringify(result)).toMatchObject({ ok: true });
  return errors;
}

const callApi = (page, path, n = 1) => page.evaluate(({ p, count }) =>
  Promise.all(Array.from({ length: count }, () => h.settle(window.gate.fetch(p)))), { p: path, count: n });

/** Waits until the newest access token has expired for the API (JWT exp) and for the gate (expires_in). */
async function outliveAccessToken(signedInAt, ttlSeconds) {
  const { exp } = claimsOf((await issued()).at(-1).access_token);
  const wait = Math.max(exp * 1000, signedInAt + ttlSeconds * 1000) - Date.now() + 500;
  if (wait > 0) await sleep(wait);
}

/** A request straight from Node to the API, as someone holding a copied token would send it. */
async function fromNode(path, headers) {
  const res = await fetch(`${api.origin}${path}`, { headers });
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: await res.json() };
}

test.describe('DPoP against the real OpenID provider and a verifying API', () => {
  test('a DPoP login: bound tokens, the token endpoint nonce answered once, a verified call', async ({ page, context }) => {
    await configure(context);
    const errors = await signIn(page);

    const [tokens, ...more] = await issued();
    expect(more).toEqual([]);
    expect(tokens.grant_type).toBe('authorization_code');
    const { jkt } = claimsOf(tokens.access_token).cnf;
    expect(jkt).toMatch(JKT);
    const seen = await counters(idp);
    // The provider requires a nonce: the first exchange is refused with use_dpop_nonce, the retry succeeds.
    expect(seen.token_by_grant).toEqual({ authorization_code: 2, refresh_token: 0 });
    expect(seen.token_error_details.map((e) => e.error)).toEqual(['use_dpop_nonce']);
    expect(seen.token_errors).toBe(1);
    // Both proofs were made with the key the token is bound to.
    expect([seen.dpop_proofs, seen.dpop_jkts]).toEqual([2, [jkt]]);

    const session = await page.evaluate(() => window.gate.session);
    expect(session.claims).toMatchObject({ iss: idp.issuer, sub: 'alice' });

    const [me] = await callApi(page, '/api/me');
    expect(me).toMatchObject({
      ok: true, status: 200, body: { sub: 'alice', client_id: idp.clientId, scope: 'api:read' },
    });
    const apiSeen = await counters(api);
    expect(apiSeen.dpop.accepted).toBe(1);
    expect(apiSeen.dpop.jkts).toEqual([jkt]);
    expect(new Set(apiSeen.auth_headers)).toEqual(new Set([`DPoP ${tokens.access_token}`]));
    expect(pathSeen(apiSeen, '/api/me').bearer).toBe(0);
    expect(errors).toEqual([]);
  });

  test('gate.session.tokenType is DPoP for DPoP-bound tokens, in the tab that signed in and in another one', async ({ page, context }) => {
    await configure(context, { storage: 'local' });
    const errors = await signIn(page);
    const [tokens] = await issued();
    expect(claimsOf(tokens.access_token).cnf.jkt).toMatch(JKT); // the provider issued token_type DPoP
    const other = await context.newPage();
    errors.push(...await openApp(other));
    expect(await other.evaluate(() => window.gate.ready())).toBe('authenticated');
    const types = await Promise.all([page, other].map((tab) => tab.evaluate(() => window.gate.session?.tokenType)));
    expect(types).toEqual(['DPoP', 'DPoP']);
    expect(errors).toEqual([]);
  });

  test('the API\'s nonce challenge costs one extra request, once: the nonce is kept for its origin', async ({ page, context }) => {
    await configure(context);
    const errors = await signIn(page);
    const [tokens] = await issued();

    const [first] = await callApi(page, '/api/me');
    expect(first).toMatchObject({ ok: true, status: 200 });
    let apiSeen = await counters(api);
    expect(pathSeen(apiSeen, '/api/me')).toMatchObject({ requests: 2, statuses: { 401: 1, 200: 1 } });
    expect(apiSeen.dpop.nonce_challenges).toBe(1);
    expect(apiSeen.rejections.map((r) => r.error)).toEqual(['use_dpop_nonce']);

    // Another path on the same origin: one request, with the nonce the API gave.
    const [second] = await callApi(page, '/api/items');
    expect(second).toMatchObject({ ok: true, status: 200 });
    apiSeen = await counters(api);
    expect(pathSeen(apiSeen, '/api/items')).toMatchObject({ requests: 1, statuses: { 200: 1 } });
    expect(apiSeen.dpop.nonce_challenges).toBe(1);
    expect(apiSeen.dpop.accepted).toBe(2);

    // What went out: a proof without a nonce, then two with one and the same nonce, each with its own jti and ath.
    const proofs = apiSeen.dpop_headers.map(claimsOf);
    expect(proofs.map((p) => p.nonce === undefined)).toEqual([true, false, false]);
    expect(proofs[1].nonce).toBe(proofs[2].nonce);
    expect(new Set(proofs.map((p) => p.jti)).size).toBe(3);
    expect(proofs.map((p) => p.htu)).toEqual(['/api/me', '/api/me', '/api/items'].map((path) => `${api.origin}${path}`));
    expect(new Set(proofs.map((p) => p.ath))).toEqual(new Set([sha256url(tokens.access_token)]));
    expect(errors).toEqual([]);
  });

  test('two tabs on an expired DPoP token: one refresh at the provider, one key for every proof, both tabs served', async ({ page, context }) => {
    await configure(context, { storage: 'local' });
    await setAccessTtl(2);
    await signIn(page);
    const signedInAt = Date.now();
    await setAccessTtl(60);
    const [login] = await issued();
    const { jkt } = claimsOf(login.access_token).cnf;
    await page.goto('about:blank');
    await outliveAccessToken(signedInAt, 2);
    await Promise.all([resetCounters(idp), resetCounters(api)]);

    const other = await context.newPage();
    // Both tabs come back at once, each with the same expired token.
    const errors = (await Promise.all([openApp(page), openApp(other)])).flat();
    const [a, b] = await Promise.all([callApi(page, '/api/items', 10), callApi(other, '/api/items', 10)]);
    expect([...a, ...b].map((c) => c.status)).toEqual(Array(20).fill(200));

    const seen = await counters(idp);
    const refreshes = (await issued()).filter((t) => t.grant_type === 'refresh_token');
    expect(refreshes.length).toBe(1);
    // Besides that refresh, at most its one nonce challenge (a reopened tab holds no nonce for the provider).
    const challenges = seen.token_error_details.filter((e) => e.error === 'use_dpop_nonce').length;
    expect(challenges).toBeLessThanOrEqual(1);
    expect(seen.token_errors).toBe(challenges);
    expect(seen.token_by_grant).toEqual({ authorization_code: 0, refresh_token: 1 + challenges });
    expect([seen.reuse_detected, seen.grants_revoked]).toEqual([0, 0]);
    // One key: the refreshed token is bound to the login's key, and every proof either server saw was made with it.
    expect(claimsOf(refreshes[0].access_token).cnf.jkt).toBe(jkt);
    expect(seen.dpop_jkts).toEqual([jkt]);
    const apiSeen = await counters(api);
    expect(apiSeen.dpop.jkts).toEqual([jkt]);
    expect(new Set(apiSeen.auth_headers)).toEqual(new Set([`DPoP ${refreshes[0].access_token}`]));
    // The API refused nothing but missing nonces.
    expect(apiSeen.rejections.every((r) => r.error === 'use_dpop_nonce')).toBe(true);

    for (const tab of [page, other]) {
      expect(await tab.evaluate(() => window.gate.state)).toBe('authenticated');
      expect(await tab.evaluate(() => window.states.includes('anonymous'))).toBe(false);
      const [again] = await callApi(tab, '/api/me');
      expect(again).toMatchObject({ ok: true, status: 200 });
    }
    expect((await counters(idp)).token_by_grant.refresh_token).toBe(1 + challenges);
    expect(errors).toEqual([]);
  });

  test('a copied access token is refused without the key: as Bearer, with another key\'s proof, with a replayed proof', async ({ page, context }) => {
    await configure(context);
    const errors = await signIn(page);
    const [tokens] = await issued();
    await callApi(page, '/api/me'); // the nonce challenge, then an accepted call
    const browserSeen = await counters(api);
    expect(browserSeen.dpop.accepted).toBe(1);
    const authorization = browserSeen.auth_headers.at(-1);
    const browserProof = browserSeen.dpop_headers.at(-1);
    expect(authorization).toBe(`DPoP ${tokens.access_token}`);
    await resetCounters(api);

    const asBearer = await fromNode('/api/me', { Authorization: `Bearer ${tokens.access_token}` });
    expect(asBearer.status).toBe(401);
    expect(asBearer.body.detail).toMatch(/bound to a DPoP key/);

    // A proof from a key made in Node, right in every other way (the API's current nonce included).
    const otherKey = await dpopKey();
    const { nonce } = claimsOf(browserProof);
    const ath = sha256url(tokens.access_token);
    const forged = await otherKey({ htm: 'GET', htu: `${api.origin}/api/me`, ath, nonce });
    expect(headerOf(forged).jwk.x).not.toBe(headerOf(browserProof).jwk.x);
    const withOtherKey = await fromNode('/api/me', { Authorization: authorization, DPoP: forged });
    expect(withOtherKey.status).toBe(401);
    expect(withOtherKey.challenge).toMatch(/^DPoP .*error="invalid_token"/);
    expect(withOtherKey.body.detail).toMatch(/cnf\.jkt/);

    // The browser's own proof, sent again: its jti was used.
    const replayed = await fromNode('/api/me', { Authorization: authorization, DPoP: browserProof });
    expect(replayed.status).toBe(401);
    expect(replayed.challenge).toMatch(/^DPoP .*error="invalid_dpop_proof"/);
    expect(replayed.body.detail).toMatch(/seen before/);

    const apiSeen = await counters(api);
    expect(apiSeen.rejections.map((r) => r.error)).toEqual(['invalid_token', 'invalid_token', 'invalid_dpop_proof']);
    expect(apiSeen.dpop.replays_refused).toBe(1);
    expect(apiSeen.dpop.accepted).toBe(0);
    // The token itself is fine: the tab holding the key still gets through.
    const [again] = await callApi(page, '/api/me');
    expect(again).toMatchObject({ ok: true, status: 200 });
    expect(errors).toEqual([]);
  });

  test('the private key in IndexedDB cannot be exported, and it is the key the proofs name', async ({ page, context }) => {
    await configure(context);
    const errors = await signIn(page);
    await callApi(page, '/api/me');
    const proof = (await counters(api)).dpop_headers.at(-1);
    const stored = await page.evaluate(async () => {
      const db = await new Promise((resolve, reject) => {
        const r = indexedDB.open('authgate');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      // One key per storageKey; the page uses the default storageKey, 'authgate'.
      const record = await new Promise((resolve, reject) => {
        const r = db.transaction('dpop-keys').objectStore('dpop-keys').get('authgate');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      db.close();
      const { privateKey } = record;
      const tries = await Promise.all(['jwk', 'pkcs8'].map((format) =>
        crypto.subtle.exportKey(format, privateKey).then(() => 'exported', (error) => error.name)));
      return {
        extractable: privateKey.extractable,
        type: privateKey.type,
        algorithm: privateKey.algorithm,
        tries,
        jwk: JSON.parse(record.jwk),
      };
    });
    expect(stored.extractable).toBe(false);
    expect(stored.type).toBe('private');
    expect(stored.algorithm).toEqual({ name: 'ECDSA', namedCurve: 'P-256' });
    expect(stored.tries).toEqual(['InvalidAccessError', 'InvalidAccessError']);
    expect(stored.jwk.d).toBeUndefined();
    const { jwk } = headerOf(proof);
    expect([jwk.x, jwk.y]).toEqual([stored.jwk.x, stored.jwk.y]);
    expect(errors).toEqual([]);
  });
});
