/**
 * The DPoP key store (internal to the gate; `dpop: true` uses it). A
 * non-extractable P-256 ECDSA key per storage key in IndexedDB, made under a
 * cross-tab lock.
 * @example
 * const keys = openDpopKeys({ storageKey: 'authgate' });
 * const { privateKey, jwk } = await keys.load();
 * const signature = await keys.sign(privateKey, signingInput); // 64 bytes, r || s
 */
export declare const SEED_BYTES: 32;

export interface DpopKeyRecord {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK as JSON (kty, crv, x, y, ...). */
  jwk: string;
}

export interface DpopKeys {
  load(): Promise<DpopKeyRecord>;
  sign(privateKey: CryptoKey, text: string): Promise<Uint8Array>;
  remove(): Promise<void>;
  seed(): Uint8Array;
}

export declare function openDpopKeys(options: {
  storageKey: string;
  crypto?: Crypto;
  indexedDB?: IDBFactory;
  locks?: LockManager | null;
}): DpopKeys;
