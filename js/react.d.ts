/**
 * authgate/react — a provider and hooks over one gate.
 *
 * Create the gate once, at module scope (never inside a component), and pass
 * it to the provider: the provider never creates or destroys a gate, so
 * StrictMode cannot produce a second one.
 */
import type { ReactNode } from 'react';
import type { AuthGate, AuthGateState } from './index.js';

export interface AuthGateProviderProps {
  /** The app's gate, created once outside render with createAuthGate(). */
  gate: AuthGate;
  /** Rendered until gate.ready() resolves (default: nothing). */
  fallback?: ReactNode;
  children?: ReactNode;
}

/**
 * Provides `gate` to the hooks below it and renders `fallback` until
 * gate.ready() resolves, so no child fetches before the auth state is known.
 * A rejected ready() (BAD_CONFIG) is thrown to the nearest error boundary.
 * @example
 * // gate.ts
 * export const gate = createAuthGate({ baseUrl: 'https://api.example', login: { url: '/auth/login' } });
 * // main.tsx
 * createRoot(el).render(
 *   <StrictMode>
 *     <AuthGateProvider gate={gate} fallback={<p>Loading…</p>}>
 *       <App />
 *     </AuthGateProvider>
 *   </StrictMode>,
 * );
 */
export function AuthGateProvider(props: AuthGateProviderProps): ReactNode;

/**
 * The gate of the nearest AuthGateProvider; throws outside one.
 * @example
 * const gate = useAuthGate();
 * const res = await gate.fetch('/api/me');
 */
export function useAuthGate(): AuthGate;

/**
 * The gate's state; the component re-renders when it changes
 * (useSyncExternalStore: no tearing). 'initializing' on the server.
 * @example
 * const state = useAuthState();
 * if (state === 'anonymous') return <Navigate to="/login" />;
 */
export function useAuthState(gate?: AuthGate): AuthGateState;
