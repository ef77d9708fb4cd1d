/**
 * authgate/next — the React provider and hooks, marked 'use client' for the
 * Next.js App Router, and syncTokenCookie(), which keeps the httpOnly token
 * cookie of 'authgate/next/server' in step with the browser's gate.
 *
 * Server Components render on the server with no gate: pass `null` there
 * (the provider still renders its children, so SSR keeps the page) and the
 * browser's gate on the client; the hooks read "not known yet" on the server
 * and during hydration, and useAuthGate() returns null on the server.
 * @example
 * // app/providers.jsx
 * 'use client';
 * import { AuthGateProvider } from 'authgate/next';
 * import { browserGate } from './gate';
 * export function Providers({ children }) {
 *   return <AuthGateProvider gate={typeof window === 'undefined' ? null : browserGate()}>{children}</AuthGateProvider>;
 * }
 */
import type { AuthGate } from './index.js';

export {
  AuthCallback,
  AuthGateProvider,
  AuthReady,
  RequireAuth,
  useAuthReady,
  useAuthState,
  useIsAuthenticated,
  useRedirectCallback,
  useSession,
} from './react.js';
export type { AuthCallbackProps, AuthGateProviderProps, AuthReadyProps, RedirectCallbackResult, RequireAuthProps } from './react.js';

/**
 * The gate of the nearest AuthGateProvider: null during the server render
 * (no gate exists there); use it in effects and event handlers.
 * @example
 * const gate = useAuthGate();
 * const onClick = () => gate?.logout();
 */
export function useAuthGate(): AuthGate | null;

/** The header syncTokenCookie() sends and tokenCookieHandlers() requires. */
export const TOKEN_COOKIE_HEADER: 'x-authgate-cookie';

export interface SyncTokenCookieOptions {
  /** The route of tokenCookieHandlers() on this page's origin (default '/authgate/token'). */
  url?: string;
  /** The fetch to post with (default: the global one). */
  fetch?: typeof fetch;
}

export interface TokenCookieSync {
  /**
   * Resolves once the cookie holds the gate's current access token (refreshed
   * first when due), or is cleared when signed out. Await it before a server
   * action that calls the backend. Rejects AuthGateError when the route could not set it.
   */
  synced(): Promise<void>;
  /** Stops following the gate. */
  stop(): void;
}

/**
 * Posts the gate's access token to the app's token-cookie route after every
 * login, refresh, setTokens and logout (here or in another tab) and once at
 * start; the route keeps it in an httpOnly cookie for 'authgate/next/server'.
 * Only the access token leaves the gate, and only to this page's origin.
 * @example
 * // app/gate.js ('use client' modules only)
 * export const gate = createAuthGate({ baseUrl: API, login: { url: '/auth/login' }, refresh: { url: '/auth/refresh' } });
 * export const tokenCookie = syncTokenCookie(gate, { url: '/authgate/token' });
 * // a client component
 * await tokenCookie.synced();
 * const result = await createDocument(form); // a server action using withBearerFromCookie()
 */
export function syncTokenCookie(gate: AuthGate, options?: SyncTokenCookieOptions): TokenCookieSync;
