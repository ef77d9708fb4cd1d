'use client';
import { AuthGateProvider } from 'authgate/next';
import { browserGate } from './gate.js';

const loading = <p className="loading">Loading…</p>;

export function Providers({ apiUrl, children }) {
  // The server renders the fallback; the browser creates the gate once and renders it until ready().
  if (typeof window === 'undefined') return loading;
  return (
    <AuthGateProvider gate={browserGate(apiUrl)} fallback={loading}>
      {children}
    </AuthGateProvider>
  );
}
