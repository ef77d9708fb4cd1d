// TEMPORARY, tests only: the session API of the extended contract (gate.session, onSession,
// getAccessToken) over a gate that does not have it yet, so the adapters can be tested before
// the core's own lands. Removed once it does.
export function withSessionApi(gate) {
  if ('onSession' in gate) return gate;
  const listeners = new Set();
  let token = null;
  const setTokens = gate.setTokens;
  const sessionFor = (state) =>
    state === 'authenticated' || state === 'refreshing'
      ? { expiresAt: null, refreshAt: null, scope: null, tokenType: 'Bearer', claims: null }
      : null;
  let current = sessionFor(gate.state);
  gate.subscribe((state) => {
    const next = sessionFor(state);
    if ((next === null) === (current === null)) return;
    current = next;
    for (const listener of [...listeners]) listener(current);
  });
  Object.defineProperty(gate, 'session', { get: () => (sessionFor(gate.state) === null ? null : current) });
  return Object.assign(gate, {
    onSession(listener) {
      const entry = (s) => listener(s);
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
    setTokens(t) {
      token = t.access;
      return setTokens(t);
    },
    async getAccessToken() {
      await gate.ready();
      if (token === null || current === null) throw Object.assign(new Error('no token'), { code: 'NO_TOKEN' });
      return token;
    },
  });
}
