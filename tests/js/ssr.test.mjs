// Importing the package touches no browser global (server-side rendering imports it too).
import { test } from 'node:test';
import assert from 'node:assert/strict';

test('importing authgate reads no window, document, storage, channel or navigator', async () => {
  const touched = [];
  const names = ['window', 'document', 'localStorage', 'sessionStorage', 'BroadcastChannel', 'navigator', 'location'];
  const saved = names.map((name) => [name, Object.getOwnPropertyDescriptor(globalThis, name)]);
  for (const name of names) {
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() {
        touched.push(name);
        return undefined;
      },
    });
  }
  try {
    const authgate = await import('../../dist/index.js');
    assert.equal(typeof authgate.createAuthGate, 'function');
    assert.equal(typeof authgate.AuthGateError, 'function');
  } finally {
    for (const [name, descriptor] of saved) {
      if (descriptor) Object.defineProperty(globalThis, name, descriptor);
      else delete globalThis[name];
    }
  }
  assert.deepEqual(touched, []);
});
