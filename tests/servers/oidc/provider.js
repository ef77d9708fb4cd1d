// A real OpenID provider for the browser tests: node-oidc-provider (OpenID
// Certified) with one public single-page-app client, as an identity provider
// would register it (no secret, PKCE S256, code + refresh_token grants,
// rotating refresh tokens), its development login and consent forms, and JWT
// access tokens for one resource server.
//
//   node tests/servers/oidc/provider.js --port 0 \
//     --redirect-uri http://127.0.0.1:5173/tests/browser/pages/oidc.html [--access-ttl 60]
//
// Prints `READY <port>` once it accepts connections; the issuer is
// http://127.0.0.1:<port>. Test hooks (no auth, CORS for the page origins):
//   GET  /__counters  what the provider saw (see COUNTERS below)
//   POST /__reset     zeroes the counters and forgets the recorded tokens
//   GET  /__tokens    {issued: [{grant_type, access_token, refresh_token, id_token}]}, the last 50
//                     successful token responses, oldest first
//   POST /__control   {"access_ttl": seconds}: lifetime of access tokens issued from then on
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';

import { calculateJwkThumbprint, decodeProtectedHeader } from 'jose';
import Provider from 'oidc-provider';

import { announceReady, corsHeaders, listOption, readJson, sendJson } from './common.js';

const USAGE = `usage: node provider.js --redirect-uri URL [--redirect-uri URL ...] [--port N]
  [--post-logout-redirect-uri URL ...] [--allow-origin ORIGIN ...] [--client-id ID]
  [--resource URI] [--access-ttl SECONDS] [--refresh-ttl SECONDS] [--strict-offline-access]
  [--dpop-nonce] [--dpop-required]`;
const TOKENS_KEPT = 50;

function options() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'redirect-uri': { type: 'string', multiple: true, default: [] },
      'post-logout-redirect-uri': { type: 'string', multiple: true, default: [] },
      'allow-origin': { type: 'string', multiple: true, default: [] },
      'client-id': { type: 'string', default: 'authgate-spa' },
      resource: { type: 'string', default: 'urn:authgate:test-api' },
      'access-ttl': { type: 'string', default: '60' },
      'refresh-ttl': { type: 'string', default: String(14 * 24 * 3600) },
      'strict-offline-access': { type: 'boolean', default: false },
      'dpop-nonce': { type: 'boolean', default: false },
      'dpop-required': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const redirectUris = listOption(values['redirect-uri']);
  if (values.help || redirectUris.length === 0) {
    console.error(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const postLogout = listOption(values['post-logout-redirect-uri']);
  const origins = new Set([...redirectUris, ...postLogout].map((uri) => new URL(uri).origin));
  for (const origin of listOption(values['allow-origin'])) origins.add(origin);
  return {
    port: Number(values.port),
    redirectUris,
    postLogoutRedirectUris: postLogout.length ? postLogout : redirectUris,
    allowOrigins: origins,
    clientId: values['client-id'],
    resource: values.resource,
    accessTtl: Number(values['access-ttl']),
    refreshTtl: Number(values['refresh-ttl']),
    strictOfflineAccess: values['strict-offline-access'],
    dpopNonce: values['dpop-nonce'],
    dpopRequired: values['dpop-required'],
  };
}

// What /__counters answers. `token_by_grant` counts token requests (answered or
// refused) by their grant_type; `reuse_detected` counts refresh tokens presented
// again after they were rotated (the provider then revokes the whole grant,
// counted in `grants_revoked` with revocations and logouts).
function freshCounters() {
  return {
    requests: 0,
    discovery: 0,
    jwks: 0,
    authorization: 0,
    authorization_errors: 0,
    logins: 0,
    consents: 0,
    token_requests: 0,
    token_by_grant: { authorization_code: 0, refresh_token: 0 },
    token_errors: 0,
    token_error_details: [], // [{grant_type, error, detail}], the provider's reason behind each refusal (last 50)
    revocations: 0,
    end_session: 0,
    sessions_ended: 0,
    reuse_detected: 0,
    grants_revoked: 0,
    dpop_proofs: 0, // token requests that carried a DPoP header
    dpop_jkts: [], // the distinct RFC 7638 thumbprints of their keys (the provider itself verifies the proofs)
  };
}

/** A fresh signing key per run: tokens from an earlier run never verify. */
function signingKeys() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' }] };
}

function configuration(opts, state) {
  const client = {
    client_id: opts.clientId,
    client_name: 'authgate test app',
    token_endpoint_auth_method: 'none', // a public client: PKCE is then required
    application_type: 'web',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: opts.redirectUris,
    post_logout_redirect_uris: opts.postLogoutRedirectUris,
    ...(opts.dpopRequired && { dpop_bound_access_tokens: true }),
  };
  return {
    clients: [client],
    jwks: signingKeys(),
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'api:read'],
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    // devInteractions accepts any login: the account is whatever was typed.
    findAccount: (ctx, sub) => ({
      accountId: sub,
      claims: () => ({ sub, name: sub, email: `${sub}@example.test`, email_verified: true }),
    }),
    responseTypes: ['code'],
    pkce: { required: () => true },
    // The library grants offline_access only with prompt=consent (OpenID Connect
    // Core 11) and by default issues refresh tokens only for it. An SPA that asks
    // for offline_access without forcing consent gets them here, as it would from
    // Auth0 or Keycloak; --strict-offline-access restores the library's rule (a
    // provider that issues none). They rotate on every use, and a rotated one
    // presented again revokes the grant (the library's behaviour, counted in
    // reuse_detected). They outlive the provider's login session, as offline
    // tokens do: only revocation, reuse or their TTL ends them.
    issueRefreshToken: (ctx, c, source) => c.grantTypeAllowed('refresh_token')
      && (source.scopes.has('offline_access') || (!opts.strictOfflineAccess && source.scopes.has('openid'))),
    expiresWithSession: (ctx, source) => opts.strictOfflineAccess && !source.scopes.has('offline_access'),
    rotateRefreshToken: () => true,
    clientBasedCORS: (ctx, origin) => opts.allowOrigins.has(origin),
    ttl: {
      AccessToken: () => state.accessTtl,
      RefreshToken: () => opts.refreshTtl,
      IdToken: 3600,
      Session: 3600,
      Grant: opts.refreshTtl,
      Interaction: 600,
    },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource },
      dPoP: {
        enabled: true,
        ...(opts.dpopNonce && { nonceSecret: randomBytes(32), requireNonce: () => true }),
      },
      resourceIndicators: {
        enabled: true,
        // Every authorization request is for the one API, and the token
        // endpoint uses the granted resource without being told again.
        defaultResource: () => opts.resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator) => {
          if (indicator !== opts.resource) throw new Provider.errors.InvalidTarget();
          return {
            scope: 'api:read',
            audience: opts.resource,
            accessTokenTTL: state.accessTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  };
}

// The library's sign-out confirmation page without its remote web font (the
// tests run offline); the form and its button are what the library renders.
function logoutSource(ctx, form) {
  ctx.type = 'html';
  ctx.body = `<!doctype html><html><head><meta charset="utf-8"><title>Sign out</title></head><body>
<h1>Sign out of the test provider?</h1>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button></body></html>`;
}

// The development login and consent pages import a remote web font; the tests
// run without network, so drop the import instead of waiting for it.
async function withoutRemoteFonts(ctx, next) {
  await next();
  if (typeof ctx.body === 'string' && ctx.response.is('html')) {
    ctx.body = ctx.body.replace(/@import url\(https?:[^)]*\);?/g, '');
  }
}

function counting(state) {
  return async (ctx, next) => {
    await next();
    const c = state.counters;
    const route = ctx.oidc?.route;
    c.requests += 1;
    if (route === 'discovery') c.discovery += 1;
    if (route === 'jwks') c.jwks += 1;
    if (route === 'authorization') {
      c.authorization += 1;
      if (ctx.status >= 400) c.authorization_errors += 1;
    }
    if (route === 'submit') {
      const prompt = ctx.oidc.body?.prompt;
      if (prompt === 'login') c.logins += 1;
      if (prompt === 'consent') c.consents += 1;
    }
    if (route === 'revocation') c.revocations += 1;
    if (route === 'end_session') c.end_session += 1;
    if (route === 'token') await recordToken(state, ctx);
  };
}

async function recordToken(state, ctx) {
  const c = state.counters;
  const grant = ctx.oidc.params?.grant_type;
  c.token_requests += 1;
  const proof = ctx.get('dpop');
  if (proof) {
    c.dpop_proofs += 1;
    const jkt = await thumbprintOf(proof);
    if (!c.dpop_jkts.includes(jkt)) c.dpop_jkts = [...c.dpop_jkts, jkt];
  }
  if (grant in c.token_by_grant) c.token_by_grant[grant] += 1;
  if (ctx.status >= 400) {
    c.token_errors += 1;
    return;
  }
  const { access_token: access, refresh_token: refresh, id_token: id } = ctx.body ?? {};
  state.issued = [...state.issued, { grant_type: grant, access_token: access, refresh_token: refresh ?? null, id_token: id ?? null }]
    .slice(-TOKENS_KEPT);
}

/** The thumbprint of a proof's embedded jwk, or a marker when the header cannot be read. */
async function thumbprintOf(proof) {
  try {
    return await calculateJwkThumbprint(decodeProtectedHeader(proof).jwk, 'sha256');
  } catch {
    return 'unreadable';
  }
}

function listen(opts, state) {
  let provider = null; // the handler exists before the provider: its issuer needs the port
  const server = http.createServer(async (req, res) => {
    const path = req.url.split('?')[0];
    if (path.startsWith('/__')) return hooks(req, res, path, opts, state);
    return provider(req, res);
  });
  return new Promise((done, reject) => {
    server.once('error', reject).listen(opts.port, '127.0.0.1', () => {
      const { port } = server.address();
      const oidc = new Provider(`http://127.0.0.1:${port}`, configuration(opts, state));
      oidc.use(withoutRemoteFonts);
      oidc.use(counting(state));
      oidc.on('grant.error', (ctx, err) => {
        const detail = err.error_detail ?? err.error_description ?? null;
        const refusal = { grant_type: ctx.oidc?.params?.grant_type ?? null, error: err.error, detail };
        state.counters.token_error_details = [...state.counters.token_error_details, refusal].slice(-TOKENS_KEPT);
        if (detail === 'refresh token already used') state.counters.reuse_detected += 1;
      });
      oidc.on('grant.revoked', () => { state.counters.grants_revoked += 1; });
      oidc.on('end_session.success', () => { state.counters.sessions_ended += 1; });
      provider = oidc.callback();
      done(port);
    });
  });
}

async function hooks(req, res, path, opts, state) {
  const cors = corsHeaders(req, opts.allowOrigins);
  if (req.method === 'OPTIONS') return sendJson(res, 204, null, cors);
  if (req.method === 'GET' && path === '/__counters') return sendJson(res, 200, state.counters, cors);
  if (req.method === 'GET' && path === '/__tokens') return sendJson(res, 200, { issued: state.issued }, cors);
  if (req.method === 'POST' && path === '/__reset') {
    state.counters = freshCounters();
    state.issued = [];
    return sendJson(res, 200, { ok: true }, cors);
  }
  if (req.method === 'POST' && path === '/__control') {
    const body = await readJson(req);
    if (!Number.isInteger(body?.access_ttl) || body.access_ttl < 1) {
      return sendJson(res, 400, { error: 'access_ttl must be a positive integer (seconds)' }, cors);
    }
    state.accessTtl = body.access_ttl;
    return sendJson(res, 200, { access_ttl: state.accessTtl }, cors);
  }
  return sendJson(res, 404, { error: `no test hook ${req.method} ${path}` }, cors);
}

const opts = options();
const state = { counters: freshCounters(), issued: [], accessTtl: opts.accessTtl };
announceReady(await listen(opts, state));
