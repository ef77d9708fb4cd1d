// The framework adapters (dist/react.js, vue.js, axios.js, next-server.js) in Node, through the
// wasm core, with a fake server; React trees render with react-dom/server, or with
// react-dom/client on a fake DOM (./dom.mjs) where effects must run. Their behaviour in a real
// browser is in tests/browser/examples.spec.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import axios from 'axios';
import { Component, StrictMode, createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { createApp, effectScope, isReadonly, nextTick } from 'vue';

import { AuthGateError } from '../../dist/index.js';
import {
  AuthCallback,
  AuthGateProvider,
  AuthReady,
  RequireAuth,
  useAuthGate,
  useAuthState,
  useIsAuthenticated,
  useSession,
} from '../../dist/react.js';
import * as nextClient from '../../dist/next.js';
import {
  requireAuth,
  useAuthGate as useVueAuthGate,
  useRedirectCallback as useVueRedirectCallback,
  authGate,
} from '../../dist/vue.js';
import { routeThroughGate } from '../../dist/axios.js';
import { serverFetch, tokenCookieHandlers, withBearerFromCookie } from '../../dist/next-server.js';
import { createMemoryHistory, createRouter } from 'vue-router';
import { API, deferred, fakeClock, fakeServer, gateFor, json, memoryArea, settle, tokens, until } from './helpers.mjs';
import { mount } from './dom.mjs';


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
  assert.equal(nextClient.RequireAuth, RequireAuth);
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

test('useAuthGate() gives a readonly session and isAuthenticated that follow login and logout', async () => {
  const server = fakeServer((r) => (r.path === '/auth/login' ? tokens('A1', 'R1') : json({})));
  const gate = gateFor(server, fakeClock());
  const { session, isAuthenticated } = useVueAuthGate(gate);
  assert.ok(isReadonly(session));
  await gate.ready();
  assert.equal(session.value, null);
  assert.equal(isAuthenticated.value, false);
  await gate.login({ username: 'ada', password: 'pw' });
  await nextTick();
  assert.notEqual(session.value, null);
  assert.deepEqual(session.value, gate.session);
  assert.equal(isAuthenticated.value, true);
  await gate.logout();
  await nextTick();
  assert.equal(session.value, null);
  assert.equal(isAuthenticated.value, false);
  gate.destroy();
});

test('isAuthenticated stays true while a refresh is under way (Vue ref and React hook), where state says refreshing', async () => {
  const held = deferred();
  const server = fakeServer((r) => {
    if (r.path === '/auth/login') return tokens('A1', 'R1', 60);
    if (r.path === '/auth/refresh') return held.promise;
    return json({ ok: true });
  });
  const clock = fakeClock();
  const gate = gateFor(server, clock);
  const { state, isAuthenticated } = useVueAuthGate(gate);
  await gate.ready();
  await gate.login({ username: 'ada', password: 'pw' });
  const Shown = () => createElement('p', null, `${useAuthState(gate)} ${useIsAuthenticated(gate)}`);
  const page = await mount(createElement(Shown));
  assert.equal(page.text(), 'authenticated true');

  clock.advance(61_000); // past expiry: the next call needs a refresh first
  let call;
  await page.update(async () => {
    call = gate.fetch('/api/x');
    await until(() => server.count('/auth/refresh') === 1, 'the refresh request');
  });
  await nextTick();
  assert.equal(gate.state, 'refreshing');
  assert.equal(state.value, 'refreshing');
  assert.equal(isAuthenticated.value, true, 'the Vue ref does not flicker to false');
  assert.equal(page.text(), 'refreshing true', 'nor does the React hook');

  await page.update(async () => {
    held.resolve(tokens('A2', 'R2', 60));
    assert.equal((await call).status, 200);
  });
  assert.equal(page.text(), 'authenticated true');
  assert.equal(isAuthenticated.value, true);
  await page.unmount();
  gate.destroy();
});

test('requireAuth with the router moves the user from a protected page to the login route on logout', async () => {
  const server = fakeServer((r) => (r.path === '/auth/login' ? tokens('A1', 'R1') : json({})));
  const gate = gateFor(server, fakeClock());
  const Page = { render: () => null };
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/login', name: 'login', component: Page },
      { path: '/about', component: Page },
      { path: '/dashboard', component: Page, meta: { requiresAuth: true } },
    ],
  });
  router.beforeEach(requireAuth(gate, { loginRoute: '/login', router, protect: (to) => to.meta.requiresAuth === true }));
  await gate.login({ username: 'ada', password: 'pw' });
  await router.push('/dashboard?tab=2');
  assert.equal(router.currentRoute.value.fullPath, '/dashboard?tab=2');

  await gate.logout(); // here, or a logout broadcast by another tab: both end the session
  await until(() => router.currentRoute.value.path === '/login', 'the move to the login route');
  assert.deepEqual(router.currentRoute.value.query, { redirect: '/dashboard?tab=2' });

  // On an unprotected page a logout moves nobody.
  await gate.login({ username: 'ada', password: 'pw' });
  await router.push('/about');
  await gate.logout();
  await settle();
  assert.equal(router.currentRoute.value.fullPath, '/about');
  gate.destroy();
});

test('requireAuth with loginWithRedirect sends an anonymous user to the provider with the page as returnTo', async () => {
  const gate = gateFor(fakeServer(() => json({})), fakeClock());
  const asked = [];
  gate.loginWithRedirect = async (options) => {
    asked.push(options);
  };
  const guard = requireAuth(gate, { loginWithRedirect: { params: { prompt: 'login' } } });
  assert.equal(await guard({ path: '/orders', fullPath: '/orders?id=7', meta: {} }), false, 'the navigation is cancelled');
  assert.deepEqual(asked, [{ returnTo: '/orders?id=7', params: { prompt: 'login' } }]);
  assert.equal(await guard({ path: '/login', fullPath: '/login', meta: {} }), true);
  gate.setTokens({ access: 'A1' });
  assert.equal(await guard({ path: '/orders', fullPath: '/orders', meta: {} }), true);
  assert.equal(asked.length, 1);
  gate.destroy();
});

test('useRedirectCallback (Vue) handles the callback once and reports returnTo, or the error', async () => {
  const gate = gateFor(fakeServer(() => json({})), fakeClock());
  let calls = 0;
  const outcome = deferred();
  gate.handleRedirectCallback = () => {
    calls += 1;
    return outcome.promise;
  };
  const done = [];
  const scope = effectScope();
  const cb = scope.run(() => useVueRedirectCallback({ gate, onDone: (to) => done.push(to) }));
  assert.equal(cb.status.value, 'pending');
  outcome.resolve({ returnTo: '/orders' });
  await cb.result;
  assert.equal(cb.status.value, 'done');
  assert.equal(cb.returnTo.value, '/orders');
  assert.deepEqual(done, ['/orders']);
  assert.equal(calls, 1);
  scope.stop();

  gate.handleRedirectCallback = async () => {
    throw new AuthGateError('LOGIN_REQUIRED', 'handleRedirectCallback(): access_denied');
  };
  const failed = useVueRedirectCallback({ gate });
  await assert.rejects(failed.result, /access_denied/);
  assert.equal(failed.status.value, 'error');
  assert.equal(failed.error.value.code, 'LOGIN_REQUIRED');
  gate.destroy();
});

// ---- authgate/react -------------------------------------------------------------

test('AuthGateProvider renders its children on the server; only <AuthReady> holds back', () => {
  const server = fakeServer(() => json({}));
  const gate = gateFor(server, fakeClock());
  function Status() {
    return createElement('p', null, `state: ${useAuthState()}, signed in: ${useIsAuthenticated()}, session: ${useSession()}`);
  }
  const page = (g) =>
    renderToString(
      createElement(
        AuthGateProvider,
        { gate: g },
        createElement('h1', null, 'Dashboard'),
        createElement(Status),
        createElement(AuthReady, { fallback: createElement('i', null, 'loading') }, createElement('b', null, 'secret')),
      ),
    );
  const expected = '<h1>Dashboard</h1><p>state: initializing, signed in: false, session: null</p><i>loading</i>';
  assert.equal(page(gate), expected);
  assert.equal(page(null), expected, 'a provider given no gate (a Next.js server render) renders the same');
  gate.destroy();
});

test('the React hooks say how to fix a missing provider or gate, and the removed fallback prop', () => {
  const server = fakeServer(() => json({}));
  const gate = gateFor(server, fakeClock());
  const Bare = () => createElement('p', null, useAuthGate().state);
  assert.throws(() => renderToString(createElement(Bare)), /outside <AuthGateProvider/);
  const BareSession = () => createElement('p', null, String(useSession()));
  assert.throws(() => renderToString(createElement(BareSession)), /useSession\(gate\)/);
  assert.throws(() => renderToString(createElement(AuthGateProvider, { gate: {} })), /createAuthGate\(\)/);
  assert.throws(
    () => renderToString(createElement(AuthGateProvider, { gate, fallback: 'x' }, 'child')),
    /<AuthReady fallback/,
  );
  const Given = () => createElement('p', null, `${useAuthState(gate)} ${useIsAuthenticated(gate)}`);
  assert.equal(renderToString(createElement(Given)), '<p>initializing false</p>', 'a gate passed in needs no provider');
  gate.destroy();
});

test('<AuthCallback> renders its fallback on the server and calls nothing there', () => {
  let calls = 0;
  const gate = gateFor(fakeServer(() => json({})), fakeClock());
  gate.handleRedirectCallback = async () => {
    calls += 1;
    return { returnTo: '/x' };
  };
  const html = renderToString(
    createElement(AuthGateProvider, { gate }, createElement(AuthCallback, { fallback: 'Signing in…', onDone: () => {} })),
  );
  assert.equal(html, 'Signing in…');
  assert.equal(calls, 0, 'the callback is handled after mount, in the browser');
  gate.destroy();
});

// ---- <RequireAuth> ----------------------------------------------------------------

/** A gate whose loginWithRedirect records its options and never settles: the page would be leaving. */
async function signInGate({ signedIn = false } = {}) {
  const server = fakeServer((r) => (r.path === '/auth/login' ? tokens('A1', 'R1') : json({})));
  const gate = gateFor(server, fakeClock());
  const asked = [];
  gate.loginWithRedirect = (options) => {
    asked.push(options);
    return new Promise(() => {});
  };
  if (signedIn) gate.setTokens({ access: 'A1' });
  await gate.ready();
  return { gate, asked };
}

const guarded = (props, child = 'secret') => createElement(RequireAuth, { fallback: 'wait', ...props }, child);

class Boundary extends Component {
  state = { error: null };
  static getDerivedStateFromError(error) {
    return { error };
  }
  render() {
    return this.state.error ? `caught: ${this.state.error.message}` : this.props.children;
  }
}

test('<RequireAuth> renders its fallback on the server and starts nothing there', async () => {
  const { gate, asked } = await signInGate();
  let anonymous = 0;
  const onAnonymous = () => (anonymous += 1);
  const page = (g, props) => renderToString(createElement(AuthGateProvider, { gate: g }, guarded(props)));
  assert.equal(page(gate, { loginWithRedirect: true }), 'wait', 'the state is not known on the server, even for a ready gate');
  assert.equal(page(gate, { onAnonymous }), 'wait');
  assert.equal(page(null, { loginWithRedirect: true, onAnonymous }), 'wait', 'a provider given no gate');
  gate.setTokens({ access: 'A1' });
  assert.equal(page(gate, { onAnonymous }), 'wait', 'a session is not known on the server either');
  assert.equal(renderToString(createElement(RequireAuth, { gate }, 'secret')), '', 'the default fallback is nothing');
  assert.deepEqual([asked, anonymous], [[], 0], 'effects run in the browser only');
  gate.destroy();
});

test('<RequireAuth> renders its children while there is a session, and starts nothing', async () => {
  const { gate, asked } = await signInGate({ signedIn: true });
  let anonymous = 0;
  const onAnonymous = () => (anonymous += 1);
  const guards = createElement(AuthGateProvider, { gate }, guarded({ onAnonymous }), guarded({ loginWithRedirect: true }, ' too'));
  const page = await mount(createElement(StrictMode, null, guards));
  assert.equal(page.text(), 'secret too');
  assert.deepEqual([asked, anonymous], [[], 0]);
  await page.unmount();
  gate.destroy();
});

test('<RequireAuth loginWithRedirect> signs in once per gate (StrictMode, re-renders, remounts), returning to this page', async () => {
  const { gate, asked } = await signInGate();
  const params = { prompt: 'login' };
  const tree = (extra) =>
    createElement(
      StrictMode,
      null,
      createElement(
        AuthGateProvider,
        { gate },
        guarded({ loginWithRedirect: { params } }),
        guarded({ loginWithRedirect: true }, extra),
      ),
    );
  const page = await mount(tree('a'), { url: 'http://app.test/orders?id=7#top' });
  assert.equal(page.text(), 'waitwait');
  const once = [{ returnTo: '/orders?id=7#top', params: { prompt: 'login' } }];
  assert.deepEqual(asked, once, 'one call for two guards and doubled effects');
  await page.render(tree('b')); // a re-render, with a new {params} object
  await page.render(createElement(StrictMode, null, createElement('p', null, 'elsewhere')));
  await page.render(tree('c')); // a remount while the page is on its way to the provider
  assert.equal(asked.length, 1);
  await page.unmount();
  gate.destroy();

  const other = await signInGate();
  const explicit = await mount(guarded({ gate: other.gate, loginWithRedirect: true, returnTo: '/items' }));
  assert.deepEqual(other.asked, [{ returnTo: '/items' }], 'returnTo as given; no params unless asked');
  await explicit.unmount();
  other.gate.destroy();
});

test('<RequireAuth onAnonymous> calls it once without a session, StrictMode or not, and renders the fallback', async () => {
  const { gate, asked } = await signInGate();
  let anonymous = 0;
  const onAnonymous = () => (anonymous += 1);
  const tree = () => createElement(StrictMode, null, createElement(AuthGateProvider, { gate }, guarded({ onAnonymous })));
  const page = await mount(tree());
  assert.equal(page.text(), 'wait');
  assert.equal(anonymous, 1, "StrictMode's second effect is no second sign-out");
  await page.render(tree()); // a re-render with a new onAnonymous closure
  assert.equal(anonymous, 1);
  await page.render(createElement('p', null, 'elsewhere'));
  await page.render(tree()); // a remount, the state already known: StrictMode doubles this first effect
  assert.equal(anonymous, 2, 'a remount is told once');
  assert.deepEqual(asked, [], 'no sign-in without loginWithRedirect');
  await page.unmount();
  gate.destroy();
});

test('<RequireAuth> waits for ready(): while the start-up refresh is under way it starts nothing', async () => {
  const clock = fakeClock();
  const refresh = deferred();
  const server = fakeServer((r) => (r.path === '/auth/refresh' ? refresh.promise : json({})));
  const area = memoryArea();
  area.setItem('react-guard', JSON.stringify({ v: 1, type: 'tokens', gen: 1, access: 'OLD', refresh: 'R1', exp: clock.t - 1 }));
  const gate = gateFor(server, clock, { storage: 'local', storageKey: 'react-guard', storageArea: area });
  const asked = [];
  gate.loginWithRedirect = async (options) => asked.push(options);
  let anonymous = 0;
  const onAnonymous = () => (anonymous += 1);
  const page = await mount(
    createElement(AuthGateProvider, { gate }, guarded({ onAnonymous }), guarded({ loginWithRedirect: true }, ' too')),
  );
  await page.update(() => until(() => server.count('/auth/refresh') === 1, 'the start-up refresh'));
  assert.equal(page.text(), 'waitwait');
  assert.deepEqual([asked, anonymous], [[], 0], 'no session yet is not "anonymous"');
  await page.update(() => refresh.resolve(tokens('NEW', 'R2')));
  assert.equal(page.text(), 'secret too');
  assert.deepEqual([asked, anonymous], [[], 0]);
  await page.unmount();
  gate.destroy();
});

test('<RequireAuth> follows the session: children after a login, onAnonymous or the sign-in again when it ends', async () => {
  const { gate, asked } = await signInGate({ signedIn: true });
  let anonymous = 0;
  const onAnonymous = () => (anonymous += 1);
  const page = await mount(createElement(StrictMode, null, createElement(AuthGateProvider, { gate }, guarded({ onAnonymous }))));
  assert.equal(page.text(), 'secret');
  await page.update(() => gate.logout()); // here, or a logout broadcast by another tab: both end the session
  assert.deepEqual([page.text(), anonymous], ['wait', 1]);
  await page.update(() => gate.login({ username: 'ada', password: 'pw' }));
  assert.deepEqual([page.text(), anonymous], ['secret', 1]);
  await page.update(() => gate.logout());
  assert.deepEqual([page.text(), anonymous], ['wait', 2], 'each end of a session is told');
  await page.unmount();

  await gate.login({ username: 'ada', password: 'pw' });
  const oidc = await mount(guarded({ gate, loginWithRedirect: true }), { url: 'http://app.test/items' });
  assert.equal(oidc.text(), 'secret');
  await oidc.update(() => gate.logout());
  assert.equal(oidc.text(), 'wait');
  assert.deepEqual(asked, [{ returnTo: '/items' }], 'the session ended: off to the provider');
  await oidc.unmount();
  gate.destroy();
});

test('<RequireAuth loginWithRedirect> throws a failed sign-in to the nearest error boundary; a remount tries again', async () => {
  const { gate } = await signInGate();
  let calls = 0;
  gate.loginWithRedirect = async () => {
    calls += 1;
    throw new AuthGateError('PROVIDER_ERROR', 'discovery: the issuer did not answer');
  };
  const tree = () => createElement(Boundary, null, guarded({ gate, loginWithRedirect: true }));
  const page = await mount(createElement(StrictMode, null, tree()));
  assert.equal(page.text(), 'caught: discovery: the issuer did not answer');
  assert.equal(page.errors.length, 1);
  assert.equal(page.errors[0].code, 'PROVIDER_ERROR');
  assert.equal(calls, 1);
  await page.render(createElement('p', null, 'elsewhere'));
  await page.render(tree());
  assert.equal(calls, 2, 'a rejected sign-in is forgotten');
  await page.unmount();
  gate.destroy();
});

test('<RequireAuth loginWithRedirect> with a gate that has no loginWithRedirect names the oidc option', async () => {
  const { gate } = await signInGate();
  gate.loginWithRedirect = undefined;
  const needsOidc = (error) => {
    assert.ok(error instanceof TypeError, String(error));
    assert.match(error.message, /<RequireAuth loginWithRedirect> needs a gate created with the oidc option/);
    return true;
  };
  assert.throws(() => renderToString(guarded({ gate, loginWithRedirect: true })), needsOidc);
  assert.throws(() => renderToString(createElement(AuthGateProvider, { gate }, guarded({ loginWithRedirect: true }))), needsOidc);
  assert.equal(renderToString(guarded({ gate, onAnonymous: () => {} })), 'wait', 'onAnonymous needs no oidc');
  assert.throws(() => renderToString(guarded({})), /outside <AuthGateProvider.*<RequireAuth gate=\{gate\}>/);
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

test('serverFetch without the cookie refuses protected calls before the network, naming the cookie', async () => {
  const server = fakeServer(() => json({}));
  await assert.rejects(
    serverFetch('/api/me', { method: 'POST' }, { baseUrl: API, fetch: server.fetch, cookies: cookieJar({}), cookieName: 'sid' }),
    (error) => {
      isGateError('NO_TOKEN')(error);
      assert.match(error.message, /POST \/api\/me: this request carries no "sid" cookie/);
      assert.match(error.message, /tokenCookieHandlers\(\{ cookieName: 'sid' \}\)/);
      assert.doesNotMatch(error.message, /Log in first/);
      return true;
    },
  );
  assert.equal(server.requests.length, 0);
});

test('serverFetch needs an absolute baseUrl', () => {
  assert.throws(() => withBearerFromCookie({ baseUrl: '/' }), isGateError('BAD_CONFIG'));
  assert.throws(() => withBearerFromCookie(), isGateError('BAD_CONFIG'));
});

// ---- the token cookie route and syncTokenCookie ----------------------------------

const SITE = 'http://app.test';
const cookieRequest = (method, { origin = SITE, header = '1', body, contentType = 'application/json', site } = {}) =>
  new Request(`${SITE}/authgate/token`, {
    method,
    headers: {
      ...(origin ? { origin } : {}),
      ...(header ? { 'x-authgate-cookie': header } : {}),
      ...(site ? { 'sec-fetch-site': site } : {}),
      ...(body !== undefined ? { 'content-type': contentType } : {}),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });

test('tokenCookieHandlers sets and clears an httpOnly, SameSite cookie from a same-origin request', async () => {
  const { POST, DELETE } = tokenCookieHandlers({ cookieName: 'tok' });
  const set = await POST(cookieRequest('POST', { body: { access: 'eyJ.a-b_c.d', expiresIn: 120 } }));
  assert.equal(set.status, 204);
  assert.equal(set.headers.get('set-cookie'), 'tok=eyJ.a-b_c.d; Path=/; Max-Age=120; HttpOnly; SameSite=Lax');
  const cleared = await DELETE(cookieRequest('DELETE'));
  assert.equal(cleared.status, 204);
  assert.equal(cleared.headers.get('set-cookie'), 'tok=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax');

  const behindTls = new Request('http://10.0.0.5:3000/authgate/token', {
    method: 'POST',
    headers: {
      origin: 'https://app.example',
      'x-forwarded-host': 'app.example',
      'x-forwarded-proto': 'https',
      'x-authgate-cookie': '1',
      'content-type': 'application/json',
    },
    body: JSON.stringify({ access: 'T1', expiresIn: 10 ** 9 }),
  });
  const strict = tokenCookieHandlers({ sameSite: 'strict', maxAgeSeconds: 600 });
  assert.equal(
    (await strict.POST(behindTls)).headers.get('set-cookie'),
    'access_token=T1; Path=/; Max-Age=600; HttpOnly; SameSite=Strict; Secure',
    'https behind a proxy: Secure; Max-Age capped',
  );
});

test('tokenCookieHandlers refuses cross-site requests and anything that is not a bearer token', async () => {
  const { POST, DELETE } = tokenCookieHandlers();
  const body = { access: 'T1', expiresIn: 60 };
  const refusals = [
    ['another origin', cookieRequest('POST', { origin: 'http://evil.test', body })],
    ['no Origin', cookieRequest('POST', { origin: null, body })],
    ['no custom header (a cross-site form)', cookieRequest('POST', { header: null, body })],
    ['Sec-Fetch-Site cross-site', cookieRequest('POST', { site: 'cross-site', body })],
    ['a logout from another site', cookieRequest('DELETE', { origin: 'http://evil.test' })],
  ];
  for (const [what, request] of refusals) {
    const res = await (request.method === 'POST' ? POST : DELETE)(request);
    assert.equal(res.status, 403, what);
    assert.equal(res.headers.get('set-cookie'), null, what);
    assert.match((await res.json()).detail, /authgate\/next\/server: (POST|DELETE) \/authgate\/token/, what);
  }
  for (const bad of [{ access: 'a b' }, { access: 'x;Path=/' }, { access: '' }, { access: 'x'.repeat(9000) }, '{nope']) {
    const res = await POST(cookieRequest('POST', { body: bad }));
    assert.equal(res.status, 400, JSON.stringify(bad).slice(0, 40));
    assert.equal(res.headers.get('set-cookie'), null);
  }
  assert.equal((await POST(cookieRequest('POST', { body: 'access=T1', contentType: 'application/x-www-form-urlencoded' }))).status, 415);
  assert.throws(() => tokenCookieHandlers({ cookieName: 'a;b' }), isGateError('BAD_CONFIG'));
  assert.throws(() => tokenCookieHandlers({ sameSite: 'none' }), isGateError('BAD_CONFIG'));
});

test('syncTokenCookie keeps the route handler\'s cookie on the gate\'s current token, and clears it on logout', async () => {
  const server = fakeServer((r) => (r.path === '/auth/login' ? tokens('A1', 'R1') : json({})));
  const gate = gateFor(server, fakeClock());
  const { POST, DELETE } = tokenCookieHandlers();
  const jar = new Map();
  const posted = [];
  // The browser: same-origin fetch to the app's route, with the Origin it adds; the cookie jar keeps Set-Cookie.
  const browserFetch = async (url, init) => {
    const request = new Request(new URL(url, SITE), { ...init, headers: { ...init.headers, origin: SITE } });
    posted.push(request.method);
    const res = await (request.method === 'POST' ? POST : DELETE)(request);
    const [pair] = res.headers.get('set-cookie').split(';');
    const [name, value] = pair.split('=');
    if (value === '') jar.delete(name);
    else jar.set(name, value);
    return res;
  };
  const sync = nextClient.syncTokenCookie(gate, { fetch: browserFetch });
  await sync.synced();
  assert.deepEqual(posted, ['DELETE'], 'anonymous at start: the cookie is cleared');

  gate.setTokens({ access: 'A0' });
  await sync.synced();
  assert.equal(jar.get('access_token'), 'A0');
  const api = withBearerFromCookie({ baseUrl: API, fetch: server.fetch, cookies: () => ({ get: (n) => jar.get(n) }) });
  await api('/api/me');
  assert.equal(server.requests.at(-1).authorization, 'Bearer A0', 'the server helper reads what the route set');

  await gate.logout();
  await sync.synced();
  assert.equal(jar.has('access_token'), false);
  await assert.rejects(api('/api/me'), isGateError('NO_TOKEN'));
  const writes = posted.length;
  await sync.synced();
  assert.equal(posted.length, writes, 'nothing is posted when the cookie already matches');
  sync.stop();
  gate.destroy();
});
