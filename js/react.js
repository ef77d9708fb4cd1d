/**
 * authgate/react: a provider and two hooks over one gate.
 *
 * The app creates the gate once, outside render (module scope), and hands it
 * to <AuthGateProvider gate={gate}>: the provider never creates, replaces or
 * destroys a gate, so StrictMode's double render and double effects cannot
 * produce a second one. State is read with useSyncExternalStore, so every
 * component sees the same state in the same render (no tearing).
 *
 * Importing this module touches no browser global (SSR-safe).
 */
import { createContext, createElement, useContext, useSyncExternalStore } from 'react';

const GateContext = createContext(null);
GateContext.displayName = 'AuthGate';

// ---- readiness, per gate -----------------------------------------------------
// gate.ready() is a promise; useSyncExternalStore needs a synchronous snapshot.
// One record per gate, shared by every provider and hook that reads it.

const PENDING = { status: 'pending' };
const READY = { status: 'ready' };
const readiness = new WeakMap(); // gate → {snapshot, listeners}

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

function readinessStore(gate) {
  const record = readinessOf(gate);
  return {
    subscribe(listener) {
      record.listeners.add(listener);
      askReady(gate, record);
      return () => record.listeners.delete(listener);
    },
    getSnapshot: () => record.snapshot,
  };
}
const serverReadiness = () => PENDING;

// Stable store functions per gate, so React does not resubscribe on every render.
const stores = new WeakMap();
function storeOf(gate) {
  let store = stores.get(gate);
  if (!store) {
    store = {
      readiness: readinessStore(gate),
      getState: () => gate.state,
    };
    stores.set(gate, store);
  }
  return store;
}
const serverState = () => 'initializing';

function checkGate(gate, who) {
  if (!gate || typeof gate.subscribe !== 'function' || typeof gate.ready !== 'function') {
    throw new TypeError(
      `authgate/react: ${who} needs a gate from createAuthGate(); create it once at module scope ` +
        '(not inside a component) and pass it as <AuthGateProvider gate={gate}>.',
    );
  }
}

// ---- public API ----------------------------------------------------------------

/**
 * Provides `gate` to useAuthGate()/useAuthState() below it, and renders
 * `fallback` (default: nothing) until gate.ready() resolves. If ready()
 * rejects (BAD_CONFIG, the wasm failed to load) the error is thrown during
 * render, for the nearest error boundary. On the server and during hydration
 * it renders the fallback.
 */
export function AuthGateProvider({ gate, fallback = null, children }) {
  checkGate(gate, '<AuthGateProvider>');
  const { readiness: store } = storeOf(gate);
  const ready = useSyncExternalStore(store.subscribe, store.getSnapshot, serverReadiness);
  if (ready.status === 'error') throw ready.error;
  return createElement(GateContext.Provider, { value: gate }, ready.status === 'ready' ? children : fallback);
}

/** The gate of the nearest <AuthGateProvider>; throws outside one. */
export function useAuthGate() {
  const gate = useContext(GateContext);
  if (!gate) {
    throw new Error(
      'authgate/react: useAuthGate() was called outside <AuthGateProvider gate={gate}>; wrap the app (or this tree) in the provider.',
    );
  }
  return gate;
}

/**
 * The gate's state ('initializing' | 'authenticated' | 'anonymous' |
 * 'refreshing'); the component re-renders when it changes. Reads the
 * provider's gate, or the one passed in.
 */
export function useAuthState(gate) {
  const fromContext = useContext(GateContext);
  const target = gate ?? fromContext;
  if (!target) {
    throw new Error(
      'authgate/react: useAuthState() was called outside <AuthGateProvider gate={gate}> and without a gate; ' +
        'wrap the tree in the provider or call useAuthState(gate).',
    );
  }
  checkGate(target, 'useAuthState()');
  return useSyncExternalStore(target.subscribe, storeOf(target).getState, serverState);
}
