// DPoP in Chromium: the real WebCrypto key (non-extractable, in IndexedDB, one for the tabs of the
// origin under navigator.locks), proofs that a verifying server accepts (tests/servers/
// dpop_server.mjs: signature, htm, htu, iat, jti, ath, the token bound to the key's
// thumbprint), the nonce challenges at the token endpoint and at the API costing one request
// each, and a stolen token refused without the key.
import { expect, test } from '@playwright/test';

import { startStatic } from '../servers/launch.js';
import { startDpopServer } from '../servers/dpop_server.mjs';
import { harnessUrl, openHarness, repoRoot } from './helpers.js';

let web;
let idp;

test.beforeAll(async () => {
  web = await startStatic(repoRoot);
  idp = await startDpopServer({ allowOrigin: web.origin });
});

test.afterAll(async () => {
  await Promise.all([idp?.stop(), web?.stop()]);
});

test.beforeEach(async () => {
  await fetch(`${idp.origin}/__reset`, { method: 'POST' });
});

const seen = async () => (await fetch(`${idp.origin}/__seen`)).json();

const options = (issuer, redirectUri) => ({
  baseUrl: issuer,
  crossTab: true,
  dpop: true,
  oidc: { issuer, clientId: 'spa', redirectUri, scope: 'openid' },
});

/** loginWithRedirect from the harness, through /auth and back, then the callback: signed in. */
async function signIn(page) {
  await openHarness(page, web);
  const opts = options(idp.origin, harnessUrl(web));
  await page.evaluate(async (o) => {
    const gate = window.h.createAuthGate(o);
    await gate.loginWithRedirect();
  }, opts);
  await page.waitForURL(/harness\.html\?code=/);
  await expect(page.locator('html')).toHaveAttribute('data-harness', 'ready');
  const result = await page.evaluate(async (o) => {
    const gate = window.h.createAuthGate(o);
    window.h.gates.main = gate;
    const r = await window.h.settle(gate.handleRedirectCallback());
    return { r, state: gate.state, tokenType: gate.session?.tokenType };
  }, opts);
  expect(result.r.ok, JSON.stringify(result.r)).toBe(true);
  expect(result.state).toBe('authenticated');
  expect(result.tokenType).toBe('DPoP');
}

test('a DPoP sign-in and API calls: every proof verifies, each nonce costs one request', async ({ page }) => {
  await signIn(page);
  let log = await seen();
  const token = log.filter((r) => r.path === '/token');
  expect(token.map((r) => r.proof)).toEqual(['ok', 'ok']);
  expect(token.map((r) => r.nonce === null)).toEqual([true, false]); // asked for, then given

  const calls = await page.evaluate(async () => {
    const gate = window.h.gates.main;
    const first = await window.h.settle(gate.fetch('/api/orders?page=1'));
    const second = await window.h.settle(gate.fetch('/api/orders'));
    return [first.status, second.status];
  });
  expect(calls).toEqual([200, 200]);
  log = await seen();
  const api = log.filter((r) => r.path === '/api/orders');
  expect(api.length).toBe(3); // the first call's nonce challenge, its retry, then one request
  expect(api.every((r) => r.proof === 'ok' && /^DPoP /.test(r.authorization))).toBe(true);
});

test('the key is not extractable, is shared by the tabs, and goes on logout', async ({ page, context }) => {
  await signIn(page);
  const jkt = (await seen()).find((r) => r.path === '/auth').jkt;
  const second = await context.newPage();
  await openHarness(second, web);
  const info = await second.evaluate(async () => {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open('authgate');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const record = await new Promise((resolve, reject) => {
      const r = db.transaction('dpop-keys').objectStore('dpop-keys').get('authgate');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    db.close();
    const tries = await Promise.all(
      ['jwk', 'pkcs8'].map((format) =>
        crypto.subtle.exportKey(format, record.privateKey).then(
          () => 'exported',
          (error) => error.name,
        ),
      ),
    );
    return { extractable: record.privateKey.extractable, tries, jwk: JSON.parse(record.jwk) };
  });
  expect(info.extractable).toBe(false);
  expect(info.tries).toEqual(['InvalidAccessError', 'InvalidAccessError']);
  // The first tab signs with the stored key.
  const proof = await page.evaluate(() => window.h.gates.main.getDpopProof({ method: 'GET', url: '/api/ws' }));
  const header = JSON.parse(Buffer.from(proof.split('.')[0], 'base64url').toString());
  expect(header.jwk.x).toBe(info.jwk.x);
  expect(jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
  // A sign-in started in the second tab names the same key.
  await second.evaluate((o) => window.h.createAuthGate(o).loginWithRedirect(), options(idp.origin, harnessUrl(web)));
  await second.waitForURL(/harness\.html\?code=/);
  expect((await seen()).filter((r) => r.path === '/auth').map((r) => r.jkt)).toEqual([jkt, jkt]);

  await page.evaluate(() => window.h.gates.main.logout({ redirect: false }));
  const left = await second.evaluate(
    () =>
      new Promise((resolve) => {
        const r = indexedDB.open('authgate');
        r.onsuccess = () => {
          const get = r.result.transaction('dpop-keys').objectStore('dpop-keys').get('authgate');
          get.onsuccess = () => resolve(get.result === undefined);
        };
      }),
  );
  expect(left).toBe(true);
  expect((await seen()).some((r) => r.path === '/revoke' && r.proof === 'ok')).toBe(true);
});

test('a copied access token is refused without the key', async ({ page }) => {
  await signIn(page);
  await page.evaluate(() => window.h.gates.main.fetch('/api/orders'));
  const stolen = (await seen()).filter((r) => r.path === '/api/orders').at(-1).authorization;
  const asBearer = await fetch(`${idp.origin}/api/orders`, { headers: { Authorization: stolen } });
  expect(asBearer.status).toBe(401);
});
