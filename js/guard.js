/**
 * guardGlobalFetch: raw fetch() calls that bypass the gate are judged by the
 * core (ag_client_guard) and passed, refused, routed through the gate or
 * warned about. The gate's own requests never go through a guard.
 */
import { AuthGateError } from './errors.js';
import { GUARD_MODE, VERDICT } from './core.js';
import { wrapped } from './unguarded.js';

/**
 * Replaces globalThis.fetch with a guard and returns the uninstaller.
 * @param {string} mode  'refuse' | 'authorize' | 'warn'
 * @param {{verdict(url: string, hasAuthorization: boolean, mode: number): Promise<number>,
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
    const request = describe(input, init);
    const verdict = await gate.verdict(request.url, request.hasAuthorization, modeValue);
    switch (verdict) {
      case VERDICT.REFUSE:
        throw new AuthGateError(
          'NO_TOKEN',
          `fetch(${request.method} ${request.url}) was refused before it was sent: ` +
            'it is a protected route and carries no Authorization header. Call gate.fetch() instead.',
        );
      case VERDICT.ROUTE:
        return gate.route(input, init);
      case VERDICT.WARN:
        console.warn(
          `authgate: fetch(${request.method} ${request.url}) goes to a protected route without the gate ` +
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

// The URL resolved against the page (not baseUrl): that is where a raw fetch goes.
function describe(input, init) {
  const source = input instanceof Request ? input : null;
  const raw = source ? source.url : String(input);
  let url = raw;
  try {
    url = new URL(raw, globalThis.location?.href).href;
  } catch {
    // Unresolvable here (no page in Node): the core judges the raw string.
  }
  return {
    url,
    method: (init?.method ?? source?.method ?? 'GET').toUpperCase(),
    hasAuthorization: new Headers(init?.headers ?? source?.headers).has('authorization'),
  };
}
