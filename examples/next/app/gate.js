import { createAuthGate } from 'authgate';
import { syncTokenCookie } from 'authgate/next';

let gate = null;
let tokenCookie = null;

/**
 * The page's one gate, created on first use in the browser (never on the server: there the
 * provider gets null). The browser signs in, refreshes and keeps the tokens; syncTokenCookie()
 * posts each new access token to app/authgate/token/route.js, which keeps it in the httpOnly
 * cookie the server actions read.
 */
export function browserGate(apiUrl) {
  gate ??= createAuthGate({
    baseUrl: apiUrl,
    protect: ['/api'],
    public: ['/api/v1/auth/login', '/api/v1/auth/refresh'],
    login: { url: '/api/v1/auth/login' },
    refresh: { url: '/api/v1/auth/refresh' },
    storage: 'session',
  });
  tokenCookie ??= syncTokenCookie(gate, { url: '/authgate/token' });
  return gate;
}

/** Resolves once the token cookie holds the gate's current token: await it before a server action. */
export const cookieSynced = () => tokenCookie.synced();
