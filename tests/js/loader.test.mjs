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
