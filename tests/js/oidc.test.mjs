// Sign-in through an OpenID provider, in Node, through the wasm core: a fake provider served by an
// injected fetch (discovery, token endpoint with PKCE and rotating refresh tokens that are revoked on
// reuse, revocation), and a fake page (location, history, sessionStorage). The real provider is in
// tests/browser/.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { AuthGateError, createAuthGate } from '../../dist/index.js';
import { API, fakeClock, json, memoryArea } from './helpers.mjs';

const ISSUER = 'https://id.example';
const PAGE = 'http://app.test';

const isGateError = (code) => (error) => {
  assert.ok(error instanceof AuthGateError, `expected an AuthGateError, got ${error}`);
  assert.equal(error.code, code, error.message);
  return true;
};

// ---- a fake page ------------------------------------------------------------------

const saved = {};
function fakePage(href = `${PAGE}/`) {
  const page = { assigned: [], replaced: [], session: memoryArea() };
  for (const name of ['location', 'history', 'sessionStorage']) saved[name] = Object.getOwnPropertyDescriptor(globalThis, name);
  const location = {
    href,
    get origin() {
      return new URL(this.href).origin;
    },
    assign: (url) => page.assigned.push(url),
  };
  const history = { state: null, replaceState: (_s, _t, url) => page.replaced.push(url) };
  Object.defineProperty(globalThis, 'location', { configurable: true, value: location });
  Object.defineProperty(globalThis, 'history', { configurable: true, value: history });
  Object.defineProperty(globalThis, 'sessionStorage', { configurable: true, value: page.session });
  page.location = location;
  return page;
}

afterEach(() => {
  for (const [name, descriptor] of Object.entries(saved)) {
    if (descriptor) Object.defineProperty(globalThis, name, descriptor);
    else delete globalThis[name];
  }
});

// ---- a fake provider --------------------------------------------------------------

const b64url = (value) => Buffer.from(value).toString('base64url');
const idToken = (claims) => `${b64url('{"alg":"RS256"}')}.${b64url(JSON.stringify(claims))}.c2ln`;

function fakeProvider(clock, { discovery = true, expiresIn = 60 } = {}) {
  const p = { requests: [], codes: new Map(), refresh: new Map(), reused: 0, revoked: [], keepalive: [] };
  p.count = (path) => p.requests.filter((r) => r.path === path).length;
  let serial = 0;
  const grant = (sub, nonce) => {
    serial += 1;
    const refresh = `R${serial}`;
    p.refresh.set(refresh, { sub, used: false });
    const claims = { iss: ISSUER, aud: 'spa', sub, iat: Math.floor(clock.t / 1000), exp: Math.floor(clock.t / 1000) + 600 };
    if (nonce) claims.nonce = nonce;
    return json({
      access_token: `A${serial}`,
      refresh_token: refresh,
      expires_in: expiresIn,
      token_type: 'Bearer',
      scope: 'openid offline_access',
      id_token: idToken(claims),
    });
  };
  p.authorize = (url) => {
    const q = new URL(url).searchParams;
    const code = `C${p.codes.size + 1}`;
    p.codes.set(code, { challenge: q.get('code_challenge'), nonce: q.get('nonce'), redirect: q.get('redirect_uri') });
    return `${q.get('redirect_uri')}?code=${code}&state=${q.get('state')}&iss=${encodeURIComponent(ISSUER)}`;
  };
  p.fetch = async (input, init = {}) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const body = request.body ? new URLSearchParams(await request.text()) : null;
    p.requests.push({ path: url.pathname, url: request.url, body, credentials: request.credentials });
    if (init.keepalive) p.keepalive.push(url.pathname);
    if (url.origin === API) return json({ authorization: request.headers.get('authorization') });
    if (url.pathname === '/.well-known/openid-configuration') {
      if (!discovery) return new Response('down', { status: 503 });
      return json({
        issuer: ISSUER,
        authorization_endpoint: `${ISSUER}/auth`,
        token_endpoint: `${ISSUER}/token`,
        end_session_endpoint: `${ISSUER}/session/end`,
        revocation_endpoint: `${ISSUER}/token/revocation`,
        code_challenge_methods_supported: ['S256'],
        authorization_response_iss_parameter_supported: true,
      });
    }
    if (url.pathname === '/token/revocation') {
      p.revoked.push(body.get('token'));
      return new Response(null, { status: 200 });
    }
    if (url.pathname !== '/token') return new Response('not found', { status: 404 });
    if (body.get('client_id') !== 'spa') return json({ error: 'invalid_client' }, 401);
    if (body.get('grant_type') === 'authorization_code') {
      const code = p.codes.get(body.get('code'));
      const challenge = createHash('sha256').update(body.get('code_verifier') ?? '').digest('base64url');
      if (!code || code.used || code.challenge !== challenge || code.redirect !== body.get('redirect_uri')) {
        return json({ error: 'invalid_grant', error_description: 'grant request is invalid' }, 400);
      }
      code.used = true;
      return grant('user-1', code.nonce);
    }
    const held = p.refresh.get(body.get('refresh_token'));
    if (!held) return json({ error: 'invalid_grant' }, 400);
    if (held.used) {
      p.reused += 1; // a rotated token again: the whole grant goes, as oidc-provider does
      for (const entry of p.refresh.values()) entry.used = true;
      return json({ error: 'invalid_grant', error_description: 'grant request is invalid' }, 400);
    }
    held.used = true;
    return grant(held.sub, null);
  };
  return p;
}

const options = (provider, clock, extra = {}) => ({
  baseUrl: API,
  crossTab: false,
  oidc: { issuer: ISSUER, clientId: 'spa', redirectUri: '/callback', postLogoutRedirectUri: '/' },
  fetch: provider.fetch,
  now: clock.now,
  ...extra,
});

/** loginWithRedirect on one page, then the callback page: a signed-in gate. */
async function signIn(page, provider, clock, extra) {
  const first = createAuthGate(options(provider, clock, extra));
  await first.loginWithRedirect({ returnTo: '/inbox' });
  first.destroy();
  page.location.href = provider.authorize(page.assigned.at(-1));
  const gate = createAuthGate(options(provider, clock, extra));
  const result = await gate.handleRedirectCallback();
  return { gate, result };
}

// ---- tests ------------------------------------------------------------------------

test('loginWithRedirect sends the page to the provider with PKCE S256, state and nonce', async () => {
  const page = fakePage();
  const clock = fakeClock();
  const provider = fakeProvider(clock);
  const gate = createAuthGate(options(provider, clock));
  assert.equal(await gate.ready(), 'anonymous'); // readiness does not wait for discovery
  await gate.loginWithRedirect({ returnTo: '/inbox', params: { prompt: 'login' } });
  assert.equal(page.assigned.length, 1);
  const url = new URL(page.assigned[0]);
  assert.equal(url.origin + url.pathname, `${ISSUER}/auth`);
  const q = url.searchParams;
  assert.equal(q.get('response_type'), 'code');
  assert.equal(q.get('client_id'), 'spa');
  assert.equal(q.get('redirect_uri'), `${PAGE}/callback`);
  assert.equal(q.get('scope'), 'openid offline_access');
  assert.equal(q.get('code_challenge_method'), 'S256');
  assert.equal(q.get('prompt'), 'login');
  assert.match(q.get('state'), /^[A-Za-z0-9_-]{43}$/);
  assert.match(q.get('nonce'), /^[A-Za-z0-9_-]{43}$/);
  const txn = JSON.parse(page.session.getItem('authgate.transaction'));
  assert.equal(txn.state, q.get('state'));
  assert.equal(txn.returnTo, '/inbox');
  assert.equal(createHash('sha256').update(txn.verifier).digest('base64url'), q.get('code_challenge'));
  assert.equal(provider.count('/.well-known/openid-configuration'), 1);
  gate.destroy();
});

test('the callback exchanges the code once, even when called twice (StrictMode)', async () => {
  const page = fakePage();
  const clock = fakeClock();
  const provider = fakeProvider(clock);
  const first = createAuthGate(options(provider, clock));
  await first.loginWithRedirect({ returnTo: '/inbox' });
  first.destroy();
  page.location.href = provider.authorize(page.assigned[0]);
  const gate = createAuthGate(options(provider, clock));
  const [a, b] = await Promise.all([gate.handleRedirectCallback(), gate.handleRedirectCallback()]);
  assert.deepEqual(a, { returnTo: '/inbox' });
  assert.deepEqual(b, a);
  assert.equal(provider.count('/token'), 1);
  assert.deepEqual(page.replaced, [`${PAGE}/callback`]); // code, state and iss are gone
  assert.equal(page.session.getItem('authgate.transaction'), null);
  assert.equal(gate.state, 'authenticated');
  const response = await gate.fetch('/api/me');
  assert.equal((await response.json()).authorization, 'Bearer A1');
  // later, with the cleaned address bar: the same answer, nothing sent
  page.location.href = `${PAGE}/callback`;
  assert.deepEqual(await gate.handleRedirectCallback(), { returnTo: '/inbox' });
  assert.equal(provider.count('/token'), 1);
  gate.destroy();
});

test('a tampered state is LOGIN_REQUIRED and the provider sees no token request', async () => {
  const page = fakePage();
  const clock = fakeClock();
  const provider = fakeProvider(clock);
  const first = createAuthGate(options(provider, clock));
  await first.loginWithRedirect();
  first.destroy();
  const back = new URL(provider.authorize(page.assigned[0]));
  back.searchParams.set('state', 'forged');
  page.location.href = back.href;
  const gate = createAuthGate(options(provider, clock));
  await assert.rejects(gate.handleRedirectCallback(), isGateError('LOGIN_REQUIRED'));
  await assert.rejects(gate.handleRedirectCallback(), isGateError('LOGIN_REQUIRED'));
  assert.equal(provider.count('/token'), 0);
  assert.equal(gate.state, 'anonymous');
  gate.destroy();
});

test("the provider's access_denied is LOGIN_REQUIRED with its description", async () => {
  const page = fakePage();
  const clock = fakeClock();
  const provider = fakeProvider(clock);
  const first = createAuthGate(options(provider, clock));
  await first.loginWithRedirect();
  first.destroy();
  const state = new URL(page.assigned[0]).searchParams.get('state');
  page.location.href = `${PAGE}/callback?error=access_denied&error_description=User+said+no&state=${state}&iss=${encodeURIComponent(ISSUER)}`;
  const gate = createAuthGate(options(provider, clock));
  await assert.rejects(gate.handleRedirectCallback(), (error) => {
    isGateError('LOGIN_REQUIRED')(error);
    assert.match(error.message, /User said no/);
    return true;
  });
  assert.equal(provider.count('/token'), 0);
  gate.destroy();
});

test('refresh uses the refresh_token grant once for many calls, and never presents a token twice', async () => {
  const page = fakePage();
  const clock = fakeClock();
  const provider = fakeProvider(clock, { expiresIn: 60 });
  const { gate } = await signIn(page, provider, clock);
  clock.advance(61_000); // expired
  const answers = await Promise.all(Array.from({ length: 20 }, () => gate.fetch('/api/orders').then((r) => r.json())));
  assert.ok(answers.every((a) => a.authorization === 'Bearer A2'));
  const refreshes = provider.requests.filter((r) => r.path === '/token' && r.body.get('grant_type') === 'refresh_token');
  assert.equal(refreshes.length, 1);
  assert.equal(refreshes[0].body.get('refresh_token'), 'R1');
  assert.equal(refreshes[0].credentials, 'omit');
  clock.advance(61_000);
  await gate.fetch('/api/orders');
  const again = provider.requests.filter((r) => r.path === '/token' && r.body.get('grant_type') === 'refresh_token');
  assert.deepEqual(again.map((r) => r.body.get('refresh_token')), ['R1', 'R2']);
  assert.equal(provider.reused, 0);
  assert.equal(gate.state, 'authenticated');
  gate.destroy();
});

test('logout revokes the refresh token (keepalive) and goes to the end-session endpoint', async () => {
  const page = fakePage();
  const clock = fakeClock();
  const provider = fakeProvider(clock);
  const { gate } = await signIn(page, provider, clock);
  page.assigned.length = 0;
  await gate.logout();
  assert.deepEqual(provider.revoked, ['R1']);
  assert.deepEqual(provider.keepalive, ['/token/revocation']);
  assert.equal(page.assigned.length, 1);
  const end = new URL(page.assigned[0]);
  assert.equal(end.origin + end.pathname, `${ISSUER}/session/end`);
  assert.match(end.searchParams.get('id_token_hint'), /^[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.equal(end.searchParams.get('post_logout_redirect_uri'), `${PAGE}/`);
  assert.equal(end.searchParams.get('client_id'), 'spa');
  assert.equal(gate.state, 'anonymous');
  await assert.rejects(gate.fetch('/api/me'), isGateError('NO_TOKEN'));
  gate.destroy();
});

test('logout({ redirect: false }) stays on the page', async () => {
  const page = fakePage();
  const clock = fakeClock();
  const provider = fakeProvider(clock);
  const { gate } = await signIn(page, provider, clock);
  page.assigned.length = 0;
  await gate.logout({ redirect: false });
  assert.deepEqual(provider.revoked, ['R1']);
  assert.equal(page.assigned.length, 0);
  gate.destroy();
});

test('a failed discovery does not fail ready(); loginWithRedirect retries it, then rejects PROVIDER_ERROR', async () => {
  fakePage();
  const clock = fakeClock();
  const provider = fakeProvider(clock, { discovery: false });
  const gate = createAuthGate(options(provider, clock));
  assert.equal(await gate.ready(), 'anonymous');
  await assert.rejects(gate.loginWithRedirect(), (error) => {
    isGateError('PROVIDER_ERROR')(error);
    assert.match(error.message, /discovery document answered HTTP 503/);
    return true;
  });
  assert.equal(provider.count('/.well-known/openid-configuration'), 2);
  gate.destroy();
});

test('oidc with login is refused, and so are bad arguments', async () => {
  fakePage();
  const clock = fakeClock();
  const provider = fakeProvider(clock);
  const bad = createAuthGate(options(provider, clock, { login: { url: '/login' } }));
  await assert.rejects(bad.ready(), (error) => {
    isGateError('BAD_CONFIG')(error);
    assert.match(error.message, /oidc cannot be combined with login or refresh/);
    return true;
  });
  const gate = createAuthGate(options(provider, clock));
  await assert.rejects(gate.loginWithRedirect({ returnTo: 5 }), isGateError('BAD_CONFIG'));
  await assert.rejects(gate.loginWithRedirect({ params: { state: 'mine' } }), isGateError('BAD_CONFIG'));
  const plain = createAuthGate({ baseUrl: API, crossTab: false, fetch: provider.fetch });
  await assert.rejects(plain.loginWithRedirect(), isGateError('BAD_CONFIG'));
  await plain.logout(); // without oidc: as before
  bad.destroy();
  gate.destroy();
  plain.destroy();
});
