// guardGlobalFetch: the core's verdict on raw fetch() calls, installed on globalThis.fetch.
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';

import { createAuthGate } from '../../dist/index.js';
import { API, fakeClock, fakeServer, json } from './helpers.mjs';

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
