import { createAuthGate } from 'authgate';

// Deployment settings, read at runtime from dist/config.js (so one build serves any provider
// and API); a query string (?issuer=…&clientId=…&api=…) overrides them for a quick try.
const query = new URLSearchParams(location.search);
const config = window.AUTHGATE_CONFIG ?? {};
const issuer = query.get('issuer') ?? config.issuer ?? 'http://127.0.0.1:3000';
const clientId = query.get('clientId') ?? config.clientId ?? 'authgate-spa';
const apiUrl = query.get('api') ?? config.apiUrl ?? 'http://127.0.0.1:8001';

// Created once, at module scope: never inside a component (StrictMode renders twice).
export const gate = createAuthGate({
  baseUrl: apiUrl,
  oidc: {
    issuer,
    clientId,
    redirectUri: '/callback',
    postLogoutRedirectUri: '/',
    // openid for the sign-in, offline_access for a refresh token, api:read for the API's calls.
    scope: 'openid offline_access api:read',
  },
  storage: 'session',
});
