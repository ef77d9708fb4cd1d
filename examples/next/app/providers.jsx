'use client';
import { AuthGateProvider } from 'authgate/next';
import { browserGate } from './gate.js';

export function Providers({ apiUrl, children }) {
  // The server renders the pages without a gate (null); the browser creates it once.
  const gate = typeof window === 'undefined' ? null : browserGate(apiUrl);
  return <AuthGateProvider gate={gate}>{children}</AuthGateProvider>;
}
