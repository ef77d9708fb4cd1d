// How the page gets the wasm core (js/core.js): the download and streaming
// compile start at import, before any gate exists; a server that labels the
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
