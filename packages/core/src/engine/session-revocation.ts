/**
 * The revocation check every use of a session goes through: was it logged out, and (with the
 * store's epoch marker) was it issued before the store lost its data? One per engine: it caches the
 * store's epoch marker, shares one read of it among concurrent requests, and logs each lost marker
 * once.
 *
 * @packageDocumentation
 */
import { InvalidSessionTokenError, ServerError } from '../errors/errors.js';
import type { Logger } from '../internal/logger.js';
import { supportsEpoch, type SessionStore } from '../store/store.js';

/**
 * How long a read of the store's epoch marker is trusted before the next revocation check reads it
 * again. One store call per second per instance, sent alongside the revocation lookup, instead of
 * one more round trip on every request. Any failed or timed-out store call makes the cached marker
 * stale at once, so a loss behind an outage (a restart, a failover) is seen by the first check
 * after it; only a loss that no call noticed (a flush on a live server, a restart quicker than
 * storeTimeoutMs whose pending commands the client re-sent) may go unseen this long.
 */
const EPOCH_RECHECK_MS = 1000;
/** How many lost epoch markers an engine remembers (each is logged once). */
const MAX_LOST_EPOCHS = 64;

/** What a revocation check found: usable, logged out, or issued before a store loss ('reject'). */
export type SessionState = 'live' | 'revoked' | 'lost';

/** The settings the check reads from the resolved configuration. */
export interface SessionRevocationSettings {
  revocationLoss: 'accept' | 'reject';
  logger: Logger;
}

/** The engine's revocation check and its view of the store's epoch marker. */
export class SessionRevocation {
  readonly #settings: SessionRevocationSettings;
  /** The store's epoch marker as last read, and when. */
  #epoch: { value: string; checkedAt: number } | undefined;
  /** The epoch read in flight, shared by every request that needs it meanwhile. */
  #epochRead: Promise<string> | undefined;
  /** Epoch markers known to be lost (already logged). */
  readonly #lostEpochs = new Set<string>();

  constructor(settings: SessionRevocationSettings) {
    this.#settings = settings;
  }

  /** A failing store may be on its way to coming back empty: the next check re-reads the epoch. */
  readonly onStoreFailure = (): void => {
    if (this.#epoch !== undefined) this.#epoch.checkedAt = Number.NEGATIVE_INFINITY;
  };

  /**
   * The revocation check: the session's revocation entry and, alongside it, the store's epoch
   * marker (re-read at most every {@link EPOCH_RECHECK_MS}). A token stamped with another epoch was
   * issued before the store lost its data: logged once per lost epoch, then `revocationLoss` decides.
   * Tokens without a stamp (a store without `epoch()`, or issued before it had one) cannot tell.
   */
  async check(store: SessionStore, sessionId: string, tokenEpoch: string | undefined): Promise<SessionState> {
    const [revoked, epoch] = await Promise.all([store.isSessionRevoked(sessionId), this.currentEpoch(store)]);
    if (revoked) return 'revoked';
    if (epoch === undefined || tokenEpoch === undefined || tokenEpoch === epoch) return 'live';
    if (!this.#lostEpochs.has(tokenEpoch)) {
      // Another instance may have read a newer marker than the one cached here: read it again
      // before calling this token's epoch lost.
      if ((await this.currentEpoch(store, true)) === tokenEpoch) return 'live';
      this.#epochLost(tokenEpoch);
    }
    return this.#settings.revocationLoss === 'reject' ? 'lost' : 'live';
  }

  /**
   * The store's epoch marker, or `undefined` when the store has none. Cached for
   * {@link EPOCH_RECHECK_MS}; `fresh` reads it now (sharing a read already in flight).
   */
  async currentEpoch(store: SessionStore, fresh = false): Promise<string | undefined> {
    if (!supportsEpoch(store)) return undefined;
    const cached = this.#epoch;
    if (!fresh && cached !== undefined && Date.now() - cached.checkedAt < EPOCH_RECHECK_MS) return cached.value;
    this.#epochRead ??= store
      .epoch()
      .then((value) => {
        // It goes into every token (whose claim allows 1 to 64 characters): a bad one is the adapter's bug.
        if (typeof value !== 'string' || value.length === 0 || value.length > 64) {
          throw new ServerError({ cause: new Error('the store’s epoch() must answer a string of 1 to 64 characters') });
        }
        const previous = this.#epoch?.value;
        this.#epoch = { value, checkedAt: Date.now() };
        if (previous !== undefined && previous !== value) this.#epochLost(previous);
        return value;
      })
      .finally(() => {
        this.#epochRead = undefined;
      });
    return this.#epochRead;
  }

  /** Logs, once per marker, that the store lost its data, and what `revocationLoss` does about it. */
  #epochLost(lost: string): void {
    if (this.#lostEpochs.has(lost)) return;
    if (this.#lostEpochs.size >= MAX_LOST_EPOCHS) this.#lostEpochs.clear();
    this.#lostEpochs.add(lost);
    const policy =
      this.#settings.revocationLoss === 'reject'
        ? "revocationLoss 'reject': sessions issued before the loss are refused; continuing one starts a fresh session that carries its metadata."
        : "revocationLoss 'accept': sessions issued before the loss are accepted, logged-out ones included (set revocationLoss: 'reject' to refuse them).";
    this.#settings.logger.error(
      `The session store lost its data (its epoch marker changed): every logout recorded before the loss is gone. ${policy}`,
    );
  }
}

/** Throws for a session that may not be used: logged out, or lost under revocationLoss 'reject'. */
export function refuseEnded(state: SessionState): void {
  if (state === 'revoked') throw new InvalidSessionTokenError({ cause: new Error('session ended by logout') });
  if (state === 'lost') {
    throw new InvalidSessionTokenError({ cause: new Error("session issued before the store lost its data (revocationLoss: 'reject')") });
  }
}
