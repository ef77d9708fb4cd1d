// Starts the real test backends (and a static file server) for Playwright
// specs, tests/servers/check_servers.mjs and scripts/demo.sh.
//
//   const api = await startServer('fastapi', { allowOrigin: web.origin, accessTtl: 5 });
//   await fetch(`${api.origin}/__counters`); ...; await api.stop();
//
// Every child is killed when this process exits, so a failed run leaves no
// server holding a port (the Python servers also exit when orphaned).
import { spawn } from 'node:child_process';
import { chmodSync, createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
// Debian's interpreter: the python3 first on PATH lacks the framework packages.
const PYTHON = '/usr/bin/python3';
const NGINX = '/usr/sbin/nginx';
const SCRIPTS = {
  fastapi: 'fastapi_app.py',
  flask: 'flask_app.py',
  django: 'django_app/serve.py',
  recorder: 'recorder.py',
};
const OIDC_DIR = join(here, 'oidc');
const OIDC_CLIENT_ID = 'authgate-spa'; // provider.js's defaults
const OIDC_RESOURCE = 'urn:authgate:test-api';
const START_TIMEOUT_MS = 20000; // Django migrates a fresh database first
const OUTPUT_KEPT = 8192;

const children = new Set();
process.on('exit', () => { for (const child of children) child.kill('SIGKILL'); });
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const child of children) child.kill('SIGKILL');
    process.kill(process.pid, signal); // the default action, now that our handler is gone
  });
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = net.createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

/**
 * kind: 'fastapi' | 'flask' | 'django' | 'recorder' | 'nginx' | 'oidc' | 'resource'.
 * opts: allowOrigin (string or array), accessTtl (seconds), corsVariant ('good' | 'no-auth-header',
 * flask), port (default: any free one), upstreamPort (nginx: the Flask server's port).
 * oidc (the OpenID provider): redirectUris (required), postLogoutRedirectUris (default: the
 * redirect URIs), clientId, resource, refreshTtl, strictOfflineAccess, dpopNonce, dpopRequired; its handle also has
 * `issuer`, `clientId` and `resource`. resource (the API behind it): issuer (required), audience, requireScope,
 * dpopNonce (DPoP proofs must carry a nonce the API issued: 401 use_dpop_nonce with DPoP-Nonce first).
 * Resolves to { port, origin, stop() } once the server accepts connections.
 */
export async function startServer(kind, opts = {}) {
  if (kind === 'nginx') return startNginx(opts);
  if (kind === 'oidc' || kind === 'resource') return startOidcServer(kind, opts);
  if (!SCRIPTS[kind]) throw new Error(`unknown server kind "${kind}"`);
  const args = [join(here, SCRIPTS[kind]), '--port', String(opts.port ?? 0)];
  for (const origin of [opts.allowOrigin ?? []].flat()) args.push('--allow-origin', origin);
  if (opts.accessTtl != null) args.push('--access-ttl', String(opts.accessTtl));
  if (opts.corsVariant) args.push('--cors-variant', opts.corsVariant);
  const child = track(spawn(PYTHON, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, // no __pycache__ in the source tree
  }));
  return handle(child, await readyLine(child, kind));
}

// The provider and its resource server (tests/servers/oidc/, Node, own lockfile).
async function startOidcServer(kind, opts) {
  if (!existsSync(join(OIDC_DIR, 'node_modules', 'oidc-provider'))) {
    throw new Error(`${kind}: tests/servers/oidc/node_modules is missing; run \`make setup\``);
  }
  const list = (flag, values) => [values ?? []].flat().flatMap((v) => [flag, v]);
  const args = ['--port', String(opts.port ?? 0), ...list('--allow-origin', opts.allowOrigin)];
  if (kind === 'oidc') {
    if (![opts.redirectUris ?? []].flat().length) throw new Error('oidc needs opts.redirectUris');
    args.push(...list('--redirect-uri', opts.redirectUris), ...list('--post-logout-redirect-uri', opts.postLogoutRedirectUris));
    if (opts.clientId) args.push('--client-id', opts.clientId);
    if (opts.resource) args.push('--resource', opts.resource);
    if (opts.accessTtl != null) args.push('--access-ttl', String(opts.accessTtl));
    if (opts.refreshTtl != null) args.push('--refresh-ttl', String(opts.refreshTtl));
    if (opts.strictOfflineAccess) args.push('--strict-offline-access');
    if (opts.dpopNonce) args.push('--dpop-nonce');
    if (opts.dpopRequired) args.push('--dpop-required');
  } else {
    if (!opts.issuer) throw new Error('resource needs opts.issuer');
    args.push('--issuer', opts.issuer);
    if (opts.audience) args.push('--audience', opts.audience);
    if (opts.requireScope) args.push('--require-scope', opts.requireScope);
    if (opts.dpopNonce) args.push('--dpop-nonce');
  }
  const script = join(OIDC_DIR, kind === 'oidc' ? 'provider.js' : 'resource.js');
  const child = track(spawn(process.execPath, ['--no-warnings', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const server = handle(child, await readyLine(child, kind));
  if (kind !== 'oidc') return server;
  return { ...server, issuer: server.origin, clientId: opts.clientId ?? OIDC_CLIENT_ID, resource: opts.resource ?? OIDC_RESOURCE };
}

function readyLine(child, kind) {
  return whenReady(child, kind, (ready) => {
    let stdout = '';
    const onData = (chunk) => {
      stdout += chunk;
      const line = /^READY (\d+)$/m.exec(stdout);
      if (!line) return;
      child.stdout.off('data', onData).resume(); // keep draining, stop collecting
      ready(Number(line[1]));
    };
    child.stdout.on('data', onData);
  });
}


async function startNginx({ upstreamPort, port }) {
  if (!upstreamPort) throw new Error('nginx needs opts.upstreamPort');
  port ??= await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'authgate-nginx-'));
  chmodSync(dir, 0o755); // workers drop root privileges and still need their temp dirs
  const conf = readFileSync(join(here, 'nginx.conf.in'), 'utf8')
    .replaceAll('@DIR@', dir).replaceAll('@PORT@', String(port))
    .replaceAll('@UPSTREAM_PORT@', String(upstreamPort));
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = track(spawn(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log')],
    { stdio: ['ignore', 'ignore', 'pipe'] }));
  child.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  // nginx prints nothing when it is up, but writes its pid file only once its
  // listening socket is bound (a port check could be fooled by another server).
  await whenReady(child, 'nginx', (ready) => {
    const poll = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (existsSync(join(dir, 'nginx.pid'))) ready();
      else setTimeout(poll, 50);
    };
    poll();
  });
  return handle(child, port);
}

function track(child) {
  children.add(child);
  child.output = ''; // the tail of stderr, for error messages
  child.stderr.on('data', (chunk) => { child.output = (child.output + chunk).slice(-OUTPUT_KEPT); });
  child.once('exit', () => children.delete(child));
  return child;
}

// Resolves with what `watch` reports; rejects, with the server's stderr, if the
// server exits first or is not ready in time.
function whenReady(child, kind, watch) {
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${kind} did not start within ${START_TIMEOUT_MS} ms; stderr:\n${child.output}`));
    }, START_TIMEOUT_MS);
    // 'close' rather than 'exit': stderr has been read to the end by then.
    const onClose = (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${kind} exited (${signal ?? code}) before it was ready; stderr:\n${child.output}`));
    };
    child.once('close', onClose);
    child.once('error', (error) => { // e.g. the interpreter or nginx is not installed
      clearTimeout(timer);
      reject(new Error(`${kind} could not be started: ${error.message}`));
    });
    watch((value) => {
      clearTimeout(timer);
      child.off('close', onClose);
      resolveReady(value);
    });
  });
}

function handle(child, port) {
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    /** The server's stderr so far (last few KB). */
    output: () => child.output,
    stop: () => stopChild(child),
  };
}

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => { clearTimeout(force); done(); });
    child.kill('SIGTERM');
  });
}

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

/**
 * Serves `root` on 127.0.0.1 (GET/HEAD, no caching, dotfiles hidden), adding
 * `headers` to every response (e.g. a Content-Security-Policy under test).
 * Resolves to { port, origin, stop() }.
 */
export function startStatic(root, { port = 0, headers = {} } = {}) {
  const base = resolve(root);
  const server = http.createServer((req, res) => {
    const send = (status, extra = {}, body = '') => {
      res.writeHead(status, { 'Cache-Control': 'no-store', ...headers, ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { Allow: 'GET, HEAD' });
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      return send(400);
    }
    const file = normalize(join(base, path));
    if ((file !== base && !file.startsWith(base + sep)) || path.split('/').some((s) => s.startsWith('.'))) {
      return send(404);
    }
    let stat = statSync(file, { throwIfNoEntry: false });
    if (stat?.isDirectory()) {
      // Relative imports in a page resolve against its URL: /web must become /web/.
      if (!path.endsWith('/')) return send(301, { Location: `${path}/` });
      stat = statSync(join(file, 'index.html'), { throwIfNoEntry: false });
      if (stat) return stream(join(file, 'index.html'), stat);
    }
    if (!stat?.isFile()) return send(404, { 'Content-Type': 'text/plain' }, `not found: ${path}\n`);
    return stream(file, stat);

    function stream(name, { size }) {
      res.writeHead(200, {
        'Content-Type': CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
        'Content-Length': size,
        'Cache-Control': 'no-store',
        ...headers,
      });
      if (req.method === 'HEAD') return res.end();
      createReadStream(name).pipe(res);
    }
  });
  return new Promise((resolveListening, reject) => {
    server.once('error', reject).listen(port, '127.0.0.1', () => {
      const actual = server.address().port;
      resolveListening({
        port: actual,
        origin: `http://127.0.0.1:${actual}`,
        stop: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
      });
    });
  });
}

// `node tests/servers/launch.js static <root> [port]`: the static server on its own (scripts/demo.sh).
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [command, root, port] = process.argv.slice(2);
  if (command !== 'static' || !root) {
    console.error('usage: node tests/servers/launch.js static <root> [port]');
    process.exit(2);
  }
  const { origin } = await startStatic(root, { port: Number(port ?? 0) });
  console.log(`READY ${origin}`);
}
