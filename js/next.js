'use client';
/**
 * authgate/next: the React provider and hooks as client components for the
 * Next.js App Router, and syncTokenCookie(), which keeps the httpOnly token
 * cookie that 'authgate/next/server' reads in step with the browser's gate.
 * Use them from a 'use client' module of the app (the gate cannot cross from
 * a Server Component to a Client Component as a prop), e.g. app/providers.jsx.
 *
 * Importing this module touches no browser global (SSR-safe).
 */
import { AuthGateError } from './index.js';

export {
  AuthCallback,
  AuthGateProvider,
  AuthReady,
  RequireAuth,
  useAuthGate,
  useAuthReady,
  useAuthState,
  useIsAuthenticated,
  useRedirectCallback,
  useSession,
} from './react.js';

/** The header the token-cookie route handler requires (a cross-site form cannot send it). */
export const TOKEN_COOKIE_HEADER = 'x-authgate-cookie';

/**
 * Posts the gate's access token to the app's own token-cookie route handler
 * (tokenCookieHandlers() from 'authgate/next/server') after every login,
 * refresh, setTokens and logout, here or in another tab, and once at start;
 * the handler keeps it in an httpOnly cookie for server actions. Returns
 * {synced(), stop()}: await synced() before a server action that needs the
 * cookie (it refreshes first when the token is due, then waits for the
 * cookie); stop() ends the sync.
 */
export function syncTokenCookie(gate, { url = '/authgate/token', fetch: fetchImpl } = {}) {
  if (!gate || typeof gate.onSession !== 'function' || typeof gate.getAccessToken !== 'function') {
    throw new TypeError('authgate/next: syncTokenCookie(gate) needs a gate from createAuthGate().');
  }
  let cookie; // the token the cookie was last set to (null: cleared; undefined: not known yet)
  let queue = Promise.resolve();
  let stopped = false;

  async function write() {
    await gate.ready();
    const token = gate.session === null ? null : await currentToken(gate);
    if (stopped || token === cookie) return;
    const session = gate.session;
    const body =
      token === null
        ? undefined
        : JSON.stringify({ access: token, expiresIn: secondsUntil(session?.expiresAt) });
    const method = token === null ? 'DELETE' : 'POST';
    let res;
    try {
      res = await (fetchImpl ?? globalThis.fetch)(url, {
        method,
        headers: { [TOKEN_COOKIE_HEADER]: '1', ...(body ? { 'content-type': 'application/json' } : {}) },
        body,
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (error) {
      throw new AuthGateError(
        'CORS_OR_NETWORK',
        `syncTokenCookie(): ${method} ${url} did not reach the app's own server (${error?.message ?? error}); ` +
          'is the route handler (tokenCookieHandlers) deployed there?',
        { cause: error },
      );
    }
    if (!res.ok) {
      throw new AuthGateError(
        'BAD_CONFIG',
        `syncTokenCookie(): ${method} ${url} answered ${res.status}; export { POST, DELETE } = tokenCookieHandlers() ` +
          `from 'authgate/next/server' in that route, on this page's origin.`,
      );
    }
    cookie = token;
  }

  // One write at a time, in order; a failed one is reported and the next one still runs.
  const run = () => {
    const next = queue.then(write, write);
    queue = next.catch(() => {});
    return next;
  };
  const report = (error) => console.error(error);
  const stopListening = gate.onSession(() => {
    run().catch(report);
  });
  run().catch(report);

  return {
    synced: () => run(),
    stop() {
      stopped = true;
      stopListening();
    },
  };
}

async function currentToken(gate) {
  try {
    return await gate.getAccessToken();
  } catch (error) {
    if (error?.code === 'NO_TOKEN') return null; // signed out meanwhile: clear the cookie
    throw error;
  }
}

/** Whole seconds from now until `at` (ms since the epoch), or null when the gate knows no expiry. */
function secondsUntil(at) {
  return typeof at === 'number' ? Math.max(0, Math.floor((at - Date.now()) / 1000)) : null;
}
