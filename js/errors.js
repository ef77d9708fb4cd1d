/**
 * The one error type the gate rejects with. The core writes the message (it
 * names the method, the URL and what to do); the shim only carries it, with
 * the failure underneath as the standard `cause` (ky's HTTPError does the same).
 */
export class AuthGateError extends Error {
  /**
   * @param {string} code     an AuthGateError code ('NO_TOKEN', ...)
   * @param {string} message  the whole message, as the core wrote it
   * @param {{cause?: unknown, status?: number}} [details]
   */
  constructor(code, message, details = {}) {
    super(message, 'cause' in details ? { cause: details.cause } : undefined);
    this.name = 'AuthGateError';
    this.code = code;
    if (typeof details.status === 'number') this.status = details.status;
  }
}

/** What pending and later calls reject with once the gate is destroyed: an abort, not an auth failure. */
export function destroyedError() {
  return new DOMException('AuthGate destroyed', 'AbortError');
}
