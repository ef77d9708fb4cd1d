/**
 * The DPoP key (RFC 9449): a P-256 ECDSA key pair made by WebCrypto with
 * `extractable: false`, kept in IndexedDB (database `authgate`, one key per
 * storage key) so every tab of the origin signs with the same key, and made
 * under a cross-tab lock so two tabs never make two. It signs what the core
 * asks it to sign; the core writes every proof. Every global is reached when
 * used, never at import (SSR-safe); tests inject crypto, indexedDB and locks.
 */

const DB_NAME = 'authgate';
const STORE = 'dpop-keys';
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' };

/** AG_DPOP_SEED_BYTES: the random bytes each tab's proof ids (jti) are derived from. */
export const SEED_BYTES = 32;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDb(idb) {
  const req = idb.open(DB_NAME, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE);
  return request(req);
}

async function withStore(idb, mode, fn) {
  const db = await openDb(idb);
  try {
    const tx = db.transaction(STORE, mode);
    const done = new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
    const result = await request(fn(tx.objectStore(STORE)));
    await done;
    return result;
  } finally {
    db.close();
  }
}

/**
 * The key store for one storage key.
 * @param {{storageKey: string, crypto?: Crypto, indexedDB?: IDBFactory,
 *          locks?: LockManager | null}} options
 */
export function openDpopKeys({ storageKey, crypto, indexedDB, locks }) {
  const subtle = () => (crypto ?? globalThis.crypto).subtle;
  const idb = () => indexedDB ?? globalThis.indexedDB;
  const lockManager = () => (locks === undefined ? globalThis.navigator?.locks : locks);

  const read = () => withStore(idb(), 'readonly', (store) => store.get(storageKey));

  async function create() {
    const pair = await subtle().generateKey(ALGORITHM, false, ['sign', 'verify']);
    const jwk = await subtle().exportKey('jwk', pair.publicKey); // the public half only
    const record = { privateKey: pair.privateKey, publicKey: pair.publicKey, jwk: JSON.stringify(jwk) };
    await withStore(idb(), 'readwrite', (store) => store.put(record, storageKey));
    return record;
  }

  // The first tab to need a key makes it; the others, waiting on the lock, then find it.
  const readOrCreate = async () => (await read()) ?? create();

  return {
    /** {privateKey, jwk}: the stored key, or a new one made under the cross-tab lock. */
    async load() {
      const found = await read();
      if (found) return found;
      const manager = lockManager();
      if (!manager) return readOrCreate();
      return manager.request(`${storageKey}.dpop-key`, readOrCreate);
    },
    /** The 64-byte r || s ECDSA signature of `text`'s UTF-8 bytes. */
    async sign(privateKey, text) {
      const bytes = new TextEncoder().encode(text);
      return new Uint8Array(await subtle().sign(SIGNING, privateKey, bytes));
    },
    /** Forgets the key (logout): the next sign-in makes a new one. */
    remove() {
      return withStore(idb(), 'readwrite', (store) => store.delete(storageKey));
    },
    /** Fresh random bytes for the core's proof ids. */
    seed() {
      const bytes = new Uint8Array(SEED_BYTES);
      (crypto ?? globalThis.crypto).getRandomValues(bytes);
      return bytes;
    },
  };
}
