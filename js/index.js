/**
 * authgate: createAuthGate builds a gate around one core client. Importing
 * this module touches no browser global (SSR-safe): window, storage,
 * BroadcastChannel and navigator are reached lazily, inside the gate.
 */
import { AuthGateError } from './errors.js';
import { Executor } from './executor.js';
import { installGuard } from './guard.js';
import { diagnose } from './diagnose.js';

export { AuthGateError };

/**
 * Creates a gate. Synchronous: the wasm core loads in the background, once
 * for all gates, and every method waits for it.
 * Only the option types are checked here; the core validates the rest and
 * reports it through ready() and every method (AuthGateError BAD_CONFIG).
 */
export function createAuthGate(options) {
  const exec = new Executor(checkOptions(options));
  const guards = new Set();

  return {
    get state() {
      return exec.state;
    },
    ready: () => exec.ready(),
    login: (credentials) => exec.login(credentials),
    setTokens: (tokens) => exec.setTokens(tokens),
    logout: (options) => exec.logout(options),
    loginWithRedirect: (options) => exec.loginWithRedirect(options),
    handleRedirectCallback: (url) => exec.handleRedirectCallback(url),
    getDpopProof: (request) => exec.getDpopProof(request),
    fetch: (input, init) => exec.fetch(input, init),
    subscribe: (listener) => exec.subscribe(listener),
    guardGlobalFetch(mode) {
      const uninstall = installGuard(mode, {
        verdict: async (url, hasAuthorization, modeValue) =>
          (await exec.client()).guard(url, hasAuthorization, modeValue),
        route: (input, init) => exec.fetch(input, init),
      });
      guards.add(uninstall);
      return () => {
        guards.delete(uninstall);
        uninstall();
      };
    },
    diagnose: (url) => diagnose(exec, url),
    // A destroyed gate guards nothing: its guards go with it.
    destroy() {
      for (const uninstall of guards) uninstall();
      guards.clear();
      exec.destroy();
    },
  };
}

// Types only. The JS-only extensions (fetch, now, storageArea, the DPoP key's crypto, indexedDB and
// locks) stay here; the core gets the rest as JSON.
function checkOptions(options) {
  const fail = (what) => {
    throw new AuthGateError('BAD_CONFIG', `createAuthGate(): ${what}.`);
  };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    fail('pass an options object, e.g. createAuthGate({ baseUrl: "/" })');
  }
  if (typeof options.baseUrl !== 'string') fail('`baseUrl` must be a string, e.g. "https://api.example" or "/"');
  const { fetch, now, storageArea, crypto, indexedDB, locks, ...coreOptions } = options;
  for (const [name, value] of Object.entries({ fetch, now })) {
    if (value !== undefined && typeof value !== 'function') fail(`\`${name}\` must be a function`);
  }
  if (storageArea !== undefined && typeof storageArea?.getItem !== 'function') {
    fail('`storageArea` must be a Storage-like object (getItem, setItem, removeItem)');
  }
  let optionsJson;
  try {
    optionsJson = JSON.stringify(coreOptions);
  } catch (error) {
    fail(`the options must be JSON-serialisable (${error.message})`);
  }
  return { optionsJson, fetch, now, storageArea, dpopEnvironment: { crypto, indexedDB, locks } };
}
