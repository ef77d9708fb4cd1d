/**
 * Where the core's blob persists: sessionStorage, localStorage or nowhere,
 * as ag_client_settings says. Storage can throw (quota, SecurityError when
 * storage is blocked, Safari private mode): a failed write loses persistence,
 * never the session, so every exception is swallowed here.
 */
import { STORAGE } from './core.js';

/**
 * @param {number} mode  enum ag_storage
 * @param {string} key   the storage key
 * @param {Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>} [injected]  replaces the browser's area
 * @returns {{area: object | null, read(): string | null, write(text: string): void, clear(): void}}
 */
export function openStorage(mode, key, injected) {
  const area = mode === STORAGE.MEMORY ? null : (injected ?? browserArea(mode));
  if (!area) return memoryStore();
  return {
    area,
    read: () => attempt(() => area.getItem(key), null),
    write: (text) => attempt(() => area.setItem(key, text)),
    clear: () => attempt(() => area.removeItem(key)),
  };
}

// Merely reading window.localStorage throws when the browser blocks storage.
function browserArea(mode) {
  return attempt(() => (mode === STORAGE.SESSION ? globalThis.sessionStorage : globalThis.localStorage), null);
}

// 'memory' persists nothing across reloads; within the page the blob lives here.
function memoryStore() {
  let blob = null;
  return {
    area: null,
    read: () => blob,
    write: (text) => {
      blob = text;
    },
    clear: () => {
      blob = null;
    },
  };
}

function attempt(fn, fallback) {
  try {
    return fn() ?? fallback;
  } catch {
    return fallback;
  }
}
