/**
 * The other tabs: a BroadcastChannel and the 'storage' event carry their
 * messages in, navigator.locks serialises refreshes across them. Both are
 * named by the storage key. Without crossTab, or where a feature is missing
 * (old browsers, Node), this tab acts alone: no messages, and the lock is
 * granted at once.
 */

// The holder's message usually lands within a few ms of the grant; 50 leaves margin on a loaded machine.
const GRANT_SETTLE_MS = 50;

/**
 * @param {{name: string, crossTab: boolean, area: object | null, sharedStorage: boolean,
 *          onMessage(text: string): void}} options
 *   `area` is the Storage whose 'storage' events count (null: none); `sharedStorage`
 *   says whether the other tabs see it too (localStorage).
 */
export function openTabs({ name, crossTab, area, sharedStorage, onMessage }) {
  // After a lock grant, how long to let the previous holder's message arrive (see lock()).
  const settleMs = sharedStorage ? 0 : GRANT_SETTLE_MS;
  const channel = crossTab && typeof BroadcastChannel === 'function' ? new BroadcastChannel(name) : null;
  if (channel) {
    channel.onmessage = (event) => {
      if (typeof event.data === 'string') onMessage(event.data);
    };
  }

  // A removal (newValue null) has no message to pass: logout arrives as a broadcast blob.
  const onStorage = (event) => {
    if (event.key === name && event.storageArea === area && event.newValue !== null) onMessage(event.newValue);
  };
  const listening = Boolean(crossTab && area && typeof globalThis.addEventListener === 'function');
  if (listening) globalThis.addEventListener('storage', onStorage);

  const locks = crossTab ? globalThis.navigator?.locks : undefined;
  let held = null; // {granted, release, abort}: the lock asked for by the core, pending or held

  return {
    post(text) {
      channel?.postMessage(text);
    },

    /** Asks for the lock; onGranted runs (asynchronously) once it is held. */
    lock(onGranted) {
      if (held) return; // the core asks once, until it unlocks
      const entry = { granted: false, release: null, abort: new AbortController() };
      held = entry;
      const grant = () => {
        entry.granted = true;
        onGranted();
      };
      if (!locks) {
        queueMicrotask(() => held === entry && grant());
        return;
      }
      locks
        .request(name, { signal: entry.abort.signal }, () => {
          if (held !== entry) return undefined; // released before it was granted
          // The release must exist before the core hears of the grant: it may unlock at once.
          const released = new Promise((resolve) => {
            entry.release = resolve;
          });
          // The tab that held the lock posted its new tokens before releasing it, but
          // the message and the grant travel apart: give the message a moment to land
          // so the core sees it before deciding whether it still needs a refresh.
          // With localStorage the core reads the shared blob at the grant instead.
          setTimeout(() => held === entry && grant(), settleMs);
          return released;
        })
        .catch(() => {}); // AbortError: unlocked before it was granted
    },

    unlock() {
      const entry = held;
      held = null;
      if (!entry) return;
      if (entry.release) entry.release(); // acquired (granted or about to be)
      else entry.abort.abort();
    },

    close() {
      this.unlock();
      channel?.close();
      if (listening) globalThis.removeEventListener('storage', onStorage);
    },
  };
}
