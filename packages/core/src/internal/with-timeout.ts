import { TemporarilyUnavailableError } from '../errors.js';
import type { SessionStore } from '../store.js';

/**
 * Wraps a store so every call either settles within `timeoutMs` or fails closed with
 * {@link TemporarilyUnavailableError}. A rejected call fails the same way; the original error is
 * the `cause` (for the server log), never shown to the client.
 */
export function withStoreTimeout(store: SessionStore, timeoutMs: number): SessionStore {
  const guard = <T>(operation: string, call: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new TemporarilyUnavailableError({ cause: new Error(`store ${operation} timed out after ${timeoutMs} ms`) }));
      }, timeoutMs);
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
          reject(new TemporarilyUnavailableError({ cause: error }));
        },
      );
    });

  return {
    revokeSession: (sessionId, expiresAt) => guard('revokeSession', () => store.revokeSession(sessionId, expiresAt)),
    isSessionRevoked: (sessionId) => guard('isSessionRevoked', () => store.isSessionRevoked(sessionId)),
    markOnce: (key, expiresAt) => guard('markOnce', () => store.markOnce(key, expiresAt)),
    increment: (key, windowSeconds) => guard('increment', () => store.increment(key, windowSeconds)),
  };
}
