/**
 * authgate/next/server — backend calls from Server Actions, Route Handlers and
 * Server Components with the bearer from the httpOnly token cookie, and the
 * route handler that sets that cookie. The browser's gate owns the tokens
 * (login, refresh with rotation) and posts each new access token to the route
 * through syncTokenCookie() from 'authgate/next'; the server never refreshes.
 * Each backend call goes through its own gate (the same wasm core and policy
 * as the browser's), destroyed after it.
 */
import type { AuthGateOptions } from './index.js';

/** What the helper reads the cookie from: next/headers' cookie store, or anything with get(name). */
export interface CookieSource {
  get(name: string): { value: string } | string | undefined;
}

export interface ServerFetchOptions
  extends Omit<AuthGateOptions, 'storage' | 'storageKey' | 'crossTab' | 'refresh' | 'refreshSkewSeconds' | 'storageArea'> {
  /** The backend's absolute address, e.g. process.env.API_URL. */
  baseUrl: string;
  /** The httpOnly cookie holding the access token (default 'access_token'). */
  cookieName?: string;
  /** Where the cookie is read (default: cookies() from next/headers, in the current request). */
  cookies?: CookieSource | Promise<CookieSource> | (() => CookieSource | Promise<CookieSource>);
}

/**
 * A fetch that sends the token cookie's access token as `Authorization: Bearer`
 * to protected routes under baseUrl; a protected call without the cookie
 * rejects AuthGateError NO_TOKEN (naming the cookie) and never reaches the network.
 * @example
 * // app/actions.ts
 * 'use server';
 * import { withBearerFromCookie } from 'authgate/next/server';
 * const api = withBearerFromCookie({ baseUrl: process.env.API_URL!, public: ['/api/v1/auth'] });
 * export async function createSession() {
 *   const res = await api('/api/v1/sessions', { method: 'POST' });
 *   return res.json();
 * }
 */
export function withBearerFromCookie(
  options: ServerFetchOptions,
): (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * One call with the bearer from the token cookie.
 * @example
 * const res = await serverFetch('/api/v1/documents', undefined, { baseUrl: process.env.API_URL! });
 */
export function serverFetch(
  input: string | URL | Request,
  init: RequestInit | undefined,
  options: ServerFetchOptions,
): Promise<Response>;

export interface TokenCookieOptions {
  /** The cookie's name; the same as withBearerFromCookie's cookieName (default 'access_token'). */
  cookieName?: string;
  /** SameSite of the cookie (default 'lax'; 'strict' keeps it off navigations from other sites too). */
  sameSite?: 'lax' | 'strict';
  /** The cookie's Path (default '/'). */
  path?: string;
  /** Upper bound of the cookie's Max-Age, and its Max-Age when the gate knows no expiry (default 86400). */
  maxAgeSeconds?: number;
}

/**
 * Route handlers for the route syncTokenCookie() posts to: POST {access,
 * expiresIn} sets the httpOnly cookie (Max-Age: the token's remaining life,
 * Secure on https), DELETE clears it. A request without the
 * `x-authgate-cookie: 1` header, with `Sec-Fetch-Site` other than
 * same-origin, or whose Origin is not this site's is refused 403, so another
 * site can neither plant its token in the user's cookie nor clear it.
 * @example
 * // app/authgate/token/route.js
 * import { tokenCookieHandlers } from 'authgate/next/server';
 * export const { POST, DELETE } = tokenCookieHandlers({ cookieName: 'access_token' });
 */
export function tokenCookieHandlers(options?: TokenCookieOptions): {
  POST(request: Request): Promise<Response>;
  DELETE(request: Request): Promise<Response>;
};
