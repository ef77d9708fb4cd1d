// The browser's gate posts its access token here after each sign-in and refresh (syncTokenCookie
// in app/gate.js) and deletes it on sign-out; the server actions read the cookie.
import { tokenCookieHandlers } from 'authgate/next/server';
import { TOKEN_COOKIE } from '../../config.js';

export const { POST, DELETE } = tokenCookieHandlers({ cookieName: TOKEN_COOKIE });
