// End to end: the demo page signs in through the gate and calls a protected
// FastAPI route. The page must show the answer, and the server must have seen
// the bearer on that call and no 401/403 at all.
import { expect, test } from '@playwright/test';
import { fileURLToPath } from 'node:url';

import { startServer, startStatic } from '../servers/launch.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
let web;
let api;

test.beforeAll(async () => {
  web = await startStatic(repoRoot); // serves /web/ and the /dist/ it imports
  api = await startServer('fastapi', { allowOrigin: web.origin });
});

test.afterAll(async () => {
  await Promise.all([web?.stop(), api?.stop()]);
});

test('sign in, then a protected call carries the bearer', async ({ page }) => {
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error));
  await page.goto(`${web.origin}/web/?api=${encodeURIComponent(api.origin)}`);

  await expect(page.locator('#state')).toHaveText('anonymous');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.locator('#state')).toHaveText('authenticated');

  await page.getByRole('button', { name: 'Call GET /api/v1/auth/me' }).click();
  await expect(page.locator('#result')).toHaveText('200 you are demo');
  await expect(page.getByRole('log')).toContainText(`${api.origin}/api/v1/auth/me`);

  const seen = await (await fetch(`${api.origin}/__counters`)).json();
  const me = seen.by_path['/api/v1/auth/me'];
  expect(me).toMatchObject({ requests: 1, bearer: 1, statuses: { 200: 1 } });
  expect(seen.logins).toBe(1);
  expect(seen.status_401).toBe(0);
  expect(seen.status_403).toBe(0);

  // The one token the server saw never appears on the page.
  const bearers = seen.auth_headers.filter((value) => value?.startsWith('Bearer '));
  expect(bearers).toHaveLength(1);
  expect(await page.content()).not.toContain(bearers[0].slice('Bearer '.length));
  expect(pageErrors).toEqual([]);
});
