// Type-checked (tsc --noEmit), never run: authgate/next/server compiles as documented.
import { serverFetch, tokenCookieHandlers, withBearerFromCookie, type ServerFetchOptions } from 'authgate/next/server';
import { createAuthGate, type AuthGate } from 'authgate';
import { syncTokenCookie, useAuthGate, type TokenCookieSync } from 'authgate/next';

export const { POST, DELETE } = tokenCookieHandlers({ cookieName: 'access_token', sameSite: 'strict' });
const browser = createAuthGate({ baseUrl: 'http://127.0.0.1:8000' });
const sync: TokenCookieSync = syncTokenCookie(browser, { url: '/authgate/token' });
async function beforeAction(): Promise<void> {
  await sync.synced();
  sync.stop();
}
void beforeAction;
function Page(): null {
  const g: AuthGate | null = useAuthGate(); // null during the server render
  void g?.logout();
  return null;
}
void Page;

const options: ServerFetchOptions = {
  baseUrl: 'http://127.0.0.1:8000',
  cookieName: 'access_token',
  public: ['/api/v1/auth'],
  trustedOrigins: ['https://files.example'],
};
const api: (input: string | URL | Request, init?: RequestInit) => Promise<Response> = withBearerFromCookie(options);

async function action(): Promise<void> {
  const res: Response = await api('/api/v1/sessions', { method: 'POST' });
  await serverFetch('/api/v1/documents', undefined, options);
  await serverFetch(new URL('http://127.0.0.1:8000/api/v1/auth/me'), { cache: 'no-store' }, {
    baseUrl: 'http://127.0.0.1:8000',
    cookies: { get: (name: string) => ({ value: name }) },
  });
  void res;
}
void action;

function misuse(): void {
  // @ts-expect-error baseUrl is required
  withBearerFromCookie({ cookieName: 'access_token' });
  // @ts-expect-error the cookie name is a string
  withBearerFromCookie({ baseUrl: 'http://127.0.0.1:8000', cookieName: 1 });
  // @ts-expect-error server gates keep tokens in memory: no storage mode
  withBearerFromCookie({ baseUrl: 'http://127.0.0.1:8000', storage: 'local' });
  // @ts-expect-error a wrong option name (cookie for cookieName)
  withBearerFromCookie({ baseUrl: 'http://127.0.0.1:8000', cookie: 'access_token' });
  // @ts-expect-error SameSite=None would send the cookie on cross-site requests
  tokenCookieHandlers({ sameSite: 'none' });
  // @ts-expect-error under Next the gate may be null on the server: check it first
  const sure: AuthGate = useAuthGate();
  void sure;
  // @ts-expect-error serverFetch takes the options third
  serverFetch('/api/v1/documents', { baseUrl: 'http://127.0.0.1:8000' });
}
void misuse;
