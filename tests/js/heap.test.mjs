// The wasm heap stays flat: a long session of calls, 401s with refreshes, network
// failures and cross-tab messages leaves neither the core's live-allocation count
// nor the wasm memory growing once the first round has warmed the allocator up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAuthGate } from '../../dist/index.js';
import { loadCore } from '../../dist/core.js';
import { API, fakeClock, json } from './helpers.mjs';

const ROUNDS = 10;
const CALLS_PER_ROUND = 10_000; // 100,000 calls in all

/** A server that answers 200, refuses every 50th call with 401 and fails every 97th on the network. */
function server() {
  let n = 0;
  let generation = 0;
  const fetch = async (input, init) => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    if (path === '/auth/refresh') {
      generation++;
      fetch.refreshes = generation;
      return json({ access_token: `A${generation}`, refresh_token: `R${generation}`, expires_in: 3600 });
    }
    n++;
    if (n % 97 === 0) throw new TypeError('Failed to fetch');
    if (n % 50 === 0) return new Response(null, { status: 401 }); // the replay is n+1 and succeeds
    return new Response('ok');
  };
  fetch.refreshes = 0;
  return fetch;
}

async function round(gate, clock, other) {
  const calls = [];
  for (let i = 0; i < CALLS_PER_ROUND; i++) {
    calls.push(gate.fetch(`/api/items/${i}`).then((r) => r.text(), (e) => e.code));
    if (i % 1000 === 0) {
      // another tab's tokens: an older generation (ignored) and garbage (ignored)
      other.postMessage('{"v":1,"type":"tokens","gen":1,"access":"OLD"}');
      other.postMessage('not json');
    }
    if (i % 500 === 0) await Promise.all(calls.splice(0));
  }
  await Promise.all(calls);
  clock.advance(1000);
}

test('100,000 calls with refreshes, failures and messages leave the wasm heap flat', async () => {
  const clock = fakeClock();
  const core = await loadCore();
  const before = core.liveAllocations();
  const fetch = server();
  const gate = createAuthGate({
    baseUrl: API,
    refresh: { url: '/auth/refresh' },
    storageKey: 'heap-test',
    fetch,
    now: clock.now,
  });
  gate.setTokens({ access: 'A0', refresh: 'R0', expiresIn: 3600 });
  await gate.ready();
  const other = new BroadcastChannel('heap-test');

  await round(gate, clock, other); // warm-up: the allocator reaches its working size
  const live = core.liveAllocations();
  const memory = core.m.HEAPU8.length;
  for (let r = 1; r < ROUNDS; r++) await round(gate, clock, other);

  assert.equal(core.liveAllocations(), live, 'the core holds no more blocks than after the first round');
  assert.equal(core.m.HEAPU8.length, memory, 'wasm memory did not grow');
  assert.ok(fetch.refreshes >= ROUNDS, `401s caused refreshes (${fetch.refreshes})`);
  other.close();
  gate.destroy();
  assert.equal(core.liveAllocations(), before, 'destroy() released every block of the gate');
});
