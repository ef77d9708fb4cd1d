// The example apps (examples/), built from their committed lockfiles with the packed tarball installed, and driven in
// Chromium against the FastAPI backend: sign in, the dashboard shows data, sign out. What the
// server saw is asserted from its counters: no 401/403, and a bearer on every protected call.
// The Next.js app runs twice, built with webpack and with Turbopack (into .next-turbopack).
//
// `make test-examples` installs them (npm ci); this spec builds an example when its build is
// missing or older than its sources or its copy of authgate.
import { test, expect } from '@playwright/test';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startServer } from '../servers/launch.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const PROTECTED = ['/api/v1/auth/me', '/api/v1/documents'];
const BUILD_TIMEOUT_MS = 240_000;

const EXAMPLES = [
  {
    name: 'vue-pinia',
    built: 'dist/index.html',
    sources: ['src', 'index.html', 'public', 'vite.config.js'],
    build: ['node_modules/vite/bin/vite.js', 'build'],
    // One build serves any backend: the API's address is dist/config.js, written at "deploy" time.
    configure: (dir, api) =>
      writeFileSync(join(dir, 'dist/config.js'), `window.AUTHGATE_CONFIG = { apiUrl: ${JSON.stringify(api.origin)} };\n`),
    serve: (port) => ['node_modules/vite/bin/vite.js', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
  },
  {
    name: 'react',
    built: 'dist/index.html',
    sources: ['src', 'index.html', 'public', 'vite.config.js'],
    build: ['node_modules/vite/bin/vite.js', 'build'],
    configure: (dir, api) =>
      writeFileSync(join(dir, 'dist/config.js'), `window.AUTHGATE_CONFIG = { apiUrl: ${JSON.stringify(api.origin)} };\n`),
    serve: (port) => ['node_modules/vite/bin/vite.js', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
  },
  ...[
    { name: 'next', distDir: '.next', flags: [] },
    { name: 'next (Turbopack)', distDir: '.next-turbopack', flags: ['--turbopack'] },
  ].map(({ name, distDir, flags }) => ({
    name,
    dir: 'next',
    built: `${distDir}/BUILD_ID`,
    sources: ['app', 'next.config.mjs'],
    build: ['node_modules/next/dist/bin/next', 'build', ...flags],
    env: { NEXT_DIST_DIR: distDir }, // read by next.config.mjs, at build and at start
    configure: () => {},
    // API_URL is read per request by the server (the layout is dynamic): one build, any backend.
    serve: (port) => ['node_modules/next/dist/bin/next', 'start', '-H', '127.0.0.1', '-p', String(port)],
    serverAction: true,
    serverRendered: { '/login': '<h1>Sign in</h1>', '/dashboard': '<h1>Dashboard</h1>' },
  })),
];

const env = {
  ...process.env,
  NEXT_TELEMETRY_DISABLED: '1',
  // Next.js would otherwise try to "patch" the lockfile from the registry.
  NEXT_IGNORE_INCORRECT_LOCKFILE: '1',
};

const counters = async (api) => (await fetch(`${api.origin}/__counters`)).json();

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

function buildIfStale(example, dir) {
  const output = join(dir, example.built);
  const inputs = [...example.sources, 'package-lock.json', 'node_modules/authgate'].map((p) => newestMtime(join(dir, p)));
  if (existsSync(output) && statSync(output).mtimeMs > Math.max(...inputs)) return;
  const run = spawnSync(process.execPath, example.build, {
    cwd: dir,
    env: { ...env, ...example.env },
    encoding: 'utf8',
    timeout: BUILD_TIMEOUT_MS,
  });
  if (run.status !== 0) {
    throw new Error(`building examples/${example.name} failed (${run.status ?? run.signal}):\n${run.stdout}\n${run.stderr}`);
  }
}

/** Starts the example's production server in its own process group; stop() ends that group. */
async function serve(example, dir, port, api) {
  const child = spawn(process.execPath, example.serve(port), {
    cwd: dir,
    env: { ...env, ...example.env, API_URL: api.origin, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output = (output + chunk).slice(-8192)));
  child.stderr.on('data', (chunk) => (output = (output + chunk).slice(-8192)));
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
    if (child.exitCode !== null) throw new Error(`examples/${example.name} server exited:\n${output}`);
    try {
      const res = await fetch(`${origin}/login`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > giveUp) {
      await stop();
      throw new Error(`examples/${example.name} server did not answer on ${origin}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { origin, stop, output: () => output };
}

for (const example of EXAMPLES) {
  test.describe(`examples/${example.name}`, () => {
    const dir = join(root, 'examples', example.dir ?? example.name);
    let api;
    let web;

    test.beforeAll(async () => {
      test.setTimeout(BUILD_TIMEOUT_MS + 60_000);
      if (!existsSync(join(dir, 'node_modules/authgate'))) {
        throw new Error(`examples/${example.name} is not installed: run \`make test-examples\` (npm ci) first`);
      }
      buildIfStale(example, dir);
      const port = await freePort();
      api = await startServer('fastapi', { allowOrigin: `http://127.0.0.1:${port}`, accessTtl: 300 });
      example.configure(dir, api);
      web = await serve(example, dir, port, api);
    });

    test.afterAll(async () => {
      await web?.stop();
      await api?.stop();
    });

    test('sign in, the dashboard shows data with the bearer, sign out', async ({ page }) => {
      const problems = [];
      // Failed loads are reported with their URL by the response handler.
      page.on('console', (msg) => {
        if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text());
      });
      page.on('response', (res) => res.status() >= 400 && problems.push(`${res.status()} ${res.url()}`));
      page.on('pageerror', (error) => problems.push(error.message));
      const counters = async () => (await fetch(`${api.origin}/__counters`)).json();
      await fetch(`${api.origin}/__reset`, { method: 'POST' });

      // Anonymous: the dashboard sends us to the login page, and nothing protected was called.
      await page.goto(`${web.origin}/dashboard`);
      await expect(page).toHaveURL(/\/login/);
      await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
      expect((await counters()).requests, 'no request before signing in').toBe(0);

      await page.getByLabel('Password').fill('demo');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page).toHaveURL(/\/dashboard$/);
      await expect(page.getByTestId('user')).toHaveText('Signed in as demo');
      await expect(page.getByTestId('documents').getByRole('listitem')).toHaveText(['Quarterly report', 'Meeting notes']);

      // A reload restores the session before anything protected is sent (no start-up race).
      await page.reload();
      await expect(page.getByTestId('documents').getByRole('listitem')).toHaveCount(2);

      if (example.serverAction) {
        await page.getByRole('button', { name: 'Create a session (server action)' }).click();
        await expect(page.getByTestId('session')).toHaveText('Session s-1 created for demo');
      }

      const seen = await counters();
      expect(seen.status_401, JSON.stringify(seen)).toBe(0);
      expect(seen.status_403, JSON.stringify(seen)).toBe(0);
      expect(seen.logins).toBe(1);
      const paths = example.serverAction ? [...PROTECTED, '/api/v1/sessions'] : PROTECTED;
      for (const path of paths) {
        const entry = seen.by_path[path];
        expect(entry?.requests, `${path} was called`).toBeGreaterThanOrEqual(1);
        expect(entry.bearer, `every call to ${path} carried a bearer`).toBe(entry.requests);
      }
      expect(seen.auth_headers.filter((h) => h !== null).every((h) => /^Bearer \S+$/.test(h))).toBe(true);

      // Sign out: back to the login page (Vue: requireAuth moves the user), and the dashboard stays closed.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await expect(page).toHaveURL(/\/login/);
      await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
      const before = (await counters()).requests;
      await page.goto(`${web.origin}/dashboard`);
      await expect(page).toHaveURL(/\/login/);
      expect((await counters()).requests, 'no protected call after signing out').toBe(before);

      expect(problems, 'no errors in the console').toEqual([]);
    });

    if (example.serverRendered) {
      test('the server renders the pages; only what needs the gate waits for the browser', async () => {
        for (const [path, html] of Object.entries(example.serverRendered)) {
          const page = await (await fetch(`${web.origin}${path}`)).text();
          expect(page, `the server HTML of ${path}`).toContain(html);
        }
        const dashboard = await (await fetch(`${web.origin}/dashboard`)).text();
        expect(dashboard, 'the part that needs the gate renders its fallback on the server').toContain('Loading…');
        expect(dashboard).not.toContain('Create a session');
      });
    }

    if (example.serverAction) {
      test('a server action after two browser refreshes uses the refreshed token: 2xx, and no 401', async ({ page }) => {
        const control = (accessTtl) =>
          fetch(`${api.origin}/__control`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ access_ttl: accessTtl }),
          });
        await control(4); // the gate refreshes 2 s into each token's 4 s
        try {
          await fetch(`${api.origin}/__reset`, { method: 'POST' });
          const issued = { login: null, refreshed: [] };
          // A response still being read when the test ends (the page closes) is no finding.
          const tokenOf = (res) => res.json().then((body) => body.access_token, () => null);
          page.on('response', async (res) => {
            const path = new URL(res.url()).pathname;
            if (res.status() !== 200 || res.request().method() !== 'POST') return;
            if (path === '/api/v1/auth/login') issued.login = await tokenOf(res);
            if (path === '/api/v1/auth/refresh') issued.refreshed.push(await tokenOf(res));
          });

          await page.goto(`${web.origin}/login`);
          await page.getByLabel('Password').fill('demo');
          await page.getByRole('button', { name: 'Sign in' }).click();
          await expect(page.getByTestId('documents').getByRole('listitem')).toHaveCount(2);

          await expect.poll(async () => (await counters(api)).refreshes, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
          expect(issued.login).not.toBeNull();
          // By now the token of the sign-in has expired: a cookie that did not follow would carry it.
          const { exp } = JSON.parse(Buffer.from(issued.login.split('.')[1], 'base64url').toString());
          await expect.poll(() => Date.now() / 1000 > exp + 1, { timeout: 10_000 }).toBe(true);

          await page.getByRole('button', { name: 'Create a session (server action)' }).click();
          await expect(page.getByTestId('session')).toHaveText('Session s-1 created for demo');

          const seen = await counters(api);
          expect(seen.status_401, JSON.stringify(seen)).toBe(0);
          expect(seen.status_403, JSON.stringify(seen)).toBe(0);
          expect(seen.refreshes).toBeGreaterThanOrEqual(2);
          expect(seen.by_path['/api/v1/sessions'].statuses, 'the server action succeeded').toEqual({ 201: 1 });
          // The server action's call is the last one with a bearer: a refreshed token, not the first one.
          const last = seen.auth_headers.filter((h) => h !== null).at(-1);
          expect(issued.refreshed.map((t) => `Bearer ${t}`)).toContain(last);
          expect(last).not.toBe(`Bearer ${issued.login}`);
        } finally {
          await control(300);
        }
      });
    }

    if (example.name === 'vue-pinia') {
      test('a logout in another tab moves this tab off the protected page', async ({ context }) => {
        await fetch(`${api.origin}/__reset`, { method: 'POST' });
        const first = await context.newPage();
        await first.goto(`${web.origin}/login`);
        await first.getByLabel('Password').fill('demo');
        await first.getByRole('button', { name: 'Sign in' }).click();
        await expect(first.getByTestId('documents').getByRole('listitem')).toHaveCount(2);

        const second = await context.newPage();
        await second.goto(`${web.origin}/dashboard`);
        // The new tab joins the first one's session, or signs in itself if that answer came after its start.
        const docs = second.getByTestId('documents').getByRole('listitem');
        const signIn = second.getByRole('button', { name: 'Sign in' });
        await expect(signIn.or(docs.first())).toBeVisible();
        if (await signIn.isVisible()) {
          await second.getByLabel('Password').fill('demo');
          await signIn.click();
        }
        await expect(docs).toHaveCount(2);
        await second.getByRole('button', { name: 'Sign out' }).click();
        await expect(second).toHaveURL(/\/login/);
        await expect(first, 'the first tab follows the logout').toHaveURL(/\/login\?redirect=(%2F|\/)dashboard/);
        await expect(first.getByRole('heading', { name: 'Sign in' })).toBeVisible();
        const seen = await counters(api);
        expect(seen.status_401).toBe(0);
        expect(seen.status_403).toBe(0);
      });
    }
  });
}
