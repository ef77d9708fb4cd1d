// moduleResolution "node" (node10) ignores the exports map: typesVersions in package.json
// is what lets it find authgate/next/server (there is no next/server folder in the package).
import { createAuthGate } from 'authgate';
import type { AuthGateProviderProps } from 'authgate/react';
import type { UseAuthGate } from 'authgate/vue';
import type { routeThroughGate } from 'authgate/axios';
import type { AuthGateProvider } from 'authgate/next';
import type { ServerFetchOptions } from 'authgate/next/server';

export const gate = createAuthGate({ baseUrl: 'https://api.example' });
export type Checked = [AuthGateProviderProps, UseAuthGate, typeof routeThroughGate, typeof AuthGateProvider, ServerFetchOptions];
