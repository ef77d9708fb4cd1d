// Self-check of the real test backends, without a browser: each server behaves
// the way the incident it reproduces says (status codes, token rotation, CORS
// answers) and its counters tell the truth. Run: node tests/servers/check_servers.mjs
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { startServer } from './launch.js';
import { authorize, dpopKey, refreshGrant, revoke, tokenRequest } from './oidc/node-client.js';

const PAGE = 'http://127.0.0.1:5173'; // the page origin the servers are told to allow
const OTHER = 'http://127.0.0.1:5999';

async function call(base, method, path, { token, json, headers = {} } = {}) {
  const res = await fetch(base + path, {
    method,
    redirect: 'manual',
    headers: {
      ...(token && { Authorization: `Bearer ${token}` }),
      ...(json && { 'Content-Type': 'application/json' }),
      ...headers,
    },
    body: json && JSON.stringify(json),
  });
  const text = await res.text();
  let body = text;
  try { body = JSON.parse(text); } catch { /* not JSON: keep the text */ }
  return { status: res.status, headers: res.headers, body };
}

// What a browser sends before a GET that carries Authorization.
const preflight = (base, path, origin, requestHeaders = 'authorization') => call(base, 'OPTIONS', path, {
  headers: { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': requestHeaders },
});

const allowedHeaders = (res) => (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

function assertCorsAllowsBearer(res, origin) {
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), origin);
  assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  assert.ok(allowedHeaders(res).includes('authorization'), `allow-headers: ${allowedHeaders(res)}`);
}

const checks = [];
const check = (name, fn) => checks.push({ name, fn });

const [fastapi, flask, flaskBad, django, recorder] = await Promise.all([
  startServer('fastapi', { allowOrigin: PAGE }),
  startServer('flask', { allowOrigin: PAGE, corsVariant: 'good' }),
  startServer('flask', { allowOrigin: PAGE, corsVariant: 'no-auth-header' }),
  startServer('django', { allowOrigin: PAGE }),
  startServer('recorder'),
]);
const nginx = await startServer('nginx', { upstreamPort: flask.port });
const CALLBACK = `${PAGE}/callback.html`;
const oidc = await startServer('oidc', { redirectUris: CALLBACK, accessTtl: 30 });
const resource = await startServer('resource', { issuer: oidc.issuer, allowOrigin: PAGE });
const servers = [fastapi, flask, flaskBad, django, recorder, nginx, oidc, resource];

// ---- FastAPI (the missing bearer, CORS) ----
const F = fastapi.origin;
const fastapiLogin = async () => (await call(F, 'POST', '/api/v1/auth/login',
  { json: { username: 'demo', password: 'demo' } })).body;

check('fastapi: /health is public', async () => {
  assert.equal((await call(F, 'GET', '/health')).status, 200);
});

check('fastapi: no Authorization header -> 403 "Not authenticated" (HTTPBearer)', async () => {
  for (const [method, path] of [['GET', '/api/v1/auth/me'], ['POST', '/api/v1/sessions'], ['GET', '/api/v1/documents']]) {
    const res = await call(F, method, path, { headers: { Cookie: 'access_token=whatever' } });
    assert.equal(res.status, 403, path);
    assert.deepEqual(res.body, { detail: 'Not authenticated' });
  }
});

check('fastapi: wrong password -> 401', async () => {
  const res = await call(F, 'POST', '/api/v1/auth/login', { json: { username: 'demo', password: 'nope' } });
  assert.equal(res.status, 401);
});

check('fastapi: login returns a bearer pair whose JWT exp matches expires_in', async () => {
  const body = await fastapiLogin();
  assert.equal(body.token_type, 'bearer');
  assert.equal(body.expires_in, 20);
  assert.ok(body.refresh_token);
  const { exp, iat } = claims(body.access_token);
  assert.equal(exp - iat, body.expires_in);
});

check('fastapi: the bearer opens every protected route; a forged one gets 401', async () => {
  const { access_token: token } = await fastapiLogin();
  assert.deepEqual((await call(F, 'GET', '/api/v1/auth/me', { token })).body, { username: 'demo' });
  assert.equal((await call(F, 'POST', '/api/v1/sessions', { token })).status, 201);
  assert.equal((await call(F, 'GET', '/api/v1/documents', { token })).status, 200);
  const forged = `${token.slice(0, -4)}AAAA`;
  assert.equal((await call(F, 'GET', '/api/v1/auth/me', { token: forged })).status, 401);
});

check('fastapi: refresh rotates; a used or unknown refresh token -> 401', async () => {
  const first = await fastapiLogin();
  const second = await call(F, 'POST', '/api/v1/auth/refresh', { json: { refresh: first.refresh_token } });
  assert.equal(second.status, 200);
  assert.notEqual(second.body.refresh_token, first.refresh_token);
  assert.notEqual(second.body.access_token, first.access_token);
  assert.equal((await call(F, 'GET', '/api/v1/auth/me', { token: second.body.access_token })).status, 200);
  assert.equal((await call(F, 'POST', '/api/v1/auth/refresh', { json: { refresh: first.refresh_token } })).status, 401);
  assert.equal((await call(F, 'POST', '/api/v1/auth/refresh', { json: { refresh: 'unknown' } })).status, 401);
  assert.equal((await call(F, 'POST', '/api/v1/auth/refresh', { json: { refresh: second.body.refresh_token } })).status, 200);
});

check('fastapi: /__revoke ends every refresh token, access tokens live on', async () => {
  const pair = await fastapiLogin();
  await call(F, 'POST', '/__revoke');
  assert.equal((await call(F, 'POST', '/api/v1/auth/refresh', { json: { refresh: pair.refresh_token } })).status, 401);
  assert.equal((await call(F, 'GET', '/api/v1/auth/me', { token: pair.access_token })).status, 200);
});

check('fastapi: /__control shortens the access lifetime; an expired token -> 401', async () => {
  await call(F, 'POST', '/__control', { json: { access_ttl: 1 } });
  try {
    const pair = await fastapiLogin();
    assert.equal(pair.expires_in, 1);
    await sleep(2100); // exp has one-second granularity
    assert.equal((await call(F, 'GET', '/api/v1/auth/me', { token: pair.access_token })).status, 401);
  } finally {
    await call(F, 'POST', '/__control', { json: { access_ttl: 20 } });
  }
});

check('fastapi: preflight allows the page origin with credentials and Authorization, refuses others', async () => {
  assertCorsAllowsBearer(await preflight(F, '/api/v1/auth/me', PAGE), PAGE);
  const refused = await preflight(F, '/api/v1/auth/me', OTHER);
  assert.equal(refused.status, 400);
  assert.equal(refused.headers.get('access-control-allow-origin'), null);
});

check('fastapi: counters record statuses, preflights and Authorization headers; /__reset zeroes them', async () => {
  await call(F, 'POST', '/__reset');
  const { access_token: token } = await fastapiLogin();
  await call(F, 'GET', '/api/v1/auth/me');
  await call(F, 'GET', '/api/v1/auth/me', { token });
  await call(F, 'GET', '/api/v1/auth/me', { token: 'bad' });
  await preflight(F, '/api/v1/auth/me', PAGE);
  const seen = (await call(F, 'GET', '/__counters')).body;
  assert.equal(seen.requests, 4);
  assert.equal(seen.preflights, 1);
  assert.equal(seen.logins, 1);
  assert.equal(seen.status_403, 1);
  assert.equal(seen.status_401, 1);
  assert.deepEqual(seen.auth_headers, [null, null, `Bearer ${token}`, 'Bearer bad']);
  assert.deepEqual(seen.by_path['/api/v1/auth/me'], { requests: 3, preflights: 1, bearer: 2, statuses: { 200: 1, 401: 1, 403: 1 } });
  await call(F, 'POST', '/__reset');
  const zero = (await call(F, 'GET', '/__counters')).body;
  assert.deepEqual([zero.requests, zero.auth_headers, zero.by_path], [0, [], {}]);
});

// ---- Flask, its two CORS shapes, and nginx in front (the start-up race) ----
const flaskLogin = async (base) => (await call(base, 'POST', '/api/auth/login',
  { json: { username: 'demo', password: 'demo' } })).body;

check('flask good: preflight allows Authorization with credentials', async () => {
  assertCorsAllowsBearer(await preflight(flask.origin, '/api/dashboard/stats', PAGE), PAGE);
});

check('flask no-auth-header: preflight allows the origin but not Authorization', async () => {
  const res = await preflight(flaskBad.origin, '/api/dashboard/stats', PAGE);
  assert.equal(res.status, 200); // looks fine to curl, fails in the browser
  assert.equal(res.headers.get('access-control-allow-origin'), PAGE);
  assert.ok(!allowedHeaders(res).includes('authorization'));
  const plain = await preflight(flaskBad.origin, '/api/dashboard/stats', PAGE, 'content-type');
  assert.deepEqual(allowedHeaders(plain), ['content-type']);
});

check('flask: login (no expires_in, JWT exp), 401 without a bearer, refresh rotates, /__control', async () => {
  const B = flask.origin;
  const pair = await flaskLogin(B);
  assert.equal(pair.expires_in, undefined);
  assert.ok(claims(pair.access_token).exp > Date.now() / 1000);
  assert.equal((await call(B, 'GET', '/api/dashboard/stats')).status, 401);
  assert.equal((await call(B, 'GET', '/api/dashboard/items', { token: 'x.y.z' })).status, 401);
  assert.equal((await call(B, 'GET', '/api/dashboard/items', { token: pair.access_token })).status, 200);
  assert.equal((await call(B, 'GET', '/api/health')).status, 200);
  const next = await call(B, 'POST', '/api/auth/refresh', { json: { refresh: pair.refresh_token } });
  assert.equal(next.status, 200);
  assert.equal((await call(B, 'POST', '/api/auth/refresh', { json: { refresh: pair.refresh_token } })).status, 401);
  await call(B, 'POST', '/__revoke');
  assert.equal((await call(B, 'POST', '/api/auth/refresh', { json: { refresh: next.body.refresh_token } })).status, 401);
  await call(B, 'POST', '/__control', { json: { access_ttl: 7 } });
  const { exp, iat } = claims((await flaskLogin(B)).access_token);
  assert.equal(exp - iat, 7);
});

check('nginx -> flask: Authorization and the CORS answers pass through the proxy', async () => {
  await call(flask.origin, 'POST', '/__reset');
  assertCorsAllowsBearer(await preflight(nginx.origin, '/api/dashboard/stats', PAGE), PAGE);
  const { access_token: token } = await flaskLogin(nginx.origin);
  const res = await call(nginx.origin, 'GET', '/api/dashboard/stats', { token, headers: { Origin: PAGE } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), PAGE);
  const seen = (await call(flask.origin, 'GET', '/__counters')).body;
  assert.equal(seen.by_path['/api/dashboard/stats'].bearer, 1);
  assert.equal(seen.auth_headers.at(-1), `Bearer ${token}`);
});

// ---- Django REST framework + simplejwt (the refresh storm) ----
const D = django.origin;
const STATUS = '/api/v1/backup/system/system_status/';
const djangoLogin = async () => (await call(D, 'POST', '/api/v1/auth/token/',
  { json: { username: 'admin', password: 'test123' } })).body;

check('django: token pair {access, refresh}; the status route needs the bearer', async () => {
  const pair = await djangoLogin();
  assert.deepEqual(Object.keys(pair).sort(), ['access', 'refresh']);
  assert.equal((await call(D, 'GET', STATUS)).status, 401);
  const res = await call(D, 'GET', STATUS, { token: pair.access });
  assert.equal(res.status, 200);
  assert.equal(res.body.status, 'healthy');
});

check('django: refresh rotates and blacklists the old token; /__revoke ends the new one', async () => {
  const pair = await djangoLogin();
  const next = await call(D, 'POST', '/api/v1/auth/token/refresh/', { json: { refresh: pair.refresh } });
  assert.equal(next.status, 200);
  assert.ok(next.body.refresh && next.body.refresh !== pair.refresh);
  const reused = await call(D, 'POST', '/api/v1/auth/token/refresh/', { json: { refresh: pair.refresh } });
  assert.equal(reused.status, 401);
  assert.equal(reused.body.detail, 'Token is blacklisted');
  await call(D, 'POST', '/__revoke');
  assert.equal((await call(D, 'POST', '/api/v1/auth/token/refresh/', { json: { refresh: next.body.refresh } })).status, 401);
  assert.equal((await call(D, 'GET', STATUS, { token: next.body.access })).status, 200);
  const fresh = await djangoLogin(); // a login after a revoke starts a working session again
  assert.equal((await call(D, 'POST', '/api/v1/auth/token/refresh/', { json: { refresh: fresh.refresh } })).status, 200);
});

check('django: /__control sets the lifetime of new access tokens', async () => {
  await call(D, 'POST', '/__control', { json: { access_ttl: 7 } });
  const { exp, iat } = claims((await djangoLogin()).access);
  await call(D, 'POST', '/__control', { json: { access_ttl: 20 } });
  assert.equal(exp - iat, 7);
});

check('django: preflight allows the page origin with credentials and Authorization', async () => {
  assertCorsAllowsBearer(await preflight(D, STATUS, PAGE), PAGE);
});

check('django: 50 concurrent protected requests all succeed and are all counted', async () => {
  const { access: token } = await djangoLogin();
  await call(D, 'POST', '/__reset');
  const statuses = await Promise.all(Array.from({ length: 50 }, () => call(D, 'GET', STATUS, { token }).then((r) => r.status)));
  assert.deepEqual([...new Set(statuses)], [200]);
  const seen = (await call(D, 'GET', '/__counters')).body;
  assert.equal(seen.by_path[STATUS].bearer, 50);
});

// ---- the OpenID provider and its resource server ----
const I = oidc.issuer;
const API = resource.origin;
const providerSeen = async () => (await call(I, 'GET', '/__counters')).body;
const signIn = (extra) => authorize({ issuer: I, clientId: oidc.clientId, redirectUri: CALLBACK, ...extra });
const exchange = (back, fields = {}) => tokenRequest(I, {
  grant_type: 'authorization_code', client_id: oidc.clientId, code: back.code,
  redirect_uri: CALLBACK, code_verifier: back.verifier, ...fields,
});

check('oidc: discovery names the issuer, S256 only, revocation and end_session', async () => {
  const doc = (await call(I, 'GET', '/.well-known/openid-configuration')).body;
  assert.equal(doc.issuer, I);
  assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
  assert.equal(doc.token_endpoint, `${I}/token`);
  assert.equal(doc.revocation_endpoint, `${I}/token/revocation`);
  assert.equal(doc.end_session_endpoint, `${I}/session/end`);
  assert.equal(doc.authorization_response_iss_parameter_supported, true);
});

check('oidc: an authorization request without PKCE is refused at the redirect URI', async () => {
  const back = await signIn({ extra: { code_challenge: '', code_challenge_method: '' } }).catch((err) => err);
  assert.equal(back.code ?? null, null, 'no code without PKCE');
  assert.equal(back.error, 'invalid_request');
});

check('oidc: code + PKCE through the dev forms, a JWT access token the resource server accepts', async () => {
  await call(I, 'POST', '/__reset');
  await call(API, 'POST', '/__reset');
  const back = await signIn({ login: 'alice' });
  assert.ok(back.code, back.url);
  assert.equal(back.iss, I); // RFC 9207
  assert.equal(back.forms, 2); // login, then consent
  const wrongVerifier = await exchange(back, { code_verifier: 'x'.repeat(43) });
  assert.equal(wrongVerifier.status, 400);
  assert.equal(wrongVerifier.body.error, 'invalid_grant');
  const back2 = await signIn({ login: 'alice', jar: back.jar }); // same browser: consent remembered, no form
  assert.equal(back2.forms, 0);
  const tokens = await exchange(back2, {});
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.equal(tokens.body.token_type, 'Bearer');
  assert.equal(tokens.body.expires_in, 30);
  assert.ok(tokens.body.refresh_token && tokens.body.id_token);
  const at = claims(tokens.body.access_token);
  assert.deepEqual([at.iss, at.aud, at.sub, at.client_id], [I, oidc.resource, 'alice', oidc.clientId]);
  const id = claims(tokens.body.id_token);
  assert.deepEqual([id.iss, id.aud, id.sub], [I, oidc.clientId, 'alice']);
  assert.equal((await exchange(back2)).status, 400, 'a code works once');
  const me = await call(API, 'GET', '/api/me', { token: tokens.body.access_token, headers: { Origin: PAGE } });
  assert.equal(me.status, 200);
  assert.deepEqual(me.body, { sub: 'alice', client_id: oidc.clientId, scope: at.scope ?? null });
  assert.equal(me.headers.get('access-control-allow-origin'), PAGE);
  assert.equal((await call(API, 'GET', '/api/items', { token: tokens.body.access_token })).status, 200);
  const seen = await providerSeen();
  assert.deepEqual([seen.authorization, seen.logins, seen.consents], [2, 1, 1]);
  assert.deepEqual(seen.token_by_grant, { authorization_code: 3, refresh_token: 0 });
  assert.equal(seen.token_errors, 2);
  const issued = (await call(I, 'GET', '/__tokens')).body.issued;
  assert.deepEqual(issued.map((t) => t.access_token), [tokens.body.access_token]);
});

check('oidc: refresh rotates; the old refresh token presented again revokes the whole grant', async () => {
  await call(I, 'POST', '/__reset');
  const back = await signIn();
  const first = (await exchange(back)).body;
  const second = await refreshGrant(I, oidc.clientId, first.refresh_token);
  assert.equal(second.status, 200, JSON.stringify(second.body));
  assert.notEqual(second.body.refresh_token, first.refresh_token);
  assert.equal((await call(API, 'GET', '/api/me', { token: second.body.access_token })).status, 200);
  const reused = await refreshGrant(I, oidc.clientId, first.refresh_token);
  assert.equal(reused.status, 400);
  assert.equal(reused.body.error, 'invalid_grant');
  const afterReuse = await refreshGrant(I, oidc.clientId, second.body.refresh_token);
  assert.equal(afterReuse.status, 400, 'the newest refresh token died with the grant');
  const seen = await providerSeen();
  assert.deepEqual(seen.token_by_grant, { authorization_code: 1, refresh_token: 3 });
  assert.deepEqual([seen.reuse_detected, seen.token_errors, seen.grants_revoked], [1, 2, 1]);
  assert.equal(seen.token_error_details[0].detail, 'refresh token already used');
});

check('oidc: revocation (RFC 7009) ends the refresh token; the access JWT lives until exp', async () => {
  await call(I, 'POST', '/__reset');
  const tokens = (await exchange(await signIn())).body;
  assert.equal(await revoke(I, oidc.clientId, tokens.refresh_token), 200);
  assert.equal((await refreshGrant(I, oidc.clientId, tokens.refresh_token)).status, 400);
  assert.equal((await call(API, 'GET', '/api/me', { token: tokens.access_token })).status, 200);
  const seen = await providerSeen();
  assert.deepEqual([seen.revocations, seen.grants_revoked, seen.reuse_detected], [1, 1, 0]);
});

check('oidc: CORS on the token endpoint for the page origin only; /__control sets the access lifetime', async () => {
  const pre = await call(I, 'OPTIONS', '/token', { headers: { Origin: PAGE, 'Access-Control-Request-Method': 'POST' } });
  assert.equal(pre.headers.get('access-control-allow-origin'), PAGE);
  const back = await signIn();
  const refused = await tokenRequest(I, {
    grant_type: 'authorization_code', client_id: oidc.clientId, code: back.code, redirect_uri: CALLBACK, code_verifier: back.verifier,
  }, { origin: OTHER });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error, 'invalid_request'); // origin not allowed for this client
  await call(I, 'POST', '/__control', { json: { access_ttl: 1 } });
  try {
    const tokens = (await exchange(await signIn())).body;
    assert.equal(tokens.expires_in, 1);
    await sleep(2100); // exp has one-second granularity
    const expired = await call(API, 'GET', '/api/me', { token: tokens.access_token });
    assert.equal(expired.status, 401);
    assert.match(expired.headers.get('www-authenticate'), /error="invalid_token"/);
  } finally {
    await call(I, 'POST', '/__control', { json: { access_ttl: 30 } });
  }
});

check('resource --require-scope: a valid token without the scope -> 403 insufficient_scope; with it -> 200', async () => {
  const scoped = await startServer('resource', { issuer: I, requireScope: 'api:read' });
  try {
    const without = (await exchange(await signIn())).body;
    assert.equal(without.scope, ''); // the access token is for the API: OpenID scopes are not its scopes
    const refused = await call(scoped.origin, 'GET', '/api/me', { token: without.access_token });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="authgate-test-api", error="insufficient_scope", scope="api:read"');
    const withScope = (await exchange(await signIn({ scope: 'openid offline_access api:read' }))).body;
    assert.equal(withScope.scope, 'api:read');
    assert.equal((await call(scoped.origin, 'GET', '/api/me', { token: withScope.access_token })).body.scope, 'api:read');
    assert.equal((await call(scoped.origin, 'GET', '/__counters')).body.status_403, 1);
  } finally {
    await scoped.stop();
  }
});

check('oidc --strict-offline-access: the library rule, no refresh token without prompt=consent', async () => {
  const strict = await startServer('oidc', { redirectUris: CALLBACK, strictOfflineAccess: true });
  try {
    const back = await authorize({ issuer: strict.issuer, clientId: strict.clientId, redirectUri: CALLBACK });
    const plain = await tokenRequest(strict.issuer, {
      grant_type: 'authorization_code', client_id: strict.clientId, code: back.code, redirect_uri: CALLBACK, code_verifier: back.verifier,
    });
    assert.equal(plain.status, 200);
    assert.equal(plain.body.refresh_token, undefined);
    const consented = await authorize({ issuer: strict.issuer, clientId: strict.clientId, redirectUri: CALLBACK, jar: back.jar, extra: { prompt: 'consent' } });
    const offline = await tokenRequest(strict.issuer, {
      grant_type: 'authorization_code', client_id: strict.clientId, code: consented.code, redirect_uri: CALLBACK, code_verifier: consented.verifier,
    });
    assert.ok(offline.body.refresh_token, JSON.stringify(offline.body));
  } finally {
    await strict.stop();
  }
});

check('oidc --dpop-nonce: a proof without the nonce -> 400 use_dpop_nonce with DPoP-Nonce; with it -> a DPoP-bound token', async () => {
  const strict = await startServer('oidc', { redirectUris: CALLBACK, dpopNonce: true, allowOrigin: PAGE });
  try {
    const back = await authorize({ issuer: strict.issuer, clientId: strict.clientId, redirectUri: CALLBACK });
    const proof = await dpopKey();
    const fields = { grant_type: 'authorization_code', client_id: strict.clientId, code: back.code, redirect_uri: CALLBACK, code_verifier: back.verifier };
    const htu = `${strict.issuer}/token`;
    const first = await tokenRequest(strict.issuer, fields, { dpop: await proof({ htm: 'POST', htu }), origin: PAGE });
    assert.equal(first.status, 400);
    assert.equal(first.body.error, 'use_dpop_nonce');
    const nonce = first.headers.get('dpop-nonce');
    assert.ok(nonce);
    assert.match(first.headers.get('access-control-expose-headers') ?? '', /DPoP-Nonce/i);
    const second = await tokenRequest(strict.issuer, fields, { dpop: await proof({ htm: 'POST', htu, nonce }), origin: PAGE });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.body.token_type, 'DPoP');
    assert.ok(claims(second.body.access_token).cnf.jkt);
    // A DPoP-bound token is no bearer token at the API.
    const api = await startServer('resource', { issuer: strict.issuer });
    try {
      const asBearer = await call(api.origin, 'GET', '/api/me', { token: second.body.access_token });
      assert.equal(asBearer.status, 401);
      assert.match(asBearer.body.detail, /bound to a DPoP key/);
    } finally {
      await api.stop();
    }
  } finally {
    await strict.stop();
  }
});

check('resource --dpop-nonce: a bound token and a verified proof; nonce, replay, key, scheme, htm, htu, iat, ath', async () => {
  const strict = await startServer('oidc', { redirectUris: CALLBACK, dpopNonce: true, dpopRequired: true });
  const api = await startServer('resource', { issuer: strict.issuer, dpopNonce: true });
  try {
    const proof = await dpopKey();
    const back = await authorize({ issuer: strict.issuer, clientId: strict.clientId, redirectUri: CALLBACK });
    const fields = {
      grant_type: 'authorization_code', client_id: strict.clientId, code: back.code, redirect_uri: CALLBACK, code_verifier: back.verifier,
    };
    const htuToken = `${strict.issuer}/token`;
    const challenged = await tokenRequest(strict.issuer, fields, { dpop: await proof({ htm: 'POST', htu: htuToken }) });
    const retry = await proof({ htm: 'POST', htu: htuToken, nonce: challenged.headers.get('dpop-nonce') });
    const { body: tokens } = await tokenRequest(strict.issuer, fields, { dpop: retry });
    const token = tokens.access_token;
    const jkt = claims(token).cnf.jkt;
    const atProvider = (await call(strict.origin, 'GET', '/__counters')).body;
    assert.deepEqual([atProvider.dpop_proofs, atProvider.dpop_jkts], [2, [jkt]]);
    const htu = `${api.origin}/api/me`;
    const ath = createHash('sha256').update(token).digest('base64url');
    const send = (dpop, scheme = 'DPoP') => call(api.origin, 'GET', '/api/me', {
      headers: { Authorization: `${scheme} ${token}`, ...(dpop && { DPoP: dpop }) },
    });
    const wwwAuth = (res) => res.headers.get('www-authenticate');

    const first = await send(await proof({ htm: 'GET', htu, ath }));
    assert.equal(first.status, 401);
    assert.match(wwwAuth(first), /^DPoP .*error="use_dpop_nonce"/);
    const nonce = first.headers.get('dpop-nonce');
    assert.ok(nonce);
    const good = await proof({ htm: 'GET', htu, ath, nonce });
    const ok = await send(good);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.sub, 'alice');
    const again = await send(await proof({ htm: 'GET', htu, ath, nonce }));
    assert.equal(again.status, 200, 'the nonce is kept, not single-use');

    const refusals = {
      replayed: await send(good),
      otherKey: await send(await (await dpopKey())({ htm: 'GET', htu, ath, nonce })),
      asBearer: await send(undefined, 'Bearer'),
      noProof: await send(undefined),
      htm: await send(await proof({ htm: 'POST', htu, ath, nonce })),
      htu: await send(await proof({ htm: 'GET', htu: `${htu}?x=1`, ath, nonce })),
      iat: await send(await proof({ htm: 'GET', htu, ath, nonce, iat: Math.floor(Date.now() / 1000) - 300 })),
      ath: await send(await proof({ htm: 'GET', htu, ath: ath.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')), nonce })),
      staleNonce: await send(await proof({ htm: 'GET', htu, ath, nonce: 'not-issued-here' })),
    };
    const expected = {
      replayed: ['invalid_dpop_proof', /seen before/],
      otherKey: ['invalid_token', /cnf\.jkt/],
      asBearer: ['invalid_token', /bound to a DPoP key/],
      noProof: ['invalid_dpop_proof', /no DPoP proof/],
      htm: ['invalid_dpop_proof', /htm/],
      htu: ['invalid_dpop_proof', /htu/],
      iat: ['invalid_dpop_proof', /iat/],
      ath: ['invalid_dpop_proof', /ath/],
      staleNonce: ['use_dpop_nonce', /not current/],
    };
    for (const [name, [error, detail]] of Object.entries(expected)) {
      const res = refusals[name];
      assert.equal(res.status, 401, name);
      assert.equal(res.body.error, error, `${name}: ${res.body.detail}`);
      assert.match(res.body.detail, detail, name);
      assert.match(wwwAuth(res), new RegExp(`error="${error}"`), name);
    }
    // An unbound bearer token (from the provider without --dpop-required) is refused with the DPoP scheme.
    const unbound = (await exchange(await signIn())).body.access_token;
    const unboundAth = createHash('sha256').update(unbound).digest('base64url');
    const unboundProof = await proof({ htm: 'GET', htu: `${API}/api/me`, ath: unboundAth });
    const asDpop = await call(API, 'GET', '/api/me', { headers: { Authorization: `DPoP ${unbound}`, DPoP: unboundProof } });
    assert.equal(asDpop.status, 401);
    assert.match(asDpop.body.detail, /not bound to a DPoP key/);

    const seen = (await call(api.origin, 'GET', '/__counters')).body;
    assert.equal(seen.dpop.nonce_challenges, 2);
    assert.equal(seen.dpop.replays_refused, 1);
    assert.equal(seen.dpop.accepted, 2);
    assert.equal(seen.dpop.jkts.length, 2); // this key and the other one
    assert.ok(seen.dpop.jkts.includes(jkt));
    assert.equal(seen.dpop_headers[1], good);
    assert.deepEqual(seen.by_path['/api/me'].statuses, { 200: 2, 401: 10 });
  } finally {
    await Promise.all([api.stop(), strict.stop()]);
  }
});

check('resource: 401 without a token, for a forged or foreign token; counters like the other backends', async () => {
  await call(API, 'POST', '/__reset');
  const tokens = (await exchange(await signIn())).body;
  const missing = await call(API, 'GET', '/api/me');
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="authgate-test-api"');
  const forged = `${tokens.access_token.slice(0, -4)}AAAA`;
  assert.equal((await call(API, 'GET', '/api/me', { token: forged })).status, 401);
  assert.equal((await call(API, 'GET', '/api/me', { token: tokens.id_token })).status, 401, 'an ID token is not an access token');
  const { access_token: fastapiToken } = await fastapiLogin();
  assert.equal((await call(API, 'GET', '/api/me', { token: fastapiToken })).status, 401, 'a token from another issuer');
  assert.equal((await call(API, 'GET', '/health')).status, 200);
  assertCorsAllowsBearer(await preflight(API, '/api/me', PAGE), PAGE);
  assert.equal((await preflight(API, '/api/me', OTHER)).headers.get('access-control-allow-origin'), null);
  await call(API, 'GET', '/api/me', { token: tokens.access_token });
  const seen = (await call(API, 'GET', '/__counters')).body;
  assert.equal(seen.requests, 6);
  assert.equal(seen.preflights, 2);
  assert.equal(seen.status_401, 4);
  assert.deepEqual(seen.by_path['/api/me'], { requests: 5, preflights: 2, bearer: 4, statuses: { 200: 1, 401: 4 } });
  assert.equal(seen.auth_headers.at(-1), `Bearer ${tokens.access_token}`);
  assert.equal(seen.rejections.length, 4);
  await call(API, 'POST', '/__reset');
  assert.deepEqual((await call(API, 'GET', '/__counters')).body.by_path, {});
});

// ---- the recorder, a second origin ----
const R = recorder.origin;

check('recorder: permissive preflight, every header recorded, /redirect, /__reset', async () => {
  await call(R, 'POST', '/__reset');
  const pre = await preflight(R, '/anything', OTHER, 'authorization,x-custom');
  assert.equal(pre.headers.get('access-control-allow-origin'), OTHER);
  assert.equal(pre.headers.get('access-control-allow-headers'), 'authorization,x-custom');
  await call(R, 'GET', '/anything?x=1', { token: 'leaked' });
  const hop = await call(R, 'GET', `/redirect?to=${encodeURIComponent(`${F}/health`)}`);
  assert.equal(hop.status, 302);
  assert.equal(hop.headers.get('location'), `${F}/health`);
  const { requests } = (await call(R, 'GET', '/__log')).body;
  assert.deepEqual(requests.map((r) => `${r.method} ${r.path.split('?')[0]}`), ['OPTIONS /anything', 'GET /anything', 'GET /redirect']);
  assert.equal(requests[1].headers.authorization, 'Bearer leaked');
  await call(R, 'POST', '/__reset');
  assert.deepEqual((await call(R, 'GET', '/__log')).body.requests, []);
});

let failed = 0;
for (const { name, fn } of checks) {
  try {
    await fn();
    console.log(`ok    ${name}`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL  ${name}\n      ${String(err.stack ?? err).split('\n').slice(0, 6).join('\n      ')}`);
  }
}
await Promise.all(servers.map((s) => s.stop()));
console.log(failed ? `${failed} of ${checks.length} server checks failed` : `all ${checks.length} server checks passed`);
process.exit(failed ? 1 : 0);
