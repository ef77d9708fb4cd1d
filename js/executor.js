/**
 * The executor: feeds events to the core, drains its actions and performs
 * them. It decides nothing about auth; it carries call ids, requests and
 * responses, and keeps the one timer the core asks for.
 */
import { AuthGateError, destroyedError } from './errors.js';
import {
  ACTION,
  AG_ERR_BAD_TOKENS,
  AG_ERR_NOMEM,
  outOfMemory,
  CoreClient,
  SEND_CALL,
  SEND_REVOKE,
  STATE_INITIALIZING,
  WAKE,
  credentialsName,
  credentialsValue,
  loadCore,
} from './core.js';
import { currentUrl, navigate, openTransactions, randomBytes } from './oidc.js';
import { openStorage } from './storage.js';
import { openTabs } from './tabs.js';
import { unguarded } from './unguarded.js';

// setTimeout fires at once for delays above 2^31-1 ms; a far deadline is re-armed on the way.
const MAX_TIMER_MS = 2 ** 31 - 1;
// How long to wait before handing the core again an event it had no memory for (a tick, a lock grant, a cancel).
const NOMEM_RETRY_MS = 100;
// How long a logout's redirect waits for the DPoP key's removal from IndexedDB (it takes a
// few milliseconds; the wait is bounded so a stuck database cannot keep the page here).
const KEY_REMOVAL_WAIT_MS = 2000;

export class Executor {
  #core = null;
  #client = null;
  #opened;
  #destroyed = false;
  #fetch;
  #now;
  #storageArea;
  #storage = null;
  #transactions = null;
  #tabs = null;
  #timer = null;
  #armedFor = -1; // the deadline the timer is set for
  #draining = false;
  #pendingTokens = null; // setTokens() before the core was loaded
  #openError = null; // why the client could not be created (BAD_CONFIG, load failure)
  #dpopEnvironment;
  #dpop = null; // the key store with options.dpop
  #key = null; // the promise of the key last given to the core: {privateKey, jwk}
  #calls = new Map(); // id → {resolve, reject, signal?, onAbort?, response?, status?, failure?, ...request}
  #listeners = new Set();
  #sessionListeners = new Set();
  #session = null; // the core's last SESSION, parsed
  #readyWaiters = [];
  #unlistenWake = null;

  /**
   * @param {{optionsJson: string, oidc?: boolean, dpop?: boolean, fetch?: typeof fetch, now?: () => number,
   *          storageArea?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>}} options
   */
  constructor({ optionsJson, oidc = false, dpop = false, fetch, now, storageArea, dpopEnvironment }) {
    this.#dpopEnvironment = dpopEnvironment ?? {};
    this.#fetch = fetch;
    this.#now = now ?? Date.now;
    this.#storageArea = storageArea;
    const pageOrigin = globalThis.location?.origin ?? '';
    // js/dpop.js is a file of its own, loaded beside the core by a gate with dpop only.
    const keys = dpop ? import('./dpop.js') : null;
    this.#opened = Promise.all([loadCore(oidc), keys]).then(([core, dpopModule]) =>
      this.#open(core, optionsJson, pageOrigin, dpopModule),
    );
    // A gate nobody awaits must not report an unhandled rejection; every method re-throws it.
    this.#opened.catch((error) => {
      this.#openError = error;
    });
  }

  #open(core, optionsJson, pageOrigin, dpopModule) {
    if (this.#destroyed) throw destroyedError();
    this.#core = core;
    const client = new CoreClient(core, optionsJson, pageOrigin);
    this.#client = client;
    const settings = client.settings();
    // The core accepts dpop only as `true`, the value that made the shim load dpop.js.
    if (settings.dpop) this.#dpop = dpopModule.openDpopKeys({ storageKey: settings.storageKey, ...this.#dpopEnvironment });
    this.#storage = openStorage(settings.storage, settings.storageKey, this.#storageArea);
    this.#transactions = openTransactions(settings.storageKey);
    this.#tabs = openTabs({
      name: settings.storageKey,
      crossTab: settings.crossTab,
      area: this.#storage.area,
      onMessage: (text) => this.#message(text),
    });
    // Jitter for retry back-offs; the core has no randomness of its own.
    if (globalThis.crypto?.getRandomValues) client.seed(globalThis.crypto.getRandomValues(new Uint8Array(16)));
    const blob = this.#storage.read();
    // Out of memory, start changed nothing: try once more, then the gate fails as a failed load does.
    if (client.start(this.#now(), blob) === AG_ERR_NOMEM && client.start(this.#now(), blob) === AG_ERR_NOMEM) {
      this.#tabs.close();
      client.free();
      this.#client = null;
      throw outOfMemory('createAuthGate()', 'the gate could not start; create it again');
    }
    this.#listenForWake();
    if (this.#pendingTokens !== null) {
      try {
        this.#applyTokens(this.#pendingTokens);
      } catch (error) {
        // setTokens() returned long ago: the refusal can only be reported.
        console.error(error);
      }
      this.#pendingTokens = null;
    }
    this.#drain();
  }

  /**
   * The core's KEY: reads the DPoP key from IndexedDB afresh (another tab may have made a new one
   * since the last sign-out), or makes it under the cross-tab lock, and gives its public half.
   */
  #loadKey() {
    const loading = this.#dpop.load();
    this.#key = loading;
    loading.then(
      (key) => this.#feedLater((c, now) => c.dpopKey(now, key.jwk, this.#dpop.seed())),
      (error) => {
        console.error(new Error('authgate: the DPoP key could not be made or read', { cause: error }));
        this.#feedLater((c, now) => c.dpopKey(now, null, null));
      },
    );
  }

  /** A proof for getAccessToken()'s token, for requests outside gate.fetch (WebSocket, SSE, SDKs). */
  async getDpopProof(request) {
    const { method, url } = request ?? {};
    if (typeof method !== 'string' || typeof url !== 'string') {
      throw new AuthGateError('BAD_CONFIG', 'gate.getDpopProof(): pass {method, url}, e.g. {method: "GET", url: "/events"}.');
    }
    const client = await this.client(); // the core waits as for getAccessToken (readiness, a due refresh)
    return this.#track(client.dpopProof(this.#now(), method, url), { proof: true });
  }

  /** The open client, once the core is loaded; rejects with the BAD_CONFIG (or load) error, or after destroy(). */
  async client() {
    await this.#opened;
    if (this.#destroyed) throw destroyedError();
    return this.#client;
  }

  /** The fetch the gate sends with: the injected one, or the global one under any guards. */
  fetchImpl() {
    return this.#fetch ?? unguarded(globalThis.fetch);
  }

  get state() {
    return this.#client ? this.#core.stateName(this.#client.state()) : 'initializing';
  }

  async ready() {
    const client = await this.client();
    const state = client.readyState();
    if (state !== STATE_INITIALIZING) return this.#core.stateName(state);
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  /** The session as the core last reported it (null while initializing or anonymous). */
  get session() {
    return this.#session;
  }

  onSession(listener) {
    const entry = { listener };
    this.#sessionListeners.add(entry);
    return () => this.#sessionListeners.delete(entry);
  }

  async getAccessToken() {
    const client = await this.client();
    return this.#track(client.token(this.#now()), { token: true });
  }

  subscribe(listener) {
    const entry = { listener }; // one entry per subscription, so the same listener may subscribe twice
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  async fetch(input, init) {
    const { authgate, ...rest } = init ?? {};
    const call = await describeCall(input, init && rest);
    const optionsJson = authgate === undefined ? null : JSON.stringify(authgate);
    const client = await this.client();
    call.signal?.throwIfAborted();
    const id = client.call(
      this.#now(),
      call.method,
      call.url,
      call.own.Authorization,
      credentialsValue(call.credentials),
      optionsJson,
    );
    return this.#track(id, call);
  }

  async login(credentials) {
    const json = JSON.stringify(credentials);
    const client = await this.client();
    return this.#track(client.login(this.#now(), json), { login: true });
  }

  setTokens(tokens) {
    if (typeof tokens?.access !== 'string' || tokens.access === '') {
      throw new AuthGateError(
        'BAD_TOKEN_RESPONSE',
        'setTokens(): `access` must be a non-empty string; pass {access, refresh?, expiresIn?}.',
      );
    }
    const json = JSON.stringify(tokens);
    if (this.#destroyed) throw destroyedError();
    if (this.#openError) throw this.#openError;
    if (!this.#client) {
      this.#pendingTokens = json; // applied right after start, before any queued call reaches the core
      return;
    }
    this.#applyTokens(json);
    this.#drain();
  }

  /** With oidc, the core also revokes and (redirect) sends the page to the end-session endpoint. */
  async logout(options) {
    const redirect = options?.redirect ?? true;
    if (typeof redirect !== 'boolean') {
      throw new AuthGateError('BAD_CONFIG', 'gate.logout(): `redirect` must be a boolean (default true).');
    }
    const client = await this.client();
    if (!this.#dpop) return this.#track(client.logoutRedirect(this.#now(), redirect), { task: true });
    // The revocation was signed with the key: it goes once the logout is over (the next sign-in
    // makes a new one), and before the page leaves for the end-session endpoint: the logout's
    // NAVIGATE waits for the removal, or the page could unload with the key still stored.
    let removal = null;
    // Bounded: an IndexedDB that never answers must keep neither the page nor logout() waiting.
    const forgetKey = () =>
      (removal ??= new Promise((resolve) => {
        const giveUp = setTimeout(resolve, KEY_REMOVAL_WAIT_MS);
        this.#dpop
          .remove()
          .catch(() => {})
          .then(() => {
            clearTimeout(giveUp);
            resolve();
          });
      }));
    const result = await this.#track(client.logoutRedirect(this.#now(), redirect), { task: true, forgetKey });
    await forgetKey();
    return result;
  }

  async loginWithRedirect(options) {
    const { returnTo, params } = options ?? {};
    if (returnTo !== undefined && typeof returnTo !== 'string') {
      throw new AuthGateError('BAD_CONFIG', 'gate.loginWithRedirect(): `returnTo` must be a string, e.g. "/inbox".');
    }
    if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) {
      throw new AuthGateError('BAD_CONFIG', 'gate.loginWithRedirect(): `params` must be an object of strings.');
    }
    const client = await this.client();
    const paramsJson = params === undefined ? null : JSON.stringify(params);
    const id = client.loginRedirect(this.#now(), randomBytes(), returnTo ?? null, paramsJson);
    return this.#track(id, { task: true });
  }

  /** Resolves {returnTo}; a second call (StrictMode) joins the first: the core decides. */
  async handleRedirectCallback(url) {
    if (url !== undefined && typeof url !== 'string') {
      throw new AuthGateError('BAD_CONFIG', 'gate.handleRedirectCallback(): `url` must be a string (default: location.href).');
    }
    const client = await this.client();
    const id = client.redirectCallback(this.#now(), url ?? currentUrl(), this.#transactions.read());
    const answer = await this.#track(id, { task: true });
    return { returnTo: answer?.returnTo ?? null };
  }

  destroy() {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearTimeout(this.#timer);
    this.#unlistenWake?.();
    this.#tabs?.close();
    for (const id of [...this.#calls.keys()]) this.#settle(id, 'reject', destroyedError());
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(destroyedError());
    this.#client?.free();
    this.#client = null;
  }

  // ---- events in, actions out ----------------------------------------------

  #applyTokens(json) {
    const rc = this.#client.setTokens(this.#now(), json);
    if (rc === AG_ERR_NOMEM) throw outOfMemory('setTokens()', 'the tokens were not taken; nothing changed');
    if (rc === AG_ERR_BAD_TOKENS) {
      throw new AuthGateError(
        'BAD_TOKEN_RESPONSE',
        `setTokens(): the tokens were refused (${this.#core.strerror(rc)}); nothing changed.`,
      );
    }
  }

  /**
   * A sleeping laptop or a throttled tab fires no timers: tell the core when
   * the page is back (visible, shown, online) so it handles what came due.
   */
  #listenForWake() {
    const win = typeof window === 'undefined' ? null : window;
    const doc = typeof document === 'undefined' ? null : document;
    if (!win?.addEventListener) return;
    // Out of memory the wake changed nothing: tell it again shortly.
    const wake = (reason) => {
      if (this.#feed((c, now) => c.wake(now, reason)) === AG_ERR_NOMEM) this.#later(() => wake(reason));
    };
    const onVisible = () => doc.visibilityState === 'visible' && wake(WAKE.VISIBLE);
    const onOnline = () => wake(WAKE.ONLINE);
    const onShow = () => wake(WAKE.PAGESHOW);
    doc?.addEventListener('visibilitychange', onVisible);
    win.addEventListener('online', onOnline);
    win.addEventListener('pageshow', onShow);
    this.#unlistenWake = () => {
      doc?.removeEventListener('visibilitychange', onVisible);
      win.removeEventListener('online', onOnline);
      win.removeEventListener('pageshow', onShow);
    };
  }

  /** Feeds one event (unless destroyed), performs what follows and returns the core's result. */
  #feed(event) {
    if (this.#destroyed) return 0;
    const rc = event(this.#client, this.#now());
    this.#drain();
    return rc;
  }

  /**
   * Feeds what happened to call `id` (its response or its network failure).
   * Out of memory there, the core either settled the call itself (a login it
   * rejects OUT_OF_MEMORY, a refresh it backs off from) or changed nothing: then
   * the call is failed here, and the core forgets it; a refresh is reported as
   * failed, so the core backs off and retries. Nothing is left hanging.
   */
  #feedOutcome(id, event, what) {
    if (this.#feed(event) !== AG_ERR_NOMEM) return;
    if (this.#calls.has(id)) this.#fail(id, outOfMemory(what, 'its answer could not be taken; the call failed'));
    else this.#feed((c, now) => c.networkError(now, id)); // a refresh: ignored if the core already let it go
  }

  /** A message from another tab; out of memory it is lost, so say so rather than drop it silently. */
  #message(text) {
    if (this.#feed((c, now) => c.message(now, text)) !== AG_ERR_NOMEM) return;
    console.error(
      'authgate: a session update from another tab could not be taken (out of memory); this tab keeps ' +
        'its own session until the next update.',
    );
  }

  /** The cross-tab lock is held. Out of memory twice, the grant is handed back and asked for again later. */
  #lockGranted(newestShared) {
    const grant = (c, now) => c.lockGranted(now, this.#storage.read(), newestShared);
    if (this.#feed(grant) !== AG_ERR_NOMEM || this.#feed(grant) !== AG_ERR_NOMEM) return;
    this.#tabs.unlock();
    this.#later(() => this.#tabs.lock((newest) => this.#lockGranted(newest)));
  }

  #later(fn) {
    setTimeout(() => !this.#destroyed && fn(), NOMEM_RETRY_MS).unref?.();
  }

  /** The core forgets call `id`; out of memory it changed nothing, so ask again shortly. */
  #cancel(id) {
    if (this.#feed((c, now) => c.cancel(now, id)) === AG_ERR_NOMEM) this.#later(() => this.#cancel(id));
  }

  /** Settles `request` (an object of this module's own making: it becomes the call's entry) with call `id`. */
  #track(id, request) {
    const entry = request;
    const promise = new Promise((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    this.#calls.set(id, entry);
    if (entry.signal) {
      entry.onAbort = () => {
        entry.controller?.abort(entry.signal.reason);
        this.#fail(id, entry.signal.reason);
      };
      entry.signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    this.#drain();
    return promise;
  }

  // An event fed while draining (a subscriber calling setTokens) leaves its actions to the running loop.
  #drain() {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let action; !this.#destroyed && (action = this.#client.nextAction()); ) this.#perform(action);
    } finally {
      this.#draining = false;
    }
    if (this.#destroyed) return;
    this.#arm();
    this.#settleReady();
  }

  #perform(action) {
    switch (action.type) {
      case ACTION.SEND:
        if (action.code === SEND_CALL) this.#sendCall(action);
        else this.#sendOwn(action);
        break;
      case ACTION.RESOLVE: {
        const entry = this.#calls.get(action.id);
        let value = entry?.login ? undefined : entry?.response;
        if (entry?.token || entry?.proof) value = action.text;
        else if (entry?.task) value = action.text ? JSON.parse(action.text) : undefined;
        this.#settle(action.id, 'resolve', value);
        break;
      }
      case ACTION.ABORT: // the attempt's deadline passed; the core's REJECT follows
        this.#calls.get(action.id)?.controller?.abort(new DOMException('authgate: timeout', 'TimeoutError'));
        break;
      case ACTION.SESSION:
        this.#session = JSON.parse(action.text);
        this.#tell(this.#sessionListeners, this.#session);
        break;
      case ACTION.SIGN:
        this.#sign(action.id, action.text);
        break;
      case ACTION.KEY:
        this.#loadKey();
        break;
      case ACTION.TRANSACTION:
        this.#transactions.write(action.text);
        break;
      case ACTION.NAVIGATE: {
        const forgetKey = this.#calls.get(action.id)?.forgetKey; // a logout's: the key goes first
        if (forgetKey) forgetKey().then(() => navigate(action.code, action.text));
        else navigate(action.code, action.text);
        break;
      }
      case ACTION.REJECT:
        this.#reject(action);
        break;
      case ACTION.LOCK:
        this.#tabs.lock((newest) => this.#lockGranted(newest));
        break;
      case ACTION.UNLOCK:
        this.#tabs.unlock(action.text);
        break;
      case ACTION.PERSIST:
        this.#storage.write(action.text);
        break;
      case ACTION.CLEAR_STORAGE:
        this.#storage.clear();
        break;
      case ACTION.BROADCAST:
        this.#tabs.post(action.text);
        break;
      case ACTION.STATE:
        this.#notify(this.#core.stateName(action.code));
        break;
    }
  }

  /** Signs the core's bytes with the DPoP key; a failure is reported as no signature. */
  async #sign(id, text) {
    let signature = null;
    try {
      const key = await this.#key; // the core only signs with a key it was given
      signature = await this.#dpop.sign(key.privateKey, text);
    } catch (error) {
      const entry = this.#calls.get(id);
      if (entry) entry.failure = error;
    }
    this.#feedLater((c, now) => c.dpopSignature(now, id, signature));
  }

  /** An answer the core must get (a signature, the key): out of memory it changed nothing, so again later. */
  #feedLater(event) {
    if (this.#feed(event) === AG_ERR_NOMEM) this.#later(() => this.#feedLater(event));
  }

  #reject(action) {
    const entry = this.#calls.get(action.id);
    if (!entry) return;
    const details = { status: entry.status };
    if (entry.failure !== undefined) details.cause = entry.failure;
    entry.response?.body?.cancel().catch(() => {});
    this.#settle(action.id, 'reject', new AuthGateError(this.#core.codeName(action.code), action.text, details));
  }

  #settle(id, how, value) {
    const entry = this.#calls.get(id);
    if (!entry) return;
    this.#calls.delete(id);
    entry.signal?.removeEventListener('abort', entry.onAbort);
    entry[how](value);
  }

  /** The caller aborted, or its request could not even be built: the core forgets the call. */
  #fail(id, error) {
    if (!this.#calls.has(id)) return;
    this.#calls.get(id).response?.body?.cancel().catch(() => {}); // a response kept for a retry
    this.#settle(id, 'reject', error);
    this.#cancel(id);
  }

  #notify(state) {
    this.#tell(this.#listeners, state);
  }

  #tell(listeners, value) {
    for (const { listener } of [...listeners]) {
      try {
        listener(value);
      } catch (error) {
        // A failing subscriber must not stop the drain; report it as an uncaught error.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #settleReady() {
    if (this.#readyWaiters.length === 0) return;
    const state = this.#client.readyState();
    if (state === STATE_INITIALIZING) return;
    const name = this.#core.stateName(state);
    for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve(name);
  }

  #arm() {
    const deadline = this.#client.nextDeadline();
    if (this.#timer !== null && deadline === this.#armedFor) return; // most events leave it as it was
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedFor = deadline;
    if (deadline < 0) return;
    const delay = Math.min(Math.max(deadline - this.#now(), 0), MAX_TIMER_MS);
    this.#setTimer(delay);
  }

  #setTimer(delay) {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#feed((c, now) => c.tick(now)) !== AG_ERR_NOMEM) return;
      // Out of memory the tick changed nothing: try again shortly, not in a tight loop.
      clearTimeout(this.#timer);
      this.#setTimer(NOMEM_RETRY_MS);
    }, delay);
    // In Node (tests, server helpers) a pending refresh must not keep the process alive.
    this.#timer?.unref?.();
  }

  // ---- requests --------------------------------------------------------------

  /** An app call: the caller's request, with the URL, Authorization and credentials the core gives. */
  async #sendCall(action) {
    const { id } = action;
    const entry = this.#calls.get(id);
    if (!entry) return;
    entry.response?.body?.cancel().catch(() => {}); // the 401 this replay replaces
    // A controller per attempt that something may abort: the core at the attempt's deadline, the
    // caller's signal through onAbort. Most calls have neither, and make none.
    entry.controller = action.abortable || entry.signal ? new AbortController() : null;
    let request;
    try {
      request = buildRequest(entry, action, entry.controller?.signal);
    } catch (error) {
      this.#fail(id, error);
      return;
    }
    let response;
    try {
      response = await this.fetchImpl().call(globalThis, action.url, request);
    } catch (error) {
      if (!this.#calls.has(id)) return; // settled meanwhile (aborted, destroyed)
      if (entry.signal?.aborted) this.#fail(id, entry.signal.reason);
      else if (error instanceof TypeError) {
        entry.failure = error;
        this.#feedOutcome(id, (c, now) => c.networkError(now, id), `gate.fetch(${action.method} ${action.url})`);
      } else this.#fail(id, error);
      return;
    }
    if (!this.#calls.has(id)) {
      response.body?.cancel().catch(() => {});
      return;
    }
    entry.response = response;
    entry.status = response.status;
    const retryAfter = response.headers.get('retry-after');
    this.#feedOutcome(
      id,
      (c, now) => this.#respondHeaders(c, id, response) ?? c.response(now, id, response.status, null, retryAfter),
      `gate.fetch(${action.method} ${action.url})`,
    );
  }

  /** The DPoP response headers, to a core that has DPoP: without it the core reads none of them. */
  #respondHeaders(client, id, response) {
    return this.#dpop ? respondHeaders(client, id, response) : undefined;
  }

  /** The core's own request (login, refresh): performed as given, the body handed back. */
  async #sendOwn(action) {
    const { id } = action;
    const controller = new AbortController(); // a login past its deadline is aborted (a refresh never is)
    const own = this.#calls.get(id);
    if (own) own.controller = controller;
    const init = { method: action.method, body: action.body, signal: controller.signal };
    init.headers = {};
    if (action.contentType !== null) init.headers['Content-Type'] = action.contentType;
    if (action.dpop !== null) init.headers.DPoP = action.dpop;
    if (action.code === SEND_REVOKE) init.keepalive = true; // it may outlive the page (logout redirects)
    const credentials = credentialsName(action.credentials);
    if (credentials) init.credentials = credentials;
    let status;
    let body;
    let response;
    try {
      response = await this.fetchImpl().call(globalThis, action.url, init);
      status = response.status;
      body = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      const entry = this.#calls.get(id);
      if (entry) entry.failure = error;
      this.#feedOutcome(id, (c, now) => c.networkError(now, id), `${action.method} ${action.url}`);
      return;
    }
    const entry = this.#calls.get(id);
    if (entry) entry.status = status;
    this.#feedOutcome(
      id,
      (c, now) => this.#respondHeaders(c, id, response) ?? c.response(now, id, status, body),
      `${action.method} ${action.url}`,
    );
  }
}

// ---- the caller's request ------------------------------------------------------

// What a Request passes on besides method, headers, body, credentials and signal.
const REQUEST_FIELDS = ['cache', 'integrity', 'keepalive', 'mode', 'redirect', 'referrer', 'referrerPolicy'];

/**
 * The caller's request, taken apart so it can be rebuilt with the core's URL,
 * and rebuilt again for the replay after a 401. Bodies are kept in a
 * re-sendable form; a ReadableStream cannot be re-sent and is refused.
 * `credentials` is the caller's explicit choice (init only: a Request always
 * has one, so its own says nothing about intent).
 */
async function describeCall(input, init) {
  init ??= {};
  const source = input instanceof Request ? input : null;
  // The caller's input as given: the core resolves it (baseUrl, its path prefix, the URL Standard).
  const url = source ? source.url : String(input);
  const method = init.method ?? source?.method ?? 'GET';
  let body = init.body ?? null;
  if (typeof ReadableStream === 'function' && body instanceof ReadableStream) {
    throw new TypeError(
      `authgate: gate.fetch(${method} ${url}): a ReadableStream body cannot be re-sent if the call is ` +
        'replayed after a refresh; pass a string, Blob, ArrayBuffer, FormData or URLSearchParams.',
    );
  }
  if (init.body === undefined && source?.body) body = await source.arrayBuffer();
  const carried = {};
  for (const field of REQUEST_FIELDS) if (source && source[field] !== undefined) carried[field] = source[field];
  const headers = new Headers(init.headers ?? source?.headers);
  return {
    url,
    method,
    headers,
    // The caller's own values of the headers an attempt may set (DPoP read when first needed);
    // its Authorization also tells the core the caller authorizes this call itself.
    own: { Authorization: headers.get('authorization'), DPoP: undefined },
    replaced: { Authorization: false, DPoP: false }, // by an earlier attempt
    body,
    credentials: init.credentials,
    signal: init.signal ?? source?.signal ?? null,
    init: { ...carried, ...init },
  };
}

/**
 * Gives the core the response headers it reads for DPoP (null when absent or
 * not exposed by CORS). Returns AG_ERR_NOMEM when they could not be taken (the
 * core changed nothing: the response is then not fed either), else undefined.
 */
function respondHeaders(client, id, response) {
  const headers = response.headers;
  if (!headers?.get) return undefined;
  const rc = client.responseHeaders(id, headers.get('DPoP-Nonce'), headers.get('WWW-Authenticate'));
  return rc === AG_ERR_NOMEM ? rc : undefined;
}

// What fetch() itself may refuse in a RequestInit beyond its URL: a call that uses any of
// these is checked by building a Request first, so a mistake is the caller's TypeError, not a
// network failure (fetch() would reject with the same TypeError it gives when offline).
const CHECKED_FIELDS = ['mode', 'cache', 'referrer', 'referrerPolicy', 'integrity', 'priority', 'window', 'duplex'];
const PLAIN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Whether the call's init can go to fetch() as it is (the common case: no Request is built). */
function isPlainCall(call) {
  if (!PLAIN_METHODS.has(call.method)) return false;
  if (call.body !== null && (call.method === 'GET' || call.method === 'HEAD')) return false;
  return !CHECKED_FIELDS.some((field) => call.init[field] !== undefined);
}

/**
 * The core's value of a header for this attempt; with none (null), the
 * caller's own again, in case an earlier attempt replaced it.
 */
function setHeader(call, name, value) {
  if (value !== null) {
    if (call.own[name] === undefined) call.own[name] = call.headers.get(name);
    call.headers.set(name, value);
    call.replaced[name] = true;
  } else if (call.replaced[name]) {
    if (call.own[name] === null) call.headers.delete(name);
    else call.headers.set(name, call.own[name]);
    call.replaced[name] = false;
  }
}

/** The RequestInit of one attempt: the caller's, with the core's method, headers and credentials. */
function buildRequest(call, action, signal) {
  // The call's own copy of the caller's headers (describeCall), changed in place: fetch() copies it.
  const headers = call.headers;
  setHeader(call, 'Authorization', action.authorization);
  setHeader(call, 'DPoP', action.dpop);
  const init = { ...call.init, method: action.method, headers, body: call.body, signal };
  const credentials = credentialsName(action.credentials);
  if (credentials) init.credentials = credentials;
  call.plain ??= isPlainCall(call);
  if (!call.plain) new Request(action.url, init); // throws the platform's TypeError for a bad init
  return init;
}
