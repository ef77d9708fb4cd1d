// Type-checked (tsc --noEmit), never run: the contract compiles, misuse does not.
import { AuthGateError, createAuthGate } from 'authgate';
import type { AuthGate, AuthGateOptions, AuthGateState, Diagnosis, Session } from 'authgate';

const options: AuthGateOptions = {
  baseUrl: 'http://127.0.0.1:8000',
  protect: ['/api'],
  public: ['/api/auth', '/health'],
  trustedOrigins: ['https://files.example'],
  login: { url: '/api/auth/login', body: 'form' },
  refresh: { url: '/api/auth/refresh', send: 'json', field: 'refresh' },
  tokenFields: { access: ['access'], refresh: ['refresh'], expiresIn: ['expires_in'] },
  storage: 'session',
  storageKey: 'app-auth',
  refreshSkewSeconds: 30,
  readyTimeoutMs: 10_000,
  credentials: 'include',
  crossTab: true,
  timeoutMs: 10_000,
  retry: { limit: 3, methods: ['GET', 'POST'], statuses: [503], maxRetryAfterMs: 30_000 },
  // The documented extensions for tests and non-browser runtimes.
  fetch: globalThis.fetch,
  now: () => Date.now(),
  storageArea: { getItem: () => null, setItem: () => {}, removeItem: () => {} },
};

const gate: AuthGate = createAuthGate(options);
const oidcGate: AuthGate = createAuthGate({
  baseUrl: 'https://api.example',
  oidc: {
    issuer: 'https://id.example',
    clientId: 'spa',
    redirectUri: '/callback',
    scope: 'openid offline_access profile',
    postLogoutRedirectUri: '/',
    params: { audience: 'https://api.example' },
  },
});

async function oidcContract(): Promise<void> {
  await oidcGate.loginWithRedirect();
  await oidcGate.loginWithRedirect({ returnTo: '/inbox', params: { prompt: 'login' } });
  const { returnTo }: { returnTo: string | null } = await oidcGate.handleRedirectCallback();
  await oidcGate.handleRedirectCallback(location.href);
  const dpopGate = createAuthGate({ baseUrl: '/', oidc: { issuer: 'https://id.example', clientId: 'spa', redirectUri: '/cb' }, dpop: true });
  const proof: string = await dpopGate.getDpopProof({ method: 'GET', url: '/events' });
  void proof;
  await oidcGate.logout({ redirect: false });
  await oidcGate.logout();
  // @ts-expect-error returnTo is a string
  await oidcGate.loginWithRedirect({ returnTo: 1 });
  // @ts-expect-error the client id is required
  createAuthGate({ baseUrl: '/', oidc: { issuer: 'https://id.example', redirectUri: '/cb' } });
  const codes: AuthGateError['code'][] = ['LOGIN_REQUIRED', 'PROVIDER_ERROR', 'TIMEOUT'];
  void returnTo;
  void codes;
}
void oidcContract;
createAuthGate({ baseUrl: '/' });

async function contract(): Promise<void> {
  const state: AuthGateState = gate.state;
  const known: 'authenticated' | 'anonymous' = await gate.ready();
  await gate.login({ username: 'ada', password: 'secret' });
  gate.setTokens({ access: 'a', refresh: 'r', expiresIn: 900 });
  gate.setTokens({ access: 'a' });
  await gate.logout();

  const res: Response = await gate.fetch('/api/me');
  await gate.fetch(new URL('http://127.0.0.1:8000/api/me'), { method: 'POST', body: '{}' });
  await gate.fetch(new Request('http://127.0.0.1:8000/api/me'));
  await gate.fetch('/api/me', { authgate: { timeoutMs: 500, retry: false } });
  await gate.fetch('/api/me', { method: 'PUT', authgate: { retry: { limit: 1 } } });

  const session: Session | null = gate.session;
  const expiresAt: number | null = session?.expiresAt ?? null;
  const claims: Record<string, unknown> | null = session?.claims ?? null;
  const stopSession: () => void = gate.onSession((s: Session | null) => void s?.tokenType);
  stopSession();
  const token: string = await gate.getAccessToken();
  void [expiresAt, claims, token];

  const unsubscribe: () => void = gate.subscribe((s: AuthGate['state']) => void s);
  unsubscribe();
  const unguard: () => void = gate.guardGlobalFetch('refuse');
  gate.guardGlobalFetch('authorize');
  gate.guardGlobalFetch('warn');
  unguard();

  const d: Diagnosis = await gate.diagnose('/api/me');
  const must: string[] = [...d.serverMustAllow.headers, ...d.serverMustAllow.methods, ...d.preflight.reasons];
  const status: number | null = d.status;
  const ok: boolean | null = d.preflight.ok;
  const sentence: string = d.cause;
  void [state, known, res, must, status, ok, sentence, d.reachable, d.crossOrigin, d.credentials];
  gate.destroy();

  try {
    await gate.fetch('/api/me');
  } catch (e) {
    if (e instanceof AuthGateError) {
      const code: AuthGateError['code'] = e.code;
      const name: 'AuthGateError' = e.name;
      const http: number | undefined = e.status;
      const cause: unknown = e.cause;
      void [code, name, http, cause];
      if (
        e.code === 'LOGIN_FAILED' ||
        e.code === 'SESSION_EXPIRED' ||
        e.code === 'TIMEOUT' ||
        e.code === 'OUT_OF_MEMORY'
      )
        return;
    }
  }
}
void contract;

// ---- misuse ----

// @ts-expect-error baseUrl is required
createAuthGate({});
// @ts-expect-error a wrong option name (trustedOrigin for trustedOrigins)
createAuthGate({ baseUrl: '/', trustedOrigin: ['https://files.example'] });
// @ts-expect-error a wrong storage mode
createAuthGate({ baseUrl: '/', storage: 'cookie' });
// @ts-expect-error a wrong refresh send mode
createAuthGate({ baseUrl: '/', refresh: { url: '/r', send: 'header' } });
// @ts-expect-error a wrong guard mode
gate.guardGlobalFetch('block');
// @ts-expect-error setTokens needs access
gate.setTokens({ refresh: 'r' });
// @ts-expect-error login credentials are strings
gate.login({ remember: true });
// @ts-expect-error retry is false or an object
createAuthGate({ baseUrl: '/', retry: true });
// @ts-expect-error the per-call option has no `timeout`
gate.fetch('/api/me', { authgate: { timeout: 5 } });
// @ts-expect-error the session is read-only
gate.session = null;
// @ts-expect-error state is read-only
gate.state = 'authenticated';
// @ts-expect-error not an AuthGateError code
const wrong: AuthGateError['code'] = 'UNAUTHORIZED';
void wrong;
