// timeoutMs and retry through the shim: the core decides, the shim aborts and re-sends.
// Mocked setTimeout plus the injected clock: no sleeping.
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';

import { fakeClock, fakeServer, gateFor, json, settle, until } from './helpers.mjs';

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

const advance = (clock, ms) => {
  clock.advance(ms);
  mock.timers.tick(ms);
};

/** A fetch that never answers, but honours its signal as browsers do; `signals` keeps them. */
function silentServer() {
  const requests = [];
  const fetch = (input, init) => {
    const request = new Request(input, init);
    requests.push(request);
    return new Promise((_, reject) => {
      request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true });
    });
  };
  return { fetch, requests };
}

test('a call with no answer rejects TIMEOUT at timeoutMs, naming method, URL and limit, and its fetch is aborted', async () => {
  const clock = fakeClock();
  const server = silentServer();
  const gate = gateFor(server, clock, { timeoutMs: 2000 });
  gate.setTokens({ access: 'A1', expiresIn: 3600 });
  const call = gate.fetch('/api/slow').catch((e) => e);
  await until(() => server.requests.length === 1, 'the request');
  advance(clock, 1999);
  await settle();
  assert.equal(server.requests[0].signal.aborted, false);
  advance(clock, 1);
  const error = await call;
  assert.equal(error.code, 'TIMEOUT');
  assert.match(error.message, /^GET http:\/\/api\.test\/api\/slow: .*\(limit 2000 ms\)/);
  assert.equal(server.requests[0].signal.aborted, true);
  assert.equal(server.requests.length, 1);
  gate.destroy();
});

test('the per-call authgate option sets the timeout; the caller can still abort', async () => {
  const clock = fakeClock();
  const server = silentServer();
  const gate = gateFor(server, clock);
  gate.setTokens({ access: 'A1', expiresIn: 3600 });
  const quick = gate.fetch('/api/a', { authgate: { timeoutMs: 100 } }).catch((e) => e.code);
  const caller = new AbortController();
  const aborted = gate.fetch('/api/b', { signal: caller.signal }).catch((e) => e.name);
  await until(() => server.requests.length === 2, 'both requests');
  assert.equal(server.requests[0].headers.get('authorization'), 'Bearer A1');
  advance(clock, 100);
  assert.equal(await quick, 'TIMEOUT');
  caller.abort();
  assert.equal(await aborted, 'AbortError');
  assert.equal(server.requests[1].signal.aborted, true);
  await assert.rejects(gate.fetch('/api/c', { authgate: { timeout: 1 } }), (e) => e.code === 'BAD_CONFIG');
  gate.destroy();
});

test('retry: 503 with Retry-After twice, then 200: three requests and the call resolves', async () => {
  const clock = fakeClock();
  let n = 0;
  const server = fakeServer(() =>
    ++n <= 2 ? new Response('busy', { status: 503, headers: { 'Retry-After': '1' } }) : json({ ok: true }),
  );
  const gate = gateFor(server, clock, { retry: {} });
  gate.setTokens({ access: 'A1', expiresIn: 3600 });
  const call = gate.fetch('/api/flaky');
  await until(() => server.requests.length === 1, 'the first attempt');
  await settle();
  advance(clock, 999);
  await settle();
  assert.equal(server.requests.length, 1, 'Retry-After: 1 is waited for');
  advance(clock, 1);
  await until(() => server.requests.length === 2, 'the second attempt');
  await settle();
  advance(clock, 1000);
  const response = await call;
  assert.equal(response.status, 200);
  assert.equal(server.requests.length, 3);
  assert.ok(server.requests.every((r) => r.authorization === 'Bearer A1'));
  gate.destroy();
});

test('retry is off by default and never applies to POST unless listed', async () => {
  const clock = fakeClock();
  const server = fakeServer(() => new Response('busy', { status: 503, headers: { 'Retry-After': '0' } }));
  const plain = gateFor(server, clock);
  plain.setTokens({ access: 'A1' });
  assert.equal((await plain.fetch('/api/a')).status, 503);
  const retrying = gateFor(server, clock, { retry: { limit: 1 } });
  retrying.setTokens({ access: 'A1' });
  assert.equal((await retrying.fetch('/api/a', { method: 'POST', body: 'x' })).status, 503);
  assert.equal(server.requests.length, 2);
  const listed = retrying.fetch('/api/a', { method: 'POST', body: 'x', authgate: { retry: { methods: ['POST'] } } });
  for (let turn = 0; turn < 10 && server.requests.length < 5; turn++) {
    await settle();
    advance(clock, 0); // Retry-After: 0 comes due at once, on the next timer
  }
  assert.equal((await listed).status, 503);
  assert.equal(server.requests.length, 5, 'the default limit of 2 retries');
  assert.equal(server.requests.at(-1).body, 'x', 'the body is sent again');
  plain.destroy();
  retrying.destroy();
});

test('the page coming back online retries a refresh that is backing off at once; destroy stops listening', async () => {
  const clock = fakeClock();
  let offline = true;
  const server = fakeServer((r) => {
    if (offline) throw new TypeError('Failed to fetch');
    return r.path === '/auth/refresh' ? json({ access_token: 'A2', refresh_token: 'R2', expires_in: 300 }) : json({});
  });
  const first = gateFor(server, clock); // loads the core before the stand-in page exists
  await first.ready();
  first.destroy();
  // A stand-in page: the shim listens on window and document once the core is loaded.
  globalThis.window = new EventTarget();
  globalThis.document = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  try {
    const gate = gateFor(server, clock);
    gate.setTokens({ access: 'A1', refresh: 'R1', expiresIn: 60 });
    await gate.ready();
    advance(clock, 30_000); // refresh due: it fails, backs off
    await until(() => server.count('/auth/refresh') === 1, 'the failed refresh');
    await settle();
    offline = false;
    window.dispatchEvent(new Event('online'));
    await until(() => server.count('/auth/refresh') === 2, 'the refresh retried on online');
    await until(() => gate.session?.expiresAt === clock.t + 300_000, 'the new session');
    gate.destroy();
    window.dispatchEvent(new Event('online'));
    document.dispatchEvent(new Event('visibilitychange'));
    await settle();
    assert.equal(server.count('/auth/refresh'), 2);
  } finally {
    delete globalThis.window;
    delete globalThis.document;
  }
});

test('an attempt nothing can abort goes without a signal; a deadline or the caller signal gives it one', async () => {
  const clock = fakeClock();
  const signals = [];
  const server = {
    fetch: (input, init) => {
      signals.push(init?.signal);
      return Promise.resolve(json({ ok: true }));
    },
  };
  const plain = gateFor(server, clock);
  plain.setTokens({ access: 'A1', expiresIn: 3600 });
  await plain.fetch('/api/a');
  await plain.fetch('/api/b', { authgate: { timeoutMs: 1000 } });
  const caller = new AbortController();
  await plain.fetch('/api/c', { signal: caller.signal });
  const timed = gateFor(server, clock, { timeoutMs: 500 });
  timed.setTokens({ access: 'A2', expiresIn: 3600 });
  await timed.fetch('/api/d');
  assert.equal(signals[0], undefined); // no deadline, no caller signal: no AbortController made
  assert.ok(signals[1] instanceof AbortSignal && !signals[1].aborted); // the per-call deadline
  assert.ok(signals[2] instanceof AbortSignal && signals[2] !== caller.signal); // the attempt's own, tied to the caller's
  assert.ok(signals[3] instanceof AbortSignal); // the gate's timeoutMs
  plain.destroy();
  timed.destroy();
});

test('the caller headers object is left as given; each attempt carries the token the core gives', async () => {
  const clock = fakeClock();
  let first = true;
  const server = fakeServer((r) => {
    if (r.path === '/auth/refresh') return json({ access_token: 'A2', refresh_token: 'R2', expires_in: 3600 });
    if (first) {
      first = false;
      return json({ error: 'expired' }, 401);
    }
    return json({ ok: r.authorization });
  });
  const gate = gateFor(server, clock);
  gate.setTokens({ access: 'A1', refresh: 'R1', expiresIn: 3600 });
  const headers = new Headers({ 'X-Trace': 't1' });
  const response = await gate.fetch('/api/me', { headers });
  assert.deepEqual(await response.json(), { ok: 'Bearer A2' }); // the replay after the 401 carries the new token
  assert.deepEqual([...headers], [['x-trace', 't1']]); // the caller's object never got an Authorization
  assert.deepEqual(
    server.requests.filter((r) => r.path === '/api/me').map((r) => r.authorization),
    ['Bearer A1', 'Bearer A2'],
  );
  gate.destroy();
});
