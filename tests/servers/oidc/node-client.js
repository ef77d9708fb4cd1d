// A minimal OAuth client in Node, for the self-check and for specs that act on
// the provider from outside the browser (present a refresh token again, replay
// a copied token). It walks the development login and consent forms with plain
// fetch and a cookie jar. Test tooling only: the library's own client is the C core.
import { createHash, randomBytes, randomUUID } from 'node:crypto';

import { SignJWT, exportJWK, generateKeyPair } from 'jose';

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

/** A PKCE verifier and its S256 challenge (RFC 7636). */
export function pkcePair() {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: b64url(createHash('sha256').update(verifier).digest()) };
}

/** Cookies by name, filled from Set-Cookie answers (paths ignored: one flow at a time). */
class CookieJar {
  #cookies = new Map();

  take(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  header() {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** GET/POST without following redirects, cookies kept in `jar`. */
async function step(jar, url, init = {}) {
  const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, Cookie: jar.header() } });
  jar.take(res);
  return res;
}

/**
 * Runs an authorization request through the development forms (login as
 * `login`, then consent) and returns the redirect back: { url, code, state, iss,
 * verifier, forms } where `forms` counts the forms submitted.
 */
export async function authorize({ issuer, clientId, redirectUri, scope = 'openid offline_access', login = 'alice', jar = new CookieJar(), extra = {} }) {
  const { verifier, challenge } = pkcePair();
  const state = b64url(randomBytes(16));
  const params = new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope, state,
    nonce: b64url(randomBytes(16)), code_challenge: challenge, code_challenge_method: 'S256', ...extra,
  });
  let url = `${issuer}/auth?${params}`;
  let forms = 0;
  for (let hops = 0; hops < 20; hops += 1) {
    if (url.startsWith(redirectUri)) {
      const back = new URL(url);
      const q = Object.fromEntries(back.searchParams);
      if (q.state !== state) throw new Error(`the redirect came back with state ${q.state}, not ${state}`);
      return { url, code: q.code ?? null, error: q.error ?? null, state, iss: q.iss ?? null, verifier, forms, jar };
    }
    const res = await step(jar, url);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location'), url).href;
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}: ${html.slice(0, 300)}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`${url}: no login or consent form in the page`);
    const body = new URLSearchParams(prompt === 'login' ? { prompt, login, password: 'any' } : { prompt });
    const posted = await step(jar, new URL(action, url).href, {
      method: 'POST', body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    forms += 1;
    if (posted.status < 300 || posted.status >= 400) throw new Error(`${action}: HTTP ${posted.status} after the ${prompt} form`);
    url = new URL(posted.headers.get('location'), url).href;
  }
  throw new Error('the authorization request did not come back to the redirect URI within 20 hops');
}

/** A P-256 key for DPoP (RFC 9449) and a function writing proofs with it: proof({ htm, htu, nonce, ath }). */
export async function dpopKey() {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  return (claims) => new SignJWT({ jti: randomUUID(), iat: Math.floor(Date.now() / 1000), ...claims })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
    .sign(privateKey);
}

/** POSTs a form to the token endpoint as a public client; { status, headers, body }. */
export async function tokenRequest(issuer, fields, { origin, dpop } = {}) {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded', ...(origin && { Origin: origin }), ...(dpop && { DPoP: dpop }),
    },
    body: new URLSearchParams(fields),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/** The refresh_token grant with `refreshToken`, as a public client. */
export const refreshGrant = (issuer, clientId, refreshToken) =>
  tokenRequest(issuer, { grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken });

/** RFC 7009 revocation as a public client; resolves to the HTTP status. */
export async function revoke(issuer, clientId, token, hint = 'refresh_token') {
  const res = await fetch(`${issuer}/token/revocation`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, token_type_hint: hint, client_id: clientId }),
  });
  await res.arrayBuffer();
  return res.status;
}
