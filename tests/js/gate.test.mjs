// The contract's behaviours, end to end through the wasm core (dist/), with a fake server and clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { AuthGateError, createAuthGate } from '../../dist/index.js';
import { loadCore } from '../../dist/core.js';
import {
  API,
  T0,
  deferred,
  fakeClock,
  fakeServer,
  gateFor,
  json,
  memoryArea,
  onPage,
  tokens,
  until,
} from './helpers.mjs';

const rejectsWith = (promise, code) =>
  assert.rejects(promise, (error) => {
    assert.ok(error instanceof AuthGateError, `expected an AuthGateError, got ${error}`);
    assert.equal(error.name, 'AuthGateError');
    assert.equal(error.code, code, error.message);
    return true;
  });

test('a protected call made while initializing waits, then goes with the bearer', async () => {
  const clock = fakeClock();
  const refreshAnswer = deferred();
  const server = fakeServer((r) => (r.path === '/auth/refresh' ? refreshAnswer.promise : json({ me: 'ada' })));
  // A stored session whose access token has expired: the gate must refresh before anything leaves.
  const area = memoryArea();
  const blob = { v: 1, type: 'tokens', gen: 1, access: 'OLD', refresh: 'R1', exp: T0 - 1000 };
  area.setItem('stored-session', JSON.stringify(blob));
  const gate = gateFor(server, clock, { storage: 'local', storageKey: 'stored-session', storageArea: area });

  const call = gate.fetch('/api/me');
  await until(() => server.count('/auth/refresh') === 1, 'the start-up refresh');
  assert.equal(gate.state, 'initializing');
  assert.equal(server.count('/api/me'), 0, 'no call leaves before the state is known');
  assert.deepEqual(JSON.parse(server.requests[0].body), { refresh: 'R1' });

  refreshAnswer.resolve(tokens('NEW', 'R2'));
  const response = await call;
  assert.deepEqual(await response.json(), { me: 'ada' });
  const sent = server.requests.find((r) => r.path === '/api/me');
  assert.equal(sent.url, `${API}/api/me`);
  assert.equal(sent.authorization, 'Bearer NEW');
  assert.equal(await gate.ready(), 'authenticated');
  assert.equal(JSON.parse(area.getItem('stored-session')).access, 'NEW', 'the new tokens are persisted');
  gate.destroy();
});

test('a protected call while anonymous rejects NO_TOKEN and makes no request', async () => {
  const server = fakeServer(() => json({}));
  const gate = gateFor(server, fakeClock());
  assert.equal(await gate.ready(), 'anonymous');
  await rejectsWith(gate.fetch('/api/me'), 'NO_TOKEN');
  assert.equal(server.requests.length, 0);
  gate.destroy();
});

test('a public path goes out bare even when authenticated', async () => {
  const server = fakeServer(() => json({ ok: true }));
  const gate = gateFor(server, fakeClock());
  gate.setTokens({ access: 'A1' });
  await gate.fetch('/auth/health');
  assert.equal(server.requests[0].authorization, null);
  gate.destroy();
});

test('a foreign origin gets no token, and the gate token put there by hand is refused', async () => {
  const server = fakeServer(() => json({}));
  const gate = gateFor(server, fakeClock());
  gate.setTokens({ access: 'A1' });

  await gate.fetch('https://elsewhere.test/x');
  assert.equal(server.requests.length, 1);
  assert.equal(server.requests[0].authorization, null);

  await rejectsWith(gate.fetch('https://elsewhere.test/x', { headers: { Authorization: 'Bearer A1' } }), 'FOREIGN_ORIGIN');
  assert.equal(server.requests.length, 1, 'the refused call was not sent');
  gate.destroy();
});

test('20 concurrent calls on an expired token cause exactly one refresh and all go with the new token', async () => {
  const clock = fakeClock();
  const server = fakeServer(async (r) => {
    if (r.path === '/auth/refresh') {
      await new Promise((resolve) => setImmediate(resolve));
      return tokens('A2', 'R2');
    }
    return r.authorization === 'Bearer A2' ? json({ ok: true }) : json({}, 401);
  });
  const gate = gateFor(server, clock);
  gate.setTokens({ access: 'A1', refresh: 'R1', expiresIn: 60 });
  await gate.ready(); // expiresIn counts from when the core takes the tokens
  clock.advance(61_000);

  const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => gate.fetch(`/api/items/${i}`)));
  assert.ok(responses.every((r) => r.status === 200));
  assert.equal(server.count('/auth/refresh'), 1);
  const calls = server.requests.filter((r) => r.path.startsWith('/api/items/'));
  assert.equal(calls.length, 20);
  assert.ok(calls.every((r) => r.authorization === 'Bearer A2'));
  gate.destroy();
});

test('a 401 causes one refresh and one replay that re-sends the body', async () => {
  const server = fakeServer((r) => {
    if (r.path === '/auth/refresh') return tokens('A2', 'R2');
    return r.authorization === 'Bearer A2' ? json({ created: JSON.parse(r.body) }, 201) : json({}, 401);
  });
  const gate = gateFor(server, fakeClock());
  gate.setTokens({ access: 'A1', refresh: 'R1' });

  const response = await gate.fetch('/api/things', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ n: 1 }),
  });
  assert.equal(response.status, 201);
  assert.deepEqual(await response.json(), { created: { n: 1 } });
  const sends = server.requests.filter((r) => r.path === '/api/things');
  assert.deepEqual(
    sends.map((r) => [r.method, r.authorization, r.contentType, r.body]),
    [
      ['POST', 'Bearer A1', 'application/json', '{"n":1}'],
      ['POST', 'Bearer A2', 'application/json', '{"n":1}'],
    ],
  );
  assert.equal(server.count('/auth/refresh'), 1);
  gate.destroy();
});

test('a Request with a body is replayed with the same body', async () => {
  let token = 'A1';
  const server = fakeServer((r) => {
    if (r.path === '/auth/refresh') return tokens((token = 'A2'), 'R2');
    return r.authorization === `Bearer ${token}` && token === 'A2' ? json({ ok: true }) : json({}, 401);
  });
  const gate = gateFor(server, fakeClock());
  gate.setTokens({ access: 'A1', refresh: 'R1' });
  const response = await gate.fetch(new Request(`${API}/api/upload`, { method: 'PUT', body: 'payload' }));
  assert.equal(response.status, 200);
  assert.deepEqual(
    server.requests.filter((r) => r.path === '/api/upload').map((r) => [r.method, r.body]),
    [
      ['PUT', 'payload'],
      ['PUT', 'payload'],
    ],
  );
  gate.destroy();
});

test('a ReadableStream body is refused with a clear error (it could not be replayed)', async () => {
  const server = fakeServer(() => json({}));
  const gate = gateFor(server, fakeClock());
  gate.setTokens({ access: 'A1' });
  const body = new ReadableStream({ start: (c) => c.close() });
  await assert.rejects(gate.fetch('/api/x', { method: 'POST', body, duplex: 'half' }), /ReadableStream/);
  assert.equal(server.requests.length, 0);
  gate.destroy();
});

test('a refused refresh rejects SESSION_EXPIRED, goes anonymous and tells subscribers', async () => {
  const server = fakeServer((r) => (r.path === '/auth/refresh' ? json({ error: 'invalid_grant' }, 401) : json({}, 401)));
  const area = memoryArea();
  const gate = gateFor(server, fakeClock(), { storage: 'session', storageArea: area });
  gate.setTokens({ access: 'A1', refresh: 'R1' });
  await gate.ready();
  assert.equal(area.map.size, 1, 'setTokens persisted the session');
  const seen = [];
  gate.subscribe((state) => seen.push(state));

  await assert.rejects(gate.fetch('/api/me'), (error) => {
    assert.equal(error.code, 'SESSION_EXPIRED');
    assert.equal(error.status, 401);
    assert.match(error.message, /\/api\/me/);
    return true;
  });
  assert.equal(gate.state, 'anonymous');
  assert.equal(seen.at(-1), 'anonymous');
  assert.equal(server.count('/auth/refresh'), 1);
  assert.equal(server.count('/api/me'), 1, 'no replay without a token');
  assert.equal(area.map.size, 0, 'the stored session is cleared');
  await rejectsWith(gate.fetch('/api/me'), 'NO_TOKEN');
  gate.destroy();
});

test('a network TypeError on a cross-origin call rejects CORS_OR_NETWORK naming Authorization', async () => {
  await onPage('http://app.test', async () => {
    const failure = new TypeError('Failed to fetch');
    const server = fakeServer(() => {
      throw failure;
    });
    const gate = gateFor(server, fakeClock());
    gate.setTokens({ access: 'A1' });
    await assert.rejects(gate.fetch('/api/me'), (error) => {
      assert.equal(error.code, 'CORS_OR_NETWORK');
      assert.match(error.message, /Authorization/);
      assert.match(error.message, /http:\/\/app\.test/);
      assert.equal(error.cause, failure);
      return true;
    });
    gate.destroy();
  });
});

test('two gates in one process share nothing', async () => {
  const server = fakeServer(() => json({}));
  const clock = fakeClock();
  const a = gateFor(server, clock);
  const b = gateFor(server, clock);
  a.setTokens({ access: 'TA' });
  assert.equal(await a.ready(), 'authenticated');
  assert.equal(await b.ready(), 'anonymous');
  await a.fetch('/api/me');
  assert.equal(server.requests[0].authorization, 'Bearer TA');
  await rejectsWith(b.fetch('/api/me'), 'NO_TOKEN');

  b.setTokens({ access: 'TB' });
  await b.fetch('/api/me');
  await a.fetch('/api/me');
  assert.deepEqual(
    server.requests.map((r) => r.authorization),
    ['Bearer TA', 'Bearer TB', 'Bearer TA'],
  );
  a.destroy();
  assert.equal(b.state, 'authenticated');
  b.destroy();
});

test('destroy frees the core, rejects pending calls and every later one', async () => {
  const core = await loadCore();
  const before = core.liveAllocations();
  const hang = deferred();
  const server = fakeServer(() => hang.promise);
  const gate = gateFor(server, fakeClock());
  gate.setTokens({ access: 'A1', refresh: 'R1', expiresIn: 600 });
  const pending = gate.fetch('/api/slow');
  await until(() => server.requests.length === 1, 'the call to be sent');
  assert.ok(core.liveAllocations() > before);

  gate.destroy();
  assert.equal(core.liveAllocations(), before, 'every block of the client is freed');
  await assert.rejects(pending, { name: 'AbortError', message: 'AuthGate destroyed' });
  await assert.rejects(gate.fetch('/api/me'), { name: 'AbortError' });
  await assert.rejects(gate.ready(), { name: 'AbortError' });
  assert.throws(() => gate.setTokens({ access: 'A2' }), { name: 'AbortError' });
  hang.resolve(json({})); // the late answer is ignored
  gate.destroy(); // twice is fine
});

test('a gate destroyed before the core loaded never creates a client', async () => {
  const core = await loadCore();
  const before = core.liveAllocations();
  const gate = gateFor(fakeServer(() => json({})), fakeClock());
  gate.destroy();
  await assert.rejects(gate.ready(), { name: 'AbortError' });
  assert.equal(core.liveAllocations(), before);
});

test('login sends the credentials and adopts the tokens', async () => {
  const server = fakeServer(() => tokens('L1', 'LR1'));
  const gate = gateFor(server, fakeClock());
  const seen = [];
  gate.subscribe((state) => seen.push(state));
  assert.equal(await gate.ready(), 'anonymous');
  assert.equal(await gate.login({ username: 'ada', password: 'pw' }), undefined);
  const [login] = server.requests;
  assert.equal(login.url, `${API}/auth/login`);
  assert.equal(login.method, 'POST');
  assert.equal(login.contentType, 'application/json');
  assert.deepEqual(JSON.parse(login.body), { username: 'ada', password: 'pw' });
  assert.equal(gate.state, 'authenticated');
  assert.deepEqual(seen, ['anonymous', 'authenticated']);
  await gate.fetch('/api/me');
  assert.equal(server.requests[1].authorization, 'Bearer L1');
  gate.destroy();
});

test('a refused login rejects LOGIN_FAILED with the status', async () => {
  const gate = gateFor(fakeServer(() => json({ detail: 'bad' }, 401)), fakeClock());
  await assert.rejects(gate.login({ username: 'ada', password: 'no' }), (error) => {
    assert.equal(error.code, 'LOGIN_FAILED');
    assert.equal(error.status, 401);
    return true;
  });
  assert.equal(gate.state, 'anonymous');
  gate.destroy();
});

test('a malformed token response rejects BAD_TOKEN_RESPONSE and changes nothing', async () => {
  const gate = gateFor(fakeServer(() => json({ hello: 'world' })), fakeClock());
  await rejectsWith(gate.login({ username: 'ada', password: 'pw' }), 'BAD_TOKEN_RESPONSE');
  assert.equal(gate.state, 'anonymous');
  gate.destroy();
});

test('setTokens checks the shape at once and the core refuses unusable tokens', async () => {
  const gate = gateFor(fakeServer(() => json({})), fakeClock());
  for (const bad of [undefined, {}, { access: '' }, { access: 42 }]) {
    assert.throws(() => gate.setTokens(bad), { name: 'AuthGateError', code: 'BAD_TOKEN_RESPONSE' });
  }
  await gate.ready();
  assert.throws(() => gate.setTokens({ access: 'has a space' }), { code: 'BAD_TOKEN_RESPONSE' });
  assert.equal(gate.state, 'anonymous');
  gate.destroy();
});

test('bad options: a type error throws BAD_CONFIG at once, the rest comes from the core', async () => {
  for (const bad of [undefined, null, 'http://api.test', [], { baseUrl: 42 }, { baseUrl: '/', fetch: 'no' }]) {
    assert.throws(() => createAuthGate(bad), { name: 'AuthGateError', code: 'BAD_CONFIG' });
  }
  const gate = createAuthGate({ baseUrl: 'ftp://files.test', fetch: fakeServer(() => json({})).fetch });
  await assert.rejects(gate.ready(), (error) => {
    assert.equal(error.code, 'BAD_CONFIG');
    assert.ok(error.message.length > 0);
    return true;
  });
  await rejectsWith(gate.fetch('/api/me'), 'BAD_CONFIG');
  await rejectsWith(gate.login({}), 'BAD_CONFIG');
  assert.throws(() => gate.setTokens({ access: 'A1' }), { code: 'BAD_CONFIG' });
  assert.equal(gate.state, 'initializing');
  gate.destroy();
});

test('an aborted call rejects with the abort reason and is never sent', async () => {
  const clock = fakeClock();
  const refreshAnswer = deferred();
  const server = fakeServer((r) => (r.path === '/auth/refresh' ? refreshAnswer.promise : json({})));
  const gate = gateFor(server, clock);
  gate.setTokens({ access: 'A1', refresh: 'R1', expiresIn: 60 });
  await gate.ready(); // expiresIn counts from when the core takes the tokens
  clock.advance(61_000);
  const controller = new AbortController();
  const call = gate.fetch('/api/me', { signal: controller.signal });
  await until(() => server.count('/auth/refresh') === 1, 'the refresh');
  const reason = new Error('user left the page');
  controller.abort(reason);
  await assert.rejects(call, (error) => error === reason);
  refreshAnswer.resolve(tokens('A2', 'R2'));
  await until(() => gate.state === 'authenticated', 'the refresh to land');
  await gate.fetch('/api/other');
  assert.equal(server.count('/api/me'), 0);
  gate.destroy();
});

test('tabs share tokens and logout through the channel and storage', async () => {
  const area = memoryArea();
  const server = fakeServer(() => json({}));
  const clock = fakeClock();
  const shared = { storage: 'local', storageKey: 'two-tabs', storageArea: area, crossTab: true };
  const a = gateFor(server, clock, shared);
  const b = gateFor(server, clock, shared);
  assert.equal(await a.ready(), 'anonymous');
  assert.equal(await b.ready(), 'anonymous');

  a.setTokens({ access: 'SHARED', refresh: 'R1' });
  await until(() => b.state === 'authenticated', 'tab b to hear of the tokens');
  await b.fetch('/api/me');
  assert.equal(server.requests[0].authorization, 'Bearer SHARED');

  await a.logout();
  await until(() => b.state === 'anonymous', 'tab b to hear of the logout');
  assert.equal(area.getItem('two-tabs'), null);
  a.destroy();
  b.destroy();
});

test('a malformed stored blob is discarded and the gate starts anonymous', async () => {
  const area = memoryArea();
  area.setItem('broken', '{"v":1,"type":"tokens","access":');
  const gate = gateFor(fakeServer(() => json({})), fakeClock(), {
    storage: 'local',
    storageKey: 'broken',
    storageArea: area,
  });
  assert.equal(await gate.ready(), 'anonymous');
  assert.equal(area.getItem('broken'), null);
  gate.destroy();
});

test('diagnose runs three probes with a dummy bearer and returns the core diagnosis', async () => {
  await onPage('http://app.test', async () => {
    const server = fakeServer((r) => {
      if (r.authorization) throw new TypeError('Failed to fetch'); // the preflight is refused
      return r.mode === 'no-cors' ? new Response(null, { status: 200 }) : json({}, 401);
    });
    const gate = gateFor(server, fakeClock());
    gate.setTokens({ access: 'REAL-TOKEN' });
    const d = await gate.diagnose('/api/me');
    assert.equal(server.requests.length, 3);
    assert.ok(server.requests.every((r) => r.url === `${API}/api/me` && r.method === 'GET'));
    assert.ok(!server.requests.some((r) => r.authorization?.includes('REAL-TOKEN')), 'never the real token');
    assert.equal(server.requests.filter((r) => r.authorization === 'Bearer authgate-diagnose-probe').length, 1);
    assert.equal(d.url, `${API}/api/me`);
    assert.equal(d.origin, API, "the probed URL's origin");
    assert.equal(d.pageOrigin, 'http://app.test');
    assert.equal(d.crossOrigin, true);
    assert.equal(d.protected, true);
    assert.ok(!('sendsToken' in d) && !('target' in d), 'one field per fact');
    assert.equal(d.reachable, true);
    assert.equal(d.preflight.needed, true);
    assert.equal(d.preflight.ok, false);
    assert.ok(d.serverMustAllow.headers.includes('Authorization'));
    assert.equal(typeof d.cause, 'string');

    // Another origin: the gate leaves the credentials mode alone ('default'), and so does the probe.
    const foreign = await gate.diagnose('https://elsewhere.test/x');
    assert.equal(foreign.credentials, 'default');
    assert.equal(foreign.origin, 'https://elsewhere.test');
    assert.equal(foreign.protected, false);
    const asSent = server.requests.slice(3).find((r) => r.authorization === 'Bearer authgate-diagnose-probe');
    assert.equal(asSent.credentials, 'same-origin', "fetch's own default");
    gate.destroy();
  });
});

test('a RequestInit fetch() would refuse is the caller\'s TypeError, never a network failure, and nothing leaves', async () => {
  const server = fakeServer(() => json({ ok: true }));
  const gate = gateFor(server, fakeClock());
  await gate.setTokens({ access: 'A1', refresh: 'R1', expiresIn: 3600 });
  for (const init of [{ body: 'x' }, { method: 'HEAD', body: 'x' }, { mode: 'navigate' }, { cache: 'only-if-cached' }]) {
    await assert.rejects(gate.fetch('/api/x', init), (error) => {
      assert.ok(error instanceof TypeError && !(error instanceof AuthGateError), `${JSON.stringify(init)}: ${error}`);
      return true;
    });
  }
  assert.equal(server.requests.length, 0);
  // The ordinary forms (any method case, a body where allowed) go out with the bearer.
  for (const init of [{ method: 'post', body: 'x' }, { method: 'PATCH', body: '{}' }, {}]) {
    assert.equal((await gate.fetch('/api/x', init)).status, 200);
  }
  assert.deepEqual(server.requests.map((r) => [r.method, r.authorization]), [
    ['POST', 'Bearer A1'],
    ['PATCH', 'Bearer A1'],
    ['GET', 'Bearer A1'],
  ]);
  gate.destroy();
});
