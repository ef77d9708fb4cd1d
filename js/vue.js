/**
 * authgate/vue: a plugin that provides the gate, a composable with the
 * reactive state and session, a router guard that waits for readiness (and
 * moves the user off a protected page when they sign out), and a composable
 * for the OIDC redirect callback.
 *
 *   app.use(authGate(gate));
 *   router.beforeEach(requireAuth(gate, { loginRoute: '/login', router }));
 *   const { gate, state, session, isAuthenticated } = useAuthGate(); // in setup() or a Pinia setup store
 *
 * Importing this module touches no browser global (SSR-safe).
 */
import { computed, getCurrentScope, hasInjectionContext, inject, onScopeDispose, readonly, shallowRef } from 'vue';

/** The injection key the plugin provides the gate under. */
export const AUTH_GATE_KEY = Symbol('authgate');

// One set of readonly refs per gate, subscribed once for the gate's lifetime:
// every component and store reads the same refs (the gate drops its
// listeners when it is destroyed).
const reactives = new WeakMap();

function reactiveOf(gate) {
  let found = reactives.get(gate);
  if (found) return found;
  const state = shallowRef(gate.state);
  const session = shallowRef(gate.session ?? null);
  // The session is the core's: re-read it on onSession, and on state changes (start-up, sign-out).
  const update = () => {
    state.value = gate.state;
    const next = gate.session ?? null;
    if (next !== session.value) session.value = next;
  };
  gate.subscribe(update);
  gate.onSession(update);
  found = {
    state: readonly(state),
    session: readonly(session),
    // A session exists while authenticated and while a refresh is under way: no flicker on refresh.
    isAuthenticated: computed(() => session.value !== null),
  };
  reactives.set(gate, found);
  return found;
}

function checkGate(gate, who) {
  if (!gate || typeof gate.subscribe !== 'function' || typeof gate.ready !== 'function' || typeof gate.onSession !== 'function') {
    throw new TypeError(`authgate/vue: ${who} needs a gate from createAuthGate().`);
  }
}

function injectedGate(gate, who) {
  if (gate !== undefined) {
    checkGate(gate, who);
    return gate;
  }
  const found = hasInjectionContext() ? inject(AUTH_GATE_KEY, null) : null;
  if (!found) {
    throw new Error(
      `authgate/vue: ${who} found no gate: install the plugin with app.use(authGate(gate)) and call ` +
        `it inside setup() or a Pinia setup store, or pass the gate: ${who.replace('()', '(gate)')}.`,
    );
  }
  checkGate(found, who);
  return found;
}

/**
 * The plugin: app.use(authGate(gate)) provides the gate to every component
 * (and to Pinia setup stores) and as `this.$authGate`.
 */
export function authGate(gate) {
  checkGate(gate, 'authGate(gate)');
  return {
    install(app) {
      app.provide(AUTH_GATE_KEY, gate);
      app.config.globalProperties.$authGate = gate;
    },
  };
}

/**
 * { gate, state, session, isAuthenticated }: the app's gate and readonly refs
 * of its state, its session (gate.session: null while initializing or
 * anonymous) and whether there is one (true while refreshing too). Call it in
 * setup(), a composable or a Pinia setup store; elsewhere pass the gate.
 */
export function useAuthGate(gate) {
  const target = injectedGate(gate, 'useAuthGate()');
  return { gate: target, ...reactiveOf(target) };
}

/**
 * A vue-router navigation guard: waits for gate.ready(), then lets a user
 * with a session through; anyone else goes to `loginRoute` (with
 * `?redirect=<the page asked for>` when loginRoute is a path or has no query),
 * or, with `loginWithRedirect`, straight to the identity provider
 * (gate.loginWithRedirect({returnTo})). Use it as `beforeEnter` on protected
 * routes, or with router.beforeEach and `protect: (to) => to.meta.requiresAuth`;
 * the login route itself always passes. Given the `router`, it also moves the
 * user from a protected page to the login route when the session ends (a
 * logout here or in another tab, an expired session).
 */
export function requireAuth(
  gate,
  { loginRoute = '/login', protect = () => true, redirectParam = 'redirect', router, loginWithRedirect = false } = {},
) {
  checkGate(gate, 'requireAuth(gate)');
  const login = typeof loginRoute === 'string' ? { path: loginRoute } : loginRoute;
  const isLogin = (to) =>
    (login.name !== undefined && to.name === login.name) || (login.path !== undefined && to.path === login.path);
  const guarded = (to) => !isLogin(to) && protect(to);
  const loginFor = (to) =>
    redirectParam && login.query === undefined ? { ...login, query: { [redirectParam]: to.fullPath } } : { ...login };

  if (router) watchSignOut(gate, router, guarded, loginFor);

  return async function authGateGuard(to) {
    if (!guarded(to)) return true;
    await gate.ready();
    // The session now, not the state ready() resolved with: a login or logout may have followed.
    if (gate.session !== null) return true;
    if (loginWithRedirect) {
      const params = loginWithRedirect === true ? undefined : loginWithRedirect.params;
      await gate.loginWithRedirect({ returnTo: to.fullPath, ...(params ? { params } : {}) });
      return false; // the page is on its way to the provider
    }
    return loginFor(to);
  };
}

function watchSignOut(gate, router, guarded, loginFor) {
  if (typeof router.replace !== 'function' || !router.currentRoute) {
    throw new TypeError('authgate/vue: requireAuth(gate, { router }) needs the app\'s vue-router instance.');
  }
  let hadSession = gate.session != null;
  const check = () => {
    const has = gate.session != null;
    const ended = hadSession && !has;
    hadSession = has;
    const current = router.currentRoute.value;
    if (ended && current && guarded(current)) router.replace(loginFor(current));
  };
  gate.onSession(check);
  gate.subscribe(check);
}

/**
 * For the OIDC redirectUri page: calls gate.handleRedirectCallback() once and
 * gives readonly refs {status: 'pending' | 'done' | 'error', returnTo, error}
 * and the `result` promise. `onDone(returnTo)` runs once it succeeded (e.g.
 * router.replace(returnTo ?? '/')). A second call (a remount) settles as the
 * first did: the gate exchanges the code once.
 */
export function useRedirectCallback({ gate, onDone, onError } = {}) {
  const target = injectedGate(gate, 'useRedirectCallback()');
  if (typeof target.handleRedirectCallback !== 'function') {
    throw new TypeError('authgate/vue: useRedirectCallback() needs a gate created with the oidc option.');
  }
  const status = shallowRef('pending');
  const returnTo = shallowRef(null);
  const error = shallowRef(null);
  let live = true;
  if (getCurrentScope()) onScopeDispose(() => (live = false));
  const result = target.handleRedirectCallback().then(
    (value) => {
      if (!live) return value;
      returnTo.value = value?.returnTo ?? null;
      status.value = 'done';
      onDone?.(returnTo.value);
      return value;
    },
    (failure) => {
      if (live) {
        error.value = failure;
        status.value = 'error';
        onError?.(failure);
      }
      throw failure;
    },
  );
  // The refs carry the failure; an unobserved `result` must not also report it as unhandled.
  result.catch(() => {});
  return { status: readonly(status), returnTo: readonly(returnTo), error: readonly(error), result };
}
