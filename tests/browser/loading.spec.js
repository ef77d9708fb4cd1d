// How the page gets the wasm core (js/core.js): the download and streaming
// compile start right after import, before any gate exists; a gate without
// oidc gets authgate-core.wasm and one with oidc authgate-core-oidc.wasm, each
// page downloading only the one it uses; a server that labels the
// .wasm with the wrong Content-Type still works (compiled from the bytes); a
// missing .wasm fails ready() with a message naming the file.
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';

import { startStatic } from '../servers/launch.js';
import { repoRoot } from './helpers.js';

let web;
const page0 = () => `${web.origin}/loading-test.html`;

test.beforeAll(async () => {
  web = await startStatic(repoRoot);
});

test.afterAll(async () => {
  await web?.stop();
});

/** An empty page on the static server's origin (dist/ is served beside it). */
async function openBlank(page) {
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.route(page0(), (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>t</title>' }));
  await page.goto(page0());
  return errors;
}

test('importing authgate starts the wasm download before any gate is created', async ({ page }) => {
  const errors = await openBlank(page);
  const wasm = page.waitForRequest(/\/dist\/authgate-core\.wasm$/, { timeout: 5000 });
  await page.evaluate(async () => {
    window.authgate = await import('/dist/index.js');
  });
  await wasm; // no gate exists yet
  const state = await page.evaluate(() =>
    window.authgate.createAuthGate({ baseUrl: location.origin, crossTab: false }).ready(),
  );
  expect(state).toBe('anonymous');
  expect(errors).toEqual([]);
});

/** The .wasm files the page fetched, by name. */
function wasmRequests(page, pattern = /\.wasm$/) {
  const seen = [];
  page.on('request', (request) => {
    const name = new URL(request.url()).pathname.split('/').pop();
    if (pattern.test(name)) seen.push(name);
  });
  return seen;
}

test('only a gate with dpop fetches the DPoP key store (dpop.js)', async ({ page }) => {
  const errors = await openBlank(page);
  const seen = wasmRequests(page, /^dpop\.js$/);
  const oidc = { issuer: 'https://id.example', clientId: 'spa', redirectUri: '/cb' };
  const states = await page.evaluate(async (o) => {
    const { createAuthGate } = await import('/dist/index.js');
    const fetch = async () => new Response('{}', { status: 503 }); // no provider here
    const plain = await createAuthGate({ baseUrl: location.origin, crossTab: false }).ready();
    const signIn = await createAuthGate({ baseUrl: location.origin, crossTab: false, fetch, oidc: o }).ready();
    const before = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/dpop.js')).length;
    const bound = await createAuthGate({ baseUrl: location.origin, crossTab: false, fetch, oidc: o, dpop: true }).ready();
    return { plain, signIn, bound, before };
  }, oidc);
  expect(states).toEqual({ plain: 'anonymous', signIn: 'anonymous', bound: 'anonymous', before: 0 });
  expect(seen).toEqual(['dpop.js']);
  expect(errors).toEqual([]);
});

test('a gate without oidc downloads only authgate-core.wasm', async ({ page }) => {
  const errors = await openBlank(page);
  const seen = wasmRequests(page);
  const state = await page.evaluate(async () => {
    const { createAuthGate } = await import('/dist/index.js');
    return createAuthGate({ baseUrl: location.origin, crossTab: false }).ready();
  });
  expect(state).toBe('anonymous');
  expect(seen).toEqual(['authgate-core.wasm']);
  expect(errors).toEqual([]);
});

test('a gate with oidc, created as the app loads, downloads only authgate-core-oidc.wasm', async ({ page }) => {
  const errors = await openBlank(page);
  const seen = wasmRequests(page);
  const result = await page.evaluate(async () => {
    const { createAuthGate } = await import('/dist/index.js');
    const gate = createAuthGate({
      baseUrl: location.origin,
      crossTab: false,
      fetch: async () => new Response('{}', { status: 503 }), // no provider here: discovery fails, ready() does not
      oidc: { issuer: 'https://id.example', clientId: 'spa', redirectUri: '/cb' },
    });
    const state = await gate.ready();
    const login = await gate.loginWithRedirect().then(() => 'ok', (error) => error.code);
    return { state, login };
  });
  expect(result).toEqual({ state: 'anonymous', login: 'PROVIDER_ERROR' }); // the OpenID core answered
  await page.waitForTimeout(50); // the import-time start would have fired by now
  expect(seen).toEqual(['authgate-core-oidc.wasm']);
  expect(errors).toEqual([]);
});

test('a .wasm served with a wrong Content-Type is compiled from its bytes', async ({ page }) => {
  const errors = await openBlank(page);
  const bytes = readFileSync(new URL('../../dist/authgate-core.wasm', import.meta.url));
  let served = 0;
  await page.route(/\/dist\/authgate-core\.wasm$/, (route) => {
    served++;
    return route.fulfill({ status: 200, contentType: 'application/octet-stream', body: bytes });
  });
  const state = await page.evaluate(async () => {
    const { createAuthGate } = await import('/dist/index.js');
    return createAuthGate({ baseUrl: location.origin, crossTab: false }).ready();
  });
  expect(state).toBe('anonymous');
  expect(served).toBe(1);
  expect(errors).toEqual([]);
});

test('a missing .wasm rejects ready() with a message naming the file', async ({ page }) => {
  const errors = await openBlank(page);
  await page.route(/\/dist\/authgate-core\.wasm$/, (route) => route.fulfill({ status: 404, body: 'not here' }));
  const message = await page.evaluate(async () => {
    const { createAuthGate } = await import('/dist/index.js');
    return createAuthGate({ baseUrl: location.origin, crossTab: false })
      .ready()
      .then(() => 'resolved', (error) => String(error?.message ?? error));
  });
  expect(message).toContain('authgate-core.wasm');
  expect(message).toContain('404');
  expect(errors).toEqual([]);
});

test('diagnose() code is fetched on its first use, not with the gate', async ({ page }) => {
  const errors = await openBlank(page);
  const scripts = [];
  page.on('request', (request) => scripts.push(new URL(request.url()).pathname));
  await page.evaluate(async () => {
    const { createAuthGate } = await import('/dist/index.js');
    window.gate = createAuthGate({ baseUrl: location.origin, crossTab: false });
    await window.gate.ready();
  });
  expect(scripts).toContain('/dist/index.js');
  expect(scripts).not.toContain('/dist/diagnose.js');
  const diagnosis = await page.evaluate(() => window.gate.diagnose('/dist/package.json'));
  expect(diagnosis.reachable).toBe(true);
  expect(scripts).toContain('/dist/diagnose.js');
  expect(errors).toEqual([]);
});
