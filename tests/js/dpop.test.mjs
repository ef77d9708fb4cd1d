// DPoP in Node through the wasm core and the shim: real WebCrypto keys (Node's), an in-memory
// IndexedDB and lock manager shared by "tabs", and a fake provider and API that verify every proof
// (signature with the embedded key, typ, alg, htm, htu, ath, the key's thumbprint against
// dpop_jkt) and ask for nonces. The real provider is for the browser tests.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';

import { createAuthGate } from '../../dist/index.js';
import { API, fakeClock, json, memoryArea } from './helpers.mjs';

const ISSUER = 'https://id.example';
const PAGE = 'http://app.test';

// ---- a fake page, IndexedDB and locks ------------------------------------------------

const saved = {};
function fakePage() {
  const page = { assigned: [], session: memoryArea() };
  for (const name of ['location', 'history', 'sessionStorage']) saved[name] = Object.getOwnPropertyDescriptor(globalThis, name);
  const location = {
    href: `${PAGE}/`,
    get origin() {
      return new URL(this.href).origin;
    },
    assign: (url) => page.assigned.push(url),
  };
  Object.defineProperty(globalThis, 'location', { configurable: true, value: location });
  Object.defineProperty(globalThis, 'history', { configurable: true, value: { state: null, replaceState() {} } });
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

/** Just enough IndexedDB for js/dpop.js: one database of object stores holding values as given. */
function fakeIndexedDB() {
  const stores = new Map();
  const later = (fn) => setImmediate(fn);
  const req = (fn) => {
    const r = {};
    later(() => {
      r.result = fn();
      r.onsuccess?.();
    });
    return r;
  };
  return {
    stores,
    open() {
      const r = {};
      later(() => {
        const db = {
          objectStoreNames: [...stores.keys()],
          createObjectStore: (name) => stores.set(name, new Map()),
          close() {},
          transaction(name) {
            const tx = {};
            const map = stores.get(name);
            tx.objectStore = () => ({
              get: (k) => req(() => map.get(k)),
              put: (v, k) => req(() => map.set(k, v) && k),
              delete: (k) => req(() => map.delete(k) && undefined),
            });
            later(() => later(() => tx.oncomplete?.()));
            return tx;
          },
        };
        r.result = db;
        if (!stores.size) r.onupgradeneeded?.();
        r.onsuccess?.();
      });
      return r;
    },
  };
}

/** A lock manager: one holder per name at a time, in request order. */
function fakeLocks() {
  const queues = new Map();
  return {
    request(name, fn) {
      const previous = queues.get(name) ?? Promise.resolve();
      const run = previous.then(() => fn());
      queues.set(name, run.catch(() => {}));
      return run;
    },
  };
}

/** Node's WebCrypto, counting the keys it makes. */
function countingCrypto() {
  const counted = { made: 0 };
  const subtle = globalThis.crypto.subtle;
  counted.crypto = {
    getRandomValues: (bytes) => globalThis.crypto.getRandomValues(bytes),
    subtle: {
      generateKey: (...args) => {
        counted.made += 1;
        return subtle.generateKey(...args);
      },
      exportKey: (...args) => subtle.exportKey(...args),
      sign: (...args) => subtle.sign(...args),
    },
  };
  return counted;
}

// ---- proofs, checked as a server would -------------------------------------------------

const part = (jws, i) => JSON.parse(Buffer.from(jws.split('.')[i], 'base64url').toString());
const thumbprint = ({ crv, kty, x, y }) =>
  createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
const sha256 = (s) => createHash('sha256').update(s).digest('base64url');

/** The proof's claims when its signature verifies with its own key; throws otherwise. */
function checkProof(proof, method, url) {
  assert.ok(proof, `${method} ${url} carries a DPoP header`);
  const [h, p, s] = proof.split('.');
  const header = part(proof, 0);
  assert.equal(header.typ, 'dpop+jwt');
  assert.equal(header.alg, 'ES256');
  assert.equal(header.jwk.d, undefined);
  const key = createPublicKey({ key: header.jwk, format: 'jwk' });
  const ok = verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
  assert.ok(ok, 'the signature verifies with the embedded key');
  const claims = part(proof, 1);
  const target = new URL(url);
  assert.equal(claims.htm, method);
  assert.equal(claims.htu, target.origin + target.pathname);
  assert.match(claims.jti, /^[A-Za-z0-9_-]{22}$/);
  return { claims, jkt: thumbprint(header.jwk) };
}

function fakeServers(clock) {
  const s = { requests: [], codes: new Map(), jti: new Set(), providerNonce: 'pn-1', apiNonce: 'an-1' };
  s.count = (path) => s.requests.filter((r) => r.path === path).length;
  let serial = 0;
  s.authorize = (url) => {
    const q = new URL(url).searchParams;
    const code = `C${s.codes.size + 1}`;
    s.codes.set(code, { nonce: q.get('nonce'), jkt: q.get('dpop_jkt') });
    return `${q.get('redirect_uri')}?code=${code}&state=${q.get('state')}`;
  };
  s.fetch = async (input, init = {}) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const proof = request.headers.get('dpop');
    s.requests.push({ path: url.pathname, proof, authorization: request.headers.get('authorization') });
    if (url.pathname === '/.well-known/openid-configuration') {
      return json({
        issuer: ISSUER,
        authorization_endpoint: `${ISSUER}/auth`,
        token_endpoint: `${ISSUER}/token`,
        revocation_endpoint: `${ISSUER}/token/revocation`,
        end_session_endpoint: `${ISSUER}/session/end`,
        code_challenge_methods_supported: ['S256'],
      });
    }
    const { claims, jkt } = checkProof(proof, request.method, request.url);
    assert.ok(!s.jti.has(claims.jti), 'a jti is never used twice');
    s.jti.add(claims.jti);
    if (url.origin === API) {
      const token = (request.headers.get('authorization') ?? '').replace(/^DPoP /, '');
      assert.equal(claims.ath, sha256(token));
      assert.equal(jkt, s.bound.get(token), 'the token is bound to this key');
      if (claims.nonce !== s.apiNonce) {
        return new Response(null, {
          status: 401,
          headers: { 'WWW-Authenticate': 'DPoP error="use_dpop_nonce", algs="ES256"', 'DPoP-Nonce': s.apiNonce },
        });
      }
      return json({ ok: true });
    }
    assert.equal(claims.ath, undefined);
    if (url.pathname === '/token/revocation') return new Response(null, { status: 200 });
    if (claims.nonce !== s.providerNonce) {
      return Response.json({ error: 'use_dpop_nonce' }, { status: 400, headers: { 'DPoP-Nonce': s.providerNonce } });
    }
    const body = new URLSearchParams(await request.text());
    const code = s.codes.get(body.get('code'));
    assert.equal(jkt, code.jkt, 'the proof key is the one dpop_jkt named');
    serial += 1;
    const access = `A${serial}`;
    s.bound ??= new Map();
    s.bound.set(access, jkt);
    const idClaims = { iss: ISSUER, aud: 'spa', sub: 'u1', iat: Math.floor(clock.t / 1000), exp: Math.floor(clock.t / 1000) + 600, nonce: code.nonce };
    const idToken = `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.${Buffer.from(JSON.stringify(idClaims)).toString('base64url')}.c2ln`;
    return json({ access_token: access, refresh_token: `R${serial}`, expires_in: 600, token_type: 'DPoP', id_token: idToken });
  };
  return s;
}

function options(servers, clock, env, extra = {}) {
  return {
    baseUrl: API,
    crossTab: false,
    dpop: true,
    oidc: { issuer: ISSUER, clientId: 'spa', redirectUri: '/callback' },
    fetch: servers.fetch,
    now: clock.now,
    crypto: env.crypto,
    indexedDB: env.indexedDB,
    locks: env.locks,
    ...extra,
  };
}

function environment() {
  const counted = countingCrypto();
  return { counted, crypto: counted.crypto, indexedDB: fakeIndexedDB(), locks: fakeLocks() };
}

async function signIn(page, servers, clock, env) {
  const first = createAuthGate(options(servers, clock, env));
  await first.loginWithRedirect();
  first.destroy();
  page.location.href = servers.authorize(page.assigned.at(-1));
  const gate = createAuthGate(options(servers, clock, env));
  await gate.handleRedirectCallback();
  return gate;
}

// ---- tests --------------------------------------------------------------------------------

test('a DPoP sign-in and API call: proofs verify, nonces cost one request each', async () => {
  const page = fakePage();
  const clock = fakeClock();
  const env = environment();
  const servers = fakeServers(clock);
  const gate = await signIn(page, servers, clock, env);
  assert.equal(gate.state, 'authenticated');
  assert.match(new URL(page.assigned[0]).searchParams.get('dpop_jkt'), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(servers.count('/token'), 2); // use_dpop_nonce, then the exchange with the nonce

  const response = await gate.fetch('/orders?page=2');
  assert.equal(response.status, 200);
  assert.equal(servers.count('/orders'), 2); // the API's nonce challenge costs one request
  assert.match(servers.requests.at(-1).authorization, /^DPoP A\d+$/);

  const again = await gate.fetch('/orders');
  assert.equal(again.status, 200);
  assert.equal(servers.count('/orders'), 3); // the nonce is kept for the API's origin
  gate.destroy();
});

test('the key is made once for all tabs, is not extractable, and goes on logout', async () => {
  const page = fakePage();
  const clock = fakeClock();
  const env = environment();
  const servers = fakeServers(clock);
  const tabs = [createAuthGate(options(servers, clock, env)), createAuthGate(options(servers, clock, env))];
  await Promise.all(tabs.map((t) => t.ready()));
  assert.equal(env.counted.made, 0, 'no key before something needs one');
  await Promise.all(tabs.map((t) => t.loginWithRedirect())); // both need it at once
  assert.equal(env.counted.made, 1, 'two tabs, one key');
  const jkts = page.assigned.map((url) => new URL(url).searchParams.get('dpop_jkt'));
  assert.equal(jkts.length, 2);
  assert.equal(jkts[0], jkts[1]);
  const record = env.indexedDB.stores.get('dpop-keys').get('authgate');
  assert.equal(record.privateKey.extractable, false);
  await assert.rejects(globalThis.crypto.subtle.exportKey('jwk', record.privateKey));
  await assert.rejects(globalThis.crypto.subtle.exportKey('pkcs8', record.privateKey));
  for (const t of tabs) t.destroy();

  const gate = await signIn(page, servers, clock, env);
  assert.equal(env.counted.made, 1, 'the sign-in used the stored key');
  await gate.logout({ redirect: false });
  assert.ok(servers.requests.some((r) => r.path === '/token/revocation' && r.proof), 'the revocation is signed');
  assert.equal(env.indexedDB.stores.get('dpop-keys').has('authgate'), false);
  gate.destroy();
});

test('logout with redirect deletes the key before the page leaves for the end-session endpoint', async () => {
  const page = fakePage();
  const clock = fakeClock();
  const env = environment();
  const servers = fakeServers(clock);
  const gate = await signIn(page, servers, clock, env);
  const keys = env.indexedDB.stores.get('dpop-keys');
  assert.equal(keys.has('authgate'), true);
  const left = [];
  page.location.assign = (url) => left.push({ url, keyStored: keys.has('authgate') });
  await gate.logout(); // redirect: true is the default
  assert.equal(left.length, 1);
  assert.match(left[0].url, /^https:\/\/id\.example\/session\/end\?/);
  assert.equal(left[0].keyStored, false, 'the key was deleted before location.assign');
  assert.ok(servers.requests.some((r) => r.path === '/token/revocation' && r.proof), 'the revocation is signed');
  gate.destroy();
});

test('an IndexedDB that never answers the removal holds logout and its redirect back 2 s at most', { timeout: 10_000 }, async () => {
  const page = fakePage();
  const clock = fakeClock();
  const env = environment();
  const servers = fakeServers(clock);
  const gate = await signIn(page, servers, clock, env);
  const store = env.indexedDB.stores.get('dpop-keys');
  env.indexedDB.open = () => ({}); // from now on the database never answers: no success, no error
  const left = [];
  page.location.assign = (url) => left.push(url);
  const t0 = Date.now();
  await gate.logout();
  const waited = Date.now() - t0;
  assert.equal(left.length, 1, 'the page still leaves for the end-session endpoint');
  assert.ok(waited >= 1900, `logout waited for the removal first (${waited} ms)`);
  assert.equal(store.has('authgate'), true, 'the key could not be deleted');
  gate.destroy();
});

test('getDpopProof gives a proof for the current token and the URL', async () => {
  const page = fakePage();
  const clock = fakeClock();
  const env = environment();
  const servers = fakeServers(clock);
  const gate = await signIn(page, servers, clock, env);
  const proof = await gate.getDpopProof({ method: 'GET', url: '/events?since=5' });
  const { claims } = checkProof(proof, 'GET', `${API}/events`);
  const token = [...servers.bound.keys()].at(-1);
  assert.equal(claims.ath, sha256(token));
  assert.equal(claims.iat, Math.floor(clock.t / 1000));
  gate.destroy();
});

test('a replayed token without the key is refused by the API', async () => {
  const page = fakePage();
  const clock = fakeClock();
  const env = environment();
  const servers = fakeServers(clock);
  const gate = await signIn(page, servers, clock, env);
  await gate.fetch('/orders');
  const stolen = servers.requests.at(-1).authorization;
  // Bearer use of the token: no proof at all.
  await assert.rejects(servers.fetch(`${API}/orders`, { headers: { Authorization: stolen } }));
  // A proof made with another key does not match the token's binding.
  const other = await globalThis.crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const jwk = await globalThis.crypto.subtle.exportKey('jwk', other.publicKey);
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } })}.${b64({
    jti: 'x'.repeat(22),
    htm: 'GET',
    htu: `${API}/orders`,
    iat: Math.floor(clock.t / 1000),
    ath: sha256(stolen.slice(5)),
    nonce: servers.apiNonce,
  })}`;
  const sig = await globalThis.crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, other.privateKey, new TextEncoder().encode(input));
  const forged = `${input}.${Buffer.from(sig).toString('base64url')}`;
  await assert.rejects(servers.fetch(`${API}/orders`, { headers: { Authorization: stolen, DPoP: forged } }), /bound to this key/);
  gate.destroy();
});

test('without options.dpop no key is made and getDpopProof says what is missing', async () => {
  fakePage();
  const clock = fakeClock();
  const env = environment();
  const servers = fakeServers(clock);
  const gate = createAuthGate({ ...options(servers, clock, env), dpop: false });
  await gate.ready();
  assert.equal(env.counted.made, 0);
  await assert.rejects(gate.getDpopProof({ method: 'GET', url: '/x' }), (error) => {
    assert.equal(error.code, 'BAD_CONFIG');
    assert.match(error.message, /options\.dpop/);
    return true;
  });
  gate.destroy();
});
