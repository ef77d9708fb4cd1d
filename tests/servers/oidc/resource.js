// The API behind the OpenID provider: it accepts only access tokens the
// provider issued for it — JWTs (RFC 9068, typ at+jwt) verified against the
// provider's JWKS, with its issuer, this API's audience and an unexpired exp —
// and counts what it saw, like the other test backends. DPoP-bound tokens
// (RFC 9449, `cnf.jkt`) are accepted only as `Authorization: DPoP <token>` with a
// `DPoP` proof that verifies in full (see verifyProof below).
//
//   node tests/servers/oidc/resource.js --issuer http://127.0.0.1:9100 \
//     --allow-origin http://127.0.0.1:5173 [--audience urn:authgate:test-api] [--require-scope api:read] \
//     [--dpop-nonce] [--port 0]
//
// Routes: GET /api/me -> {sub, client_id, scope}, GET /api/items -> {owner, items},
// GET /health (public). No Authorization -> 401 `WWW-Authenticate: Bearer`; a
// token that fails a check -> 401 `Bearer error="invalid_token"` with the reason; with
// --require-scope, a valid token without that scope -> 403 `error="insufficient_scope"`.
// DPoP: a bound token as Bearer, or an unbound one as DPoP, -> 401 `error="invalid_token"`;
// a proof that fails a check (signature with its embedded public jwk, typ dpop+jwt,
// alg ES256, htm, htu = this server's origin + path, iat within 60 s, a jti never
// seen, ath = SHA-256 of the token) -> 401 `DPoP error="invalid_dpop_proof"`; the
// proof's key not the token's cnf.jkt -> 401 `DPoP error="invalid_token"`. With
// --dpop-nonce the proof must carry a nonce this server issued: without it, or with
// an unknown one, -> 401 `DPoP error="use_dpop_nonce"` and a fresh `DPoP-Nonce` header.
// Test hooks (no auth, CORS for the page origins): GET /__counters
//   {requests, preflights, status_401, status_403, auth_headers, by_path, rejections: [{path, error, reason}],
//    dpop_headers (the last 50 DPoP header values, null when absent),
//    dpop: {proofs, accepted, nonce_challenges, replays_refused, jkts (distinct thumbprints of proofs
//    whose signature verified)}}
// and POST /__reset (the counters only: seen jti values and issued nonces stay).
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';

import { EmbeddedJWK, calculateJwkThumbprint, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

import { announceReady, corsHeaders, listOption, sendJson } from './common.js';

const AUTH_HEADER_HISTORY = 50;
const REALM = 'authgate-test-api';
const PROOF_IAT_WINDOW_S = 60;
const NONCE_LIFETIME_MS = 10 * 60 * 1000; // longer than any spec: a nonce never goes stale mid-test
// Members only a private (or symmetric) JWK has: a proof carrying one is refused.
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function options() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      issuer: { type: 'string' },
      audience: { type: 'string', default: 'urn:authgate:test-api' },
      'require-scope': { type: 'string' },
      'allow-origin': { type: 'string', multiple: true, default: [] },
      'dpop-nonce': { type: 'boolean', default: false },
    },
  });
  if (!values.issuer) {
    console.error('usage: node resource.js --issuer URL [--audience URI] [--require-scope SCOPE]'
      + ' [--allow-origin ORIGIN ...] [--dpop-nonce] [--port N]');
    process.exit(2);
  }
  return {
    port: Number(values.port),
    issuer: values.issuer,
    audience: values.audience,
    requireScope: values['require-scope'] ?? null,
    allowOrigins: new Set(listOption(values['allow-origin'])),
    dpopNonce: values['dpop-nonce'],
  };
}

function freshCounters() {
  return {
    requests: 0, preflights: 0, status_401: 0, status_403: 0, auth_headers: [], by_path: {}, rejections: [],
    dpop_headers: [],
    dpop: { proofs: 0, accepted: 0, nonce_challenges: 0, replays_refused: 0, jkts: [] },
  };
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
  counters.dpop_headers = [...counters.dpop_headers, req.headers.dpop ?? null].slice(-AUTH_HEADER_HISTORY);
}

/** A refusal: `error` is the RFC 6750 / RFC 9449 error code, the message names the failed check. */
class Refusal extends Error {
  constructor(error, message, extra = {}) {
    super(message);
    Object.assign(this, { error }, extra);
  }
}

const sha256url = (text) => createHash('sha256').update(text, 'ascii').digest('base64url');

/** The token's claims, or throws a Refusal. */
async function verify(req, ctx) {
  const { authorization } = req.headers;
  if (!authorization) throw new Refusal('unauthorized', 'no Authorization header', { missing: true });
  const [scheme, token, extra] = authorization.split(' ');
  if (!['Bearer', 'DPoP'].includes(scheme) || !token || extra !== undefined) {
    throw new Refusal('invalid_token', 'expected "Authorization: Bearer <token>" or "Authorization: DPoP <token>"');
  }
  const fail = (message) => new Refusal('invalid_token', message, { scheme });
  let payload;
  try {
    ({ payload } = await jwtVerify(token, ctx.jwks, {
      issuer: ctx.opts.issuer,
      audience: ctx.opts.audience,
      typ: 'at+jwt',
      algorithms: ['RS256', 'PS256', 'ES256'],
      requiredClaims: ['exp', 'sub', 'client_id'],
    }));
  } catch (err) {
    throw fail(err.message);
  }
  const jkt = payload.cnf?.jkt;
  // RFC 9449 7.2: a token bound to a DPoP key is not a bearer token.
  if (scheme === 'Bearer' && jkt) throw fail('the token is bound to a DPoP key; a bearer presentation is refused');
  if (scheme === 'Bearer') return payload;
  // A bearer token sent with the DPoP scheme would let anyone holding it pass with any key.
  if (!jkt) throw fail('the token is not bound to a DPoP key (no cnf.jkt); the DPoP scheme is refused');
  const proof = await verifyProof(req, token, ctx);
  if (proof.jkt !== jkt) throw fail(`the proof's key (${proof.jkt}) is not the token's key (cnf.jkt ${jkt})`);
  checkNonce(proof.claims, ctx);
  return payload;
}

/**
 * Checks the request's DPoP proof (RFC 9449 4.3) and returns {claims, jkt}, jkt
 * being its key's RFC 7638 thumbprint; throws a Refusal naming the failed check. The nonce is checked
 * last, by checkNonce, so a proof is challenged only once everything else holds.
 */
async function verifyProof(req, token, ctx) {
  const bad = (message) => new Refusal('invalid_dpop_proof', message, { scheme: 'DPoP' });
  const header = req.headers.dpop;
  const dpop = ctx.counters.dpop;
  if (!header) throw bad('no DPoP proof header');
  if (header.includes(',')) throw bad('more than one DPoP header');
  dpop.proofs += 1;
  let protectedHeader;
  try {
    protectedHeader = decodeProtectedHeader(header);
  } catch (err) {
    throw bad(`the proof is not a JWS: ${err.message}`);
  }
  const jwk = protectedHeader.jwk;
  if (jwk && typeof jwk === 'object' && PRIVATE_JWK_MEMBERS.some((m) => m in jwk)) {
    throw bad('the proof\'s jwk carries private key members');
  }
  let payload;
  try {
    ({ payload } = await jwtVerify(header, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] }));
  } catch (err) {
    throw bad(`the proof does not verify (signature, typ dpop+jwt, alg ES256, embedded public jwk): ${err.message}`);
  }
  const thumbprint = await calculateJwkThumbprint(jwk, 'sha256');
  if (!dpop.jkts.includes(thumbprint)) dpop.jkts = [...dpop.jkts, thumbprint];
  const path = req.url.split(/[?#]/)[0];
  const htu = `${ctx.origin}${path}`;
  if (payload.htm !== req.method) throw bad(`htm ${JSON.stringify(payload.htm)} is not the method ${req.method}`);
  if (payload.htu !== htu) throw bad(`htu ${JSON.stringify(payload.htu)} is not ${htu}`);
  const now = Math.floor(Date.now() / 1000);
  if (!Number.isInteger(payload.iat) || Math.abs(payload.iat - now) > PROOF_IAT_WINDOW_S) {
    throw bad(`iat ${payload.iat} is not within ${PROOF_IAT_WINDOW_S} s of ${now}`);
  }
  if (typeof payload.jti !== 'string' || !payload.jti) throw bad('no jti');
  if (ctx.seenJti.has(payload.jti)) {
    dpop.replays_refused += 1;
    throw bad(`jti ${payload.jti} was seen before: a replayed proof`);
  }
  ctx.seenJti.add(payload.jti);
  if (payload.ath !== sha256url(token)) throw bad('ath is not base64url(SHA-256(access token))');
  return { claims: payload, jkt: thumbprint };
}

function checkNonce(proof, ctx) {
  if (!ctx.opts.dpopNonce) return;
  const expires = ctx.nonces.get(proof.nonce);
  if (expires && expires > Date.now()) return;
  const why = proof.nonce === undefined
    ? 'the proof has no nonce'
    : `the nonce ${JSON.stringify(proof.nonce)} is not current`;
  throw new Refusal('use_dpop_nonce', `${why}; use the one in DPoP-Nonce`, { scheme: 'DPoP', nonce: true });
}

function freshNonce(ctx) {
  const nonce = randomBytes(16).toString('base64url');
  ctx.nonces.set(nonce, Date.now() + NONCE_LIFETIME_MS);
  return nonce;
}

function challenge(err, ctx) {
  const scheme = err.scheme ?? 'Bearer';
  const params = [`realm="${REALM}"`];
  if (!err.missing) {
    params.push(`error="${err.error}"`, `error_description="${err.message.replace(/["\\]/g, "'")}"`);
  }
  if (scheme === 'DPoP') params.push('algs="ES256"');
  const headers = { 'WWW-Authenticate': `${scheme} ${params.join(', ')}` };
  if (err.nonce) {
    ctx.counters.dpop.nonce_challenges += 1;
    headers['DPoP-Nonce'] = freshNonce(ctx);
  }
  return headers;
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
    claims = await verify(req, ctx);
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    const rejection = { path, error: err.error, reason: err.message };
    ctx.counters.rejections = [...ctx.counters.rejections, rejection].slice(-AUTH_HEADER_HISTORY);
    return sendJson(res, 401, { error: err.error, detail: err.message }, { ...cors, ...challenge(err, ctx) });
  }
  const granted = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
  if (ctx.opts.requireScope && !granted.includes(ctx.opts.requireScope)) {
    const scope = ctx.opts.requireScope;
    const rejection = { path, error: 'insufficient_scope', reason: `scope ${scope} not granted` };
    ctx.counters.rejections = [...ctx.counters.rejections, rejection].slice(-AUTH_HEADER_HISTORY);
    return sendJson(res, 403, { error: 'insufficient_scope', detail: `the token lacks the scope ${scope}` },
      { ...cors, 'WWW-Authenticate': `Bearer realm="${REALM}", error="insufficient_scope", scope="${scope}"` });
  }
  if (claims.cnf?.jkt) ctx.counters.dpop.accepted += 1;
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
// seenJti and nonces outlive /__reset: a proof accepted before a reset is still a replay after it.
const ctx = {
  opts, counters: freshCounters(), jwks: await jwksFor(opts.issuer), seenJti: new Set(), nonces: new Map(), origin: null,
};
const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (path.startsWith('/__')) return hooks(req, res, path, ctx);
  res.on('finish', () => record(ctx.counters, req, path, res.statusCode));
  return handle(req, res, path, ctx).catch((err) => {
    console.error(err);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
  });
});
server.listen(opts.port, '127.0.0.1', () => {
  const { port } = server.address();
  ctx.origin = `http://127.0.0.1:${port}`; // the htu every proof must name
  announceReady(port);
});
