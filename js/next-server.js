/**
 * authgate/next/server: calls the backend from Server Actions, Route Handlers
 * and Server Components with the bearer taken from the httpOnly token cookie
 * (the token never reaches page scripts). Each call runs through a gate of its own, created in
 * Node from the same wasm core as the browser's, so the same policy decides:
 * relative paths resolve against baseUrl, the token goes only to baseUrl's
 * origin and the trusted ones, and a protected call without a token is
 * refused (NO_TOKEN) before it reaches the network.
 *
 * One gate per call, destroyed after it: one user's token never serves
 * another request. The server does not refresh (rotated tokens could not
 * reach the browser); an expired token ends in a 401 or SESSION_EXPIRED.
 *
 * Importing this module touches no browser global and no request state.
 */
import { AuthGateError, createAuthGate } from './index.js';

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
  const { cookieName = 'access_token', cookies, refresh: _refresh, storage: _storage, ...gateOptions } = options;
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
