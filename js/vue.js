/**
 * authgate/vue: a plugin that provides the gate, a composable with a
 * reactive state, and a router guard that waits for readiness.
 *
 *   app.use(authGate(gate));
 *   router.beforeEach(requireAuth(gate, { loginRoute: '/login' }));
 *   const { gate, state } = useAuthGate(); // in a component or a Pinia setup store
 *
 * Importing this module touches no browser global (SSR-safe).
 */
import { hasInjectionContext, inject, readonly, shallowRef } from 'vue';

/** The injection key the plugin provides the gate under. */
export const AUTH_GATE_KEY = Symbol('authgate');

// One readonly state ref per gate, subscribed once for the gate's lifetime:
// every component and store reads the same ref (the gate drops its
// listeners when it is destroyed).
const states = new WeakMap();

function stateOf(gate) {
  let state = states.get(gate);
  if (!state) {
    const ref = shallowRef(gate.state);
    gate.subscribe((value) => {
      ref.value = value;
    });
    state = readonly(ref);
    states.set(gate, state);
  }
  return state;
}

function checkGate(gate, who) {
  if (!gate || typeof gate.subscribe !== 'function' || typeof gate.ready !== 'function') {
    throw new TypeError(`authgate/vue: ${who} needs a gate from createAuthGate().`);
  }
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
 * { gate, state }: the app's gate and a readonly ref of its state. Call it in
 * setup(), a composable or a Pinia setup store; elsewhere pass the gate.
 */
export function useAuthGate(gate) {
  let target = gate;
  if (target === undefined) {
    target = hasInjectionContext() ? inject(AUTH_GATE_KEY, null) : null;
    if (!target) {
      throw new Error(
        'authgate/vue: useAuthGate() found no gate: install the plugin with app.use(authGate(gate)) and call ' +
          'useAuthGate() inside setup() or a Pinia setup store, or pass the gate: useAuthGate(gate).',
      );
    }
  }
  checkGate(target, 'useAuthGate()');
  return { gate: target, state: stateOf(target) };
}

/**
 * A vue-router navigation guard: waits for gate.ready(), then lets an
 * authenticated user through and sends anyone else to `loginRoute` (with
 * `?redirect=<the page asked for>` when loginRoute is a path or has no query).
 * Use it as `beforeEnter` on protected routes, or with router.beforeEach and
 * `protect: (to) => to.meta.requiresAuth`; the login route itself always passes.
 */
export function requireAuth(gate, { loginRoute = '/login', protect = () => true, redirectParam = 'redirect' } = {}) {
  checkGate(gate, 'requireAuth(gate)');
  const login = typeof loginRoute === 'string' ? { path: loginRoute } : loginRoute;
  const isLogin = (to) =>
    (login.name !== undefined && to.name === login.name) || (login.path !== undefined && to.path === login.path);

  return async function authGateGuard(to) {
    if (isLogin(to) || !protect(to)) return true;
    await gate.ready();
    // The state now, not the one ready() resolved with: a login or logout may have followed.
    if (gate.state === 'authenticated' || gate.state === 'refreshing') return true;
    if (redirectParam && login.query === undefined) {
      return { ...login, query: { [redirectParam]: to.fullPath } };
    }
    return { ...login };
  };
}
