// guardGlobalFetch: the core's verdict on raw fetch() calls, installed on globalThis.fetch.
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';

import { createAuthGate } from '../../dist/index.js';
import { API, fakeClock, fakeServer, json, onPage } from './helpers.mjs';

let originalFetch;
let server;
let gate;

beforeEach(() => {
  originalFetch = globalThis.fetch;
  server = fakeServer(() => json({ ok: true }));
  globalThis.fetch = server.fetch;
  // No `fetch` option: the gate must send with the global fetch underneath any guard.
  gate = createAuthGate({ baseUrl: API, public: ['/auth'], crossTab: false, now: fakeClock().now });
  gate.setTokens({ access: 'A1' });
});

afterEach(() => {
  gate.destroy();
  globalThis.fetch = originalFetch;
});

test("'refuse' rejects a bare protected call without sending it and passes the rest", async () => {
  const unguard = gate.guardGlobalFetch('refuse');
  assert.notEqual(globalThis.fetch, server.fetch);

  await assert.rejects(fetch(`${API}/api/me`), { name: 'AuthGateError', code: 'NO_TOKEN' });
  assert.equal(server.requests.length, 0);

  await fetch(`${API}/api/me`, { headers: { Authorization: 'Bearer own' } });
  await fetch(`${API}/auth/health`);
  await fetch('https://elsewhere.test/x');
  assert.deepEqual(
    server.requests.map((r) => [r.url, r.authorization]),
    [
      [`${API}/api/me`, 'Bearer own'],
      [`${API}/auth/health`, null],
      ['https://elsewhere.test/x', null],
    ],
  );

  await gate.fetch('/api/me'); // the gate's own call goes underneath the guard
  assert.equal(server.requests.at(-1).authorization, 'Bearer A1');

  unguard();
  assert.equal(globalThis.fetch, server.fetch, 'the uninstaller restores exactly the previous fetch');
});

test("'authorize' routes a bare protected call through the gate", async () => {
  const unguard = gate.guardGlobalFetch('authorize');
  const response = await fetch(`${API}/api/me`);
  assert.equal(response.status, 200);
  assert.equal(server.requests.length, 1);
  assert.equal(server.requests[0].authorization, 'Bearer A1');
  unguard();
  assert.equal(globalThis.fetch, server.fetch);
});

test("'warn' sends the call as it is and warns", async () => {
  const warn = mock.method(console, 'warn', () => {});
  const unguard = gate.guardGlobalFetch('warn');
  await fetch(`${API}/api/me`);
  assert.equal(server.requests[0].authorization, null);
  assert.equal(warn.mock.callCount(), 1);
  assert.match(warn.mock.calls[0].arguments[0], /\/api\/me/);
  warn.mock.restore();
  unguard();
  assert.equal(globalThis.fetch, server.fetch);
});

test('an unknown mode throws BAD_CONFIG and installs nothing', () => {
  assert.throws(() => gate.guardGlobalFetch('block'), { name: 'AuthGateError', code: 'BAD_CONFIG' });
  assert.equal(globalThis.fetch, server.fetch);
});

test('a guard wrapped by someone else is left in place, passing through', async () => {
  const unguard = gate.guardGlobalFetch('refuse');
  const guarded = globalThis.fetch;
  const outer = (input, init) => guarded(input, init);
  globalThis.fetch = outer;
  unguard();
  assert.equal(globalThis.fetch, outer, 'the later wrapper is not removed');
  await fetch(`${API}/api/me`);
  assert.equal(server.requests[0].authorization, null, 'the uninstalled guard passes through');
});

test('destroy removes the gate guards', () => {
  gate.guardGlobalFetch('refuse');
  gate.destroy();
  assert.equal(globalThis.fetch, server.fetch);
});

// ---- where a routed call goes, and a gate with bad options ----------------------------

test("'authorize' on a trusted page origin other than baseUrl's routes to the page's origin", async () => {
  await onPage('http://app.test', async () => {
    const pageGate = createAuthGate({
      baseUrl: API,
      trustedOrigins: ['http://app.test'],
      crossTab: false,
      now: fakeClock().now,
    });
    pageGate.setTokens({ access: 'A2' });
    const unguard = pageGate.guardGlobalFetch('authorize');
    try {
      await fetch('/api/x?q=hello world#top');
      await fetch(new Request('http://app.test/api/y', { method: 'PUT', body: 'b' }));
      assert.deepEqual(
        server.requests.map((r) => [r.method, r.url, r.authorization]),
        [
          ['GET', 'http://app.test/api/x?q=hello%20world', 'Bearer A2'], // fragments never leave the page
          ['PUT', 'http://app.test/api/y', 'Bearer A2'],
        ],
        'the raw fetch went where the browser would have sent it, with the token',
      );
      assert.equal(server.requests[1].body, 'b');
    } finally {
      unguard();
      pageGate.destroy();
    }
  });
});

test('raw calls resolve against the page, not with the baseUrl prefix rule', async () => {
  await onPage('http://app.test', async () => {
    const pageGate = createAuthGate({ baseUrl: '/api/v2', crossTab: false, now: fakeClock().now });
    pageGate.setTokens({ access: 'A3' });
    const unguard = pageGate.guardGlobalFetch('authorize');
    try {
      await fetch('users');
      await pageGate.fetch('users');
      assert.deepEqual(
        server.requests.map((r) => r.url),
        ['http://app.test/users', 'http://app.test/api/v2/users'],
      );
    } finally {
      unguard();
      pageGate.destroy();
    }
  });
});

test("the guard judges the browser's resolution where the core refuses the input (0x7f.1)", async () => {
  const local = createAuthGate({ baseUrl: 'http://127.0.0.1:8000', crossTab: false, now: fakeClock().now });
  local.setTokens({ access: 'A4' });
  const unguard = local.guardGlobalFetch('refuse');
  try {
    await assert.rejects(fetch('http://0x7f.1:8000/api/me'), (error) => {
      assert.equal(error.code, 'NO_TOKEN');
      assert.match(error.message, /http:\/\/127\.0\.0\.1:8000\/api\/me/);
      return true;
    });
    assert.equal(server.requests.length, 0);
  } finally {
    unguard();
    local.destroy();
  }
});

test('a gate with a mistyped option guards only what it was meant to protect, and says why once', async () => {
  const error = mock.method(console, 'error', () => {});
  const broken = createAuthGate({ baseUrl: API, protec: ['/api'], crossTab: false });
  await assert.rejects(broken.ready(), { code: 'BAD_CONFIG' });
  const unguard = broken.guardGlobalFetch('warn');
  try {
    const response = await fetch('https://elsewhere.test/lib.js');
    assert.equal(response.status, 200, 'unrelated traffic is left alone');
    await fetch(`${API}/api/me`, { headers: { Authorization: 'Bearer own' } });
    await assert.rejects(fetch(`${API}/api/me`), (e) => {
      assert.equal(e.code, 'BAD_CONFIG');
      assert.match(e.message, /fetch\(GET http:\/\/api\.test\/api\/me\)/);
      assert.match(e.message, /protec/);
      return true;
    });
    await fetch('https://elsewhere.test/other.js');
    assert.deepEqual(
      server.requests.map((r) => r.url),
      ['https://elsewhere.test/lib.js', `${API}/api/me`, 'https://elsewhere.test/other.js'],
    );
    assert.equal(error.mock.callCount(), 1, 'told once');
    assert.match(error.mock.calls[0].arguments[0], /protec is not an option/);
  } finally {
    error.mock.restore();
    unguard();
    broken.destroy();
  }
});
