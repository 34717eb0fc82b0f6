/**
 * Where a session's metadata lives (`metadataStorage`), as a strategy the engine chooses once, when
 * it is created: `'token'` (the session token carries the whole document) or `'store'` (the store
 * keeps the document and merges patches atomically; the token carries a snapshot and its version).
 * The request path then calls the same four steps whatever the mode, and the store strategy holds
 * the store with its metadata operations already narrowed, so nothing on the request path asks
 * whether the store has them.
 *
 * @packageDocumentation
 */
import { ConfigError, InvalidMetadataError, MetadataTooLargeError, ServerError } from '../errors/errors.js';
import type { Logger } from '../internal/logger.js';
import type { JsonObject, MetadataLimits } from '../metadata/metadata.js';
import { supportsStoredMetadata, type SeedMetadataResult, type SessionStore, type StoredMetadata } from '../store/store.js';
import type { StoreBudget } from '../store/with-timeout.js';
import type { SessionTokenPayload } from '../tokens/session-token.js';

/** A store with the metadata operations of `metadataStorage: 'store'`. */
export type MetadataStore = SessionStore & Required<Pick<SessionStore, 'readMetadata' | 'mergeMetadata'>>;

/**
 * Bounds a store's calls by one request's budget (`storeTimeoutMs` from the request's first store
 * call), keeping the store's type.
 */
export type BindStore = <S extends SessionStore>(store: S, budget: StoreBudget) => Pick<S, keyof SessionStore>;

/** The document a token request's patch applies to. */
export interface MetadataBase {
  /** The metadata before this request's patch. */
  metadata: JsonObject;
  /** The stored document's version ('store' mode); `undefined` in 'token' mode. */
  version: number | undefined;
  /** 'store' mode: the base came from a token issued in 'token' mode and is written to the store. */
  fromToken: boolean;
  /** 'store' mode: the store lost the document the token's snapshot has a version of: re-seed it. */
  lost: boolean;
}

/** What a token request saves. */
export interface MetadataSave {
  /** The request's (validated) JSON Merge Patch, if any. */
  patch: JsonObject | undefined;
  /** Whether the request continues a session (else it creates one). */
  continued: boolean;
  /** The session's `session_id`. */
  sessionId: string;
  /** The merged metadata, as checked by the engine. */
  metadata: JsonObject;
  /** The session's end (epoch seconds), `undefined` when it never expires. */
  exp: number | undefined;
}

/** What the new tokens carry: the metadata, and in 'store' mode its version. */
export interface SavedMetadata {
  metadata: JsonObject;
  metadataVersion: number | undefined;
}

/** The settings the strategies read from the resolved configuration. */
export interface MetadataStorageSettings {
  metadataStorage: 'token' | 'store';
  store: SessionStore;
  slidingExpiration: boolean;
  clockTolerance: number;
  metadata: Pick<MetadataLimits, 'maxBytes' | 'maxDepth'>;
  logger: Logger;
}

/** The steps of a request that touch metadata, the same in both modes. */
export interface MetadataStorage {
  /**
   * The base of a token request: the continued session's metadata (`payload`), else the metadata
   * of a session `carried` over a store loss, else `{}`.
   */
  base(budget: StoreBudget, payload: SessionTokenPayload | undefined, carried: SessionTokenPayload | undefined): Promise<MetadataBase>;
  /** Saves a token request's metadata and answers what the new tokens carry. */
  save(budget: StoreBudget, base: MetadataBase, step: MetadataSave): Promise<SavedMetadata>;
  /** Reads a verified session's metadata (alongside its revocation check). */
  read(budget: StoreBudget, payload: SessionTokenPayload): Promise<MetadataBase>;
  /** Settles what {@link MetadataStorage.read} found, once the session is known to be live. */
  current(budget: StoreBudget, payload: SessionTokenPayload, read: MetadataBase): Promise<JsonObject>;
}

/**
 * Chooses the strategy of `settings.metadataStorage`, once.
 *
 * @throws ConfigError for 'store' with a store lacking `readMetadata` / `mergeMetadata` (the
 *   options' schema refuses that first; this keeps the narrowing honest).
 */
export function createMetadataStorage(settings: MetadataStorageSettings, bind: BindStore): MetadataStorage {
  if (settings.metadataStorage === 'token') return TOKEN_METADATA;
  const { store } = settings;
  if (!supportsStoredMetadata(store)) {
    throw new ConfigError([{ path: 'metadataStorage', message: "'store' needs a store with readMetadata and mergeMetadata" }]);
  }
  return new StoreMetadataStorage(store, settings, bind);
}

/** `'token'`: the token is the document; the store is never asked. */
const TOKEN_METADATA: MetadataStorage = {
  base: async (_budget, payload, carried) => ({
    metadata: payload?.metadata ?? carried?.metadata ?? {},
    version: undefined,
    fromToken: false,
    lost: false,
  }),
  save: async (_budget, _base, step) => ({ metadata: step.metadata, metadataVersion: undefined }),
  read: async (_budget, payload) => ({ metadata: payload.metadata, version: undefined, fromToken: false, lost: false }),
  current: async (_budget, payload) => payload.metadata,
};

/**
 * `'store'`: the store's document is the base a patch applies to, never the token's snapshot, so an
 * old token cannot roll the metadata back; patches are merged in the store atomically.
 */
class StoreMetadataStorage implements MetadataStorage {
  readonly #store: MetadataStore;
  readonly #settings: MetadataStorageSettings;
  readonly #bind: BindStore;

  constructor(store: MetadataStore, settings: MetadataStorageSettings, bind: BindStore) {
    this.#store = store;
    this.#settings = settings;
    this.#bind = bind;
  }

  async base(budget: StoreBudget, payload: SessionTokenPayload | undefined, carried: SessionTokenPayload | undefined): Promise<MetadataBase> {
    if (payload !== undefined) {
      const read = await this.read(budget, payload);
      return read.lost ? this.#reseed(budget, payload) : read;
    }
    // A carried snapshot seeds the fresh session's document, like a 'token'-mode token would.
    const seed = carried !== undefined && Object.keys(carried.metadata).length > 0;
    return { version: 0, metadata: seed ? carried.metadata : {}, fromToken: seed, lost: false };
  }

  /**
   * Merges the patch into the store atomically (or seeds it from a token issued in 'token' mode,
   * or renews its expiry) and answers the stored document and its version.
   */
  async save(budget: StoreBudget, base: MetadataBase, step: MetadataSave): Promise<SavedMetadata> {
    const version = base.version ?? 0;
    const renew = step.continued && this.#settings.slidingExpiration && version > 0;
    if (step.patch === undefined && !base.fromToken && !renew) return { metadata: step.metadata, metadataVersion: version };
    // A token issued in 'token' mode seeds the store with its metadata (plus this patch).
    const patch = base.fromToken ? step.metadata : (step.patch ?? {});
    const merged = await this.#merge(budget, step.sessionId, patch, step.exp);
    return { metadata: merged.metadata, metadataVersion: merged.version };
  }

  /**
   * The store's document of a continued session. When the store has none and the token was issued
   * in 'token' mode (no `metadata_version`), the token's metadata counts, and it is then written to
   * the store (`fromToken`). When the store has none although the token's snapshot has a version
   * (the store lost it), the answer is `lost`: see {@link StoreMetadataStorage.current}.
   */
  async read(budget: StoreBudget, payload: SessionTokenPayload): Promise<MetadataBase> {
    const stored = await this.#bind(this.#store, budget).readMetadata(payload.session_id);
    const version = payload.metadata_version;
    // A live document behind the token's own snapshot: versions never go down while a document
    // lives, so it was lost and begun again (a write queued during the outage landed afterwards).
    if (stored !== undefined) return { ...stored, fromToken: false, lost: version !== undefined && stored.version < version };
    if (version !== undefined && version > 0) return { version, metadata: payload.metadata, fromToken: false, lost: true };
    const seed = version === undefined && Object.keys(payload.metadata).length > 0;
    return { version: 0, metadata: seed ? payload.metadata : {}, fromToken: seed, lost: false };
  }

  async current(budget: StoreBudget, payload: SessionTokenPayload, read: MetadataBase): Promise<JsonObject> {
    return (read.lost ? await this.#reseed(budget, payload) : read).metadata;
  }

  /**
   * The store has no document for a session whose token holds a snapshot at version ≥ 1, or one
   * at a lower version than the snapshot: the store lost it. The snapshot (the newest state this
   * client has seen, complete: tokens carry the whole document) is written back at its own version,
   * create-if-absent, so concurrent requests of the session agree on one document; the request that
   * wrote it logs a warning (once per session). A document begun again after the loss (lower
   * version) gets the snapshot merged into it instead, so nothing either holds is dropped.
   */
  async #reseed(budget: StoreBudget, payload: SessionTokenPayload): Promise<MetadataBase> {
    const store = this.#bind(this.#store, budget);
    const snapshot: StoredMetadata = { version: payload.metadata_version ?? 0, metadata: payload.metadata };
    const expiresAt = payload.exp === undefined ? undefined : payload.exp + this.#settings.clockTolerance;
    // Merging the snapshot: no limits (the document met them when it was written).
    const mergeSnapshot = async (): Promise<SeedMetadataResult> => {
      const merged = await store.mergeMetadata(payload.session_id, snapshot.metadata, {
        expiresAt,
        maxBytes: Number.MAX_SAFE_INTEGER,
        maxDepth: 64,
      });
      if (!merged.ok) throw new ServerError({ cause: new Error(`re-seeding the metadata was refused (${merged.reason})`) });
      return { seeded: true, version: merged.version, metadata: merged.metadata };
    };
    let result: SeedMetadataResult;
    if (store.seedMetadata) {
      result = await store.seedMetadata(payload.session_id, snapshot, expiresAt);
      if (!result.seeded && result.version < snapshot.version) result = await mergeSnapshot();
    } else {
      // A store without seedMetadata: merge the snapshot (not create-if-absent; see the contract).
      result = await mergeSnapshot();
    }
    if (result.seeded) {
      this.#settings.logger.warn(
        `metadataStorage 'store': the metadata document of session ${payload.session_id} was missing or behind its token's snapshot (version ${snapshot.version}): the store lost its data. Re-seeded it from the snapshot (changes newer than the snapshot that no token holds are lost).`,
      );
    }
    return { version: result.version, metadata: result.metadata, fromToken: false, lost: false };
  }

  /** Applies a (validated) patch atomically in the store; a refusal becomes the usual metadata error. */
  async #merge(budget: StoreBudget, sessionId: string, patch: JsonObject, exp: number | undefined): Promise<StoredMetadata> {
    const { maxBytes, maxDepth } = this.#settings.metadata;
    const result = await this.#bind(this.#store, budget).mergeMetadata(sessionId, patch, {
      // Kept as long as any token of the session can still be accepted.
      expiresAt: exp === undefined ? undefined : exp + this.#settings.clockTolerance,
      maxBytes,
      maxDepth,
    });
    if (!result.ok) {
      if (result.reason === 'max_depth') throw new InvalidMetadataError(`metadata is nested deeper than ${maxDepth} levels.`);
      throw new MetadataTooLargeError(`metadata would pass the limit of ${maxBytes} bytes.`);
    }
    return { version: result.version, metadata: result.metadata };
  }
}
