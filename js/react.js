/**
 * authgate/react: a provider, hooks over one gate, <AuthReady> for the parts
 * that need the auth state, <RequireAuth> for the parts that need a session,
 * and a redirect-callback helper for OIDC.
 *
 * The app creates the gate once, outside render (module scope), and hands it
 * to <AuthGateProvider gate={gate}>: the provider never creates, replaces or
 * destroys a gate, so StrictMode's double render and double effects cannot
 * produce a second one. The provider renders its children at once, on the
 * server too (SSR keeps the page); only <AuthReady> holds its children back
 * until the state is known. Values are read with useSyncExternalStore, so
 * every component sees the same value in the same render (no tearing); on the
 * server and during hydration they read as "not known yet".
 *
 * Importing this module touches no browser global (SSR-safe).
 */
import { createContext, createElement, useContext, useEffect, useRef, useState, useSyncExternalStore } from 'react';

// The context holds {gate}: a provider given no gate (a server render) is told apart from no provider.
const GateContext = createContext(null);
GateContext.displayName = 'AuthGate';

// ---- readiness, per gate -----------------------------------------------------
// gate.ready() is a promise; useSyncExternalStore needs a synchronous snapshot.
// One record per gate, shared by every component that reads it.

const PENDING = { status: 'pending' };
const READY = { status: 'ready' };
const readiness = new WeakMap(); // gate → {snapshot, listeners, asked}

function readinessOf(gate) {
  let record = readiness.get(gate);
  if (!record) {
    record = { snapshot: PENDING, listeners: new Set(), asked: false };
    readiness.set(gate, record);
  }
  return record;
}

function askReady(gate, record) {
  if (record.asked) return;
  record.asked = true;
  const settle = (snapshot) => {
    record.snapshot = snapshot;
    for (const listener of [...record.listeners]) listener();
  };
  gate.ready().then(
    () => settle(READY),
    (error) => settle({ status: 'error', error }),
  );
}

// ---- the session, per gate ---------------------------------------------------
// gate.session is the core's; a snapshot must stay the same object while the
// session does, so a read equal to the last one returns the last one.

function sameSession(a, b) {
  if (a === b) return true;
  if (a === null || b === null) return false;
  return (
    a.expiresAt === b.expiresAt &&
    a.refreshAt === b.refreshAt &&
    a.scope === b.scope &&
    a.tokenType === b.tokenType &&
    JSON.stringify(a.claims) === JSON.stringify(b.claims)
  );
}

// Stable store functions per gate, so React does not resubscribe on every render.
const stores = new WeakMap();
function storeOf(gate) {
  let store = stores.get(gate);
  if (store) return store;
  const record = readinessOf(gate);
  let session = null;
  store = {
    readiness: {
      subscribe(listener) {
        record.listeners.add(listener);
        askReady(gate, record);
        return () => record.listeners.delete(listener);
      },
      getSnapshot: () => record.snapshot,
    },
    getState: () => gate.state,
    // The session changes on onSession; a state change (start-up, sign-out) is listened to as well.
    subscribeSession(listener) {
      const stopSession = gate.onSession(() => listener());
      const stopState = gate.subscribe(() => listener());
      return () => {
        stopSession();
        stopState();
      };
    },
    getSession() {
      const next = gate.session ?? null;
      if (!sameSession(session, next)) session = next;
      return session;
    },
  };
  stores.set(gate, store);
  return store;
}

// Hooks read this on the server, during hydration, and under a provider given no gate.
const NO_GATE = {
  readiness: { subscribe: () => () => {}, getSnapshot: () => PENDING },
  getState: () => 'initializing',
  subscribeSession: () => () => {},
  getSession: () => null,
};
const serverReadiness = () => PENDING;
const serverState = () => 'initializing';
const serverSession = () => null;
const subscribeNothing = () => () => {};

function isGate(gate) {
  return (
    !!gate &&
    typeof gate.subscribe === 'function' &&
    typeof gate.ready === 'function' &&
    typeof gate.onSession === 'function'
  );
}

function checkGate(gate, who) {
  if (!isGate(gate)) {
    throw new TypeError(
      `authgate/react: ${who} needs a gate from createAuthGate(); create it once at module scope ` +
        '(not inside a component) and pass it as <AuthGateProvider gate={gate}>.',
    );
  }
}

/**
 * The gate a hook works on: the one passed in, else the provider's. `null`
 * under a provider that was given no gate (a server render); throws outside
 * any provider.
 */
function targetGate(gate, who) {
  const context = useContext(GateContext);
  if (gate !== undefined && gate !== null) {
    checkGate(gate, who);
    return gate;
  }
  if (!context) {
    const withGate = who.endsWith('()') ? who.replace('()', '(gate)') : who.replace('>', ' gate={gate}>');
    throw new Error(
      `authgate/react: ${who} was called outside <AuthGateProvider gate={gate}> and without a gate; ` +
        `wrap the tree in the provider or pass the gate: ${withGate}.`,
    );
  }
  return context.gate;
}

// ---- public API ----------------------------------------------------------------

/**
 * Provides `gate` to the hooks below it and renders `children` at once, on
 * the server too. `gate` may be null where no gate exists (the server render
 * of a Next.js page): the hooks then read "not known yet". Put <AuthReady>
 * around what must wait for the auth state.
 */
export function AuthGateProvider(props) {
  const { gate = null, children } = props;
  if (gate !== null) checkGate(gate, '<AuthGateProvider>');
  if ('fallback' in props) {
    throw new TypeError(
      'authgate/react: <AuthGateProvider fallback> is gone: the provider renders its children at once (on the ' +
        'server too); wrap only what needs the auth state in <AuthReady fallback={…}>.',
    );
  }
  // One context value per gate, so consumers do not re-render when the provider does.
  const value = gate === null ? NO_GATE_CONTEXT : contextOf(gate);
  return createElement(GateContext.Provider, { value }, children);
}

const NO_GATE_CONTEXT = Object.freeze({ gate: null });
const contexts = new WeakMap();
function contextOf(gate) {
  let value = contexts.get(gate);
  if (!value) {
    value = Object.freeze({ gate });
    contexts.set(gate, value);
  }
  return value;
}

/**
 * Renders `fallback` (default: nothing) on the server, during hydration and
 * until gate.ready() resolves, then `children`. If ready() rejects
 * (BAD_CONFIG, the wasm failed to load) the error is thrown during render,
 * for the nearest error boundary.
 */
export function AuthReady({ gate, fallback = null, children }) {
  return useAuthReady(gate) ? children : fallback;
}

/** Whether gate.ready() has resolved: false on the server and during hydration; a rejection is thrown. */
export function useAuthReady(gate) {
  return useReadyOf(targetGate(gate, 'useAuthReady()'));
}

// The hooks' bodies, on a gate already found (null: not known yet).
function useReadyOf(target) {
  const { readiness: store } = target ? storeOf(target) : NO_GATE;
  const ready = useSyncExternalStore(store.subscribe, store.getSnapshot, serverReadiness);
  if (ready.status === 'error') throw ready.error;
  return ready.status === 'ready';
}

function useSessionOf(target) {
  const store = target ? storeOf(target) : NO_GATE;
  return useSyncExternalStore(store.subscribeSession, store.getSession, serverSession);
}

/**
 * The gate of the nearest <AuthGateProvider>; throws outside one. `null`
 * under a provider given no gate (a server render): use it in effects and
 * event handlers, not to decide what to render.
 */
export function useAuthGate() {
  const context = useContext(GateContext);
  if (!context) {
    throw new Error(
      'authgate/react: useAuthGate() was called outside <AuthGateProvider gate={gate}>; wrap the app (or this tree) in the provider.',
    );
  }
  return context.gate;
}

/**
 * The gate's state ('initializing' | 'authenticated' | 'anonymous' |
 * 'refreshing'); the component re-renders when it changes. 'initializing' on
 * the server. Reads the provider's gate, or the one passed in.
 */
export function useAuthState(gate) {
  const target = targetGate(gate, 'useAuthState()');
  return useSyncExternalStore(target ? target.subscribe : subscribeNothing, target ? storeOf(target).getState : serverState, serverState);
}

/**
 * gate.session (expiresAt, refreshAt, scope, tokenType, claims), or null while
 * initializing or anonymous; re-renders after every login, refresh,
 * setTokens and logout, here or in another tab. null on the server.
 */
export function useSession(gate) {
  return useSessionOf(targetGate(gate, 'useSession()'));
}

/**
 * Whether there is a session: true while authenticated and while a refresh
 * is under way (it does not flicker on every refresh), false while
 * initializing, anonymous and on the server.
 */
export function useIsAuthenticated(gate) {
  return useSession(gate) !== null;
}

/**
 * For the OIDC redirectUri page: calls gate.handleRedirectCallback() once the
 * page is mounted and returns {status: 'pending' | 'done' | 'error',
 * returnTo, error}. StrictMode's second effect calls it again; the gate
 * exchanges the code once and both calls settle alike, so the result is the same.
 */
export function useRedirectCallback(gate) {
  const target = targetGate(gate, 'useRedirectCallback()');
  const [result, setResult] = useState(PENDING_CALLBACK);
  useEffect(() => {
    if (!target) return undefined;
    if (typeof target.handleRedirectCallback !== 'function') {
      setResult(callbackError(new TypeError('authgate/react: useRedirectCallback() needs a gate created with the oidc option.')));
      return undefined;
    }
    let live = true;
    target.handleRedirectCallback().then(
      ({ returnTo }) => live && setResult({ status: 'done', returnTo: returnTo ?? null, error: null }),
      (error) => live && setResult(callbackError(error)),
    );
    return () => {
      live = false;
    };
  }, [target]);
  return result;
}

const PENDING_CALLBACK = Object.freeze({ status: 'pending', returnTo: null, error: null });
const callbackError = (error) => ({ status: 'error', returnTo: null, error });

/**
 * The redirectUri page as a component: renders `fallback` while the callback
 * is handled, calls `onDone(returnTo)` once it succeeded (navigate there),
 * and renders `error(error)` if it failed (default: the error is thrown to
 * the nearest error boundary).
 */
export function AuthCallback({ gate, onDone, fallback = null, error: renderError }) {
  const result = useRedirectCallback(gate);
  useEffect(() => {
    if (result.status === 'done') onDone?.(result.returnTo);
    // onDone is read when the result arrives, not followed: a new closure each render must not call it again.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [result]);
  if (result.status === 'error') {
    if (renderError) return renderError(result.error);
    throw result.error;
  }
  return result.status === 'pending' ? fallback : null;
}

/**
 * Renders `children` while there is a session (a refresh keeps it), and
 * `fallback` (default: nothing) on the server, during hydration, until
 * gate.ready() resolves, and while there is none. Without a session, once
 * ready: with `loginWithRedirect` (true or {params}) it starts
 * gate.loginWithRedirect({returnTo, params}), returnTo defaulting to the page
 * (path, query and hash), and a rejection is thrown to the nearest error
 * boundary; otherwise it calls `onAnonymous()` (navigate to the login page).
 * Both happen again when a session ends later (a logout here or in another
 * tab, an expired session), as the component re-renders.
 */
export function RequireAuth({ gate, fallback = null, loginWithRedirect = false, returnTo, onAnonymous, children }) {
  const target = targetGate(gate, '<RequireAuth>');
  const ready = useReadyOf(target);
  const session = useSessionOf(target);
  const [failure, setFailure] = useState(null);
  // Whether onAnonymous was called since the session went: StrictMode's second effect
  // (refs survive it) is no new sign-out.
  const told = useRef(false);
  if (loginWithRedirect && target && typeof target.loginWithRedirect !== 'function') {
    throw new TypeError(
      'authgate/react: <RequireAuth loginWithRedirect> needs a gate created with the oidc option ' +
        '(this one has no loginWithRedirect()); without oidc, pass onAnonymous to go to the login page.',
    );
  }
  const anonymous = ready && session === null;
  useEffect(() => {
    if (!anonymous) {
      told.current = false;
      return undefined;
    }
    if (!loginWithRedirect) {
      if (!told.current) onAnonymous?.();
      told.current = true;
      return undefined;
    }
    let live = true;
    const params = loginWithRedirect === true ? undefined : loginWithRedirect.params;
    signInOnce(target, { returnTo: returnTo ?? currentPage(), ...(params ? { params } : {}) }).catch(
      (error) => live && setFailure({ error }),
    );
    return () => {
      live = false;
    };
    // The props are read when the session goes, not followed: a new closure or {params} each render starts nothing.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [target, anonymous]);
  if (failure) throw failure.error;
  return ready && session !== null ? children : fallback;
}

// One sign-in per gate, however many effects ask (StrictMode's two, several guards on a page):
// the page is on its way to the provider. Forgotten if it rejects, so a remount tries again.
const signIns = new WeakMap();
function signInOnce(gate, options) {
  let started = signIns.get(gate);
  if (!started) {
    // A promise even if a stand-in gate throws at once: the error goes to the boundary all the same.
    started = new Promise((resolve) => resolve(gate.loginWithRedirect(options)));
    signIns.set(gate, started);
    started.catch(() => signIns.delete(gate));
  }
  return started;
}

// Read in an effect, never during render: there is no location on the server.
function currentPage() {
  const here = globalThis.location;
  return here ? `${here.pathname}${here.search}${here.hash}` : undefined;
}
