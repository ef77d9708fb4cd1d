/**
 * authgate: createAuthGate builds a gate around one core client. Importing
 * this module touches no browser global (SSR-safe): window, storage,
 * BroadcastChannel and navigator are reached lazily, inside the gate.
 */
import { AuthGateError } from './errors.js';
import { Executor } from './executor.js';
import { installGuard } from './guard.js';
import { guardUnconfigured, loadCore } from './core.js';

export { AuthGateError };

/**
 * Creates a gate. Synchronous: the wasm core loads in the background, once
 * for all gates, and every method waits for it.
 * Only the option types are checked here; the core validates the rest and
 * reports it through ready() and every method (AuthGateError BAD_CONFIG).
 */
export function createAuthGate(options) {
  const checked = checkOptions(options);
  const exec = new Executor(checked);
  const guards = new Set();
  const verdict = guardVerdict(exec, checked.optionsJson);

  return {
    get state() {
      return exec.state;
    },
    get session() {
      return exec.session;
    },
    onSession: (listener) => exec.onSession(listener),
    getAccessToken: () => exec.getAccessToken(),
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
      const uninstall = installGuard(mode, { verdict, route: (input, init) => exec.fetch(input, init) });
      guards.add(uninstall);
      return () => {
        guards.delete(uninstall);
        uninstall();
      };
    },
    // Loaded on first use: most pages never diagnose, so it stays out of the first download.
    diagnose: (url) => import('./diagnose.js').then((m) => m.diagnose(exec, url)),
    // A destroyed gate guards nothing: its guards go with it.
    destroy() {
      for (const uninstall of guards) uninstall();
      guards.clear();
      exec.destroy();
    },
  };
}

/**
 * The guard's verdict source. With refused options there is no client: the
 * core then judges from the raw options (ag_guard_unconfigured), so only what
 * the gate was meant to protect fails closed, and the reason is told once.
 */
function guardVerdict(exec, optionsJson) {
  let told = false;
  return async (raw, mode) => {
    let client;
    try {
      client = await exec.client();
    } catch (error) {
      if (error?.code !== 'BAD_CONFIG') throw error;
      if (!told) {
        told = true;
        console.error(
          `authgate: THIS GATE IS NOT WORKING: ${error.message} Until the options are fixed, ` +
            'guardGlobalFetch refuses raw calls to the origins the gate was meant to protect and passes the rest.',
        );
      }
      return { ...guardUnconfigured(await loadCore(), optionsJson, raw), badConfig: error };
    }
    return client.guard(raw, mode);
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
  // The core module with OpenID Connect (and DPoP) only when the gate needs it.
  const oidc = coreOptions.oidc !== undefined;
  // The DPoP key store (js/dpop.js) is fetched only by a gate that asks for DPoP.
  const dpop = coreOptions.dpop === true;
  return { optionsJson, oidc, dpop, fetch, now, storageArea, dpopEnvironment: { crypto, indexedDB, locks } };
}
