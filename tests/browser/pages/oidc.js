// The page of an app that signs in through the OpenID provider, and also its
// redirectUri and postLogoutRedirectUri (this page's URL without query). The
// spec puts the servers' addresses in window.oidcTest with an init script
// before any load; this module creates the gate at load, as an app does:
//   window.gate      createAuthGate({ baseUrl: api, oidc: { issuer, clientId, redirectUri, scope, ... } })
//   window.h         the harness helpers (h.settle, h.createAuthGate, h.AuthGateError)
//   window.states    every state the gate went through on this load
// It never calls handleRedirectCallback itself: the spec decides how often and when.
import './harness.js';

const config = window.oidcTest;
if (!config) throw new Error('oidc.js: window.oidcTest is not set (the spec sets it with addInitScript)');

const here = `${location.origin}${location.pathname}`;
window.states = [];
window.gate = window.h.createAuthGate({
  baseUrl: config.api,
  oidc: { issuer: config.issuer, clientId: config.clientId, redirectUri: here, postLogoutRedirectUri: here, scope: config.scope },
  storage: 'session',
  refreshSkewSeconds: 0,
  ...config.gate,
});
window.gate.subscribe((state) => window.states.push(state));
document.documentElement.dataset.oidc = 'ready';
