/**
 * The fetch underneath any guards installed by guardGlobalFetch. The gate's
 * own requests, the wasm core's download included, are sent with it: a guard
 * judges raw app calls and must never hold up the gate that judges them.
 */

// Each installed guard → the fetch it wraps.
export const wrapped = new WeakMap();

/** The fetch underneath any guards. */
export function unguarded(fetch) {
  let inner = fetch;
  while (wrapped.has(inner)) inner = wrapped.get(inner);
  return inner;
}
