/**
 * The wasm core, loaded once and bound once. This is the only module that
 * knows the exported C functions, the ABI constants of include/authgate.h and
 * the memory layout of `ag_action`; everything else sees plain JS values.
 */
import { AuthGateError } from './errors.js';
import { unguarded } from './unguarded.js';

// ---- ABI constants (include/authgate.h) ----------------------------------

export const AG_ERR_NOMEM = -1; // an allocation failed (see include/authgate.h for what changed then)
export const AG_ERR_BAD_CONFIG = -2;
export const AG_ERR_BAD_TOKENS = -3;

/**
 * The gate ran out of memory (the wasm heap could not grow) doing `what`.
 * `detail` says what became of the request; the core kept a defined state.
 */
export function outOfMemory(what, detail = 'nothing was sent and nothing changed') {
  return new AuthGateError(
    'OUT_OF_MEMORY',
    `${what}: the gate ran out of memory (the wasm heap could not grow); ${detail}. ` +
      'Free memory in the page (large caches, detached DOM, other tabs of this app) and retry.',
  );
}

export const ACTION = Object.freeze({
  SEND: 1,
  RESOLVE: 2,
  REJECT: 3,
  LOCK: 4,
  UNLOCK: 5,
  PERSIST: 6,
  CLEAR_STORAGE: 7,
  BROADCAST: 8,
  STATE: 9,
  SESSION: 10,
  ABORT: 11,
  TRANSACTION: 12,
  NAVIGATE: 13,
  SIGN: 14,
  KEY: 15,
});

// enum ag_wake: what the page saw when it may have slept.
export const WAKE = Object.freeze({ VISIBLE: 1, ONLINE: 2, PAGESHOW: 3 });

export const SEND_CALL = 0; // enum ag_send_kind: an app call; login and refresh are the core's own requests
export const SEND_REVOKE = 5; // the revocation on logout: sent with keepalive, the page may be leaving
export const NAVIGATE_REPLACE = 1; // enum ag_navigate: history.replaceState (0: location.assign)

export const STORAGE = Object.freeze({ MEMORY: 0, SESSION: 1, LOCAL: 2 });

export const STATE_INITIALIZING = 0;

export const GUARD_MODE = Object.freeze({ refuse: 0, authorize: 1, warn: 2 });
export const VERDICT = Object.freeze({ PASS: 0, REFUSE: 1, ROUTE: 2, WARN: 3 });

// enum ag_credentials, indexed by value; AG_CRED_UNSET (0) has no name.
const CREDENTIALS = [undefined, 'omit', 'same-origin', 'include'];

/** RequestCredentials for an enum ag_credentials, or undefined for AG_CRED_UNSET. */
export const credentialsName = (value) => CREDENTIALS[value];

/** The names of enum ag_credentials by value (index 0, AG_CRED_UNSET, has none). */
export const CREDENTIALS_NAMES = Object.freeze(CREDENTIALS.slice());

/** enum ag_credentials for the caller's choice; an unknown string goes to the core as -1 (AG_ERR_INVALID). */
export const credentialsValue = (name) => (name === undefined ? 0 : CREDENTIALS.indexOf(name));

// struct ag_action: AG_ACTION_FIELDS fields of 32 bits, in this order, field i at byte 4*i.
// tests/js/abi.test.mjs checks every constant here against include/authgate.h.
export const ACTION_FIELD = Object.freeze({
  type: 0,
  id: 1,
  code: 2,
  credentials: 3,
  replay: 4,
  method: 5,
  url: 6,
  authorization: 7,
  body: 8,
  body_len: 9,
  content_type: 10,
  text: 11,
  text_len: 12,
  dpop: 13,
  abortable: 14,
});
export const ACTION_FIELDS = 15;
const ACTION_BYTES = 4 * ACTION_FIELDS;
// struct ag_settings, one 32-bit word per field (tests/js/abi.test.mjs holds it to the header).
export const SETTINGS_FIELD = Object.freeze({ storage: 0, cross_tab: 1, storage_key: 2, dpop: 3 });
export const SETTINGS_FIELDS = 4;
const SETTINGS_BYTES = 4 * SETTINGS_FIELDS;
const ERR_CAP = 256;
// AG_GUARD_URL_CAP: the room the guard exports need for the URL they judged.
export const GUARD_URL_CAP = 8193;

// ---- loading ---------------------------------------------------------------
//
// The core comes as two modules: authgate-core.wasm for a gate without `oidc`,
// and authgate-core-oidc.wasm, the same core with OpenID Connect and DPoP, a
// third larger, for a gate with it. Each is loaded by this code, not by
// Emscripten's JS glue: it (CMakeLists.txt, STANDALONE_WASM) imports one
// function, env.emscripten_notify_memory_growth, which the core's malloc calls
// after it grew the memory, and exports the C functions of
// src/wasm-exports.txt under their C names, plus memory and _initialize
// (emmalloc's set-up, called once).

const inNode = () => Boolean(globalThis.process?.versions?.node);
const loading = { core: null, oidc: null };

/**
 * The bound core, shared by every gate (sql.js-style: one cached promise per
 * module); `oidc` picks the module with OpenID Connect and DPoP. A failed load
 * is not cached, so a later gate tries again.
 */
export function loadCore(oidc = false) {
  const which = oidc ? 'oidc' : 'core';
  loading[which] ??= instantiate(oidc).catch((error) => {
    loading[which] = null;
    const file = oidc ? 'authgate-core-oidc.wasm' : 'authgate-core.wasm';
    throw new Error(`authgate: the wasm core (${file}) failed to load: ${error?.message ?? error}`, {
      cause: error,
    });
  });
  return loading[which];
}

// In a browser the download and the streaming compile start right after this
// module and the app's modules have run, not at the first request: the first
// createAuthGate() starts its module at once, and if none did, the module
// without OpenID starts here (an app whose gates all have `oidc` never
// downloads it). A failure is reported to the gate that waits for it (the catch
// only keeps it from being "unhandled"). Node (SSR, tests) loads on first use:
// importing must stay free of I/O there.
if (!inNode()) setTimeout(() => loading.oidc || loadCore().catch(() => {}), 0);

async function instantiate(oidc) {
  const m = {};
  // The C functions under the names the bindings use (_ag_client_new, ...), and
  // heap views that are renewed whenever the memory grows: always read m.HEAPU8 afresh.
  const views = () => {
    const buffer = m.memory.buffer;
    m.HEAP32 = new Int32Array(buffer);
    m.HEAPU32 = new Uint32Array(buffer);
    m.HEAPU8 = new Uint8Array(buffer);
  };
  const imports = { env: { emscripten_notify_memory_growth: views } };
  const { instance } = await (typeof window !== 'undefined' || !inNode()
    ? download(oidc, imports)
    : readModule(oidc, imports));
  for (const [name, value] of Object.entries(instance.exports)) m[name === 'memory' ? name : `_${name}`] = value;
  views();
  m.__initialize();
  return bind(m);
}

/**
 * Fetched with the fetch underneath any guards: a guard installed before the
 * core has loaded would otherwise wait for the very core it is waiting to
 * download. The literal URL lets bundlers (Vite, webpack) ship the file as an asset.
 */
async function download(oidc, imports) {
  const url = oidc
    ? new URL('./authgate-core-oidc.wasm', import.meta.url)
    : new URL('./authgate-core.wasm', import.meta.url);
  const response = await unguarded(globalThis.fetch)(url);
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  try {
    return await WebAssembly.instantiateStreaming(response.clone(), imports);
  } catch {
    // A server that sends the wrong Content-Type for .wasm: compile from the bytes instead.
    return WebAssembly.instantiate(await response.arrayBuffer(), imports);
  }
}

/**
 * Node reads the file next to this module. The specifiers are kept out of
 * sight of bundlers (Vite, webpack) so browser builds need no configuration.
 */
async function readModule(oidc, imports) {
  const fsModule = 'node:fs/promises';
  const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ fsModule);
  // No new URL('./x.wasm', import.meta.url) here: webpack and Turbopack (Next.js server
  // builds; Turbopack follows a variable too) turn it into a public asset path, not a file.
  // Both leave the module's own file URL alone, and the .wasm sits next to this module.
  const wasmFile = import.meta.url.replace(/[^/]*$/, oidc ? 'authgate-core-oidc.wasm' : 'authgate-core.wasm');
  return WebAssembly.instantiate(await readFile(new URL(wasmFile)), imports);
}

// ---- memory helpers --------------------------------------------------------

const encoder = new TextEncoder();
// Inputs up to this size (UTF-8 worst case: 3 bytes per UTF-16 unit) share the scratch region.
const SCRATCH_MAX = 64 * 1024;
const decoder = new TextDecoder();

/**
 * Writes `value` as UTF-8 at heap[at..end) and returns the bytes written. A
 * method or URL is mostly ASCII and short: copied byte by byte, which in
 * Chromium costs a fifth of an encodeInto() call; from the first other
 * character on, encodeInto() writes the rest.
 */
function encodeAt(heap, at, end, value) {
  const n = value.length;
  let i = 0;
  if (n <= 512) {
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) break;
      heap[at + i] = c;
    }
    if (i === n) return n;
  }
  return i + encoder.encodeInto(i === 0 ? value : value.slice(i), heap.subarray(at + i, end)).written;
}

function bind(m) {
  const alloc = (n) => {
    const ptr = m._malloc(Math.max(n, 1));
    if (!ptr) throw outOfMemory('authgate');
    return ptr;
  };
  // The scratch region of withInputs: grown to the largest input set seen, never shrunk.
  let scratch = 0;
  let scratchBytes = 0;
  const room = (n) => {
    if (n > scratchBytes) {
      const bytes = Math.min(SCRATCH_MAX, Math.max(n, 2 * scratchBytes, 1024));
      const ptr = m._malloc(bytes);
      if (!ptr) return 0; // no room: the caller reports AG_ERR_NOMEM, the old region stays
      if (scratch) m._free(scratch);
      scratch = ptr;
      scratchBytes = bytes;
    }
    return scratch;
  };
  const cstring = (ptr) => (ptr ? decoder.decode(m.HEAPU8.subarray(ptr, m.HEAPU8.indexOf(0, ptr))) : null);
  // ag_strerror, ag_code_name and ag_state_name return static strings: decode each once.
  const names = new Map();
  const staticName = (kind, fn, value) => {
    const key = `${kind}:${value}`;
    if (!names.has(key)) names.set(key, cstring(fn(value)));
    return names.get(key);
  };

  return {
    m,
    alloc,
    cstring,
    /** Copies `len` bytes out of the heap, or null for a NULL pointer. */
    bytes: (ptr, len) => (ptr ? m.HEAPU8.slice(ptr, ptr + len) : null),
    text: (ptr, len) => (ptr ? decoder.decode(m.HEAPU8.subarray(ptr, ptr + len)) : null),
    /**
     * Calls fn with a (pointer, length) pair per value: strings are UTF-8
     * encoded, Uint8Arrays copied, null/undefined become (NULL, 0). The
     * values are written into one scratch region kept for every call (the
     * core copies what it keeps before it returns), so a call allocates
     * neither an encoded copy nor a wasm block; inputs beyond SCRATCH_MAX get
     * a block of their own, freed when fn returns or throws. When the heap
     * has no room for them, fn is not called and `noMemory` is returned
     * (AG_ERR_NOMEM: the event did not reach the core, nothing changed).
     */
    withInputs(values, fn, noMemory = AG_ERR_NOMEM) {
      let need = 1;
      for (const value of values) if (value != null) need += typeof value === 'string' ? 3 * value.length : value.length;
      const base = need <= SCRATCH_MAX ? room(need) : m._malloc(need);
      if (!base) return noMemory;
      try {
        const heap = m.HEAPU8; // read after room()/alloc(), which may grow the memory
        const args = [];
        let at = base;
        for (const value of values) {
          if (value == null) {
            args.push(0, 0);
            continue;
          }
          let length = value.length;
          if (typeof value === 'string') length = encodeAt(heap, at, base + need, value);
          else heap.set(value, at);
          args.push(at, length);
          at += length;
        }
        return fn(...args);
      } finally {
        if (base !== scratch) m._free(base);
      }
    },
    strerror: (err) => staticName('err', m._ag_strerror, err),
    codeName: (code) => staticName('code', m._ag_code_name, code),
    stateName: (state) => staticName('state', m._ag_state_name, state),
    /** Blocks the core holds now, all clients together (for leak tests). */
    liveAllocations: () => m._ag_live_allocations(),
  };
}

// ---- the guard's verdicts --------------------------------------------------

/** Runs a guard export with an out-buffer for the judged URL; throws on a core error. */
function judge(core, what, run) {
  // Out of memory the guard refuses rather than passes: the call is not sent.
  const refused = () => outOfMemory(what, 'it was not sent: the guard could not judge it');
  const out = core.m._malloc(GUARD_URL_CAP);
  if (!out) throw refused();
  try {
    const verdict = run(out);
    if (verdict === AG_ERR_NOMEM) throw refused();
    if (verdict < 0) throw new Error(`authgate: ${what}: ${core.strerror(verdict)}`);
    return { verdict, url: core.cstring(out) };
  } finally {
    core.m._free(out);
  }
}

/**
 * The verdict for a raw fetch when the gate's options were refused (no client
 * exists): the core reads the options best effort and fails closed only for
 * what they meant to protect (ag_guard_unconfigured).
 */
export function guardUnconfigured(core, optionsJson, raw) {
  return judge(core, `fetch(${raw.url})`, (out) =>
    core.withInputs([optionsJson, raw.pageUrl, raw.url, raw.href], (o, oLen, p, pLen, u, uLen, h, hLen) =>
      core.m._ag_guard_unconfigured(o, oLen, p, pLen, u, uLen, h, hLen, raw.hasAuthorization ? 1 : 0, out, GUARD_URL_CAP),
    ),
  );
}

// ---- one client ------------------------------------------------------------

/**
 * Owns one ag_client and its scratch memory (the action, the id out-param
 * and the error buffer are allocated once and reused). Methods mirror the C
 * functions; event methods return the C result code.
 */
export class CoreClient {
  #core;
  #x; // the module, for its exports
  #handle;
  #scratch;
  #action;
  #out; // uint32_t / ag_client* out-parameter
  #err;

  /** Throws AuthGateError BAD_CONFIG with the core's reason when the options are refused. */
  constructor(core, optionsJson, pageOrigin) {
    this.#core = core;
    this.#x = core.m;
    this.#scratch = core.alloc(ACTION_BYTES + 4 + ERR_CAP);
    this.#action = this.#scratch;
    this.#out = this.#scratch + ACTION_BYTES;
    this.#err = this.#out + 4;
    const rc = core.withInputs([optionsJson, pageOrigin], (o, oLen, p, pLen) =>
      this.#x._ag_client_new(this.#out, o, oLen, p, pLen, this.#err, ERR_CAP),
    );
    if (rc !== 0) {
      const reason = rc === AG_ERR_BAD_CONFIG ? core.cstring(this.#err) : core.strerror(rc);
      this.#x._free(this.#scratch);
      // The core's reason is one line without context: say which call it answers.
      if (rc === AG_ERR_BAD_CONFIG) throw new AuthGateError('BAD_CONFIG', `createAuthGate(): ${reason}.`);
      if (rc === AG_ERR_NOMEM) throw outOfMemory('createAuthGate()', 'the gate could not be created');
      throw new Error(`authgate: createAuthGate(): ${reason}`);
    }
    this.#handle = this.#x.HEAPU32[this.#out >> 2];
  }

  free() {
    this.#x._ag_client_free(this.#handle);
    this.#x._free(this.#scratch);
    this.#handle = 0;
  }

  /** {storage, crossTab, storageKey}, copied out of the core (the executor needs nothing else). */
  settings() {
    const ptr = this.#core.alloc(SETTINGS_BYTES);
    try {
      this.#x._ag_client_settings(this.#handle, ptr);
      const u32 = this.#x.HEAPU32;
      const i = ptr >> 2;
      const F = SETTINGS_FIELD;
      return {
        storage: this.#x.HEAP32[i + F.storage],
        crossTab: this.#x.HEAP32[i + F.cross_tab] === 1,
        storageKey: this.#core.cstring(u32[i + F.storage_key]),
        dpop: this.#x.HEAP32[i + F.dpop] === 1,
      };
    } finally {
      this.#x._free(ptr);
    }
  }

  start(now, blob) {
    return this.#core.withInputs([blob], (b, len) => this.#x._ag_client_start(this.#handle, now, b, len));
  }

  /**
   * Returns the new call id; throws on a negative result (nothing was queued then).
   * `optionsJson`: the call's `authgate` option as JSON, or null.
   */
  call(now, method, url, authorization, credentials, optionsJson = null) {
    const rc = this.#core.withInputs(
      [method, url, authorization, optionsJson],
      (m, mLen, u, uLen, a, aLen, o, oLen) =>
        this.#x._ag_client_call_opts(this.#handle, now, m, mLen, u, uLen, a, aLen, credentials, o, oLen, this.#out),
    );
    return this.#idOrThrow(rc, `gate.fetch(${method} ${url})`);
  }

  /** getAccessToken(): a token request's id; RESOLVE carries the token. */
  token(now) {
    return this.#idOrThrow(this.#x._ag_client_token(this.#handle, now, this.#out), 'gate.getAccessToken()');
  }

  /** The session JSON ("null" when there is none). */
  session() {
    return this.#core.cstring(this.#x._ag_client_session(this.#handle));
  }

  seed(bytes) {
    return this.#core.withInputs([bytes], (b, len) => this.#x._ag_client_seed(this.#handle, b, len));
  }

  wake(now, reason) {
    return this.#x._ag_client_wake(this.#handle, now, reason);
  }

  login(now, credentialsJson) {
    const rc = this.#core.withInputs([credentialsJson], (c, len) =>
      this.#x._ag_client_login(this.#handle, now, c, len, this.#out),
    );
    return this.#idOrThrow(rc, 'gate.login()');
  }

  /** loginWithRedirect: `random` is RANDOM_BYTES bytes; returnTo and paramsJson may be null. */
  loginRedirect(now, random, returnTo, paramsJson) {
    const rc = this.#core.withInputs([random, returnTo, paramsJson], (r, rLen, t, tLen, p, pLen) =>
      this.#x._ag_client_login_redirect(this.#handle, now, r, rLen, t, tLen, p, pLen, this.#out),
    );
    return this.#idOrThrow(rc, 'gate.loginWithRedirect()');
  }

  redirectCallback(now, url, transaction) {
    const rc = this.#core.withInputs([url, transaction], (u, uLen, t, tLen) =>
      this.#x._ag_client_redirect_callback(this.#handle, now, u, uLen, t, tLen, this.#out),
    );
    return this.#idOrThrow(rc, `gate.handleRedirectCallback(${url})`);
  }

  logoutRedirect(now, redirect) {
    const rc = this.#x._ag_client_logout_redirect(this.#handle, now, redirect ? 1 : 0, this.#out);
    return this.#idOrThrow(rc, 'gate.logout()');
  }

  /** `retryAfter`: the response's Retry-After header value, or null. */
  response(now, id, status, body, retryAfter = null) {
    return this.#core.withInputs([body, retryAfter], (b, len, r, rLen) =>
      this.#x._ag_client_response_ex(this.#handle, now, id, status, b, len, r, rLen),
    );
  }

  /** The answer to KEY: the public JWK as JSON and AG_DPOP_SEED_BYTES random bytes, or nulls. */
  dpopKey(now, jwkJson, seed) {
    return this.#core.withInputs([jwkJson, seed], (j, jLen, s, sLen) =>
      this.#x._ag_client_dpop_key(this.#handle, now, j, jLen, s, sLen),
    );
  }

  /** The signature for a SIGN action (64 bytes r || s), or null when signing failed. */
  dpopSignature(now, id, signature) {
    return this.#core.withInputs([signature], (s, len) =>
      this.#x._ag_client_dpop_signature(this.#handle, now, id, s, len),
    );
  }

  /** The DPoP-Nonce and WWW-Authenticate values of request `id`'s response (null when absent). */
  responseHeaders(id, dpopNonce, wwwAuthenticate) {
    return this.#core.withInputs([dpopNonce, wwwAuthenticate], (n, nLen, w, wLen) =>
      this.#x._ag_client_response_headers(this.#handle, id, n, nLen, w, wLen),
    );
  }

  dpopProof(now, method, url) {
    const rc = this.#core.withInputs([method, url], (m, mLen, u, uLen) =>
      this.#x._ag_client_dpop_proof(this.#handle, now, m, mLen, u, uLen, this.#out),
    );
    return this.#idOrThrow(rc, `gate.getDpopProof(${method} ${url})`);
  }

  networkError(now, id) {
    return this.#x._ag_client_network_error(this.#handle, now, id);
  }

  cancel(now, id) {
    return this.#x._ag_client_cancel(this.#handle, now, id);
  }

  setTokens(now, json) {
    return this.#core.withInputs([json], (j, len) => this.#x._ag_client_set_tokens(this.#handle, now, j, len));
  }

  logout(now) {
    return this.#x._ag_client_logout(this.#handle, now);
  }

  message(now, text) {
    return this.#core.withInputs([text], (t, len) => this.#x._ag_client_message(this.#handle, now, t, len));
  }

  lockGranted(now, blob, newestShared = 0) {
    return this.#core.withInputs([blob], (b, len) =>
      this.#x._ag_client_lock_granted(this.#handle, now, b, len, newestShared),
    );
  }

  tick(now) {
    return this.#x._ag_client_tick(this.#handle, now);
  }

  /** Absolute ms, or -1 when nothing is due. */
  nextDeadline() {
    return this.#x._ag_client_next_deadline(this.#handle);
  }

  state() {
    return this.#x._ag_client_state(this.#handle);
  }

  readyState() {
    return this.#x._ag_client_ready_state(this.#handle);
  }

  /**
   * The core's verdict on a raw fetch: {verdict, url}, `url` being the absolute
   * URL it judged ('' when it judged none). `raw` is {pageUrl, url, href,
   * hasAuthorization}: the document's base URL, the caller's input, and the
   * browser's own resolution of it (or null).
   */
  guard(raw, mode) {
    return judge(this.#core, `fetch(${raw.url})`, (out) =>
      this.#core.withInputs([raw.pageUrl, raw.url, raw.href], (p, pLen, u, uLen, h, hLen) =>
        this.#x._ag_client_guard(this.#handle, p, pLen, u, uLen, h, hLen, raw.hasAuthorization ? 1 : 0, mode, out, GUARD_URL_CAP),
      ),
    );
  }

  /** The plan as a JSON string, or null when the core could not make one. */
  plan(url) {
    return this.#core.cstring(
      this.#core.withInputs([url], (u, len) => this.#x._ag_client_plan(this.#handle, u, len), 0),
    );
  }

  /** The Diagnosis as a JSON string, or null when the core could not make one. */
  diagnose(url, reachable, simpleStatus, authStatus) {
    return this.#core.cstring(
      this.#core.withInputs([url], (u, len) =>
        this.#x._ag_client_diagnose(this.#handle, u, len, reachable ? 1 : 0, simpleStatus, authStatus),
      0,
      ),
    );
  }

  /**
   * The next action as a plain object with its strings copied out (they are
   * only valid until the next call on the client), or null when none is left.
   */
  nextAction() {
    if (this.#x._ag_client_next_action(this.#handle, this.#action) !== 1) return null;
    const i32 = this.#x.HEAP32;
    const u32 = this.#x.HEAPU32;
    const i = this.#action >> 2;
    const core = this.#core;
    const F = ACTION_FIELD;
    return {
      type: i32[i + F.type],
      id: u32[i + F.id],
      code: i32[i + F.code],
      credentials: i32[i + F.credentials],
      replay: i32[i + F.replay] === 1,
      method: core.cstring(u32[i + F.method]),
      url: core.cstring(u32[i + F.url]),
      authorization: core.cstring(u32[i + F.authorization]),
      body: core.bytes(u32[i + F.body], u32[i + F.body_len]),
      contentType: core.cstring(u32[i + F.content_type]),
      text: core.text(u32[i + F.text], u32[i + F.text_len]),
      dpop: core.cstring(u32[i + F.dpop]),
      abortable: i32[i + F.abortable] === 1,
    };
  }

  #idOrThrow(rc, what) {
    if (rc === AG_ERR_NOMEM) throw outOfMemory(what);
    if (rc !== 0) throw new Error(`authgate: ${what}: ${this.#core.strerror(rc)}`);
    return this.#x.HEAPU32[this.#out >> 2];
  }
}
