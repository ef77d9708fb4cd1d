// Type-checked (tsc --noEmit), never run: authgate/react and authgate/next compile as documented.
import { createElement, type ReactNode } from 'react';
import { createAuthGate, type AuthGate, type AuthGateState, type Session } from 'authgate';
import {
  AuthCallback,
  AuthGateProvider,
  AuthReady,
  RequireAuth,
  useAuthGate,
  useAuthReady,
  useAuthState,
  useIsAuthenticated,
  useRedirectCallback,
  useSession,
  type AuthGateProviderProps,
  type RequireAuthProps,
} from 'authgate/react';
import * as nextClient from 'authgate/next';

const gate = createAuthGate({ baseUrl: 'http://127.0.0.1:8000', public: ['/api/v1/auth'] });

const tree: ReactNode = createElement(
  AuthGateProvider,
  { gate },
  createElement('h1', null, 'Dashboard'),
  createElement(AuthReady, { fallback: createElement('p', null, 'Loading…') }, createElement('main', null)),
);
createElement(AuthGateProvider, { gate: null }, tree); // a server render: no gate there
const props: AuthGateProviderProps = { gate, children: tree };
createElement(nextClient.AuthGateProvider, props);

function Dashboard(): ReactNode {
  const g: AuthGate = useAuthGate();
  const state: AuthGateState = useAuthState();
  const same: AuthGateState = nextClient.useAuthState(g);
  const session: Session | null = useSession();
  const signedIn: boolean = useIsAuthenticated(g);
  const ready: boolean = useAuthReady();
  const expires: number | null | undefined = session?.expiresAt;
  void [signedIn, ready, expires];
  void g.fetch('/api/v1/documents');
  return state === 'anonymous' || same === 'anonymous' ? null : createElement('p', null, state);
}
void Dashboard;

function Callback(): ReactNode {
  const result = useRedirectCallback();
  const to: string | null = result.status === 'done' ? result.returnTo : null;
  void to;
  return createElement(AuthCallback, {
    onDone: (returnTo: string | null) => void returnTo,
    fallback: 'Signing in…',
    error: (e: unknown) => createElement('p', null, String(e)),
  });
}
void Callback;

function Protected(navigate: (to: string) => void): ReactNode {
  const items = createElement('main', null);
  createElement(RequireAuth, { loginWithRedirect: true, fallback: 'Signing in…' }, items);
  createElement(RequireAuth, { gate, loginWithRedirect: { params: { prompt: 'login' } }, returnTo: '/items' }, items);
  const props: RequireAuthProps = { onAnonymous: () => navigate('/login'), children: items };
  createElement(nextClient.RequireAuth, props);
  return createElement(RequireAuth, { onAnonymous: () => navigate('/') }, items);
}
void Protected;

function misuse(): void {
  // @ts-expect-error the provider needs a gate
  createElement(AuthGateProvider, {});
  // @ts-expect-error the provider has no fallback any more: <AuthReady fallback> holds back what needs the gate
  createElement(AuthGateProvider, { gate, fallback: null });
  // @ts-expect-error the gate is a gate, not its options
  createElement(AuthGateProvider, { gate: { baseUrl: '/' } });
  // @ts-expect-error useAuthState() can be any state, not only 'authenticated'
  const signedIn: 'authenticated' = useAuthState();
  // @ts-expect-error useAuthState takes a gate, not a state name
  useAuthState('authenticated');
  // @ts-expect-error useAuthGate takes no options
  useAuthGate({ baseUrl: '/' });
  // @ts-expect-error returnTo is a path, not a URL object
  createElement(RequireAuth, { loginWithRedirect: true, returnTo: new URL('http://app.test/items') });
  // @ts-expect-error the authorization request's params are strings
  createElement(RequireAuth, { loginWithRedirect: { params: { max_age: 0 } } });
  // @ts-expect-error onAnonymous is called, not rendered
  createElement(RequireAuth, { onAnonymous: createElement('p', null, 'Sign in') });
  void signedIn;
}
void misuse;
