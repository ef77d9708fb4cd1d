// The benchmark's own loopback backend: one Node http server on 127.0.0.1 that
// serves the bench pages, dist/ and the bundled anchors (with COOP/COEP, so
// performance.now() resolves to 5 µs) and a tiny token API on the same origin,
// so no call pays for a CORS preflight:
//
//   POST /api/auth/login     → a fresh token pair {access_token, refresh_token, expires_in}
//   POST /api/auth/refresh   {"refresh": "..."} → a new pair; every refresh token works once
//                            (rotation), a reused or unknown one gets 401
//   GET  /api/data           needs `Authorization: Bearer <valid access>`, else 401
//   POST /__expire           revokes every access token issued so far (the storm's "expired")
//   GET  /__counters         what the server saw; POST /__reset zeroes it
//   POST /__config           {"refreshDelayMs": n}: how long a refresh takes
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * @param {Record<string, string>} mounts  URL prefix ('/dist/') → folder
 * @returns {Promise<{origin: string, counters: object, stop(): Promise<void>}>}
 */
export async function startBenchServer(mounts) {
  let serial = 0;
  const access = new Set();
  const refresh = new Set();
  const config = { refreshDelayMs: 20, accessTtl: 3600 };
  const counters = {};
  const reset = () =>
    Object.assign(counters, { data200: 0, data401: 0, refreshServed: 0, refreshRefused: 0, logins: 0, maxInFlight: 0 });
  reset();
  let inFlight = 0;

  const issue = () => {
    serial += 1;
    const pair = { access: `acc.${serial}.${Math.random().toString(36).slice(2)}`, refresh: `ref.${serial}.${Math.random().toString(36).slice(2)}` };
    access.add(pair.access);
    refresh.add(pair.refresh);
    return { access_token: pair.access, refresh_token: pair.refresh, token_type: 'bearer', expires_in: config.accessTtl };
  };

  const json = (res, status, body, extra = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-store',
      ...ISOLATION,
      ...extra,
    });
    res.end(text);
  };

  const readBody = (req) =>
    new Promise((resolve) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });

  async function api(req, res, path) {
    if (path === '/api/data' && req.method === 'GET') {
      const auth = req.headers.authorization ?? '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (access.has(token)) {
        counters.data200 += 1;
        return json(res, 200, { ok: true, serial });
      }
      counters.data401 += 1;
      return json(res, 401, { detail: 'Invalid or expired token' }, { 'WWW-Authenticate': 'Bearer' });
    }
    if (path === '/api/auth/login' && req.method === 'POST') {
      await readBody(req);
      counters.logins += 1;
      return json(res, 200, issue());
    }
    if (path === '/api/auth/refresh' && req.method === 'POST') {
      const text = await readBody(req);
      let token = '';
      try {
        token = JSON.parse(text).refresh ?? '';
      } catch {
        token = new URLSearchParams(text).get('refresh_token') ?? '';
      }
      if (config.refreshDelayMs > 0) await new Promise((r) => setTimeout(r, config.refreshDelayMs));
      if (!refresh.delete(token)) {
        counters.refreshRefused += 1;
        return json(res, 401, { detail: 'Invalid refresh token' });
      }
      counters.refreshServed += 1;
      return json(res, 200, issue());
    }
    if (path === '/__expire' && req.method === 'POST') {
      access.clear();
      return json(res, 200, { ok: true });
    }
    if (path === '/__counters') return json(res, 200, { ...counters });
    if (path === '/__reset' && req.method === 'POST') {
      reset();
      return json(res, 200, { ok: true });
    }
    if (path === '/__config' && req.method === 'POST') {
      Object.assign(config, JSON.parse((await readBody(req)) || '{}'));
      return json(res, 200, config);
    }
    return json(res, 404, { detail: 'not found' });
  }

  async function file(req, res, path) {
    for (const [prefix, root] of Object.entries(mounts)) {
      if (!path.startsWith(prefix)) continue;
      const name = normalize(join(root, path.slice(prefix.length)));
      if (!name.startsWith(normalize(root) + sep) && name !== normalize(root)) break;
      const info = await stat(name).catch(() => null);
      if (!info?.isFile()) break;
      const body = await readFile(name);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(name)] ?? 'application/octet-stream',
        'Content-Length': body.length,
        'Cache-Control': 'no-store',
        ...ISOLATION,
      });
      return res.end(body);
    }
    res.writeHead(404, { 'Content-Type': 'text/plain', ...ISOLATION });
    res.end(`not found: ${path}\n`);
  }

  const server = http.createServer(async (req, res) => {
    inFlight += 1;
    counters.maxInFlight = Math.max(counters.maxInFlight, inFlight);
    res.on('close', () => {
      inFlight -= 1;
    });
    const path = new URL(req.url, 'http://x').pathname;
    try {
      if (path.startsWith('/api/') || path.startsWith('/__')) await api(req, res, path);
      else await file(req, res, path);
    } catch (error) {
      if (!res.headersSent) json(res, 500, { detail: String(error) });
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 60000;
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    counters,
    stop: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
