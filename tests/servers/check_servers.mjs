// Self-check of the real test backends, without a browser: each server behaves
// the way the incident it reproduces says (status codes, token rotation, CORS
// answers) and its counters tell the truth. Run: node tests/servers/check_servers.mjs
import assert from 'node:assert/strict';

import { startServer } from './launch.js';

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
const servers = [fastapi, flask, flaskBad, django, recorder, nginx];

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
