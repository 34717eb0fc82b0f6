/**
 * The storage contract. Small and promise-only, after oidc-provider's adapter: a miss is a value
 * (`false`, `undefined`), never an error; an operation that must be atomic says so. Adapters receive
 * an already-connected client and never create one; every entry carries an expiry and disappears
 * with it (native TTLs where the backend has them).
 *
 * Times are epoch **seconds**. `expiresAt: undefined` means "never" (sessions with
 * `sessionLifetime: 0`).
 *
 * @packageDocumentation
 */

/** The result of {@link SessionStore.increment}. */
export interface CounterState {
  /** The counter's value after this increment (1 for the first hit of a window). */
  count: number;
  /** Epoch seconds at which the current window ends and the counter starts again from zero. */
  resetAt: number;
}

/**
 * Where anonymous-sessions keeps the little server-side state it needs. `memoryStore()` ships in
 * core; `@anonymous-sessions/redis` and `@anonymous-sessions/postgres` ship production adapters; a
 * host may write its own.
 *
 * A store that cannot be reached should reject (or hang): the engine bounds every call by
 * `storeTimeoutMs` and answers 503 `temporarily_unavailable`, failing closed.
 */
export interface SessionStore {
  /**
   * Marks a session as ended (logout) until `expiresAt`, after which the session token is expired
   * anyway and the entry may disappear. Idempotent: revoking twice keeps the later expiry.
   *
   * @param sessionId - the session's `session_id`.
   * @param expiresAt - epoch seconds when the entry may be dropped; `undefined` = keep forever.
   */
  revokeSession(sessionId: string, expiresAt: number | undefined): Promise<void>;

  /**
   * Whether {@link SessionStore.revokeSession} was called for this session and its entry has not
   * expired. A miss is `false`.
   *
   * @param sessionId - the session's `session_id`.
   */
  isSessionRevoked(sessionId: string): Promise<boolean>;

  /**
   * Atomic set-if-absent: records `key` until `expiresAt` and answers `true` if this call set it,
   * `false` if it was already there. Two concurrent calls with the same key: exactly one gets `true`.
   * Used so a session transfers at most once per user.
   *
   * @param key - an opaque key chosen by the engine.
   * @param expiresAt - epoch seconds when the mark may be dropped; `undefined` = keep forever.
   */
  markOnce(key: string, expiresAt: number | undefined): Promise<boolean>;

  /**
   * Atomic increment-with-expiry for fixed-window rate limits: adds one to the counter `key`,
   * creating it with a window of `windowSeconds` when absent or expired, and returns the new count
   * and when the window ends. Concurrent increments never lose a count.
   *
   * @param key - an opaque key chosen by the engine (e.g. the client address).
   * @param windowSeconds - the window length, in seconds.
   */
  increment(key: string, windowSeconds: number): Promise<CounterState>;
}
