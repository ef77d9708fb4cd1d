// The framework adapters (dist/react.js, vue.js, axios.js, next-server.js) in Node, through the
// wasm core, with a fake server. Their behaviour in a real browser is in tests/browser/examples.spec.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import axios from 'axios';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { createApp, effectScope, isReadonly, nextTick } from 'vue';

import { AuthGateError } from '../../dist/index.js';
import { AuthGateProvider, useAuthGate, useAuthState } from '../../dist/react.js';
import * as nextClient from '../../dist/next.js';
import { requireAuth, useAuthGate as useVueAuthGate, authGate } from '../../dist/vue.js';
import { routeThroughGate } from '../../dist/axios.js';
import { serverFetch, withBearerFromCookie } from '../../dist/next-server.js';
import { API, deferred, fakeClock, fakeServer, gateFor, json, tokens, until } from './helpers.mjs';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

const isGateError = (code) => (error) => {
  assert.ok(error instanceof AuthGateError, `expected an AuthGateError, got ${error}`);
  assert.equal(error.code, code, error.message);
  return true;
};

// ---- every entry point ----------------------------------------------------------

test('importing every entry point touches no browser global', () => {
  // The frameworks probe for a browser themselves (typeof window): load them first, so what is
  // counted is authgate's own modules.
  const probe = `
    await Promise.all(['react', 'vue', 'axios'].map((m) => import(m)));
    const touched = [];
    for (const name of ['window', 'document', 'localStorage', 'sessionStorage', 'navigator', 'location']) {
      Object.defineProperty(globalThis, name, { configurable: true, get() { touched.push(name); return undefined; } });
    }
    for (const entry of ['index', 'react', 'vue', 'axios', 'next', 'next-server']) {
      await import(${JSON.stringify(dist)} + entry + '.js');
    }
    console.log(JSON.stringify(touched));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8', cwd: dist });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout.trim()), []);
});

test("authgate/next re-exports the React adapter behind a 'use client' directive", async () => {
  const { readFile } = await import('node:fs/promises');
  const source = await readFile(new URL('next.js', `file://${dist}`), 'utf8');
  assert.match(source, /^'use client';\n/);
  assert.equal(nextClient.AuthGateProvider, AuthGateProvider);
  assert.equal(nextClient.useAuthState, useAuthState);
  assert.equal(nextClient.useAuthGate, useAuthGate);
});

// ---- authgate/axios -------------------------------------------------------------

function routedAxios(server, extra) {
  const clock = fakeClock();
  const gate = gateFor(server, clock, extra);
  const api = axios.create({ baseURL: API });
  const unroute = routeThroughGate(api, gate);
  return { gate, api, unroute, clock };
}

test('an axios instance routed through the gate sends the bearer, params and JSON body', async () => {
  const server = fakeServer((r) => json({ echo: r.body, path: r.path }, r.method === 'POST' ? 201 : 200));
  const { gate, api } = routedAxios(server);
  gate.setTokens({ access: 'A1' });

  const got = await api.get('/api/items', { params: { q: 'a b', page: 2 } });
  assert.equal(got.status, 200);
  assert.deepEqual(got.data, { echo: null, path: '/api/items' }, 'axios parsed the JSON');
  assert.equal(server.requests[0].url, `${API}/api/items?q=a+b&page=2`);
  assert.equal(server.requests[0].authorization, 'Bearer A1');

  const posted = await api.post('/api/items', { name: 'x' });
  assert.equal(posted.status, 201);
  assert.equal(server.requests[1].method, 'POST');
  assert.equal(server.requests[1].contentType, 'application/json');
  assert.deepEqual(JSON.parse(server.requests[1].body), { name: 'x' });
  assert.equal(posted.headers['content-type'], 'application/json');
  gate.destroy();
});

test('a protected axios call while anonymous rejects with the AuthGateError and sends nothing', async () => {
  const server = fakeServer(() => json({}));
  const { gate, api } = routedAxios(server);
  await assert.rejects(api.get('/api/me'), isGateError('NO_TOKEN'));
  assert.equal(server.requests.length, 0);
  gate.destroy();
});

test('HTTP errors follow validateStatus as in axios', async () => {
  const server = fakeServer(() => json({ detail: 'missing' }, 404));
  const { gate, api } = routedAxios(server);
  gate.setTokens({ access: 'A1' });
  await assert.rejects(api.get('/api/missing'), (error) => {
    assert.ok(axios.isAxiosError(error), String(error));
    assert.equal(error.code, 'ERR_BAD_REQUEST');
    assert.equal(error.response.status, 404);
    assert.deepEqual(error.response.data, { detail: 'missing' });
    return true;
  });
  const accepted = await api.get('/api/missing', { validateStatus: () => true });
  assert.equal(accepted.status, 404);
  gate.destroy();
});

test('concurrent axios calls on two instances share one refresh and replay once', async () => {
  const clock = fakeClock();
  let current = 'OLD';
  const server = fakeServer((r) => {
    if (r.path === '/auth/refresh') return tokens('NEW', 'R2');
    return r.authorization === `Bearer ${current}` ? json({ ok: true }) : json({ detail: 'expired' }, 401);
  });
  const gate = gateFor(server, clock);
  gate.setTokens({ access: 'OLD', refresh: 'R1' });
  await gate.ready();
  const first = axios.create({ baseURL: API });
  const second = axios.create({ baseURL: API, headers: { 'X-Client': 'two' } });
  routeThroughGate(first, gate);
  routeThroughGate(second, gate);
  current = 'NEW'; // the server revoked OLD: every call gets a 401 until the refresh

  const results = await Promise.all([first.get('/api/a'), second.get('/api/b'), first.get('/api/c')]);
  assert.deepEqual(results.map((r) => r.status), [200, 200, 200]);
  assert.equal(server.count('/auth/refresh'), 1, 'one refresh for every instance');
  const replays = server.requests.filter((r) => r.path.startsWith('/api/') && r.authorization === 'Bearer NEW');
  assert.equal(replays.length, 3);
  gate.destroy();
});

test('the default axios instance is routed and the uninstaller restores its adapter', async () => {
  const server = fakeServer(() => json({ ok: true }));
  const gate = gateFor(server, fakeClock());
  gate.setTokens({ access: 'A1' });
  const before = axios.defaults.adapter;
  const unroute = routeThroughGate(axios, gate);
  try {
    const { data } = await axios.get(`${API}/api/me`);
    assert.deepEqual(data, { ok: true });
    assert.equal(server.requests[0].authorization, 'Bearer A1');
  } finally {
    unroute();
  }
  assert.equal(axios.defaults.adapter, before);
  gate.destroy();
});

test('axios timeouts and aborts keep their axios meaning', async () => {
  const never = deferred();
  const server = fakeServer(() => never.promise);
  const { gate, api } = routedAxios(server);
  gate.setTokens({ access: 'A1' });
  await assert.rejects(api.get('/api/slow', { timeout: 20 }), (error) => {
    assert.equal(error.code, 'ECONNABORTED');
    assert.match(error.message, /timeout of 20ms exceeded/);
    return true;
  });
  const controller = new AbortController();
  const pending = api.get('/api/slow', { signal: controller.signal });
  await until(() => server.requests.length === 2, 'the second request');
  controller.abort();
  await assert.rejects(pending, (error) => axios.isCancel(error));
  never.resolve(json({}));
  gate.destroy();
});

// ---- authgate/vue ---------------------------------------------------------------

test('useAuthGate() gives the installed gate and a readonly state that follows it', async () => {
  const server = fakeServer((r) => (r.path === '/auth/login' ? tokens('A1', 'R1') : json({})));
  const gate = gateFor(server, fakeClock());
  const app = createApp({ render: () => null });
  app.use(authGate(gate));
  assert.equal(app.config.globalProperties.$authGate, gate);

  const scope = effectScope();
  const { gate: injected, state } = scope.run(() => app.runWithContext(() => useVueAuthGate()));
  assert.equal(injected, gate);
  assert.ok(isReadonly(state));
  assert.equal(await gate.ready(), 'anonymous');
  assert.equal(state.value, 'anonymous');

  await gate.login({ username: 'ada', password: 'pw' });
  await nextTick();
  assert.equal(state.value, 'authenticated');
  assert.equal(useVueAuthGate(gate).state, state, 'one state ref per gate');
  scope.stop();
  gate.destroy();
});

test('useAuthGate() outside an app, without a gate, says how to fix it', () => {
  assert.throws(() => useVueAuthGate(), /app\.use\(authGate\(gate\)\)/);
});

test('requireAuth waits for ready(), then passes or redirects to the login route', async () => {
  const clock = fakeClock();
  const refresh = deferred();
  const server = fakeServer((r) => (r.path === '/auth/refresh' ? refresh.promise : json({})));
  const { memoryArea } = await import('./helpers.mjs');
  const area = memoryArea();
  area.setItem('vue-guard', JSON.stringify({ v: 1, type: 'tokens', gen: 1, access: 'OLD', refresh: 'R1', exp: clock.t - 1 }));
  const gate = gateFor(server, clock, { storage: 'local', storageKey: 'vue-guard', storageArea: area });

  const guard = requireAuth(gate, { loginRoute: '/login' });
  const to = { path: '/dashboard', fullPath: '/dashboard?tab=1', name: 'dashboard', meta: {} };
  let verdict;
  const pending = guard(to).then((v) => (verdict = v));
  await until(() => server.count('/auth/refresh') === 1, 'the start-up refresh');
  assert.equal(verdict, undefined, 'the guard waits while the state is unknown');
  refresh.resolve(tokens('NEW', 'R2'));
  await pending;
  assert.equal(verdict, true);

  await gate.logout();
  assert.deepEqual(await guard(to), { path: '/login', query: { redirect: '/dashboard?tab=1' } });
  assert.equal(await guard({ path: '/login', fullPath: '/login', meta: {} }), true, 'the login route passes');

  const byMeta = requireAuth(gate, { loginRoute: { name: 'login' }, protect: (r) => r.meta.requiresAuth === true });
  assert.equal(await byMeta({ path: '/about', fullPath: '/about', meta: {} }), true);
  assert.deepEqual(await byMeta({ ...to, meta: { requiresAuth: true } }), {
    name: 'login',
    query: { redirect: '/dashboard?tab=1' },
  });
  gate.destroy();
});

// ---- authgate/react -------------------------------------------------------------

test('AuthGateProvider renders the fallback on the server, and the hooks need a provider', () => {
  const server = fakeServer(() => json({}));
  const gate = gateFor(server, fakeClock());
  function Child() {
    return createElement('p', null, `state: ${useAuthState()}`);
  }
  const html = renderToString(
    createElement(AuthGateProvider, { gate, fallback: createElement('i', null, 'loading') }, createElement(Child)),
  );
  assert.equal(html, '<i>loading</i>');
  const Bare = () => createElement('p', null, useAuthGate().state);
  assert.throws(() => renderToString(createElement(Bare)), /outside <AuthGateProvider/);
  assert.throws(() => renderToString(createElement(AuthGateProvider, { gate: {} })), /createAuthGate\(\)/);
  gate.destroy();
});

// ---- authgate/next/server -------------------------------------------------------

const cookieJar = (values) => ({ get: (name) => (name in values ? { name, value: values[name] } : undefined) });

test('serverFetch sends the token cookie as a bearer, through the core policy', async () => {
  const server = fakeServer((r) => json({ path: r.path }, 201));
  const options = { baseUrl: API, public: ['/auth'], fetch: server.fetch, cookies: cookieJar({ access_token: 'C1' }) };
  const res = await serverFetch('/api/v1/sessions', { method: 'POST' }, options);
  assert.equal(res.status, 201);
  assert.deepEqual(await res.json(), { path: '/api/v1/sessions' });
  assert.equal(server.requests[0].url, `${API}/api/v1/sessions`);
  assert.equal(server.requests[0].authorization, 'Bearer C1');

  const api = withBearerFromCookie({ ...options, cookieName: 'tok', cookies: async () => cookieJar({ tok: 'C2' }) });
  await api('/api/me');
  assert.equal(server.requests[1].authorization, 'Bearer C2');

  await api('https://elsewhere.test/x');
  assert.equal(server.requests[2].authorization, null, 'the token never leaves for a foreign origin');
  await api('/auth/health');
  assert.equal(server.requests[3].authorization, null, 'public routes go bare');
});

test('serverFetch without the cookie refuses protected calls before the network', async () => {
  const server = fakeServer(() => json({}));
  await assert.rejects(
    serverFetch('/api/me', undefined, { baseUrl: API, fetch: server.fetch, cookies: cookieJar({}) }),
    isGateError('NO_TOKEN'),
  );
  assert.equal(server.requests.length, 0);
});

test('serverFetch needs an absolute baseUrl', () => {
  assert.throws(() => withBearerFromCookie({ baseUrl: '/' }), isGateError('BAD_CONFIG'));
  assert.throws(() => withBearerFromCookie(), isGateError('BAD_CONFIG'));
});
