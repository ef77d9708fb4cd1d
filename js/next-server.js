/**
 * authgate/next/server: calls the backend from Server Actions, Route Handlers
 * and Server Components with the bearer taken from the httpOnly token cookie
 * (the token never reaches page scripts). tokenCookieHandlers() is the route
 * handler that keeps that cookie in step with the browser.
 *
 * The browser's gate owns the tokens: it logs in, refreshes (rotating refresh
 * tokens stay in one place, so none is ever presented twice) and posts each
 * new access token to tokenCookieHandlers() through syncTokenCookie() from
 * 'authgate/next'. The server never refreshes; it only reads the cookie.
 *
 * Each backend call runs through a gate of its own, created in Node from the
 * same wasm core as the browser's, so the same policy decides: relative paths
 * resolve against baseUrl, the token goes only to baseUrl's origin and the
 * trusted ones, and a protected call without a token is refused (NO_TOKEN)
 * before it reaches the network. One gate per call, destroyed after it: one
 * user's token never serves another request.
 *
 * Importing this module touches no browser global and no request state.
 */
import { AuthGateError, createAuthGate } from './index.js';

const DEFAULT_COOKIE = 'access_token';
const SYNC_HEADER = 'x-authgate-cookie'; // the header syncTokenCookie() sends (authgate/next)
const MAX_BODY_BYTES = 16 * 1024;
const MAX_TOKEN_CHARS = 8 * 1024;
const DEFAULT_MAX_AGE_S = 24 * 60 * 60; // when the gate knows no expiry
// RFC 6750's b64token: what a bearer token may contain, and safe as a cookie value.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * A fetch bound to the token cookie: `(input, init) => Promise<Response>`.
 * options: baseUrl (absolute), cookieName (default 'access_token'), cookies
 * (a cookie store, or a function returning one; default next/headers'
 * cookies()), and the gate's own options (protect, public, trustedOrigins, …).
 */
export function withBearerFromCookie(options) {
  if (options === null || typeof options !== 'object' || typeof options.baseUrl !== 'string') {
    throw new AuthGateError(
      'BAD_CONFIG',
      'authgate/next/server: withBearerFromCookie(): pass {baseUrl: "https://api.example", cookieName?}.',
    );
  }
  const { cookieName = DEFAULT_COOKIE, cookies, refresh: _refresh, storage: _storage, ...gateOptions } = options;
  if (!/^https?:\/\//i.test(gateOptions.baseUrl)) {
    throw new AuthGateError(
      'BAD_CONFIG',
      `authgate/next/server: baseUrl "${gateOptions.baseUrl}" must be absolute on the server ` +
        '(there is no page origin to resolve it against), e.g. process.env.API_URL.',
    );
  }

  return async function fetchWithBearer(input, init) {
    const token = await readCookie(cookies, cookieName);
    const gate = createAuthGate({ ...gateOptions, storage: 'memory', crossTab: false });
    try {
      if (token) gate.setTokens({ access: token });
      return await gate.fetch(input, init);
    } catch (error) {
      if (token || error?.code !== 'NO_TOKEN') throw error;
      throw noCookieError(error, input, init, cookieName);
    } finally {
      gate.destroy();
    }
  };
}

/**
 * One call with the bearer from the token cookie.
 * serverFetch(url, init, options) is withBearerFromCookie(options)(url, init).
 */
export function serverFetch(input, init, options) {
  return withBearerFromCookie(options)(input, init);
}

/**
 * The route handler syncTokenCookie() posts to:
 *   // app/authgate/token/route.js
 *   export const { POST, DELETE } = tokenCookieHandlers({ cookieName: 'access_token' });
 * POST {access, expiresIn} sets the httpOnly cookie, DELETE clears it. Both
 * refuse (403) a request that is not same-origin or lacks the
 * x-authgate-cookie header, so another site cannot plant or clear a token.
 */
export function tokenCookieHandlers({ cookieName = DEFAULT_COOKIE, sameSite = 'lax', path = '/', maxAgeSeconds = DEFAULT_MAX_AGE_S } = {}) {
  if (!/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/.test(cookieName)) {
    throw new AuthGateError('BAD_CONFIG', `authgate/next/server: tokenCookieHandlers(): "${cookieName}" is not a valid cookie name.`);
  }
  if (!['strict', 'lax'].includes(sameSite)) {
    throw new AuthGateError(
      'BAD_CONFIG',
      `authgate/next/server: tokenCookieHandlers(): sameSite must be 'strict' or 'lax' (got ${JSON.stringify(sameSite)}).`,
    );
  }
  const attributes = (request, maxAge) =>
    [`Path=${path}`, `Max-Age=${maxAge}`, 'HttpOnly', `SameSite=${sameSite === 'strict' ? 'Strict' : 'Lax'}`]
      .concat(isHttps(request) ? ['Secure'] : [])
      .join('; ');

  async function POST(request) {
    const refused = crossSiteRefusal(request, 'POST');
    if (refused) return refused;
    if (!/^application\/json\b/i.test(request.headers.get('content-type') ?? '')) {
      return problem(415, `POST ${pathOf(request)}: send JSON {"access": "...", "expiresIn": seconds}.`);
    }
    const text = await request.text();
    let body = null;
    try {
      body = text.length <= MAX_BODY_BYTES ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    const access = body?.access;
    if (typeof access !== 'string' || access.length > MAX_TOKEN_CHARS || !B64TOKEN.test(access)) {
      return problem(400, `POST ${pathOf(request)}: "access" must be a bearer token (RFC 6750 characters, at most ${MAX_TOKEN_CHARS}).`);
    }
    const expiresIn = body.expiresIn;
    const maxAge =
      typeof expiresIn === 'number' && Number.isFinite(expiresIn)
        ? Math.max(0, Math.min(Math.floor(expiresIn), maxAgeSeconds))
        : maxAgeSeconds;
    return noContent(`${cookieName}=${access}; ${attributes(request, maxAge)}`);
  }

  async function DELETE(request) {
    const refused = crossSiteRefusal(request, 'DELETE');
    if (refused) return refused;
    return noContent(`${cookieName}=; ${attributes(request, 0)}`);
  }

  return { POST, DELETE };
}

// ---- helpers -------------------------------------------------------------------

/** A 403 unless the request comes from a page of this origin through syncTokenCookie(); else null. */
function crossSiteRefusal(request, method) {
  const what = `${method} ${pathOf(request)}`;
  if (request.headers.get(SYNC_HEADER) !== '1') {
    return problem(403, `${what}: the ${SYNC_HEADER} header is missing; only syncTokenCookie() from 'authgate/next' may call this route.`);
  }
  const site = request.headers.get('sec-fetch-site');
  if (site !== null && site !== 'same-origin') {
    return problem(403, `${what}: refused a ${site} request; the token cookie is set from this site's own pages only.`);
  }
  const origin = request.headers.get('origin');
  if (origin === null || origin !== ownOrigin(request)) {
    return problem(403, `${what}: the Origin ${origin === null ? 'is missing' : `"${origin}" is not this site's`}; the token cookie is set from this site's own pages only.`);
  }
  return null;
}

// The origin the browser addressed: behind a proxy, the forwarded host and scheme.
function ownOrigin(request) {
  const url = new URL(request.url);
  const host = request.headers.get('x-forwarded-host')?.split(',')[0].trim() || request.headers.get('host') || url.host;
  const proto = request.headers.get('x-forwarded-proto')?.split(',')[0].trim() || url.protocol.replace(/:$/, '');
  return `${proto}://${host}`;
}

function isHttps(request) {
  return ownOrigin(request).startsWith('https:');
}

const pathOf = (request) => new URL(request.url).pathname;

function noContent(setCookie) {
  return new Response(null, { status: 204, headers: { 'set-cookie': setCookie, 'cache-control': 'no-store' } });
}

function problem(status, detail) {
  return Response.json({ detail: `authgate/next/server: ${detail}` }, { status, headers: { 'cache-control': 'no-store' } });
}

function noCookieError(cause, input, init, cookieName) {
  const method = String(init?.method ?? (typeof input === 'object' ? input?.method : undefined) ?? 'GET').toUpperCase();
  const url = typeof input === 'string' ? input : (input?.url ?? String(input));
  return new AuthGateError(
    'NO_TOKEN',
    `authgate/next/server: ${method} ${url}: this request carries no "${cookieName}" cookie, so the call was not sent. ` +
      `The cookie is set by the route handler of tokenCookieHandlers({ cookieName: '${cookieName}' }), which ` +
      `syncTokenCookie(gate) from 'authgate/next' posts the browser's token to after each sign-in and refresh: ` +
      'check that both are in place (same cookieName), that the user signed in in the browser, and await ' +
      'synced() before calling the server action.',
    { cause },
  );
}

async function readCookie(source, name) {
  let store;
  if (source === undefined) {
    // Loaded on first use: importing this module needs no Next.js request.
    const { cookies } = await import('next/headers');
    store = await cookies();
  } else {
    store = await (typeof source === 'function' ? source() : source);
  }
  const value = store?.get(name);
  const token = typeof value === 'string' ? value : value?.value;
  return typeof token === 'string' && token !== '' ? token : null;
}
