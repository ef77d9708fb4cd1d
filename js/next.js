'use client';
/**
 * authgate/next: the React provider and hooks as client components for the
 * Next.js App Router. Use them from a 'use client' module of the app (the gate
 * cannot cross from a Server Component to a Client Component as a prop), e.g.
 * app/providers.tsx. The server-side helper is in 'authgate/next/server'.
 *
 * Importing this module touches no browser global (SSR-safe).
 */
export { AuthGateProvider, useAuthGate, useAuthState } from './react.js';
