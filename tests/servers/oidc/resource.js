// The API behind the OpenID provider: it accepts only access tokens the
// provider issued for it — JWTs (RFC 9068, typ at+jwt) verified against the
// provider's JWKS, with its issuer, this API's audience and an unexpired exp —
// and counts what it saw, like the other test backends.
//
//   node tests/servers/oidc/resource.js --issuer http://127.0.0.1:9100 \
//     --allow-origin http://127.0.0.1:5173 [--audience urn:authgate:test-api] [--require-scope api:read] [--port 0]
//
// Routes: GET /api/me -> {sub, client_id, scope}, GET /api/items -> {owner, items},
// GET /health (public). No Authorization -> 401 `WWW-Authenticate: Bearer`; a
// token that fails a check -> 401 `Bearer error="invalid_token"` with the reason; with
// --require-scope, a valid token without that scope -> 403 `error="insufficient_scope"`.
// Test hooks (no auth, CORS for the page origins): GET /__counters
//   {requests, preflights, status_401, status_403, auth_headers, by_path, rejections}
// and POST /__reset.
import http from 'node:http';
import { parseArgs } from 'node:util';

import { createRemoteJWKSet, jwtVerify } from 'jose';

import { announceReady, corsHeaders, listOption, sendJson } from './common.js';

const AUTH_HEADER_HISTORY = 50;
const REALM = 'authgate-test-api';

function options() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      issuer: { type: 'string' },
      audience: { type: 'string', default: 'urn:authgate:test-api' },
      'require-scope': { type: 'string' },
      'allow-origin': { type: 'string', multiple: true, default: [] },
    },
  });
  if (!values.issuer) {
    console.error('usage: node resource.js --issuer URL [--audience URI] [--require-scope SCOPE] [--allow-origin ORIGIN ...] [--port N]');
    process.exit(2);
  }
  return {
    port: Number(values.port),
    issuer: values.issuer,
    audience: values.audience,
    requireScope: values['require-scope'] ?? null,
    allowOrigins: new Set(listOption(values['allow-origin'])),
  };
}

function freshCounters() {
  return { requests: 0, preflights: 0, status_401: 0, status_403: 0, auth_headers: [], by_path: {}, rejections: [] };
}

function record(counters, req, path, status) {
  const entry = (counters.by_path[path] ??= { requests: 0, preflights: 0, bearer: 0, statuses: {} });
  if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
    counters.preflights += 1;
    entry.preflights += 1;
    return;
  }
  const authorization = req.headers.authorization ?? null;
  counters.requests += 1;
  entry.requests += 1;
  entry.statuses[status] = (entry.statuses[status] ?? 0) + 1;
  if (authorization?.startsWith('Bearer ')) entry.bearer += 1;
  if (status === 401) counters.status_401 += 1;
  if (status === 403) counters.status_403 += 1;
  counters.auth_headers = [...counters.auth_headers, authorization].slice(-AUTH_HEADER_HISTORY);
}

/** The token's claims, or throws an Error whose message says which check failed. */
async function verify(authorization, jwks, opts) {
  if (!authorization) throw Object.assign(new Error('no Authorization header'), { missing: true });
  const [scheme, token, extra] = authorization.split(' ');
  if (scheme !== 'Bearer' || !token || extra !== undefined) throw new Error('expected "Authorization: Bearer <token>"');
  const { payload } = await jwtVerify(token, jwks, {
    issuer: opts.issuer,
    audience: opts.audience,
    typ: 'at+jwt',
    algorithms: ['RS256', 'PS256', 'ES256'],
    requiredClaims: ['exp', 'sub', 'client_id'],
  });
  // RFC 9449 7.2: a token bound to a DPoP key is not a bearer token.
  if (payload.cnf?.jkt) throw new Error('the token is bound to a DPoP key; a bearer presentation is refused');
  return payload;
}

const ROUTES = {
  '/api/me': (claims) => ({ sub: claims.sub, client_id: claims.client_id, scope: claims.scope ?? null }),
  '/api/items': (claims) => ({ owner: claims.sub, items: [{ id: 1, title: 'Quarterly report' }, { id: 2, title: 'Meeting notes' }] }),
};

async function handle(req, res, path, ctx) {
  const cors = corsHeaders(req, ctx.opts.allowOrigins);
  if (req.method === 'OPTIONS') return sendJson(res, cors['Access-Control-Allow-Origin'] ? 200 : 403, null, cors);
  if (path === '/health') return sendJson(res, 200, { status: 'ok' }, cors);
  const route = ROUTES[path];
  if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) return sendJson(res, 404, { error: 'not_found' }, cors);
  let claims;
  try {
    claims = await verify(req.headers.authorization, ctx.jwks, ctx.opts);
  } catch (err) {
    ctx.counters.rejections = [...ctx.counters.rejections, { path, reason: err.message }].slice(-AUTH_HEADER_HISTORY);
    const challenge = err.missing
      ? `Bearer realm="${REALM}"`
      : `Bearer realm="${REALM}", error="invalid_token", error_description="${err.message.replace(/["\\]/g, "'")}"`;
    return sendJson(res, 401, { error: err.missing ? 'unauthorized' : 'invalid_token', detail: err.message },
      { ...cors, 'WWW-Authenticate': challenge });
  }
  const granted = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
  if (ctx.opts.requireScope && !granted.includes(ctx.opts.requireScope)) {
    const scope = ctx.opts.requireScope;
    ctx.counters.rejections = [...ctx.counters.rejections, { path, reason: `scope ${scope} not granted` }].slice(-AUTH_HEADER_HISTORY);
    return sendJson(res, 403, { error: 'insufficient_scope', detail: `the token lacks the scope ${scope}` },
      { ...cors, 'WWW-Authenticate': `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"` });
  }
  return sendJson(res, 200, route(claims), cors);
}

function hooks(req, res, path, ctx) {
  const cors = corsHeaders(req, ctx.opts.allowOrigins);
  if (req.method === 'OPTIONS') return sendJson(res, 204, null, cors);
  if (req.method === 'GET' && path === '/__counters') return sendJson(res, 200, ctx.counters, cors);
  if (req.method === 'POST' && path === '/__reset') {
    ctx.counters = freshCounters();
    return sendJson(res, 200, { ok: true }, cors);
  }
  return sendJson(res, 404, { error: `no test hook ${req.method} ${path}` }, cors);
}

/** The provider's jwks_uri, from its discovery document (whose issuer must be the one we trust). */
async function jwksFor(issuer) {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`discovery at ${issuer}: HTTP ${res.status}`);
  const doc = await res.json();
  if (doc.issuer !== issuer) throw new Error(`discovery at ${issuer} names another issuer: ${doc.issuer}`);
  return createRemoteJWKSet(new URL(doc.jwks_uri));
}

const opts = options();
const ctx = { opts, counters: freshCounters(), jwks: await jwksFor(opts.issuer) };
const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (path.startsWith('/__')) return hooks(req, res, path, ctx);
  res.on('finish', () => record(ctx.counters, req, path, res.statusCode));
  return handle(req, res, path, ctx).catch((err) => {
    console.error(err);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
  });
});
server.listen(opts.port, '127.0.0.1', () => announceReady(server.address().port));
