// Type-checked (tsc --noEmit), never run: authgate/react and authgate/next compile as documented.
import { createElement, type ReactNode } from 'react';
import { createAuthGate, type AuthGate, type AuthGateState } from 'authgate';
import { AuthGateProvider, useAuthGate, useAuthState, type AuthGateProviderProps } from 'authgate/react';
import * as nextClient from 'authgate/next';

const gate = createAuthGate({ baseUrl: 'http://127.0.0.1:8000', public: ['/api/v1/auth'] });

const tree: ReactNode = createElement(
  AuthGateProvider,
  { gate, fallback: createElement('p', null, 'Loading…') },
  createElement('main', null),
);
const props: AuthGateProviderProps = { gate, children: tree };
createElement(nextClient.AuthGateProvider, props);

function Dashboard(): ReactNode {
  const g: AuthGate = useAuthGate();
  const state: AuthGateState = useAuthState();
  const same: AuthGateState = nextClient.useAuthState(g);
  void g.fetch('/api/v1/documents');
  return state === 'anonymous' || same === 'anonymous' ? null : createElement('p', null, state);
}
void Dashboard;

function misuse(): void {
  // @ts-expect-error the provider needs a gate
  createElement(AuthGateProvider, { fallback: null });
  // @ts-expect-error the gate is a gate, not its options
  createElement(AuthGateProvider, { gate: { baseUrl: '/' } });
  // @ts-expect-error useAuthState() can be any state, not only 'authenticated'
  const signedIn: 'authenticated' = useAuthState();
  // @ts-expect-error useAuthState takes a gate, not a state name
  useAuthState('authenticated');
  // @ts-expect-error useAuthGate takes no options
  useAuthGate({ baseUrl: '/' });
  void signedIn;
}
void misuse;
