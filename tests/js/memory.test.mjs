// Out of memory through the shim: every result code of the core is checked, an AG_ERR_NOMEM
// fails the affected call with AuthGateError OUT_OF_MEMORY, and the gate stays usable.
// The core's own behaviour under allocation failure is swept natively (tests/c/test_alloc_failure.c);
// here a bound export is made to answer AG_ERR_NOMEM, which is what the core returns when an
// allocation failed and nothing changed.
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';

import { AuthGateError, createAuthGate } from '../../dist/index.js';
import { loadCore } from '../../dist/core.js';
import { API, T0, deferred, fakeClock, fakeServer, gateFor, json, settle, tokens, until } from './helpers.mjs';

const AG_ERR_NOMEM = -1;
const core = await loadCore();
const restores = [];

/**
 * The next `times` calls of export `name` return `failure` (AG_ERR_NOMEM; malloc: NULL) without
 * running, so nothing changes in the core.
 */
function failNext(name, times = 1, failure = name === '_malloc' ? 0 : AG_ERR_NOMEM) {
  const real = core.m[name];
  const counter = { calls: 0 };
  core.m[name] = (...args) => {
    counter.calls++;
    if (counter.calls <= times) return failure;
    return real(...args);
  };
  restores.push(() => {
    core.m[name] = real;
  });
  return counter;
}

// The gate's timers are unref'd (they must not keep a process alive): keep the loop up while tests wait.
let keepAlive;
beforeEach(() => {
  keepAlive = setInterval(() => {}, 1000);
});

afterEach(() => {
  clearInterval(keepAlive);
  for (const restore of restores.splice(0)) restore();
  mock.restoreAll();
});

const rejectsOutOfMemory = (promise, naming) =>
  assert.rejects(promise, (error) => {
    assert.ok(error instanceof AuthGateError, `expected an AuthGateError, got ${error}`);
    assert.equal(error.code, 'OUT_OF_MEMORY', error.message);
    assert.ok(error.message.includes(naming), error.message);
    assert.match(error.message, /out of memory/);
    return true;
  });

const apiServer = () =>
  fakeServer((r) => (r.path === '/auth/login' || r.path === '/auth/refresh' ? tokens('NEW', 'R2') : json({ ok: 1 })));

test('a call the core has no memory for rejects OUT_OF_MEMORY, is never sent, and the next one goes', async () => {
  const server = apiServer();
  const gate = gateFor(server, fakeClock());
  gate.setTokens({ access: 'A1' });
  await gate.ready();
  failNext('_ag_client_call_opts');
  await rejectsOutOfMemory(gate.fetch('/api/me'), 'gate.fetch(GET /api/me)');
  assert.equal(server.requests.length, 0);
  await gate.fetch('/api/me');
  assert.deepEqual(
    server.requests.map((r) => r.authorization),
    ['Bearer A1'],
  );
  gate.destroy();
});

test('getAccessToken the core has no memory for rejects OUT_OF_MEMORY, and the next one answers', async () => {
  const server = apiServer();
  const gate = gateFor(server, fakeClock());
  gate.setTokens({ access: 'A1' });
  await gate.ready();
  failNext('_ag_client_token');
  await rejectsOutOfMemory(gate.getAccessToken(), 'gate.getAccessToken()');
  assert.equal(await gate.getAccessToken(), 'A1');
  assert.equal(server.requests.length, 0);
  gate.destroy();
});

test('a response the core cannot take fails that call OUT_OF_MEMORY, and the core forgets it', async () => {
  const server = apiServer();
  const gate = gateFor(server, fakeClock());
  gate.setTokens({ access: 'A1' });
  await gate.ready();
  await gate.fetch('/api/warm-up'); // the call table is allocated on the first call
  const live = core.liveAllocations();
  failNext('_ag_client_response_ex');
  await rejectsOutOfMemory(gate.fetch('/api/me'), `gate.fetch(GET ${API}/api/me)`);
  assert.equal(server.count('/api/me'), 1, 'it was sent once, with the bearer');
  assert.equal(server.requests[1].authorization, 'Bearer A1');
  assert.equal(core.liveAllocations(), live, 'the call is gone from the core too');
  assert.equal(gate.state, 'authenticated');
  gate.destroy();
});

test('a network failure the core cannot take still settles the call', async () => {
  const server = fakeServer(() => {
    throw new TypeError('Failed to fetch');
  });
  const gate = gateFor(server, fakeClock());
  gate.setTokens({ access: 'A1' });
  await gate.ready();
  failNext('_ag_client_network_error');
  await rejectsOutOfMemory(gate.fetch('/api/me'), 'gate.fetch(GET');
  gate.destroy();
});

test('a login whose answer cannot be taken rejects OUT_OF_MEMORY, stays anonymous, and a retry logs in', async () => {
  const server = apiServer();
  const gate = gateFor(server, fakeClock());
  assert.equal(await gate.ready(), 'anonymous');
  failNext('_ag_client_response_ex');
  await rejectsOutOfMemory(gate.login({ user: 'ada', password: 'pw' }), `POST ${API}/auth/login`);
  assert.equal(gate.state, 'anonymous');
  await gate.login({ user: 'ada', password: 'pw' });
  assert.equal(gate.state, 'authenticated');
  gate.destroy();
});

test('a refresh whose answer cannot be taken backs off and retries; the waiting call goes once, with the new token', async () => {
  const first = deferred();
  const second = deferred();
  const answers = [first, second];
  const server = fakeServer((r) => (r.path === '/auth/refresh' ? answers.shift().promise : json({ ok: 1 })));
  const gate = gateFor(server, { now: Date.now }, { readyTimeoutMs: 5000 });
  gate.setTokens({ access: 'OLD', refresh: 'R1', expiresIn: 0.001 });
  await gate.ready();
  await new Promise((resolve) => setTimeout(resolve, 5)); // OLD has expired
  const call = gate.fetch('/api/me');
  await until(() => server.count('/auth/refresh') === 1, 'the refresh');
  failNext('_ag_client_response_ex');
  first.resolve(tokens('LOST', 'R2'));
  await until(() => server.count('/auth/refresh') === 2, 'the retry after the back-off');
  second.resolve(tokens('NEW', 'R3'));
  await call;
  const sent = server.requests.filter((r) => r.path === '/api/me');
  assert.deepEqual(
    sent.map((r) => r.authorization),
    ['Bearer NEW'],
  );
  gate.destroy();
});

test('a start the core has no memory for is tried once more', async () => {
  const counter = failNext('_ag_client_start');
  const gate = gateFor(apiServer(), fakeClock());
  assert.equal(await gate.ready(), 'anonymous');
  assert.equal(counter.calls, 2);
  gate.destroy();
});

test('a gate that cannot start fails like a failed load: ready(), fetch and login reject OUT_OF_MEMORY', async () => {
  failNext('_ag_client_start', 2);
  const server = apiServer();
  const gate = gateFor(server, fakeClock());
  await rejectsOutOfMemory(gate.ready(), 'createAuthGate()');
  await rejectsOutOfMemory(gate.fetch('/api/me'), 'createAuthGate()');
  await rejectsOutOfMemory(gate.login({ user: 'ada' }), 'createAuthGate()');
  assert.equal(server.requests.length, 0);
  gate.destroy();
});

test('setTokens and logout without memory throw OUT_OF_MEMORY and change nothing', async () => {
  const server = apiServer();
  const gate = gateFor(server, fakeClock());
  await gate.ready();
  failNext('_ag_client_set_tokens');
  assert.throws(() => gate.setTokens({ access: 'A1' }), { name: 'AuthGateError', code: 'OUT_OF_MEMORY' });
  assert.equal(gate.state, 'anonymous');
  gate.setTokens({ access: 'A1' });
  failNext('_ag_client_logout_redirect');
  await rejectsOutOfMemory(gate.logout(), 'gate.logout()');
  assert.equal(gate.state, 'authenticated', 'still logged in: the app may retry');
  await gate.logout();
  assert.equal(gate.state, 'anonymous');
  gate.destroy();
});

test('a tick without memory is tried again shortly, and the waiting call still times out', async () => {
  const login = deferred(); // a login that never answers: calls wait for it
  const server = fakeServer((r) => (r.path === '/auth/login' ? login.promise : json({ ok: 1 })));
  const gate = gateFor(server, { now: Date.now }, { readyTimeoutMs: 20 });
  await gate.ready();
  gate.login({ user: 'ada' }).catch(() => {});
  await until(() => server.count('/auth/login') === 1, 'the login');
  const counter = failNext('_ag_client_tick');
  await assert.rejects(gate.fetch('/api/me'), { code: 'READY_TIMEOUT' });
  assert.ok(counter.calls >= 2, 'the failed tick was retried');
  assert.equal(server.count('/api/me'), 0);
  gate.destroy();
});

test('a lock grant without memory is reported again, or handed back and asked for later; one refresh', async () => {
  const server = apiServer();
  const gate = gateFor(server, { now: Date.now }, { crossTab: true, storageKey: `memory-lock-${T0}` });
  try {
    await gate.ready();
    const counter = failNext('_ag_client_lock_granted', 2);
    gate.setTokens({ access: 'OLD', refresh: 'R1', expiresIn: 0.001 }); // due at once: lock, refresh
    await until(() => server.count('/auth/refresh') === 1, 'the refresh');
    assert.equal(counter.calls, 3, 'reported twice, handed back, granted again');
    const response = await gate.fetch('/api/me');
    assert.equal(response.status, 200);
    assert.equal(server.count('/auth/refresh'), 1);
    assert.deepEqual(
      server.requests.filter((r) => r.path === '/api/me').map((r) => r.authorization),
      ['Bearer NEW'],
    );
  } finally {
    gate.destroy();
  }
});

test("a message from another tab that cannot be taken is reported, not dropped silently", async () => {
  const storageKey = `memory-tabs-${T0}`;
  const one = gateFor(apiServer(), fakeClock(), { crossTab: true, storageKey });
  const two = gateFor(apiServer(), fakeClock(), { crossTab: true, storageKey });
  await Promise.all([one.ready(), two.ready()]);
  await settle(); // the tabs' hellos have landed
  const errors = mock.method(console, 'error', () => {});
  failNext('_ag_client_message');
  one.setTokens({ access: 'A1' });
  await until(() => errors.mock.callCount() === 1, 'the report');
  assert.match(String(errors.mock.calls[0].arguments[0]), /another tab.*out of memory/);
  one.destroy();
  two.destroy();
});

test('a heap too full to copy the URL in: fetch rejects OUT_OF_MEMORY, a guarded raw fetch is refused, not passed', async () => {
  const server = apiServer();
  const saved = globalThis.fetch;
  globalThis.fetch = server.fetch;
  const gate = createAuthGate({ baseUrl: API, crossTab: false, now: fakeClock().now });
  try {
    gate.setTokens({ access: 'A1' });
    await gate.ready();
    // Inputs go through one reused scratch region: only one that must grow it needs the allocator.
    const path = `/api/me?pad=${'x'.repeat(40000)}`;
    failNext('_malloc');
    await rejectsOutOfMemory(gate.fetch(path), `gate.fetch(GET ${path})`);
    const unguard = gate.guardGlobalFetch('warn');
    failNext('_malloc');
    await rejectsOutOfMemory(fetch(`${API}${path}`), `fetch(${API}${path})`);
    unguard();
    assert.equal(server.requests.length, 0);
  } finally {
    gate.destroy();
    globalThis.fetch = saved;
  }
});
