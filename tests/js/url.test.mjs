// gate.fetch hands the caller's raw input to the core, which resolves it as the URL Standard does
// (with baseUrl's path as a prefix) or refuses it saying what to write instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { createAuthGate } from '../../dist/index.js';
import { fakeClock, fakeServer, json } from './helpers.mjs';

function gateOn(baseUrl, server) {
  const gate = createAuthGate({ baseUrl, crossTab: false, fetch: server.fetch, now: fakeClock().now });
  gate.setTokens({ access: 'T1' });
  return gate;
}

test('inputs fetch accepts are sent as fetch would send them, with the bearer', async () => {
  const server = fakeServer(() => json({ ok: true }));
  const gate = gateOn('http://api.test', server);
  for (const input of ['/api/x?q=hello world', '/api/my file.txt', '/api/\tx\n', 'http://@api.test/y', new URL('http://api.test/z?a b')]) {
    await gate.fetch(input);
  }
  assert.deepEqual(
    server.requests.map((r) => [r.url, r.authorization]),
    [
      ['http://api.test/api/x?q=hello%20world', 'Bearer T1'],
      ['http://api.test/api/my%20file.txt', 'Bearer T1'],
      ['http://api.test/api/x', 'Bearer T1'],
      ['http://api.test/y', 'Bearer T1'],
      ['http://api.test/z?a%20b', 'Bearer T1'],
    ],
  );
  gate.destroy();
});

test('a refused URL rejects BAD_CONFIG naming the input and what to write instead', async () => {
  const server = fakeServer(() => json({ ok: true }));
  const gate = gateOn('http://api.test', server);
  const cases = [
    ['https://faß.ExAmPlE/', /punycode/],
    ['http://0x7f.1/', /e\.g\. 127\.0\.0\.1/],
    ['http://%61pi.test/', /decoded/],
    ['http://user:pw@api.test/', /credentials.*header/],
  ];
  for (const [input, says] of cases) {
    await assert.rejects(gate.fetch(input), (error) => {
      assert.equal(error.code, 'BAD_CONFIG');
      assert.ok(error.message.startsWith(`GET ${input}: `), error.message);
      assert.match(error.message, says);
      return true;
    });
  }
  assert.equal(server.requests.length, 0);
  gate.destroy();
});

test('a baseUrl with a path is a prefix; absolute and authority forms keep their own target', async () => {
  const server = fakeServer(() => json({ ok: true }));
  const gate = gateOn('https://api.example/v2', server);
  for (const input of ['/users', 'users', '?page=2', '//other.example/x', '\\\\other.example\\y', 'https://api.example/root']) {
    await gate.fetch(input);
  }
  assert.deepEqual(
    server.requests.map((r) => [r.url, r.authorization]),
    [
      ['https://api.example/v2/users', 'Bearer T1'],
      ['https://api.example/v2/users', 'Bearer T1'],
      ['https://api.example/v2/?page=2', 'Bearer T1'],
      ['https://other.example/x', null],
      ['https://other.example/y', null],
      ['https://api.example/root', 'Bearer T1'],
    ],
  );
  gate.destroy();
});
