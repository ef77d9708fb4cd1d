import { createAuthGate } from 'authgate';

// The API's address: dist/config.js at runtime, else VITE_API_URL at build time.
const apiUrl = window.AUTHGATE_CONFIG?.apiUrl ?? import.meta.env.VITE_API_URL ?? 'http://127.0.0.1:8000';

// Created once, at module scope: never inside a component (StrictMode renders twice).
export const gate = createAuthGate({
  baseUrl: apiUrl,
  protect: ['/api'],
  public: ['/api/v1/auth/login', '/api/v1/auth/refresh'],
  login: { url: '/api/v1/auth/login' },
  refresh: { url: '/api/v1/auth/refresh' },
  storage: 'session',
});
