/**
 * authgate/react — a provider, hooks over one gate, <AuthReady>,
 * <RequireAuth>, and the OIDC redirect-callback helpers.
 *
 * Create the gate once, at module scope (never inside a component), and pass
 * it to the provider: the provider never creates or destroys a gate, so
 * StrictMode cannot produce a second one. The provider renders its children
 * at once, on the server too; <AuthReady> holds back only what must wait for
 * the auth state.
 */
import type { ReactNode } from 'react';
import type { AuthGate, AuthGateState, Session } from './index.js';

export interface AuthGateProviderProps {
  /**
   * The app's gate, created once outside render with createAuthGate(); null
   * where there is none (the server render of a Next.js page): the hooks then
   * read "not known yet" ('initializing', no session).
   */
  gate: AuthGate | null;
  children?: ReactNode;
  /** Removed: the provider renders its children at once. Passing it throws; use <AuthReady fallback>. */
  fallback?: never;
}

/**
 * Provides `gate` to the hooks below it and renders `children` at once (SSR
 * keeps the page). Calls made with gate.fetch before the state is known wait
 * for it; wrap what must not render before then in <AuthReady>.
 * @example
 * // gate.ts
 * export const gate = createAuthGate({ baseUrl: 'https://api.example', login: { url: '/auth/login' } });
 * // main.tsx
 * createRoot(el).render(
 *   <StrictMode>
 *     <AuthGateProvider gate={gate}>
 *       <Header />
 *       <AuthReady fallback={<p>Loading…</p>}><Routes /></AuthReady>
 *     </AuthGateProvider>
 *   </StrictMode>,
 * );
 */
export function AuthGateProvider(props: AuthGateProviderProps): ReactNode;

export interface AuthReadyProps {
  /** The gate (default: the provider's). */
  gate?: AuthGate;
  /** Rendered on the server, during hydration and until gate.ready() resolves (default: nothing). */
  fallback?: ReactNode;
  children?: ReactNode;
}

/**
 * Renders `fallback` until gate.ready() resolves, then `children`. A rejected
 * ready() (BAD_CONFIG, the wasm failed to load) is thrown to the nearest error boundary.
 * @example
 * <AuthReady fallback={<Spinner />}><Dashboard /></AuthReady>
 */
export function AuthReady(props: AuthReadyProps): ReactNode;

/**
 * Whether gate.ready() has resolved (false on the server and during hydration).
 * @example
 * const ready = useAuthReady();
 * if (!ready) return <Spinner />;
 */
export function useAuthReady(gate?: AuthGate): boolean;

/**
 * The gate of the nearest AuthGateProvider; throws outside one. With the
 * authgate/react provider of a single-page app it is always the gate; under
 * a provider given `null` (a server render) it is null — see authgate/next.
 * @example
 * const gate = useAuthGate();
 * const onClick = async () => setMe(await (await gate.fetch('/api/me')).json());
 */
export function useAuthGate(): AuthGate;

/**
 * The gate's state; the component re-renders when it changes
 * (useSyncExternalStore: no tearing). 'initializing' on the server. It is
 * 'refreshing' during each refresh: to ask "is someone signed in", use
 * useIsAuthenticated().
 * @example
 * const state = useAuthState();
 */
export function useAuthState(gate?: AuthGate): AuthGateState;

/**
 * gate.session, re-rendered after every login, refresh, setTokens and
 * logout, here or in another tab; null while initializing or anonymous, and on the server.
 * @example
 * const session = useSession();
 * return <p>Signed in as {String(session?.claims?.sub ?? 'nobody')}</p>;
 */
export function useSession(gate?: AuthGate): Session | null;

/**
 * Whether there is a session: true while authenticated and while a refresh
 * is under way (no flicker on every refresh), false while initializing or anonymous.
 * @example
 * const signedIn = useIsAuthenticated();
 * if (!signedIn) return <Navigate to="/login" />;
 */
export function useIsAuthenticated(gate?: AuthGate): boolean;

export type RedirectCallbackResult =
  | { status: 'pending'; returnTo: null; error: null }
  | { status: 'done'; returnTo: string | null; error: null }
  | { status: 'error'; returnTo: null; error: unknown };

/**
 * For the OIDC redirectUri page: runs gate.handleRedirectCallback() after
 * mount. StrictMode's second effect calls it again; the gate exchanges the
 * code once and both calls settle alike.
 * @example
 * const { status, returnTo, error } = useRedirectCallback();
 * useEffect(() => { if (status === 'done') navigate(returnTo ?? '/', { replace: true }); }, [status]);
 */
export function useRedirectCallback(gate?: AuthGate): RedirectCallbackResult;

export interface AuthCallbackProps {
  gate?: AuthGate;
  /** Called once the callback succeeded, with loginWithRedirect's returnTo (navigate there). */
  onDone?: (returnTo: string | null) => void;
  /** Rendered while the callback is handled (default: nothing). */
  fallback?: ReactNode;
  /** Renders a failure (LOGIN_REQUIRED, PROVIDER_ERROR); without it the error goes to the nearest error boundary. */
  error?: (error: unknown) => ReactNode;
}

/**
 * The redirectUri route as a component.
 * @example
 * <Route path="/callback" element={
 *   <AuthCallback onDone={(to) => navigate(to ?? '/', { replace: true })} fallback={<p>Signing in…</p>}
 *                 error={(e) => <p role="alert">{String(e)}</p>} />
 * } />
 */
export function AuthCallback(props: AuthCallbackProps): ReactNode;

export interface RequireAuthProps {
  /** The gate (default: the provider's). */
  gate?: AuthGate;
  /** Rendered on the server, during hydration, until gate.ready() resolves, and while there is no session (default: nothing). */
  fallback?: ReactNode;
  /**
   * Without a session, start gate.loginWithRedirect() (OIDC): `true`, or the
   * extra authorization request parameters. Once per gate, StrictMode or not;
   * a rejection is thrown to the nearest error boundary. The gate must have
   * been created with the `oidc` option (a TypeError otherwise).
   */
  loginWithRedirect?: boolean | { params?: Record<string, string> };
  /** Where the callback page goes after the sign-in (default: this page's path, query and hash). */
  returnTo?: string;
  /**
   * Without a session and without `loginWithRedirect`: called once, and again
   * each time a session ends (navigate to the login page).
   */
  onAnonymous?: () => void;
  children?: ReactNode;
}

/**
 * Renders `children` while there is a session (true while refreshing too),
 * `fallback` otherwise. Once the state is known and there is no session — at
 * start or when it ends later (a logout here or in another tab) — it starts
 * the OIDC sign-in (`loginWithRedirect`) or calls `onAnonymous`.
 * @example
 * <Route path="/items" element={<RequireAuth loginWithRedirect fallback={<p>Signing in…</p>}><Items /></RequireAuth>} />
 * @example
 * const navigate = useNavigate();
 * <RequireAuth onAnonymous={() => navigate('/login', { replace: true })}><Dashboard /></RequireAuth>
 */
export function RequireAuth(props: RequireAuthProps): ReactNode;
