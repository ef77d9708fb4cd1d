/**
 * guardGlobalFetch: raw fetch() calls that bypass the gate are judged by the
 * core (ag_client_guard) and passed, refused, routed through the gate or
 * warned about. The gate's own requests never go through a guard.
 *
 * The core gets the caller's raw input and the document's base URL, and
 * resolves it as the browser will (never with baseUrl's prefix rule); a routed
 * call goes to exactly the absolute URL the core judged.
 */
import { AuthGateError } from './errors.js';
import { GUARD_MODE, VERDICT } from './core.js';
import { wrapped } from './unguarded.js';

/**
 * Replaces globalThis.fetch with a guard and returns the uninstaller.
 * @param {string} mode  'refuse' | 'authorize' | 'warn'
 * @param {{verdict(raw: RawCall, mode: number): Promise<{verdict: number, url: string, badConfig?: Error}>,
 *          route(input: RequestInfo | URL, init?: RequestInit): Promise<Response>}} gate
 */
export function installGuard(mode, gate) {
  const modeValue = Object.hasOwn(GUARD_MODE, mode) ? GUARD_MODE[mode] : undefined;
  if (modeValue === undefined) {
    throw new AuthGateError(
      'BAD_CONFIG',
      `guardGlobalFetch(${JSON.stringify(mode)}): the mode must be 'refuse', 'authorize' or 'warn'.`,
    );
  }
  const previous = globalThis.fetch;
  let active = true;

  async function fetch(input, init) {
    if (!active) return previous.call(globalThis, input, init);
    const raw = describe(input, init);
    const { verdict, url, badConfig } = await gate.verdict(raw, modeValue);
    const shown = `${raw.method} ${url || raw.url}`;
    switch (verdict) {
      case VERDICT.REFUSE:
        throw refusal(shown, url, badConfig);
      case VERDICT.ROUTE:
        return gate.route(routed(input, url), init);
      case VERDICT.WARN:
        console.warn(
          `authgate: fetch(${shown}) goes to a protected route without the gate ` +
            'and carries no Authorization header; call gate.fetch() instead.',
        );
        return previous.call(globalThis, input, init);
      default:
        return previous.call(globalThis, input, init);
    }
  }

  wrapped.set(fetch, previous);
  globalThis.fetch = fetch;
  return function uninstall() {
    active = false;
    // Someone may have wrapped fetch after us: then leave their wrapper, ours now passes through.
    if (globalThis.fetch === fetch) globalThis.fetch = previous;
  };
}

function refusal(shown, judged, badConfig) {
  if (badConfig) {
    return new AuthGateError(
      'BAD_CONFIG',
      `fetch(${shown}) was refused before it was sent: it goes where the gate was meant to protect, ` +
        `and the gate's options are invalid (${badConfig.message}) Fix the options given to createAuthGate().`,
      { cause: badConfig },
    );
  }
  if (!judged) {
    return new AuthGateError(
      'BAD_CONFIG',
      `fetch(${shown}) was refused before it was sent: authgate and the browser resolve this URL to ` +
        'different origins, so the guard cannot tell whether it is protected. Write it as a plain absolute URL.',
    );
  }
  return new AuthGateError(
    'NO_TOKEN',
    `fetch(${shown}) was refused before it was sent: ` +
      'it is a protected route and carries no Authorization header. Call gate.fetch() instead.',
  );
}

// The input as gate.fetch must see it: the absolute URL the core judged, the Request kept otherwise.
function routed(input, url) {
  if (!(input instanceof Request)) return url;
  return input.url === url ? input : new Request(url, input);
}

/**
 * What the core needs to judge a raw call: the input as given, the document's
 * base URL it resolves against (as fetch does), and the browser's own
 * resolution, which the core uses where its documented subset refuses the
 * input (IDNA hosts, non-canonical IPv4) and cross-checks otherwise.
 */
function describe(input, init) {
  const source = input instanceof Request ? input : null;
  const url = source ? source.url : String(input);
  const pageUrl = globalThis.document?.baseURI ?? globalThis.location?.href ?? null;
  let href = null;
  try {
    href = new URL(url, pageUrl ?? undefined).href;
  } catch {
    // Not a URL here either (no page in Node): the core judges the input alone.
  }
  return {
    url,
    pageUrl,
    href,
    method: (init?.method ?? source?.method ?? 'GET').toUpperCase(),
    hasAuthorization: new Headers(init?.headers ?? source?.headers).has('authorization'),
  };
}
