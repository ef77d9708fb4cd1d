'use server';
import { withBearerFromCookie } from 'authgate/next/server';
import { TOKEN_COOKIE, apiUrl } from './config.js';

/** The backend call runs on the server, with the bearer from the httpOnly cookie (it never reaches page scripts). */
export async function createSession() {
  const api = withBearerFromCookie({
    baseUrl: apiUrl(),
    cookieName: TOKEN_COOKIE,
    protect: ['/api'],
    public: ['/api/v1/auth/login', '/api/v1/auth/refresh'],
  });
  try {
    const res = await api('/api/v1/sessions', { method: 'POST', cache: 'no-store' });
    if (!res.ok) return { error: `The API answered ${res.status}.` };
    return { session: await res.json() };
  } catch (e) {
    return { error: e.code === 'NO_TOKEN' ? 'Your server session has ended: sign in again.' : e.message };
  }
}
