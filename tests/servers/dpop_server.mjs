// A small DPoP authorization server and resource server in one origin, for the browser spec of
// DPoP (tests/browser/dpop.spec.js): discovery, /auth (redirects straight back with a code: no
// login form), /token (DPoP proof required, with a nonce: the first proof without it gets
// 400 use_dpop_nonce), /revoke, and /api/* (a DPoP-bound token and a proof that verifies: the
// signature with the embedded key, typ, alg, htm, htu, iat within 60 s, a jti never seen, ath,
// the token's key thumbprint; a nonce, asked for with 401 WWW-Authenticate: DPoP
// error="use_dpop_nonce"). GET /__seen reports what it saw; POST /__reset forgets it.
import http from 'node:http';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';

const sha256 = (s) => createHash('sha256').update(s).digest('base64url');
const thumbprint = ({ crv, kty, x, y }) => sha256(JSON.stringify({ crv, kty, x, y }));
const part = (jws, i) => JSON.parse(Buffer.from(jws.split('.')[i], 'base64url').toString());

/** The proof's key thumbprint and claims, or the reason it is refused. */
function checkProof(proof, method, url, seenJti) {
  if (!proof || proof.split('.').length !== 3) return { error: 'no DPoP proof' };
  let header;
  let claims;
  try {
    header = part(proof, 0);
    claims = part(proof, 1);
  } catch {
    return { error: 'a proof that is not a JWS' };
  }
  if (header.typ !== 'dpop+jwt' || header.alg !== 'ES256' || !header.jwk || header.jwk.d) return { error: 'bad header' };
  const [h, p, s] = proof.split('.');
  const key = createPublicKey({ key: header.jwk, format: 'jwk' });
  if (!verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))) {
    return { error: 'bad signature' };
  }
  const target = new URL(url);
  if (claims.htm !== method || claims.htu !== target.origin + target.pathname) return { error: 'htm/htu' };
  if (Math.abs(claims.iat - Date.now() / 1000) > 60) return { error: 'iat' };
  if (typeof claims.jti !== 'string' || seenJti.has(claims.jti)) return { error: 'jti replayed' };
  seenJti.add(claims.jti);
  return { jkt: thumbprint(header.jwk), claims };
}

export function startDpopServer({ allowOrigin }) {
  const state = { codes: new Map(), bound: new Map(), jti: new Set(), seen: [], nonce: randomBytes(12).toString('base64url'), apiNonce: randomBytes(12).toString('base64url') };
  const cors = {
    'Access-Control-Allow-Origin': allowOrigin,
    'Access-Control-Allow-Headers': 'Authorization, DPoP, Content-Type',
    'Access-Control-Expose-Headers': 'DPoP-Nonce, WWW-Authenticate',
  };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    const send = (status, body, headers = {}) => {
      res.writeHead(status, { ...cors, 'Content-Type': 'application/json', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (req.method === 'OPTIONS') return send(204);
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString();
    const origin = `http://${req.headers.host}`;
    const fullUrl = origin + url.pathname + url.search;
    if (url.pathname === '/__seen') return send(200, state.seen);
    if (url.pathname === '/__reset') {
      state.seen = [];
      return send(200, {});
    }
    if (url.pathname === '/.well-known/openid-configuration') {
      return send(200, {
        issuer: origin,
        authorization_endpoint: `${origin}/auth`,
        token_endpoint: `${origin}/token`,
        revocation_endpoint: `${origin}/revoke`,
        code_challenge_methods_supported: ['S256'],
        dpop_signing_alg_values_supported: ['ES256'],
      });
    }
    const seen = { method: req.method, path: url.pathname, authorization: req.headers.authorization ?? null };
    state.seen.push(seen);
    if (url.pathname === '/auth') {
      const q = url.searchParams;
      const code = randomBytes(9).toString('base64url');
      state.codes.set(code, { jkt: q.get('dpop_jkt'), nonce: q.get('nonce') });
      seen.jkt = q.get('dpop_jkt');
      res.writeHead(302, { Location: `${q.get('redirect_uri')}?code=${code}&state=${q.get('state')}` });
      return res.end();
    }
    const proof = checkProof(req.headers.dpop, req.method, fullUrl, state.jti);
    seen.proof = proof.error ?? 'ok';
    if (proof.error) return send(url.pathname.startsWith('/api') ? 401 : 400, { error: 'invalid_dpop_proof', error_description: proof.error });
    seen.nonce = proof.claims.nonce ?? null;
    // The authorization server and the API keep nonces of their own, as RFC 9449 lets them.
    const api = url.pathname.startsWith('/api');
    const wantsNonce = proof.claims.nonce !== (api ? state.apiNonce : state.nonce);
    if (api) {
      const token = (req.headers.authorization ?? '').replace(/^DPoP /, '');
      if (proof.claims.ath !== sha256(token) || state.bound.get(token) !== proof.jkt) {
        return send(401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'DPoP error="invalid_token"' });
      }
      if (wantsNonce) {
        return send(401, { error: 'use_dpop_nonce' }, { 'WWW-Authenticate': 'DPoP error="use_dpop_nonce"', 'DPoP-Nonce': state.apiNonce });
      }
      return send(200, { ok: true, path: url.pathname });
    }
    if (wantsNonce) return send(400, { error: 'use_dpop_nonce' }, { 'DPoP-Nonce': state.nonce });
    if (url.pathname === '/revoke') return send(200, {});
    if (url.pathname !== '/token') return send(404, { error: 'not_found' });
    const form = new URLSearchParams(body);
    const code = state.codes.get(form.get('code'));
    if (!code || code.jkt !== proof.jkt) return send(400, { error: 'invalid_grant' });
    state.codes.delete(form.get('code'));
    const access = randomBytes(16).toString('base64url');
    state.bound.set(access, proof.jkt);
    const now = Math.floor(Date.now() / 1000);
    const idClaims = { iss: origin, aud: 'spa', sub: 'u1', iat: now, exp: now + 600, nonce: code.nonce };
    const idToken = `eyJhbGciOiJFUzI1NiJ9.${Buffer.from(JSON.stringify(idClaims)).toString('base64url')}.c2ln`;
    return send(200, { access_token: access, refresh_token: randomBytes(16).toString('base64url'), token_type: 'DPoP', expires_in: 600, id_token: idToken });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({ origin: `http://127.0.0.1:${port}`, state, stop: () => new Promise((done) => server.close(done)) });
    });
  });
}
