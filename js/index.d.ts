/**
 * authgate — a browser auth client: every protected call carries the bearer
 * or is refused before it leaves, nothing races the auto-login, refreshes are
 * single-flight across tabs, the token never leaves its trusted origins, and
 * CORS failures are explained in words.
 */

/** The gate's state. `refreshing` counts as authenticated for readiness. */
export type AuthGateState = 'initializing' | 'authenticated' | 'anonymous' | 'refreshing';

/** Where tokens persist between page loads. */
export type AuthGateStorage = 'memory' | 'session' | 'local';

/** What guardGlobalFetch does with a raw fetch to a protected route that carries no bearer. */
export type GuardMode = 'refuse' | 'authorize' | 'warn';

export interface AuthGateOptions {
  /** The API's address, e.g. 'http://127.0.0.1:8000' or '/'; relative call paths resolve against it. */
  baseUrl: string;
  /** Path prefixes that require a bearer (default ['/']: all of baseUrl's origin). */
  protect?: readonly string[];
  /** Path prefixes that never need one and never get one (login, refresh, health). */
  public?: readonly string[];
  /** Further origins that may receive the token (default: none but baseUrl's). */
  trustedOrigins?: readonly string[];
  /** Password login endpoint (default body 'json'). */
  login?: { url: string; body?: 'json' | 'form' };
  /**
   * Refresh endpoint. 'json' (default): {"<field>": token}, field defaults to 'refresh';
   * 'form': OAuth2 grant_type=refresh_token&refresh_token=...;
   * 'cookie': the refresh token is an httpOnly cookie, sent with credentials.
   */
  refresh?: { url: string; send?: 'json' | 'form' | 'cookie'; field?: string };
  /** Token response field names; defaults accept access_token|access, refresh_token|refresh, expires_in. */
  tokenFields?: { access?: readonly string[]; refresh?: readonly string[]; expiresIn?: readonly string[] };
  /** Where tokens persist (default 'memory'). */
  storage?: AuthGateStorage;
  /** Storage key, also the cross-tab channel and lock name (default 'authgate'). */
  storageKey?: string;
  /** Refresh this long before expiry (default 30). */
  refreshSkewSeconds?: number;
  /** Calls waiting for readiness fail after this (default 10000). */
  readyTimeoutMs?: number;
  /** Credentials mode for calls to baseUrl's origin (default 'same-origin'). */
  credentials?: RequestCredentials;
  /** Share tokens, refreshes and logout across tabs (default true). */
  crossTab?: boolean;
  /**
   * Per attempt of an app call: no response within this many ms aborts it and
   * rejects AuthGateError TIMEOUT (default 0: none, as fetch). The gate's own
   * login and refresh requests are bounded by it too (30000 when unset).
   */
  timeoutMs?: number;
  /** Retries of failed app calls (default false: fetch semantics). */
  retry?: false | RetryOptions;
  /**
   * Sign in through an OpenID Connect provider (authorization code with PKCE
   * S256, a public client). Cannot be combined with `login` or `refresh`:
   * the provider's token endpoint signs in and refreshes.
   * @example
   * createAuthGate({
   *   baseUrl: 'https://api.example',
   *   oidc: { issuer: 'https://id.example', clientId: 'spa', redirectUri: '/callback' },
   * });
   */
  oidc?: AuthGateOidcOptions;
  /**
   * DPoP (RFC 9449, needs `oidc`): tokens bound to a non-extractable P-256
   * key made with WebCrypto and kept in IndexedDB (database `authgate`, one
   * key per storageKey, shared by the tabs, deleted on logout). Calls carry
   * `Authorization: DPoP <token>` and a `DPoP` proof written by the core; a
   * `use_dpop_nonce` answer is retried once with the server's nonce. The
   * provider must issue `token_type: "DPoP"`. Default false.
   * @example
   * createAuthGate({ baseUrl: 'https://api.example', oidc: { issuer, clientId, redirectUri }, dpop: true });
   */
  dpop?: boolean;

  /**
   * Extension, for tests and non-browser runtimes: the fetch the gate sends
   * with (default: the global fetch, underneath any guardGlobalFetch guard).
   */
  fetch?: typeof fetch;
  /**
   * Extension, for tests and non-browser runtimes: the wall clock in ms since
   * the epoch (default Date.now). Persisted expiries are absolute, so it must
   * be wall time.
   */
  now?: () => number;
  /**
   * Extension, for tests and non-browser runtimes: the Storage that
   * 'session' or 'local' persist to (default sessionStorage / localStorage).
   */
  storageArea?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;
  /** Extension, for tests: the WebCrypto that makes and uses the DPoP key (default globalThis.crypto). */
  crypto?: Crypto;
  /** Extension, for tests: where the DPoP key is kept (default globalThis.indexedDB). */
  indexedDB?: IDBFactory;
  /** Extension, for tests: the lock under which one tab makes the DPoP key (default navigator.locks; null: none). */
  locks?: LockManager | null;
}

/**
 * When set, `limit` retries of GET/HEAD/OPTIONS/PUT/DELETE on a network
 * failure or 408/429/500/502/503/504, with capped exponential back-off and
 * jitter; Retry-After (seconds or HTTP-date) is honoured when the page can
 * read it (cross-origin: the API must list it in Access-Control-Expose-Headers).
 * A call that times out or is aborted is never retried.
 */
export interface RetryOptions {
  /** Retries after the first attempt (default 2, at most 10). */
  limit?: number;
  /** Methods that may be retried (default GET, HEAD, OPTIONS, PUT, DELETE; POST/PATCH only when listed). */
  methods?: string[];
  /** Statuses that are retried (default 408, 429, 500, 502, 503, 504). */
  statuses?: number[];
  /** A Retry-After asking for longer is not waited for: that response is returned (default 60000). */
  maxRetryAfterMs?: number;
}

/** What a single gate.fetch call may override: `gate.fetch(url, { authgate: { timeoutMs, retry } })`. */
export interface AuthGateCallOptions {
  timeoutMs?: number;
  retry?: false | RetryOptions;
}

/** RequestInit plus the gate's per-call options. */
export interface AuthGateRequestInit extends RequestInit {
  authgate?: AuthGateCallOptions;
}

/** What the app may know about the session: never a token. */
export interface Session {
  /** ms since the epoch, from expires_in or the JWT exp; null when unknown. */
  expiresAt: number | null;
  /** When the gate will refresh proactively; null when it cannot. */
  refreshAt: number | null;
  /**
   * The token response's `scope` (without one, the scope asked for: with oidc the requested
   * `oidc.scope`; a refresh keeps the scope held), else the access JWT's `scope` claim.
   */
  scope: string | null;
  tokenType: 'Bearer' | 'DPoP';
  /** The access JWT's payload (own backend) or the ID token's claims; null for an opaque token. */
  claims: Record<string, unknown> | null;
}

export interface AuthGateOidcOptions {
  /** Discovery reads `<issuer>/.well-known/openid-configuration`; its `issuer` must equal this exactly. */
  issuer: string;
  /** The public client's id (there is no secret). */
  clientId: string;
  /** Where the provider sends the browser back: absolute, or a path on this page's origin. */
  redirectUri: string;
  /** Default 'openid offline_access'; must include 'openid'. */
  scope?: string;
  /** Where the provider sends the browser after logout (absolute, or a path on this page's origin). */
  postLogoutRedirectUri?: string;
  /** Extra authorization-request parameters (audience, resource, prompt, ...); not the gate's own. */
  params?: Record<string, string>;
}

/** The tokens an app hands over itself (e.g. from a server-rendered login). */
export interface AuthGateTokens {
  access: string;
  refresh?: string;
  /** Seconds from now; without it the JWT `exp` claim is used when there is one. */
  expiresIn?: number;
}

export interface AuthGate {
  /**
   * The current state.
   * @example
   * if (gate.state === 'anonymous') showLogin();
   */
  readonly state: AuthGateState;

  /**
   * The current session, null while initializing or anonymous.
   * @example
   * const left = gate.session ? gate.session.expiresAt - Date.now() : 0;
   */
  readonly session: Session | null;

  /**
   * Called after every login, refresh, setTokens and logout, here or in
   * another tab (not on subscribe: read gate.session). Returns the unsubscriber.
   * @example
   * const stop = gate.onSession((s) => console.log(s?.claims?.sub ?? 'signed out'));
   */
  onSession(listener: (session: Session | null) => void): () => void;

  /**
   * The access token for WebSocket, EventSource or third-party SDKs: waits
   * for readiness and refreshes first when the token is due. Rejects
   * AuthGateError NO_TOKEN when anonymous.
   * @example
   * const ws = new WebSocket(`wss://api.example/live?token=${await gate.getAccessToken()}`);
   */
  getAccessToken(): Promise<string>;

  /**
   * Resolves once the wasm is loaded and the state is known. Rejects
   * AuthGateError BAD_CONFIG when the core refused the options, an Error
   * when the wasm core could not be loaded, and an AbortError DOMException
   * once destroy() was called.
   * @example
   * const state = await gate.ready(); // 'authenticated' | 'anonymous'
   */
  ready(): Promise<'authenticated' | 'anonymous'>;

  /**
   * Password login at options.login.url, with the credentials' fields as the
   * body (JSON or form, per options.login.body); any object whose fields are
   * strings, an interface-typed one too. Rejects AuthGateError LOGIN_FAILED
   * (with `status`), BAD_TOKEN_RESPONSE, CORS_OR_NETWORK or BAD_CONFIG.
   * @example
   * await gate.login({ username: 'ada', password: 'secret' });
   */
  login<C extends { readonly [K in keyof C]: string }>(credentials: C): Promise<void>;

  /**
   * Hands over tokens obtained elsewhere. Throws AuthGateError
   * BAD_TOKEN_RESPONSE when `access` is not a non-empty string or the core
   * refuses the tokens (characters a header cannot carry, too long; nothing
   * changes then), the error ready() rejects with when the gate could not
   * start, and an AbortError DOMException once destroy() was called. Before
   * the core has loaded, the tokens are applied once it has: a refusal then
   * can only be logged.
   * @example
   * gate.setTokens({ access: data.access_token, refresh: data.refresh_token, expiresIn: 900 });
   */
  setTokens(t: AuthGateTokens): void;

  /**
   * Forgets the tokens here and in the other tabs; resolves once done. With
   * `oidc` it also revokes the refresh token (RFC 7009, waiting at most 2 s)
   * when the provider offers revocation and, with `redirect` (default true),
   * sends the page to the provider's end_session_endpoint.
   * @example
   * await gate.logout();                    // oidc: ends the provider's session too
   * await gate.logout({ redirect: false }); // stay on the page
   */
  logout(options?: { redirect?: boolean }): Promise<void>;

  /**
   * oidc only: builds the authorization request (PKCE S256, state, nonce),
   * keeps the sign-in in sessionStorage and sends the page to the provider.
   * Rejects BAD_CONFIG (no `oidc`, reserved `params`) or PROVIDER_ERROR
   * (discovery failed twice).
   * @example
   * await gate.loginWithRedirect({ returnTo: '/inbox', params: { prompt: 'login' } });
   */
  loginWithRedirect(options?: { returnTo?: string; params?: Record<string, string> }): Promise<void>;

  /**
   * On the redirectUri page (default url: location.href): checks state and
   * `iss`, exchanges the code once, checks the ID token's claims, adopts the
   * tokens, removes code/state/iss from the address bar and resolves with the
   * `returnTo` given to loginWithRedirect. A second call (React StrictMode),
   * during or after the first, settles as the first did. Rejects
   * LOGIN_REQUIRED (no matching sign-in, a bad state, the provider's
   * login_required/access_denied), PROVIDER_ERROR, BAD_TOKEN_RESPONSE or
   * CORS_OR_NETWORK.
   * @example
   * const { returnTo } = await gate.handleRedirectCallback();
   * router.replace(returnTo ?? '/');
   */
  handleRedirectCallback(url?: string): Promise<{ returnTo: string | null }>;

  /**
   * With `dpop`: a DPoP proof for getAccessToken()'s token (its `ath`) and
   * `url` (resolved against baseUrl; its query and fragment are not part of
   * the proof), for requests outside gate.fetch: WebSocket handshakes, SSE,
   * SDKs that take the token. Waits as getAccessToken() does (readiness, the
   * refresh of a due token) and rejects as it does (NO_TOKEN when anonymous);
   * BAD_CONFIG without `dpop`, and for a ws:// or wss:// URL: pass the
   * handshake's http:// or https:// URL, with method GET.
   * @example
   * const proof = await gate.getDpopProof({ method: 'GET', url: '/events' });
   * await fetchEventSource(`${api}/events`, { headers: { Authorization: `DPoP ${token}`, DPoP: proof } });
   */
  getDpopProof(request: { method: string; url: string }): Promise<string>;

  /**
   * fetch, through the gate: relative paths resolve against baseUrl,
   * protected calls get the bearer (waiting for readiness or a refresh), and
   * failures reject AuthGateError. HTTP errors other than a handled 401
   * resolve as usual. A ReadableStream body is refused (it could not be
   * replayed after a refresh). `init.authgate` overrides timeoutMs and retry
   * for this call; TIMEOUT rejects name the method, URL and limit.
   * @example
   * const res = await gate.fetch('/api/me');
   * const me = await res.json();
   */
  fetch(input: string | URL | Request, init?: AuthGateRequestInit): Promise<Response>;

  /**
   * Calls `listener` on each state change; returns the unsubscriber.
   * @example
   * const unsubscribe = gate.subscribe((state) => console.log(state));
   */
  subscribe(listener: (state: AuthGateState) => void): () => void;

  /**
   * Wraps globalThis.fetch: a raw call to a protected route without a bearer
   * is refused (rejects AuthGateError NO_TOKEN), authorized through the gate,
   * or warned about. Returns the uninstaller, which restores the previous fetch.
   * @example
   * const unguard = gate.guardGlobalFetch('refuse');
   */
  guardGlobalFetch(mode: GuardMode): () => void;

  /**
   * Probes `url` from this page: reachability, whether a preflight is needed
   * and why, what the server must allow, and the likely cause in one sentence.
   * @example
   * const d = await gate.diagnose('/api/me');
   * console.log(d.cause, d.serverMustAllow);
   */
  diagnose(url: string): Promise<Diagnosis>;

  /**
   * Stops the timer, closes the channel, releases the lock, removes this
   * gate's guards and frees the core; pending and later calls reject with an
   * AbortError DOMException.
   * @example
   * onUnmounted(() => gate.destroy());
   */
  destroy(): void;
}

/** What diagnose() found. */
export interface Diagnosis {
  /** The absolute URL probed. */
  url: string;
  /** The probed URL's origin, e.g. 'https://api.example'. */
  origin: string;
  /** The page's origin, the one the server's CORS policy must allow ('' when there is no page, as in Node). */
  pageOrigin: string;
  /** True when `origin` is not `pageOrigin`. */
  crossOrigin: boolean;
  /** True when the gate treats it as a protected route, and so sends the token there. */
  protected: boolean;
  /** The credentials mode the gate uses for it; 'default' when it leaves the request's own. */
  credentials: RequestCredentials | 'default';
  /** A no-cors request got an answer: the server is up and reachable. */
  reachable: boolean;
  preflight: {
    needed: boolean;
    /** Why the browser preflights, e.g. the Authorization header. */
    reasons: string[];
    /** Whether the request as the gate sends it got through; null when not known. */
    ok: boolean | null;
  };
  /** The status of the request as the gate sends it, or null when the browser blocked it. */
  status: number | null;
  /** What the server's CORS policy must allow for the gate's calls. */
  serverMustAllow: { origin: string; methods: string[]; headers: string[]; credentials: boolean };
  /** The likely cause, in one sentence. */
  cause: string;
}

export type AuthGateErrorCode =
  | 'NO_TOKEN'
  | 'SESSION_EXPIRED'
  | 'FOREIGN_ORIGIN'
  | 'READY_TIMEOUT'
  | 'CORS_OR_NETWORK'
  | 'REFRESH_FAILED'
  | 'BAD_CONFIG'
  | 'BAD_TOKEN_RESPONSE'
  | 'LOGIN_FAILED'
  | 'LOGIN_REQUIRED'
  | 'TIMEOUT'
  | 'PROVIDER_ERROR'
  /** The wasm heap could not grow: the call failed (never sent bare), the gate stays usable; retry. */
  | 'OUT_OF_MEMORY';

/**
 * Every failure the gate reports. The message names the method and URL and
 * says what to do; `cause` holds the underlying error (e.g. fetch's TypeError).
 * @example
 * try {
 *   await gate.fetch('/api/me');
 * } catch (e) {
 *   if (e instanceof AuthGateError && e.code === 'SESSION_EXPIRED') showLogin();
 * }
 */
export class AuthGateError extends Error {
  constructor(code: AuthGateErrorCode, message: string, details?: { cause?: unknown; status?: number });
  readonly name: 'AuthGateError';
  readonly code: AuthGateErrorCode;
  /** The HTTP status behind the failure, when there was a response (e.g. LOGIN_FAILED). */
  readonly status?: number;
}

/**
 * Creates a gate. Synchronous: the wasm core loads in the background, once
 * for all gates, and every method waits for it. Throws AuthGateError
 * BAD_CONFIG synchronously when `options` is not an object, `baseUrl` is not
 * a string, `fetch` or `now` is given but not a function, `storageArea` is
 * given but not Storage-like, or the options cannot be serialised to JSON
 * (a cycle, a BigInt). Everything else the core checks (unknown options,
 * URLs, prefixes) is reported by ready() and every method as BAD_CONFIG.
 * @example
 * import { createAuthGate } from 'authgate';
 * const gate = createAuthGate({
 *   baseUrl: 'https://api.example',
 *   public: ['/auth'],
 *   login: { url: '/auth/login' },
 *   refresh: { url: '/auth/refresh' },
 *   storage: 'session',
 * });
 * const res = await gate.fetch('/api/me');
 */
export function createAuthGate(options: AuthGateOptions): AuthGate;
