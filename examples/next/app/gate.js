import { createAuthGate } from 'authgate';

let gate = null;

/** The page's one gate, created on first use in the browser (never during render on the server). */
export function browserGate(apiUrl) {
  gate ??= createAuthGate({
    baseUrl: apiUrl,
    protect: ['/api'],
    public: ['/api/v1/auth/login', '/api/v1/auth/refresh'],
    login: { url: '/api/v1/auth/login' },
    refresh: { url: '/api/v1/auth/refresh' },
    storage: 'session',
  });
  return gate;
}
