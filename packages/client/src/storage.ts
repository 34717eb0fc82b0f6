/**
 * Where the client keeps what must outlive a call: the session token (in `'token'` mode) and the
 * offline queue of metadata patches. Any object with `getItem`, `setItem` and `removeItem`, sync or
 * async, will do: `window.localStorage`, `sessionStorage`, React Native's AsyncStorage, an
 * IndexedDB wrapper, or {@link memoryStorage}.
 *
 * @packageDocumentation
 */

/** A key-value storage the client writes strings to. Methods may be sync or async. */
export interface AnonymousClientStorage {
  /** The value stored under `key`; `null` or `undefined` when there is none. */
  getItem(key: string): string | null | undefined | Promise<string | null | undefined>;
  /** Stores `value` under `key`. May throw (quota): the client then keeps going without it. */
  setItem(key: string, value: string): void | Promise<void>;
  /** Removes `key`; removing a missing key is not an error. */
  removeItem(key: string): void | Promise<void>;
}

/** The part of the Web Storage API (`localStorage`, `sessionStorage`) the adapter uses. */
export interface WebStorageLike {
  /** See `Storage.getItem`. */
  getItem(key: string): string | null;
  /** See `Storage.setItem`. */
  setItem(key: string, value: string): void;
  /** See `Storage.removeItem`. */
  removeItem(key: string): void;
}

/**
 * A storage that lives as long as the page (or process): the default. Nothing survives a reload,
 * which is what you want for a session token you would rather not keep in `localStorage`.
 *
 * @param initial - entries to start with.
 */
export function memoryStorage(initial: Readonly<Record<string, string>> = {}): AnonymousClientStorage {
  const entries = new Map(Object.entries(initial));
  return {
    getItem: (key) => entries.get(key),
    setItem: (key, value) => {
      entries.set(key, value);
    },
    removeItem: (key) => {
      entries.delete(key);
    },
  };
}

/**
 * Adapts `localStorage` (or any {@link WebStorageLike}). The target is looked up on each call, so
 * creating the adapter never throws; where there is no `localStorage` (Node, some sandboxed
 * iframes) reads find nothing and writes throw, and the client keeps its offline queue in memory.
 *
 * Anything in `localStorage` is readable by every script on the origin: in `'token'` mode that
 * includes the session token. Prefer `'cookie'` mode (HttpOnly) when the API is same-site.
 *
 * @param target - the storage to use; default `globalThis.localStorage`.
 */
export function localStorageAdapter(target?: WebStorageLike): AnonymousClientStorage {
  const resolve = (): WebStorageLike | undefined => {
    if (target !== undefined) return target;
    try {
      return (globalThis as { localStorage?: WebStorageLike }).localStorage;
    } catch {
      return undefined; // accessing localStorage throws SecurityError where it is blocked
    }
  };
  const required = (): WebStorageLike => {
    const storage = resolve();
    if (storage === undefined) throw new Error('localStorage is not available here.');
    return storage;
  };
  return {
    getItem: (key) => resolve()?.getItem(key),
    setItem: (key, value) => required().setItem(key, value),
    removeItem: (key) => resolve()?.removeItem(key),
  };
}
