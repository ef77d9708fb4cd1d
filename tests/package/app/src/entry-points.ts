// Every entry point resolves, with its types, from the installed tarball.
import type { AuthGate, Diagnosis } from 'authgate';
import type { AuthGateProviderProps } from 'authgate/react';
import type { UseAuthGate } from 'authgate/vue';
import { routeThroughGate } from 'authgate/axios';
import type { AuthGateProvider } from 'authgate/next';
import type { ServerFetchOptions } from 'authgate/next/server';

export type Checked = [AuthGate, Diagnosis, AuthGateProviderProps, UseAuthGate, typeof AuthGateProvider, ServerFetchOptions];
export const route: typeof routeThroughGate = routeThroughGate;
