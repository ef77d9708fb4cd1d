// The recorder: every request the page's gates (and the "plain" clients they
// are compared with) put on the network, as rows of one timeline.
//
// It only observes. Each gate gets `fetch: recorder.instrument(source, ...)`,
// the documented option for the fetch a gate sends with, so the recorder sees
// the gate's calls, its refreshes, its replays and its diagnose probes without
// any change to the library. Calls made through `recorder.call(gate, ...)`
// carry a tag header that the instrumented fetch removes before the request
// leaves, so each network request is matched to the gate.fetch() that caused
// it: that is how the timeline can say "queued behind the refresh" or
// "replayed after a 401". Nothing here reads or shows a token.

const TAG = 'x-authgate-demo-call';
const DIAGNOSE_PROBE = 'Bearer authgate-diagnose-probe'; // js/diagnose.js's dummy bearer: never a real token

// What the page itself uses, captured before any guardGlobalFetch() wraps window.fetch.
export const nativeFetch = globalThis.fetch.bind(globalThis);

let nextId = 1;
const now = () => performance.now();

export class Recorder {
  /** @param {() => void} onChange called (batched by the caller) whenever a row changes */
  constructor(onChange) {
    this.rows = [];
    this.onChange = onChange;
    this.byTag = new Map();
    this.refreshes = new Map(); // source → refresh rows, for "queued behind refresh"
  }

  #add(row) {
    const full = {
      id: nextId++, attempts: [], issuedAt: now(), endAt: null, status: null, did: '', outcome: 'pending', ...row,
    };
    this.rows.push(full);
    this.onChange();
    return full;
  }

  #update(row, fields) {
    Object.assign(row, fields);
    this.onChange();
  }

  clear() {
    this.rows = [];
    this.byTag.clear();
    this.refreshes.clear();
    this.onChange();
  }

  /** A note on the timeline that is not a request (e.g. "new token from the other tab"). */
  note(source, text, outcome = 'info') {
    const t = now();
    return this.#add({ source, kind: 'note', method: '', url: '', did: text, issuedAt: t, endAt: t, outcome });
  }

  /**
   * The fetch handed to a gate. `gate` says where its routes are:
   * { base: origin, login: path, refresh: path }, or, for a gate that signs in
   * through an OpenID provider, { base: issuer, classify(path, init) → {kind, did} | null }
   * naming the provider's requests (discovery, code exchange, refresh, revocation).
   */
  instrument(source, gate) {
    return async (input, init) => {
      const request = input instanceof Request ? input : null;
      const url = request ? request.url : String(input);
      const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
      const headers = new Headers(init?.headers ?? request?.headers);
      const tag = headers.get(TAG);
      const path = pathOf(url);
      let row;
      let attempt;

      if (tag && this.byTag.has(tag)) {
        // A gate.fetch() made through recorder.call(): strip the tag, keep everything else.
        headers.delete(TAG);
        if (request) input = new Request(request, { headers });
        else init = { ...init, headers };
        row = this.byTag.get(tag);
        attempt = this.#send(row, source, headers);
      } else if (sameOrigin(url, gate.base) && path === gate.refresh) {
        row = this.#add({ source, kind: 'refresh', method, url, did: refreshWords(this, source) });
        if (!this.refreshes.has(source)) this.refreshes.set(source, []);
        this.refreshes.get(source).push(row);
        attempt = { sentAt: row.issuedAt };
        row.attempts.push(attempt);
      } else if (sameOrigin(url, gate.base) && path === gate.login) {
        row = this.#add({ source, kind: 'login', method, url, did: 'sign-in request (the gate keeps the tokens)' });
        attempt = { sentAt: row.issuedAt };
        row.attempts.push(attempt);
      } else if (sameOrigin(url, gate.base) && gate.classify?.(path, init)) {
        const step = gate.classify(path, init);
        row = this.#add({ source, kind: step.kind, method, url, did: step.did });
        if (step.kind === 'refresh') {
          if (!this.refreshes.has(source)) this.refreshes.set(source, []);
          this.refreshes.get(source).push(row);
        }
        attempt = { sentAt: row.issuedAt };
        row.attempts.push(attempt);
      } else if (headers.get('authorization') === DIAGNOSE_PROBE || init?.mode === 'no-cors') {
        row = this.#add({ source, kind: 'probe', method, url, did: 'diagnose() probe (a dummy bearer, never the token)' });
        attempt = { sentAt: row.issuedAt };
        row.attempts.push(attempt);
      } else {
        // Not made through recorder.call(): a raw fetch() that guardGlobalFetch('authorize') routed here.
        row = this.#add({ source, kind: 'call', method, url, raw: true });
        attempt = this.#send(row, source, headers);
      }

      try {
        const response = await nativeFetch(input, init);
        attempt.endAt = now();
        attempt.status = response.status;
        // Calls made through recorder.call() are settled there, by what gate.fetch() answered.
        if (row.kind !== 'call' || row.raw) {
          this.#update(row, { endAt: attempt.endAt, status: response.status, outcome: outcomeOf(response.status) });
        } else this.onChange();
        return response;
      } catch (error) {
        attempt.endAt = now();
        attempt.status = 'blocked';
        if (row.kind !== 'call' || row.raw) this.#update(row, { endAt: attempt.endAt, status: 'failed', outcome: 'bad' });
        else this.onChange();
        throw error;
      }
    };
  }

  // A gate call goes on the network: say what the gate did with it until now.
  #send(row, source, headers) {
    const attempt = { sentAt: now() };
    row.attempts.push(attempt);
    const bearer = headers.has('authorization');
    if (row.attempts.length > 1) {
      row.did = 'got 401 → the gate refreshed once → replayed with the new token';
    } else if (row.raw) {
      row.did = 'raw fetch() caught by guardGlobalFetch → sent through the gate with the bearer';
    } else if (!bearer) {
      row.did = row.foreign ? 'sent without the token: not a trusted origin' : 'sent without a token (public route)';
    } else if (row.stateAtIssue === 'initializing') {
      row.did = 'waited for readiness (session being restored) → sent with the bearer';
    } else if (this.#refreshedBetween(source, row.issuedAt, attempt.sentAt)) {
      row.did = 'queued behind the refresh → sent with the new bearer';
    } else {
      row.did = 'sent with the bearer';
    }
    this.onChange();
    return attempt;
  }

  #refreshedBetween(source, from, to) {
    return (this.refreshes.get(source) ?? []).some((r) => r.endAt !== null && r.endAt >= from - 1 && r.endAt <= to);
  }

  /**
   * gate.fetch(input, init), recorded (`base`: the gate's baseUrl). Resolves or rejects like gate.fetch;
   * a rejection is recorded with the AuthGateError's code.
   */
  async call(gate, source, base, input, init = {}) {
    const url = new URL(String(input), base).href;
    const row = this.#add({
      source, kind: 'call', method: (init.method ?? 'GET').toUpperCase(), url,
      stateAtIssue: gate.state, foreign: new URL(url).origin !== new URL(base).origin,
      did: gate.state === 'initializing' ? 'waiting for readiness…' : 'with the gate…',
    });
    const tag = String(row.id);
    this.byTag.set(tag, row);
    const headers = new Headers(init.headers);
    headers.set(TAG, tag);
    try {
      const response = await gate.fetch(input, { ...init, headers });
      this.#update(row, { endAt: now(), status: response.status, outcome: outcomeOf(response.status) });
      return response;
    } catch (error) {
      const code = error?.code ?? error?.name ?? 'error';
      this.#update(row, { endAt: now(), status: code, outcome: 'refused', error: code, did: refusalWords(code, row) });
      throw error;
    } finally {
      this.byTag.delete(tag);
    }
  }

  /** The fetch a "plain" client (hand-written fetch, an axios instance) sends with. */
  plainFetch(source) {
    return async (input, init) => {
      const request = input instanceof Request ? input : null;
      const url = request ? request.url : String(input);
      const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
      const headers = new Headers(init?.headers ?? request?.headers);
      const path = pathOf(url);
      const did = /\/auth\/(login|token)\/?$/.test(path) ? 'sign-in request'
        : /\/refresh\/?$/.test(path) ? 'refresh request, sent by this call on its own'
          : headers.has('authorization') ? 'sent with a bearer set by hand' : 'sent with no Authorization header';
      const row = this.#add({ source, kind: /\/refresh\/?$/.test(path) ? 'refresh' : 'call', method, url, did, plain: true });
      const attempt = { sentAt: row.issuedAt };
      row.attempts.push(attempt);
      try {
        const response = await nativeFetch(input, init);
        attempt.endAt = now();
        attempt.status = response.status;
        this.#update(row, { endAt: attempt.endAt, status: response.status, outcome: outcomeOf(response.status) });
        return response;
      } catch (error) {
        attempt.endAt = now();
        attempt.status = 'blocked';
        this.#update(row, {
          endAt: attempt.endAt, status: 'TypeError', outcome: 'bad',
          did: `${did}; the browser blocked it: "${error.message}"`,
        });
        throw error;
      }
    };
  }
}

function refreshWords(recorder, source) {
  const earlier = (recorder.refreshes.get(source) ?? []).length;
  return earlier === 0 ? 'refresh: one request, whatever the number of calls waiting' : 'refresh (the token was due)';
}

function refusalWords(code, row) {
  switch (code) {
    case 'NO_TOKEN': return 'refused NO_TOKEN: no session, so never sent';
    case 'FOREIGN_ORIGIN': return 'refused FOREIGN_ORIGIN: the token may not go there';
    case 'CORS_OR_NETWORK': return row.attempts.length ? 'blocked by CORS → CORS_OR_NETWORK, explained in words' : 'CORS_OR_NETWORK';
    case 'SESSION_EXPIRED': return 'SESSION_EXPIRED: the refresh was refused';
    default: return `rejected ${code}`;
  }
}

export function outcomeOf(status) {
  if (typeof status !== 'number') return 'bad';
  if (status < 300) return 'ok';
  return 'bad';
}

function pathOf(url) {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

function sameOrigin(url, base) {
  try {
    return new URL(url).origin === new URL(base).origin;
  } catch {
    return false;
  }
}

/** A bearer value is long; "a Bearer token" in a sentence is left alone. */
export const redact = (text) => String(text)
  .replace(/Bearer\s+[\w.~+/-]{16,}=*/gi, 'Bearer [redacted]')
  .replace(/eyJ[\w-]*\.[\w-]+\.[\w-]*/g, '[redacted token]');
