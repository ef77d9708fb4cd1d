/**
 * authgate/vue — plugin, composable and router guard over one gate.
 */
import type { InjectionKey, Plugin, Ref } from 'vue';
import type { AuthGate, AuthGateState } from './index.js';

/** The key the plugin provides the gate under: inject(AUTH_GATE_KEY). */
export const AUTH_GATE_KEY: InjectionKey<AuthGate>;

/**
 * The plugin: provides `gate` to every component, to Pinia setup stores, and
 * as `this.$authGate`.
 * @example
 * export const gate = createAuthGate({ baseUrl: import.meta.env.VITE_API_URL });
 * createApp(App).use(createPinia()).use(authGate(gate)).use(router).mount('#app');
 */
export function authGate(gate: AuthGate): Plugin;

export interface UseAuthGate {
  gate: AuthGate;
  /** The gate's state, updated on every change; read-only. */
  state: Readonly<Ref<AuthGateState>>;
}

/**
 * The app's gate and a reactive, read-only `state`. Call it in setup(), a
 * composable or a Pinia setup store (they run with the app's injection
 * context); anywhere else, pass the gate.
 * @example
 * export const useAuth = defineStore('auth', () => {
 *   const { gate, state } = useAuthGate();
 *   const isAuthenticated = computed(() => state.value === 'authenticated' || state.value === 'refreshing');
 *   const login = (username: string, password: string) => gate.login({ username, password });
 *   return { state, isAuthenticated, login, logout: () => gate.logout() };
 * });
 */
export function useAuthGate(gate?: AuthGate): UseAuthGate;

/** The parts of a vue-router route location the guard reads (structurally typed: vue-router is optional). */
export interface GuardedRoute {
  path: string;
  fullPath: string;
  name?: string | symbol | null | undefined;
  meta: Record<string | number | symbol, unknown>;
}

/** Where the guard sends a user who is not signed in. */
export type LoginRoute =
  | string
  | { path: string; query?: Record<string, string>; name?: undefined }
  | { name: string | symbol; query?: Record<string, string>; params?: Record<string, string>; path?: undefined };

export interface RequireAuthOptions {
  /** The login page: a path or a named route (default '/login'). */
  loginRoute?: LoginRoute;
  /** Which routes need a signed-in user (default: every route the guard runs for). */
  protect?: (to: GuardedRoute) => boolean;
  /** The login route's query parameter that receives the page asked for (default 'redirect'; '' for none). */
  redirectParam?: string;
}

/**
 * A vue-router guard that waits for gate.ready() before a protected route
 * renders, then lets an authenticated user through or redirects to the login
 * route. The login route itself always passes.
 * @example
 * router.beforeEach(requireAuth(gate, { loginRoute: '/login', protect: (to) => to.meta.requiresAuth === true }));
 * // or, per route:
 * { path: '/dashboard', component: Dashboard, beforeEnter: requireAuth(gate) }
 */
export function requireAuth(
  gate: AuthGate,
  options?: RequireAuthOptions,
): (to: GuardedRoute) => Promise<true | { path?: string; name?: string | symbol; query?: Record<string, string> }>;

declare module 'vue' {
  interface ComponentCustomProperties {
    /** The gate installed by app.use(authGate(gate)). */
    $authGate: AuthGate;
  }
}
