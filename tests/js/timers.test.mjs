// The core's deadlines through the shim's one timer: mocked setTimeout plus the injected clock, no sleeping.
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';

import { T0, deferred, fakeClock, fakeServer, gateFor, json, memoryArea, settle, tokens, until } from './helpers.mjs';

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

// Moves the wall clock and the timers together.
const advance = (clock, ms) => {
  clock.advance(ms);
  mock.timers.tick(ms);
};

test('the proactive refresh fires at expiry minus the skew, not a millisecond before', async () => {
  const clock = fakeClock();
  const server = fakeServer((r) => (r.path === '/auth/refresh' ? tokens('A2', 'R2', 120) : json({})));
  const gate = gateFor(server, clock);
  gate.setTokens({ access: 'A1', refresh: 'R1', expiresIn: 120 });
  await gate.ready();

  advance(clock, 90_000 - 1);
  await settle();
  assert.equal(server.count('/auth/refresh'), 0);
  advance(clock, 1);
  await until(() => server.count('/auth/refresh') === 1, 'the refresh at the deadline');
  await until(() => gate.state === 'authenticated', 'the refresh to land');

  await gate.fetch('/api/me');
  assert.equal(server.requests.at(-1).authorization, 'Bearer A2');
  gate.destroy();
});

test('a call waiting for the start-up refresh fails READY_TIMEOUT at readyTimeoutMs', async () => {
  const clock = fakeClock();
  const never = deferred();
  const server = fakeServer(() => never.promise);
  const area = memoryArea();
  area.setItem('slow-start', JSON.stringify({ v: 1, type: 'tokens', gen: 1, access: 'OLD', refresh: 'R1', exp: T0 - 1 }));
  const gate = gateFor(server, clock, {
    storage: 'local',
    storageKey: 'slow-start',
    storageArea: area,
    readyTimeoutMs: 5000,
  });
  const call = gate.fetch('/api/me');
  const settled = call.then(
    () => 'resolved',
    (error) => error.code,
  );
  await until(() => server.count('/auth/refresh') === 1, 'the start-up refresh');

  advance(clock, 4999);
  await settle();
  assert.equal(await Promise.race([settled, 'pending']), 'pending');
  advance(clock, 1);
  assert.equal(await settled, 'READY_TIMEOUT');
  assert.equal(server.count('/api/me'), 0);
  gate.destroy();
});

test('a refresh that fails on the network backs off and retries without logging out', async () => {
  const clock = fakeClock();
  let failures = 1;
  const server = fakeServer((r) => {
    if (r.path !== '/auth/refresh') return json({});
    if (failures-- > 0) throw new TypeError('fetch failed');
    return tokens('A2', 'R2');
  });
  const gate = gateFor(server, clock);
  gate.setTokens({ access: 'A1', refresh: 'R1', expiresIn: 120 });
  await gate.ready();

  advance(clock, 90_000);
  await until(() => server.count('/auth/refresh') === 1 && gate.state === 'authenticated', 'the failed refresh');
  assert.equal(gate.state, 'authenticated', 'still logged in');
  await gate.fetch('/api/me');
  assert.equal(server.requests.at(-1).authorization, 'Bearer A1', 'the still-valid token keeps serving');

  advance(clock, 1000); // the first back-off
  await until(() => server.count('/auth/refresh') === 2, 'the retry');
  await until(() => gate.state === 'authenticated', 'the retry to land');
  await gate.fetch('/api/me');
  assert.equal(server.requests.at(-1).authorization, 'Bearer A2');
  gate.destroy();
});
