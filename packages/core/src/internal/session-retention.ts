/**
 * How long the store must remember something about a session: a revocation (logout,
 * `endAnonymousSession`) or a once-mark (a transfer into an account). The rule is the same for both:
 * the entry lasts as long as the session can still produce a token that is accepted, because the
 * moment it disappears, such a token would be accepted again (a revoked session lives on, a
 * transfer happens twice).
 *
 * A token is accepted until its `exp` + `clockTolerance`. Which tokens a session can still produce
 * depends on the lifetime mode:
 *
 * - **absolute** (`slidingExpiration: false`): every token of the session expires at
 *   `created_at + sessionLifetime`, so the entry lasts until then + `clockTolerance`.
 * - **sliding** (`slidingExpiration: true`): each continue issues a token that expires
 *   `sessionLifetime` from then. A *revoked* session can no longer be continued, so its revocation
 *   need only outlive the tokens that already exist: the newest of them expires at the latest
 *   `sessionLifetime` from now. A *live* session can be continued again and again, with no end the
 *   store could know when the mark is written; so a once-mark on a live sliding session is kept
 *   without expiry.
 * - **never** (`sessionLifetime: 0`): tokens have no `exp`, so the entry is kept without expiry.
 *
 * `undefined` means "no expiry" (see the store contract). Times are epoch seconds.
 *
 * @packageDocumentation
 */

/** The configuration the retention rules read. */
export interface LifetimeSettings {
  /** Seconds a session lasts; 0 = it never expires. */
  readonly sessionLifetime: number;
  /** Whether each continue renews `exp` to now + `sessionLifetime`. */
  readonly slidingExpiration: boolean;
  /** Seconds a token is still accepted after its `exp`. */
  readonly clockTolerance: number;
}

/** When a session began and when the token at hand expires, in epoch seconds. */
export interface SessionTimes {
  /** The session's `created_at`. */
  createdAt: number;
  /** The token's `exp`; `undefined` when it has none. */
  exp: number | undefined;
}

/**
 * Until when a revocation of this session must last: past the `exp` + `clockTolerance` of every
 * token the session has issued or can still issue once it is revoked. `undefined` = forever.
 *
 * @param times - the session's creation and the presented token's `exp`.
 * @param settings - the lifetime configuration.
 * @param now - the current time, epoch seconds.
 */
export function revocationExpiresAt(times: SessionTimes, settings: LifetimeSettings, now: number): number | undefined {
  if (settings.sessionLifetime === 0 || times.exp === undefined) return undefined;
  const lastExp = settings.slidingExpiration
    ? Math.max(times.exp, now + settings.sessionLifetime)
    : Math.max(times.exp, times.createdAt + settings.sessionLifetime);
  return lastExp + settings.clockTolerance;
}

/**
 * Until when a once-mark about a live session (one that may still be continued) must last:
 * `undefined` (forever) when the session never expires or its expiry slides; otherwise the
 * session's absolute end + `clockTolerance`.
 *
 * @param times - the session's creation and the presented token's `exp`.
 * @param settings - the lifetime configuration.
 */
export function liveSessionMarkExpiresAt(times: SessionTimes, settings: LifetimeSettings): number | undefined {
  if (settings.sessionLifetime === 0 || times.exp === undefined || settings.slidingExpiration) return undefined;
  return Math.max(times.exp, times.createdAt + settings.sessionLifetime) + settings.clockTolerance;
}
