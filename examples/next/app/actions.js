'use server';
import { cookies, headers } from 'next/headers';
import { withBearerFromCookie } from 'authgate/next/server';
import { TOKEN_COOKIE, apiUrl } from './config.js';

/**
 * Signs in on the server: the access token goes into an httpOnly cookie for the
 * server actions, and the tokens back to the browser's gate (gate.setTokens).
 */
export async function login(username, password) {
  const res = await fetch(new URL('/api/v1/auth/login', apiUrl()), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
    cache: 'no-store',
  });
  if (!res.ok) return { error: res.status === 401 ? 'Wrong username or password.' : `Sign-in failed (${res.status}).` };
  const body = await res.json();
  const secure = (await headers()).get('x-forwarded-proto') === 'https';
  (await cookies()).set(TOKEN_COOKIE, body.access_token, {
    httpOnly: true,
    sameSite: 'lax',
    secure,
    path: '/',
    maxAge: body.expires_in,
  });
  return { tokens: { access: body.access_token, refresh: body.refresh_token, expiresIn: body.expires_in } };
}

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

export async function logout() {
  (await cookies()).delete(TOKEN_COOKIE);
}
