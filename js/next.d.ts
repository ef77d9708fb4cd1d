/**
 * authgate/next — the React provider and hooks, marked 'use client' for the
 * Next.js App Router. The server helper lives in 'authgate/next/server'.
 * @example
 * // app/providers.tsx
 * 'use client';
 * import { AuthGateProvider } from 'authgate/next';
 * import { gate } from './gate';
 * export function Providers({ children }: { children: React.ReactNode }) {
 *   return <AuthGateProvider gate={gate} fallback={<p>Loading…</p>}>{children}</AuthGateProvider>;
 * }
 */
export { AuthGateProvider, useAuthGate, useAuthState } from './react.js';
export type { AuthGateProviderProps } from './react.js';
