/**
 * authgate/vue — plugin, composables and router guard over one gate.
 */
import type { ComputedRef, InjectionKey, Plugin, Ref } from 'vue';
import type { AuthGate, AuthGateState, Session } from './index.js';

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
  /** The gate's state, updated on every change; read-only. 'refreshing' during each refresh. */
  state: Readonly<Ref<AuthGateState>>;
  /** gate.session, updated after every login, refresh, setTokens and logout, here or in another tab; read-only. */
  session: Readonly<Ref<Session | null>>;
  /** Whether there is a session: true while authenticated and while refreshing (no flicker on refresh). */
  isAuthenticated: ComputedRef<boolean>;
}

/**
 * The app's gate and reactive, read-only `state`, `session` and
 * `isAuthenticated`. Call it in setup(), a composable or a Pinia setup store
 * (they run with the app's injection context); anywhere else, pass the gate.
 * @example
 * export const useAuth = defineStore('auth', () => {
 *   const { gate, state, session, isAuthenticated } = useAuthGate();
 *   const login = (username: string, password: string) => gate.login({ username, password });
 *   return { state, session, isAuthenticated, login, logout: () => gate.logout() };
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
  /**
   * The app's router: when given, a user on a protected page is moved to the
   * login route as soon as the session ends (logout here or in another tab, session expired).
   */
  router?: GuardRouter;
  /**
   * OIDC: send a user without a session straight to the provider
   * (gate.loginWithRedirect({ returnTo: to.fullPath, params })) instead of
   * the login route; the navigation is cancelled while the page leaves.
   */
  loginWithRedirect?: boolean | { params?: Record<string, string> };
}

/** The parts of a vue-router Router the guard uses. */
export interface GuardRouter {
  currentRoute: { value: GuardedRoute };
  replace(to: { path?: string; name?: string | symbol; query?: Record<string, string> }): unknown;
}

/**
 * A vue-router guard that waits for gate.ready() before a protected route
 * renders, then lets an authenticated user through or redirects to the login
 * route. The login route itself always passes.
 * @example
 * router.beforeEach(requireAuth(gate, { loginRoute: '/login', router, protect: (to) => to.meta.requiresAuth === true }));
 * // or, per route:
 * { path: '/dashboard', component: Dashboard, beforeEnter: requireAuth(gate) }
 */
export function requireAuth(
  gate: AuthGate,
  options?: RequireAuthOptions,
): (to: GuardedRoute) => Promise<boolean | { path?: string; name?: string | symbol; query?: Record<string, string> }>;

export interface RedirectCallbackOptions {
  /** The gate (default: the installed one). */
  gate?: AuthGate;
  /** Runs once the callback succeeded, with loginWithRedirect's returnTo. */
  onDone?: (returnTo: string | null) => void;
  /** Runs when it failed (LOGIN_REQUIRED, PROVIDER_ERROR). */
  onError?: (error: unknown) => void;
}

export interface RedirectCallback {
  status: Readonly<Ref<'pending' | 'done' | 'error'>>;
  returnTo: Readonly<Ref<string | null>>;
  error: Readonly<Ref<unknown>>;
  /** gate.handleRedirectCallback()'s own promise. */
  result: Promise<{ returnTo: string | null }>;
}

/**
 * For the OIDC redirectUri page: calls gate.handleRedirectCallback() once.
 * A remount calls it again and settles alike (the gate exchanges the code once).
 * @example
 * // Callback.vue <script setup>
 * const router = useRouter();
 * const { status, error } = useRedirectCallback({ onDone: (to) => router.replace(to ?? '/') });
 */
export function useRedirectCallback(options?: RedirectCallbackOptions): RedirectCallback;

declare module 'vue' {
  interface ComponentCustomProperties {
    /** The gate installed by app.use(authGate(gate)). */
    $authGate: AuthGate;
  }
}
