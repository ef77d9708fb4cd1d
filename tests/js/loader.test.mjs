// The hand-written loader of authgate-core.wasm (js/core.js): what the module
// imports and exports, and heap views that follow the memory when it grows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadCore } from '../../dist/core.js';
import { API, fakeClock, fakeServer, gateFor, json } from './helpers.mjs';

const wasm = new WebAssembly.Module(readFileSync(new URL('../../dist/authgate-core.wasm', import.meta.url)));

test('the module imports only the memory-growth notice', () => {
  assert.deepEqual(WebAssembly.Module.imports(wasm), [
    { module: 'env', name: 'emscripten_notify_memory_growth', kind: 'function' },
  ]);
});

test('the module exports exactly src/wasm-exports.txt, its memory and _initialize', () => {
  const listed = readFileSync(new URL('../../src/wasm-exports.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((symbol) => symbol.slice(1));
  const exported = WebAssembly.Module.exports(wasm).map((e) => `${e.kind} ${e.name}`);
  const want = ['memory memory', 'function _initialize', ...listed.map((name) => `function ${name}`)];
  assert.deepEqual(exported.sort(), want.sort());
});

test('memory growth renews the heap views the bindings read', async () => {
  const core = await loadCore();
  const before = core.m.HEAPU8;
  const size = before.length * 2; // more than the whole heap: the core's malloc must grow it
  const ptr = core.alloc(size);
  try {
    assert.ok(core.m.HEAPU8.length > before.length, 'the memory grew');
    assert.equal(before.byteLength, 0, 'the old buffer is detached by the growth');
    assert.equal(core.m.HEAP32.buffer, core.m.HEAPU8.buffer);
    assert.equal(core.m.HEAPU32.buffer, core.m.HEAPU8.buffer);
    const end = ptr + size - 3;
    core.m.HEAPU8.set([0x6f, 0x6b, 0x21], end);
    assert.equal(core.text(end, 3), 'ok!');
  } finally {
    core.m._free(ptr);
  }
  // Strings still reach the core intact through the renewed views.
  const server = fakeServer(() => json({}));
  const gate = gateFor(server, fakeClock());
  gate.setTokens({ access: 'AFTER-GROWTH', expiresIn: 600 });
  await gate.fetch('/api/me');
  assert.equal(server.requests[0].url, `${API}/api/me`);
  assert.equal(server.requests[0].authorization, 'Bearer AFTER-GROWTH');
  gate.destroy();
});

test('inputs reach the core through one reused scratch region, byte for byte', async () => {
  const core = await loadCore();
  const read = (values) =>
    core.withInputs(values, (...args) => {
      const out = [];
      for (let i = 0; i < args.length; i += 2) out.push({ ptr: args[i], text: core.text(args[i], args[i + 1]) });
      return out;
    });
  const values = ['héllo €', '', null, 'emoji 😀', new Uint8Array([0x41, 0x00, 0x42])];
  const first = read(values);
  assert.deepEqual(
    first.map((v) => v.text),
    ['héllo €', '', null, 'emoji 😀', 'A\0B'],
  );
  assert.notEqual(first[1].ptr, 0, 'an empty string is not a NULL pointer');
  assert.equal(first[2].ptr, 0, 'null is a NULL pointer');
  const second = read(['other', 'x']);
  assert.equal(second[0].ptr, first[0].ptr, 'the next call writes into the same region');

  // Larger than the scratch region: a block of its own for that one call, then the region again.
  const big = 'é'.repeat(40_000);
  const [large] = read([big]);
  assert.equal(large.text, big);
  assert.notEqual(large.ptr, first[0].ptr);
  assert.equal(read(['after'])[0].ptr, first[0].ptr);

  // ASCII is copied byte by byte up to 512 characters, the rest by encodeInto(): the same bytes.
  const mixed = ['GET', `/a${'b'.repeat(600)}`, 'https://api.test/ü?q=1', '\x7f\x80', 'x\uD800y', 'ascii then é'];
  assert.deepEqual(
    read(mixed).map((v) => v.text),
    mixed.map((v) => new TextDecoder().decode(new TextEncoder().encode(v))),
  );
});

test('a block the allocator cannot serve is refused OUT_OF_MEMORY, and the core goes on', async () => {
  const core = await loadCore();
  const size = core.m.HEAPU8.length;
  assert.throws(() => core.alloc(2 ** 31), { name: 'AuthGateError', code: 'OUT_OF_MEMORY' });
  assert.equal(core.m.HEAPU8.length, size, 'nothing was taken for it');
  const ptr = core.alloc(64);
  core.m._free(ptr);
  assert.equal(core.alloc(64), ptr, 'a freed block of the same size is handed out again');
  core.m._free(ptr);
});
