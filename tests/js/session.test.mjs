// gate.session, onSession and getAccessToken through the shim (dist/ with the wasm core), and
// LOGIN_FAILED carrying the server's words.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { T0, deferred, fakeClock, fakeServer, gateFor, json, settle, tokens, until } from './helpers.mjs';

// {"alg":"none"} . {"sub":"ada","scope":"read write","exp":1800000000} . sig
const JWT = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZGEiLCJzY29wZSI6InJlYWQgd3JpdGUiLCJleHAiOjE4MDAwMDAwMDB9.sig';

test('gate.session is null until a session exists, then carries expiry, refreshAt, scope and claims, never a token', async () => {
  const clock = fakeClock();
  const server = fakeServer(() => json({}));
  const gate = gateFor(server, clock);
  assert.equal(gate.session, null);
  await gate.ready();
  assert.equal(gate.session, null);
  gate.setTokens({ access: JWT, refresh: 'R1', expiresIn: 300 });
  assert.deepEqual(gate.session, {
    expiresAt: T0 + 300_000,
    refreshAt: T0 + 270_000,
    scope: 'read write',
    tokenType: 'Bearer',
    claims: { sub: 'ada', scope: 'read write', exp: 1_800_000_000 },
  });
  assert.ok(!JSON.stringify(gate.session).includes('R1'));
  await gate.logout();
  assert.equal(gate.session, null);
  gate.destroy();
});

test('onSession hears login, refresh, setTokens and logout, in order, and stops when unsubscribed', async () => {
  const clock = fakeClock();
  const server = fakeServer((r) => {
    if (r.path === '/auth/login')
      return json({ access_token: 'A1', refresh_token: 'R1', expires_in: 60, scope: 'openid profile' });
    if (r.path === '/auth/refresh') return tokens('A2', 'R2', 60);
    return r.authorization === 'Bearer A1' ? json({}, 401) : json({ ok: true });
  });
  const gate = gateFor(server, clock);
  const seen = [];
  const stop = gate.onSession((s) => seen.push(s && { expiresAt: s.expiresAt, scope: s.scope }));
  await gate.ready();
  assert.deepEqual(seen, [], 'not called on subscribe, nor for anonymous at start');
  await gate.login({ username: 'ada', password: 'pw' });
  assert.deepEqual(seen.at(-1), { expiresAt: T0 + 60_000, scope: 'openid profile' });
  clock.advance(5);
  await gate.fetch('/api/me'); // 401 on A1: one refresh
  assert.equal(server.count('/auth/refresh'), 1);
  // The refresh's answer names no scope: the scope held stays (RFC 6749 5.1).
  assert.deepEqual(seen.at(-1), { expiresAt: T0 + 5 + 60_000, scope: 'openid profile' });
  gate.setTokens({ access: 'A3', expiresIn: 10 });
  assert.deepEqual(seen.at(-1), { expiresAt: T0 + 5 + 10_000, scope: null });
  await gate.logout();
  assert.equal(seen.at(-1), null);
  assert.equal(seen.length, 4);
  stop();
  gate.setTokens({ access: 'A4' });
  assert.equal(seen.length, 4);
  gate.destroy();
});

test('getAccessToken waits for readiness, hands a fresh token at once and refreshes a due one first', async () => {
  const clock = fakeClock();
  const refresh = deferred();
  const server = fakeServer((r) => (r.path === '/auth/refresh' ? refresh.promise : json({})));
  const gate = gateFor(server, clock);
  const early = gate.getAccessToken(); // before the core is loaded
  gate.setTokens({ access: 'A1', refresh: 'R1', expiresIn: 300 });
  assert.equal(await early, 'A1');
  clock.advance(280_000); // past refreshAt, still valid
  const due = gate.getAccessToken();
  const joined = gate.getAccessToken();
  await until(() => server.count('/auth/refresh') === 1, 'the refresh first');
  assert.equal(await Promise.race([due, settle().then(() => 'pending')]), 'pending');
  refresh.resolve(tokens('A2', 'R2', 300));
  assert.deepEqual(await Promise.all([due, joined]), ['A2', 'A2']);
  assert.equal(server.count('/auth/refresh'), 1);
  gate.destroy();
});

test('getAccessToken rejects NO_TOKEN when anonymous, naming itself', async () => {
  const gate = gateFor(fakeServer(() => json({})), fakeClock());
  await assert.rejects(gate.getAccessToken(), (e) => {
    assert.equal(e.code, 'NO_TOKEN');
    assert.match(e.message, /^getAccessToken\(\): the gate has no token/);
    return true;
  });
  gate.destroy();
});

test('LOGIN_FAILED keeps the server message: FastAPI detail and OAuth error_description', async () => {
  const bodies = [
    [401, { detail: 'Incorrect username or password' }, 'Incorrect username or password'],
    [400, { error: 'invalid_grant', error_description: 'Invalid user credentials' }, 'Invalid user credentials'],
  ];
  for (const [status, body, words] of bodies) {
    const gate = gateFor(fakeServer(() => json(body, status)), fakeClock());
    await assert.rejects(gate.login({ username: 'ada', password: 'bad' }), (e) => {
      assert.equal(e.code, 'LOGIN_FAILED');
      assert.equal(e.status, status);
      assert.ok(e.message.includes(`The server said: "${words}"`), e.message);
      assert.ok(e.message.startsWith('POST http://api.test/auth/login'), e.message);
      return true;
    });
    gate.destroy();
  }
});
