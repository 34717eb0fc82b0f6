import { TemporarilyUnavailableError } from '../errors/errors.js';
import type { SessionStore } from './store.js';

/**
 * One request's share of `storeTimeoutMs`: the first store call of the request sets the deadline,
 * every later call (through any store bound to the same budget) gets what is left of it.
 */
export interface StoreBudget {
  /** Epoch milliseconds by which the request's store calls must have settled; set by the first call. */
  deadline?: number;
}

/**
 * Wraps a store so every call either settles within `timeoutMs` or fails closed with
 * {@link TemporarilyUnavailableError}. A rejected call fails the same way; the original error is
 * the `cause` (for the server log), never shown to the client. `onFailure` hears of every failed
 * or timed-out call (the engine then re-reads the store's epoch marker on its next check).
 *
 * With a `budget` (one per request), `timeoutMs` bounds the request's store calls together: the
 * first call starts the clock and every later call gets what is left, so a request that needs
 * several calls still answers 503 within `timeoutMs` of its first one.
 */
export function withStoreTimeout<S extends SessionStore>(
  store: S,
  timeoutMs: number,
  onFailure: () => void = () => undefined,
  budget?: StoreBudget,
): Pick<S, keyof SessionStore> {
  const guard = <T>(operation: string, call: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      let wait = timeoutMs;
      if (budget !== undefined) {
        const now = Date.now();
        budget.deadline ??= now + timeoutMs;
        wait = Math.max(0, budget.deadline - now);
      }
      const timer = setTimeout(() => {
        onFailure();
        reject(new TemporarilyUnavailableError({ cause: new Error(`store ${operation} timed out (storeTimeoutMs ${timeoutMs})`) }));
      }, wait);
      let pending: Promise<T>;
      try {
        pending = call();
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          onFailure();
          reject(new TemporarilyUnavailableError({ cause: error }));
        },
      );
    });

  const bounded: SessionStore = {
    revokeSession: (sessionId, expiresAt) => guard('revokeSession', () => store.revokeSession(sessionId, expiresAt)),
    isSessionRevoked: (sessionId) => guard('isSessionRevoked', () => store.isSessionRevoked(sessionId)),
    markOnce: (key, expiresAt) => guard('markOnce', () => store.markOnce(key, expiresAt)),
    increment: (key, windowSeconds) => guard('increment', () => store.increment(key, windowSeconds)),
  };
  // The optional operations are wrapped only where the store has them, so "does this store support
  // metadata / linked sessions" reads the same through the wrapper.
  const { readMetadata, mergeMetadata, seedMetadata, epoch, recordLink, listLinks, releaseMark } = store;
  if (releaseMark) bounded.releaseMark = (key) => guard('releaseMark', () => releaseMark.call(store, key));
  if (readMetadata) bounded.readMetadata = (sessionId) => guard('readMetadata', () => readMetadata.call(store, sessionId));
  if (mergeMetadata) {
    bounded.mergeMetadata = (sessionId, patch, options) =>
      guard('mergeMetadata', () => mergeMetadata.call(store, sessionId, patch, options));
  }
  if (seedMetadata) {
    bounded.seedMetadata = (sessionId, document, expiresAt) =>
      guard('seedMetadata', () => seedMetadata.call(store, sessionId, document, expiresAt));
  }
  if (epoch) bounded.epoch = () => guard('epoch', () => epoch.call(store));
  if (recordLink) bounded.recordLink = (link, expiresAt) => guard('recordLink', () => recordLink.call(store, link, expiresAt));
  if (listLinks) bounded.listLinks = (userId) => guard('listLinks', () => listLinks.call(store, userId));
  // Every operation `store` has, the wrapper has too (the optional ones just above), so the
  // narrowing a caller already made of `store` (e.g. metadata operations present) holds for it.
  return bounded as Pick<S, keyof SessionStore>;
}
