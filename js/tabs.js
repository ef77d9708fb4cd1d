/**
 * The other tabs: a BroadcastChannel and the 'storage' event carry their
 * messages in, navigator.locks serialises refreshes across them. Both are
 * named by the storage key. Without crossTab, or where a feature is missing
 * (old browsers, Node), this tab acts alone: no messages, and the lock is
 * granted at once.
 *
 * The lock manager is also how a tab that shared new tokens tells the next
 * holder so: storage and messages reach another tab's process late, the lock
 * manager answers in order. Before releasing, it holds a marker lock named
 * `<key>#<generation>` (one per tab, its newest); the next holder reads the
 * highest generation among the held markers and passes it to the core, which
 * waits for those tokens instead of refreshing on an early read.
 */

/**
 * @param {{name: string, crossTab: boolean, area: object | null, onMessage(text: string): void}} options
 *   `area` is the Storage whose 'storage' events count (null: none).
 */
export function openTabs({ name, crossTab, area, onMessage }) {
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
  const markerPrefix = `${name}#`;
  let held = null; // {release, abort}: the lock asked for by the core, pending or held
  let marker = null; // {release}: this tab's marker of the generation it shared last

  /** The highest generation a held marker names, 0 when none. */
  const newestShared = async () => {
    const { held: all = [] } = await locks.query();
    let newest = 0;
    for (const { name: lockName } of all) {
      if (!lockName?.startsWith(markerPrefix)) continue;
      const gen = Number(lockName.slice(markerPrefix.length));
      if (gen > newest) newest = gen;
    }
    return newest;
  };

  /** Holds the marker for `gen` (and lets the older one go), then runs `then`. */
  const announce = (gen, then) => {
    locks
      .request(`${markerPrefix}${gen}`, { mode: 'shared' }, () => {
        const previous = marker;
        const mine = { release: null };
        marker = mine;
        previous?.release();
        then();
        return new Promise((resolve) => {
          mine.release = resolve;
        });
      })
      .catch(then); // not granted: release anyway; the next holder reads what storage shows
  };

  return {
    post(text) {
      channel?.postMessage(text);
    },

    /** Asks for the lock; onGranted(newestShared) runs (asynchronously) once it is held. */
    lock(onGranted) {
      if (held) return; // the core asks once, until it unlocks
      const entry = { release: null, abort: new AbortController() };
      held = entry;
      if (!locks) {
        queueMicrotask(() => held === entry && onGranted(0));
        return;
      }
      locks
        .request(name, { signal: entry.abort.signal }, async () => {
          if (held !== entry) return undefined; // released before it was granted
          // The release must exist before the core hears of the grant: it may unlock at once.
          const released = new Promise((resolve) => {
            entry.release = resolve;
          });
          const newest = await newestShared().catch(() => 0);
          if (held === entry) onGranted(newest);
          return released;
        })
        .catch(() => {}); // AbortError: unlocked before it was granted
    },

    /** Releases the lock; `sharedGen` (the core's UNLOCK text) is announced first. */
    unlock(sharedGen) {
      const entry = held;
      held = null;
      if (!entry) return;
      if (!entry.release) entry.abort.abort(); // not granted yet
      else if (sharedGen && locks) announce(sharedGen, entry.release);
      else entry.release();
    },

    close() {
      this.unlock();
      marker?.release?.();
      marker = null;
      channel?.close();
      if (listening) globalThis.removeEventListener('storage', onStorage);
    },
  };
}
