/**
 * authgate/axios — route axios instances through the gate.
 */
import type { AxiosInstance, AxiosStatic } from 'axios';
import type { AuthGate } from './index.js';

/**
 * Makes `instance` (the default axios too) send every request through
 * gate.fetch: the core attaches the bearer, refuses protected calls without
 * one (the rejection is the AuthGateError itself), waits for readiness,
 * refreshes once and replays once after a 401. HTTP errors still follow the
 * instance's validateStatus (AxiosError with `response`); baseURL, params,
 * headers, data, responseType, timeout, signal and cancelToken work as usual;
 * upload/download progress events are not reported. Instances created later
 * with axios.create() copy the default adapter; route existing ones yourself.
 * Returns the uninstaller, which restores the previous adapter.
 * @example
 * export const api = axios.create({ baseURL: 'https://api.example' });
 * routeThroughGate(api, gate);
 * routeThroughGate(axios, gate); // the default instance too: no drift between them
 * const { data } = await api.get('/api/me');
 */
export function routeThroughGate(instance: AxiosInstance | AxiosStatic, gate: AuthGate): () => void;
