/**
 * The browser's side of the OpenID flow: random bytes, the sign-in
 * transaction in sessionStorage, and navigation. It decides nothing: the
 * core builds the URLs and the transaction, and says when to go where.
 * Every global is reached when used, never at import (SSR-safe).
 */
import { NAVIGATE_REPLACE } from './core.js';

/** AG_OIDC_RANDOM_BYTES: the PKCE verifier, state and nonce, 32 bytes each. */
export const RANDOM_BYTES = 96;

/** Fresh random bytes for one loginWithRedirect(). */
export function randomBytes() {
  const bytes = new Uint8Array(RANDOM_BYTES);
  globalThis.crypto.getRandomValues(bytes);
  return bytes;
}

/**
 * The transaction survives the redirect in this tab only (sessionStorage),
 * whatever the `storage` option says. Storage can throw (blocked, quota):
 * then the callback finds none and the core answers LOGIN_REQUIRED.
 */
export function openTransactions(storageKey) {
  const key = `${storageKey}.transaction`;
  const area = () => globalThis.sessionStorage;
  return {
    read() {
      try {
        return area()?.getItem(key) ?? null;
      } catch {
        return null;
      }
    },
    write(text) {
      try {
        if (text === null) area()?.removeItem(key);
        else area()?.setItem(key, text);
      } catch {
        // the sign-in then fails at the callback, with a reason
      }
    },
  };
}

/** Performs the core's NAVIGATE: leave the page, or rewrite the address bar only. */
export function navigate(code, url) {
  if (code === NAVIGATE_REPLACE) globalThis.history?.replaceState(globalThis.history.state, '', url);
  else globalThis.location.assign(url);
}

/** The page's own URL, for handleRedirectCallback() without an argument. */
export const currentUrl = () => globalThis.location?.href ?? '';
