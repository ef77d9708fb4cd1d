// examples/react-oidc, built from its committed lockfile with the packed tarball installed, driven
// in Chromium against the real OpenID provider and its API (tests/servers/oidc/): sign in through
// the provider's development forms, the items page lists what GET /api/items returned, sign out.
// The assertions are on what the servers counted: one code exchange, the bearer on every API call
// and no 401, a revocation and the provider's session ended at sign-out.
//
// The app runs twice: its production build (dist/, what `npm run build` and examples/install.sh
// make) and a development build (dist-dev/), where React's StrictMode runs every effect twice
// (the callback page's too), so one redirect must still exchange its code once.
import { test, expect } from '@playwright/test';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startServer } from '../servers/launch.js';
import { counters, pathSeen, repoRoot } from './helpers.js';

const dir = join(repoRoot, 'examples/react-oidc');
const BUILD_TIMEOUT_MS = 240_000;
const VITE = 'node_modules/vite/bin/vite.js';
const BUILDS = [
  { name: 'production build', outDir: 'dist', env: {}, reactDev: false },
  // Vite picks React's development build from NODE_ENV, not from --mode.
  { name: 'development build (StrictMode runs effects twice)', outDir: 'dist-dev', env: { NODE_ENV: 'development' }, reactDev: true },
];

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

function buildIfStale({ outDir, env }) {
  const output = join(dir, outDir, 'index.html');
  const inputs = ['src', 'index.html', 'public', 'vite.config.js', 'package-lock.json', 'node_modules/authgate'];
  if (existsSync(output) && statSync(output).mtimeMs > Math.max(...inputs.map((p) => newestMtime(join(dir, p))))) return;
  const run = spawnSync(process.execPath, [VITE, 'build', '--outDir', outDir], {
    cwd: dir,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: BUILD_TIMEOUT_MS,
  });
  if (run.status !== 0) throw new Error(`building examples/react-oidc into ${outDir} failed (${run.status ?? run.signal}):\n${run.stdout}\n${run.stderr}`);
}

/** `vite preview` of one build, in its own process group; stop() ends that group. */
async function serve(outDir, port) {
  const args = [VITE, 'preview', '--outDir', outDir, '--host', '127.0.0.1', '--port', String(port), '--strictPort'];
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const keep = (chunk) => (output = (output + chunk).slice(-8192));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const origin = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        done();
      }
    });
  const giveUp = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`examples/react-oidc preview exited:\n${output}`);
    try {
      if ((await fetch(`${origin}/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > giveUp) {
      await stop();
      throw new Error(`examples/react-oidc preview did not answer on ${origin}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { origin, stop };
}

for (const build of BUILDS) {
  test.describe(`examples/react-oidc, ${build.name}`, () => {
    let idp;
    let api;
    let web;

    test.beforeAll(async () => {
      test.setTimeout(BUILD_TIMEOUT_MS + 60_000);
      if (!existsSync(join(dir, 'node_modules/authgate'))) {
        throw new Error('examples/react-oidc is not installed: run `bash examples/install.sh react-oidc` (npm ci) first');
      }
      buildIfStale(build);
      const port = await freePort();
      const origin = `http://127.0.0.1:${port}`;
      idp = await startServer('oidc', { redirectUris: `${origin}/callback`, postLogoutRedirectUris: `${origin}/`, accessTtl: 300 });
      // The API wants its own scope, which the app asks for beside the OpenID ones.
      api = await startServer('resource', { issuer: idp.issuer, allowOrigin: origin, requireScope: 'api:read' });
      // One build serves any provider and API: the addresses are <outDir>/config.js, written at "deploy" time.
      const config = { issuer: idp.issuer, clientId: idp.clientId, apiUrl: api.origin };
      writeFileSync(join(dir, build.outDir, 'config.js'), `window.AUTHGATE_CONFIG = ${JSON.stringify(config)};\n`);
      web = await serve(build.outDir, port);
    });

    test.afterAll(async () => {
      await Promise.all([web?.stop(), api?.stop(), idp?.stop()]);
    });

    test('sign in at the provider, the items come from the API with the bearer, sign out revokes', async ({ page }) => {
      const problems = [];
      const infos = [];
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
      page.on('response', (res) => res.status() >= 400 && problems.push(`HTTP ${res.status()} ${res.url()}`));
      page.on('console', (msg) => {
        // The provider's own pages are not the app's (Chromium asks them for a favicon they lack).
        if (msg.location().url.startsWith(`${idp.origin}/`)) return;
        if (msg.type() === 'error') problems.push(`${msg.text()} (${msg.location().url})`);
        else infos.push(msg.text());
      });

      await page.goto(`${web.origin}/`);
      await page.getByRole('button', { name: 'Sign in with the OpenID provider' }).click();
      await page.waitForURL((url) => url.origin === idp.origin);

      // The provider's development forms: any username and password, then the consent.
      await page.locator('input[name="prompt"][value="login"]').waitFor({ state: 'attached' });
      await page.fill('input[name="login"]', 'alice');
      await page.fill('input[name="password"]', 'any password');
      await page.click('button[type="submit"]');
      await page.locator('input[name="prompt"][value="consent"]').waitFor({ state: 'attached' });
      await page.click('button[type="submit"]');

      // Back through /callback to loginWithRedirect's returnTo.
      await expect(page).toHaveURL(`${web.origin}/items`);
      await expect(page.getByTestId('user')).toHaveText('Signed in as alice');
      await expect(page.getByTestId('items').getByRole('listitem')).toHaveText(['Quarterly report', 'Meeting notes']);

      const { issued } = await (await fetch(`${idp.origin}/__tokens`)).json();
      const idpSeen = await counters(idp);
      expect([idpSeen.authorization, idpSeen.logins, idpSeen.consents], JSON.stringify(idpSeen)).toEqual([1, 1, 1]);
      expect(idpSeen.token_by_grant, 'the code was exchanged once').toEqual({ authorization_code: 1, refresh_token: 0 });
      expect(idpSeen.token_errors, JSON.stringify(idpSeen.token_error_details)).toBe(0);
      expect(issued).toHaveLength(1);

      // A reload keeps the session (sessionStorage) and calls the API again with the same token.
      await page.reload();
      await expect(page.getByTestId('items').getByRole('listitem')).toHaveCount(2);

      const apiSeen = await counters(api);
      const items = pathSeen(apiSeen, '/api/items');
      expect(items.requests, JSON.stringify(apiSeen)).toBeGreaterThanOrEqual(2);
      expect(items.bearer, 'every call to /api/items carried the bearer').toBe(items.requests);
      expect(items.statuses).toEqual({ 200: items.requests });
      expect(apiSeen.status_401, JSON.stringify(apiSeen.rejections)).toBe(0);
      expect(apiSeen.status_403).toBe(0);
      expect(new Set(apiSeen.auth_headers)).toEqual(new Set([`Bearer ${issued[0].access_token}`]));

      // Sign out: the refresh token is revoked, then the provider asks to confirm the end of its session.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL((url) => url.origin === idp.origin);
      expect((await counters(idp)).revocations, 'revoked before the page left').toBe(1);
      await page.getByRole('button', { name: 'Yes, sign me out' }).click();
      await expect(page).toHaveURL(`${web.origin}/`);
      await expect(page.getByRole('button', { name: 'Sign in with the OpenID provider' })).toBeVisible();
      const ended = await counters(idp);
      expect([ended.revocations, ended.grants_revoked, ended.end_session, ended.sessions_ended]).toEqual([1, 1, 1, 1]);
      expect(ended.token_by_grant).toEqual({ authorization_code: 1, refresh_token: 0 });

      // The items page stays closed, and nothing more reaches the API.
      const before = (await counters(api)).requests;
      await page.goto(`${web.origin}/items`);
      await expect(page).toHaveURL(`${web.origin}/`);
      await expect(page.getByRole('button', { name: 'Sign in with the OpenID provider' })).toBeVisible();
      expect((await counters(api)).requests, 'no API call after signing out').toBe(before);

      // React says which build runs: its development build (where StrictMode doubles effects) suggests the DevTools.
      expect(infos.some((text) => text.includes('React DevTools')), 'React development build').toBe(build.reactDev);
      expect(problems, 'no errors in the console').toEqual([]);
    });
  });
}
