/**
 * The wasm core, loaded once and bound once. This is the only module that
 * knows the exported C functions, the ABI constants of include/authgate.h and
 * the memory layout of `ag_action`; everything else sees plain JS values.
 */
import createCoreModule from './authgate-core.js';
import { AuthGateError } from './errors.js';
import { unguarded } from './unguarded.js';

// ---- ABI constants (include/authgate.h) ----------------------------------

const AG_ERR_BAD_CONFIG = -2;
export const AG_ERR_BAD_TOKENS = -3;

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
  TRANSACTION: 12,
  NAVIGATE: 13,
  SIGN: 14,
  KEY: 15,
});

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

/** enum ag_credentials for the caller's choice; an unknown string goes to the core as -1 (AG_ERR_INVALID). */
export const credentialsValue = (name) => (name === undefined ? 0 : CREDENTIALS.indexOf(name));

// struct ag_action: AG_ACTION_FIELDS fields of 32 bits, field i at byte 4*i.
const ACTION_FIELDS = 14;
const ACTION_BYTES = 4 * ACTION_FIELDS;
// struct ag_settings: storage, cross_tab, storage_key, base_url, dpop.
const SETTINGS_BYTES = 20;
const ERR_CAP = 256;

// ---- loading ---------------------------------------------------------------

let loading = null;

/**
 * The bound core, shared by every gate (sql.js-style: one cached promise).
 * A failed load is not cached, so a later gate tries again.
 */
export function loadCore() {
  loading ??= instantiate().catch((error) => {
    loading = null;
    throw new Error(`authgate: the wasm core (authgate-core.wasm) failed to load: ${error?.message ?? error}`, {
      cause: error,
    });
  });
  return loading;
}

async function instantiate() {
  if (typeof window !== 'undefined' || !globalThis.process?.versions?.node) return bind(await inBrowser());
  return bind(await createCoreModule(await nodeArguments()));
}

/**
 * In a browser the .wasm is fetched with the fetch underneath any guards:
 * the glue would use the global one, and a guard installed before the core
 * has loaded would wait for the very core it is waiting to download. The
 * literal URL lets bundlers (Vite, webpack) ship the file as an asset.
 */
function inBrowser() {
  let failed;
  const failure = new Promise((_, reject) => {
    failed = reject;
  });
  const instantiateWasm = (imports, receive) => {
    const download = () => unguarded(globalThis.fetch)(new URL('./authgate-core.wasm', import.meta.url));
    WebAssembly.instantiateStreaming(download(), imports)
      // A server that sends the wrong Content-Type for .wasm: compile from the bytes instead.
      .catch(() => download().then((response) => response.arrayBuffer()).then((bytes) => WebAssembly.instantiate(bytes, imports)))
      .then(({ instance, module }) => receive(instance, module), failed);
    return {}; // exports arrive through receive()
  };
  return Promise.race([createCoreModule({ instantiateWasm }), failure]);
}

/**
 * Emscripten 3.1.6 fetches the .wasm whenever fetch exists, which fails on a
 * file path in Node: there we hand it the bytes. The specifier is kept out of
 * sight of bundlers (Vite, webpack) so browser builds need no configuration.
 */
async function nodeArguments() {
  const fsModule = 'node:fs/promises';
  const { readFile } = await import(/* webpackIgnore: true */ /* @vite-ignore */ fsModule);
  // A variable, not a literal: webpack (Next.js server builds) rewrites a literal
  // new URL('./x.wasm', import.meta.url) into a public asset URL that is not a file.
  const wasmFile = './authgate-core.wasm';
  return { wasmBinary: await readFile(new URL(wasmFile, import.meta.url)) };
}

// ---- memory helpers --------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function bind(m) {
  // Heap views are re-created when memory grows: always read m.HEAPU8 afresh.
  const alloc = (n) => {
    const ptr = m._malloc(Math.max(n, 1));
    if (!ptr) throw new RangeError('authgate: the wasm core is out of memory');
    return ptr;
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
     * copies are freed when fn returns or throws.
     */
    withInputs(values, fn) {
      const owned = [];
      try {
        const args = [];
        for (const value of values) {
          if (value == null) {
            args.push(0, 0);
            continue;
          }
          const bytes = typeof value === 'string' ? encoder.encode(value) : value;
          const ptr = alloc(bytes.length);
          owned.push(ptr);
          m.HEAPU8.set(bytes, ptr);
          args.push(ptr, bytes.length);
        }
        return fn(...args);
      } finally {
        for (const ptr of owned) m._free(ptr);
      }
    },
    strerror: (err) => staticName('err', m._ag_strerror, err),
    codeName: (code) => staticName('code', m._ag_code_name, code),
    stateName: (state) => staticName('state', m._ag_state_name, state),
    /** Blocks the core holds now, all clients together (for leak tests). */
    liveAllocations: () => m._ag_live_allocations(),
  };
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
      throw new Error(`authgate: createAuthGate(): ${reason}`);
    }
    this.#handle = this.#x.HEAPU32[this.#out >> 2];
  }

  free() {
    this.#x._ag_client_free(this.#handle);
    this.#x._free(this.#scratch);
    this.#handle = 0;
  }

  /** {storage, crossTab, storageKey, baseUrl}, copied out of the core. */
  settings() {
    const ptr = this.#core.alloc(SETTINGS_BYTES);
    try {
      this.#x._ag_client_settings(this.#handle, ptr);
      const u32 = this.#x.HEAPU32;
      const i = ptr >> 2;
      return {
        storage: this.#x.HEAP32[i],
        crossTab: this.#x.HEAP32[i + 1] === 1,
        storageKey: this.#core.cstring(u32[i + 2]),
        baseUrl: this.#core.cstring(u32[i + 3]),
        dpop: this.#x.HEAP32[i + 4] === 1,
      };
    } finally {
      this.#x._free(ptr);
    }
  }

  start(now, blob) {
    return this.#core.withInputs([blob], (b, len) => this.#x._ag_client_start(this.#handle, now, b, len));
  }

  /** Returns the new call id; throws on a negative result (nothing was queued then). */
  call(now, method, url, authorization, credentials) {
    const rc = this.#core.withInputs([method, url, authorization], (m, mLen, u, uLen, a, aLen) =>
      this.#x._ag_client_call(this.#handle, now, m, mLen, u, uLen, a, aLen, credentials, this.#out),
    );
    return this.#idOrThrow(rc, `gate.fetch(${method} ${url})`);
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

  response(now, id, status, body) {
    return this.#core.withInputs([body], (b, len) =>
      this.#x._ag_client_response(this.#handle, now, id, status, b, len),
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

  lockGranted(now, blob) {
    return this.#core.withInputs([blob], (b, len) => this.#x._ag_client_lock_granted(this.#handle, now, b, len));
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

  guard(url, hasAuthorization, mode) {
    return this.#core.withInputs([url], (u, len) =>
      this.#x._ag_client_guard(this.#handle, u, len, hasAuthorization ? 1 : 0, mode),
    );
  }

  /** The plan as a JSON string, or null when the core could not make one. */
  plan(url) {
    return this.#core.cstring(this.#core.withInputs([url], (u, len) => this.#x._ag_client_plan(this.#handle, u, len)));
  }

  /** The Diagnosis as a JSON string, or null when the core could not make one. */
  diagnose(url, reachable, simpleStatus, authStatus) {
    return this.#core.cstring(
      this.#core.withInputs([url], (u, len) =>
        this.#x._ag_client_diagnose(this.#handle, u, len, reachable ? 1 : 0, simpleStatus, authStatus),
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
    return {
      type: i32[i],
      id: u32[i + 1],
      code: i32[i + 2],
      credentials: i32[i + 3],
      replay: i32[i + 4] === 1,
      method: core.cstring(u32[i + 5]),
      url: core.cstring(u32[i + 6]),
      authorization: core.cstring(u32[i + 7]),
      body: core.bytes(u32[i + 8], u32[i + 9]),
      contentType: core.cstring(u32[i + 10]),
      text: core.text(u32[i + 11], u32[i + 12]),
      dpop: core.cstring(u32[i + 13]),
    };
  }

  #idOrThrow(rc, what) {
    if (rc !== 0) throw new Error(`authgate: ${what}: ${this.#core.strerror(rc)}`);
    return this.#x.HEAPU32[this.#out >> 2];
  }
}
