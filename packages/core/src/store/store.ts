/**
 * The storage contract. Small and promise-only, after oidc-provider's adapter: a miss is a value
 * (`false`, `undefined`, `[]`), never an error; an operation that must be atomic says so. Adapters
 * receive an already-connected client and never create one; every entry carries an expiry and
 * disappears with it (native TTLs where the backend has them).
 *
 * Times are epoch **seconds**. `expiresAt: undefined` means "never" (sessions with
 * `sessionLifetime: 0`). An `expiresAt` at or before now records nothing (the entry is born
 * expired). Once an entry has expired it is gone: every read treats it as a miss, and a later write
 * starts it afresh.
 *
 * The four core operations are required. The metadata operations ({@link SessionStore.readMetadata},
 * {@link SessionStore.mergeMetadata}, {@link SessionStore.seedMetadata}) are needed only for
 * `metadataStorage: 'store'`, the transfer log ({@link SessionStore.recordLink},
 * {@link SessionStore.listLinks}) only for `anon.transferLog()`, and the epoch marker
 * ({@link SessionStore.epoch}) only to notice that the store lost its data (`revocationLoss`);
 * `memoryStore()`, `@anonymous-sessions/redis` and `@anonymous-sessions/postgres` implement all of
 * them. `@anonymous-sessions/core/testing` checks an adapter against this whole contract.
 *
 * @packageDocumentation
 */
import type { JsonObject } from '../metadata/metadata.js';

/** The result of {@link SessionStore.increment}. */
export interface CounterState {
  /** The counter's value after this increment (1 for the first hit of a window). */
  count: number;
  /** Epoch seconds at which the current window ends and the counter starts again from zero. */
  resetAt: number;
}

/** A session's server-side metadata document (`metadataStorage: 'store'`). */
export interface StoredMetadata {
  /**
   * How many merges have been applied to this document: 1 after the first, and exactly one more
   * after each later one. Never decreases while the document lives.
   */
  version: number;
  /** The document itself: a JSON object. */
  metadata: JsonObject;
}

/** The limits and lifetime of one {@link SessionStore.mergeMetadata} call. */
export interface MetadataMergeOptions {
  /**
   * Epoch seconds until which the document must be kept (the session's end plus the clock
   * tolerance); `undefined` = forever. A merge never shortens the document's life: it keeps the
   * later of the stored and the given expiry.
   */
  expiresAt: number | undefined;
  /**
   * Largest allowed size of the merged document, in UTF-8 bytes of its compact JSON text (exactly
   * what `JSON.stringify` produces; key order does not change the size).
   */
  maxBytes: number;
  /** Largest allowed nesting depth of the merged document: `{}` and `{"a":1}` are 1, `{"a":{}}` is 2. */
  maxDepth: number;
}

/**
 * The outcome of {@link SessionStore.mergeMetadata}: the new document, or a refusal that changed
 * nothing.
 */
export type MetadataMergeResult =
  | ({ ok: true } & StoredMetadata)
  | {
      ok: false;
      /** `max_bytes`: the merged document would pass `maxBytes`; `max_depth`: it would pass `maxDepth`. */
      reason: 'max_bytes' | 'max_depth';
    };

/** The result of {@link SessionStore.seedMetadata}: the live document, and whether this call wrote it. */
export interface SeedMetadataResult extends StoredMetadata {
  /** `true`: there was no live document and this call stored the given one; `false`: a live one was kept. */
  seeded: boolean;
}

/**
 * One entry of the transfer log: a guest session that became an account. The transfer records it
 * after every successful transfer; read an account's entries with `anon.transferLog(userId)`.
 */
export interface TransferLogEntry {
  /** The guest session's `session_id`. */
  session_id: string;
  /** The guest's `anon|…` user id. */
  anonymous_user_id: string;
  /** The account it was transferred into. */
  user_id: string;
  /** When the transfer happened (ISO 8601). */
  linked_at: string;
  /** The login request's `User-Agent`, or `null` when there was none. */
  user_agent: string | null;
}

/**
 * @deprecated Renamed {@link TransferLogEntry} (an entry of the transfer log, not a session that is
 * still linked to anything). This alias goes in the next release.
 */
export type LinkedSession = TransferLogEntry;

/**
 * Where anonymous-sessions keeps the little server-side state it needs. `memoryStore()` ships in
 * core; `@anonymous-sessions/redis` and `@anonymous-sessions/postgres` ship production adapters; a
 * host may write its own and check it with `runSessionStoreConformance` from
 * `@anonymous-sessions/core/testing`.
 *
 * A store that cannot be reached should reject (or hang): the engine bounds every call by
 * `storeTimeoutMs` and answers 503 `temporarily_unavailable`, failing closed.
 */
export interface SessionStore {
  /**
   * Marks a session as ended (logout) until `expiresAt`, after which the session token is expired
   * anyway and the entry disappears. Idempotent: revoking twice keeps the later expiry (an earlier
   * `expiresAt` never shortens a revocation; `undefined` makes it permanent). An `expiresAt` already
   * past records nothing.
   *
   * @param sessionId - the session's `session_id`.
   * @param expiresAt - epoch seconds when the entry disappears; `undefined` = keep forever.
   */
  revokeSession(sessionId: string, expiresAt: number | undefined): Promise<void>;

  /**
   * Whether {@link SessionStore.revokeSession} was called for this session and its entry has not
   * expired. A miss (never revoked, or the revocation expired) is `false`.
   *
   * @param sessionId - the session's `session_id`.
   */
  isSessionRevoked(sessionId: string): Promise<boolean>;

  /**
   * Atomic set-if-absent: records `key` until `expiresAt` and answers `true` if this call set it,
   * `false` if a live mark was already there (a `false` answer changes nothing, its expiry
   * included). Among any number of concurrent calls with the same key, exactly one gets `true`. An
   * expired mark counts as absent: the next call sets it afresh.
   *
   * The engine uses two kinds of marks, with distinct keys:
   * - a login binding's, so one binding serves one transfer callback; kept until the binding
   *   expires (minutes);
   * - a (session, user) pair's, so a session transfers into an account at most once; kept as long
   *   as the session can still produce a token: its end + `clockTolerance` for absolute lifetimes,
   *   and **without expiry** (`undefined`) when sessions never expire or use `slidingExpiration`
   *   (a sliding session can be continued with no end known in advance). A store must keep such a
   *   mark: dropping it early would let the session transfer again.
   *
   * @param key - an opaque key chosen by the engine (any string).
   * @param expiresAt - epoch seconds when the mark disappears; `undefined` = keep forever.
   */
  markOnce(key: string, expiresAt: number | undefined): Promise<boolean>;

  /**
   * Removes a mark set by {@link SessionStore.markOnce}, so the next `markOnce(key)` answers
   * `true` again. The engine calls it when the work a mark guarded failed before anything was
   * applied (the host's user store or hook threw during a transfer), releasing both the transfer's
   * and its login binding's marks, so the same login can be retried. A missing mark is not an
   * error. Optional: without it, a transfer that failed this way is never retried (its binding
   * stays used and the session stays marked as transferred into that account).
   *
   * @param key - the key given to `markOnce`.
   */
  releaseMark?(key: string): Promise<void>;

  /**
   * Atomic increment-with-expiry for fixed-window rate limits: adds one to the counter `key`,
   * creating it with a window of `windowSeconds` when absent or expired, and returns the new count
   * and when the window ends. The window is fixed when the counter is created; later increments do
   * not extend it. Concurrent increments never lose a count: N concurrent calls on a fresh key
   * return the counts 1 to N, each once.
   *
   * @param key - an opaque key chosen by the engine (e.g. `create:<client address>`).
   * @param windowSeconds - the window length, in seconds (a positive integer).
   */
  increment(key: string, windowSeconds: number): Promise<CounterState>;

  /**
   * Reads a session's metadata document (`metadataStorage: 'store'`). A miss (never written, or
   * expired) is `undefined`.
   *
   * Optional: a store without the metadata operations works in the default `metadataStorage:
   * 'token'` mode; `'store'` with such a store is a `ConfigError`.
   *
   * @param sessionId - the session's `session_id`.
   */
  readMetadata?(sessionId: string): Promise<StoredMetadata | undefined>;

  /**
   * Atomically applies a JSON Merge Patch (RFC 7396) to a session's metadata document and returns
   * the new version and document. A missing or expired document is `{}` at version 0, so the first
   * merge creates version 1. Inside the same atomic step the merged document is checked against
   * `maxBytes` and `maxDepth`: when it would pass either, **nothing changes** (neither the document,
   * nor its version, nor its expiry) and a refusal comes back.
   *
   * Atomic means: concurrent merges on one session are applied one after the other, each onto the
   * result of the previous one, so N concurrent merges that each add their own key leave all N keys
   * and version N; no merge is ever lost or applied twice. Every successful merge, even of `{}`,
   * adds exactly one to the version. The document lives until the later of its stored expiry and
   * `options.expiresAt`.
   *
   * Merge-patch rules: a `null` value deletes the key; an object value is merged recursively into
   * the stored object at that key (a non-object there is replaced by `{}` first); any other value
   * (arrays included) replaces what was there. The engine has already validated the patch (only
   * JSON values, no `__proto__`/`constructor`/`prototype` keys, bounded depth).
   *
   * Optional, together with {@link SessionStore.readMetadata}.
   *
   * @param sessionId - the session's `session_id`.
   * @param patch - the JSON Merge Patch to apply.
   * @param options - expiry and limits.
   */
  mergeMetadata?(sessionId: string, patch: JsonObject, options: MetadataMergeOptions): Promise<MetadataMergeResult>;

  /**
   * Atomic create-if-absent for a metadata document: when the session has no live document (never
   * written, expired, or lost with the store's data), stores `document` (its `version` and
   * `metadata`, as given) until `expiresAt` and answers it with `seeded: true`; when a live document
   * is there, changes nothing and answers that one with `seeded: false`. Among concurrent calls for
   * one session exactly one gets `seeded: true` and all answer the same document. No size or depth
   * check: the document passed them when it was first merged. An `expiresAt` already past stores
   * nothing (the answer is still `seeded: true` with the given document).
   *
   * The engine calls it when a session token whose `metadata_version` is 1 or more finds no
   * document: the store lost it, and the token's snapshot (the newest state that client has seen)
   * takes its place, at the snapshot's version, instead of the session silently carrying on from
   * `{}`.
   *
   * Optional: without it the engine re-seeds with {@link SessionStore.mergeMetadata} (not
   * create-if-absent, so two tabs recovering at once may both merge their snapshot, and the
   * version restarts at 1).
   *
   * @param sessionId - the session's `session_id`.
   * @param document - the version and document to store.
   * @param expiresAt - epoch seconds until which the document is kept; `undefined` = forever.
   */
  seedMetadata?(sessionId: string, document: StoredMetadata, expiresAt: number | undefined): Promise<SeedMetadataResult>;

  /**
   * The store's epoch marker: an opaque string (at most 64 characters) written on first use and
   * kept, with no expiry, for as long as the store keeps its data. Creating it is atomic: concurrent
   * first calls, from any number of app instances, all answer the same marker. When the store loses
   * its data (a restart without persistence, a failover to an empty replica, a flush, a truncated
   * table) the marker goes with it, and the next call writes a new one.
   *
   * The engine stamps the marker into every token it issues and compares it on every revocation
   * check: a token from another epoch was issued before a loss, when its session may have been
   * logged out, and `revocationLoss` decides what happens to it. The marker must therefore live
   * where the revocations live, so that nothing can lose one and keep the other.
   *
   * Optional: without it, the engine cannot notice a lost revocation list, logs a warning at
   * start-up, and refuses `revocationLoss: 'reject'`.
   */
  epoch?(): Promise<string>;

  /**
   * Records in the transfer log that a guest session was transferred into an account, until
   * `expiresAt` (the log's retention, `linkedSessionRetention`). Recording the same (`user_id`, `session_id`) pair
   * again replaces the entry (its fields and expiry); entries of other pairs are untouched.
   *
   * Optional: without it, transfers record nothing and `anon.transferLog()` is unavailable.
   *
   * @param link - what to record.
   * @param expiresAt - epoch seconds when the entry disappears; `undefined` = keep forever.
   */
  recordLink?(link: TransferLogEntry, expiresAt: number | undefined): Promise<void>;

  /**
   * The live (unexpired) transfer-log entries of an account, oldest `linked_at` first. A miss is `[]`.
   *
   * Optional, together with {@link SessionStore.recordLink}.
   *
   * @param userId - the account's user id.
   */
  listLinks?(userId: string): Promise<TransferLogEntry[]>;
}

const isFunction = (value: unknown): value is (...args: never[]) => unknown => typeof value === 'function';

/** Whether a store implements the optional metadata operations of `metadataStorage: 'store'`. */
export function supportsStoredMetadata(
  store: SessionStore,
): store is SessionStore & Required<Pick<SessionStore, 'readMetadata' | 'mergeMetadata'>> {
  return isFunction(store.readMetadata) && isFunction(store.mergeMetadata);
}

/** Whether a store implements the optional epoch marker (detects a store that lost its data). */
export function supportsEpoch(store: SessionStore): store is SessionStore & Required<Pick<SessionStore, 'epoch'>> {
  return isFunction(store.epoch);
}

/** Whether a store implements the optional transfer log (`recordLink`, `listLinks`). */
export function supportsTransferLog(
  store: SessionStore,
): store is SessionStore & Required<Pick<SessionStore, 'recordLink' | 'listLinks'>> {
  return isFunction(store.recordLink) && isFunction(store.listLinks);
}
