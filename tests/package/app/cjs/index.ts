// A CommonJS TypeScript project (cjs/package.json has "type": "commonjs", module Node16):
// these imports compile to require() calls. Without the "require" types condition and the
// .d.cts files, every line below fails with TS1479.
import { AuthGateError, createAuthGate } from 'authgate';
import type { AuthGateProviderProps } from 'authgate/react';
import type { UseAuthGate } from 'authgate/vue';
import type { routeThroughGate } from 'authgate/axios';
import type { AuthGateProvider } from 'authgate/next';
import type { ServerFetchOptions } from 'authgate/next/server';

const gate = createAuthGate({ baseUrl: 'https://api.example', protect: ['/api'] as const });
export async function me(): Promise<Response | AuthGateError> {
  return gate.fetch('/api/me').catch((e: unknown) => (e instanceof AuthGateError ? e : Promise.reject(e)));
}
export type Checked = [AuthGateProviderProps, UseAuthGate, typeof routeThroughGate, typeof AuthGateProvider, ServerFetchOptions];
