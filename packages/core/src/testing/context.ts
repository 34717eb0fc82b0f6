/**
 * What every area of the conformance kit shares: the options, the store under test (made once per
 * run), unique keys, the expiry timings and the accessors of the optional operations. Real time
 * throughout: the backend's own clock decides expiry, and waits poll with a deadline.
 *
 * @packageDocumentation
 */
import { afterAll, beforeAll } from 'vitest';
import type { SessionStore } from '../store/store.js';
import { epochSeconds } from '../internal/epoch-seconds.js';

/** Options of {@link runSessionStoreConformance}. */
export interface SessionStoreConformanceOptions {
  /**
   * Run the metadata cases (`readMetadata`, `mergeMetadata`: `metadataStorage: 'store'`). Default
   * true; pass `false` for a store meant only for the default `'token'` mode.
   */
  metadata?: boolean;
  /** Run the linked-session registry cases (`recordLink`, `listLinks`). Default true. */
  links?: boolean;
  /** Run the `releaseMark` case. Default true; pass `false` for a store without it. */
  releaseMark?: boolean;
  /**
   * Run the `seedMetadata` cases (with the metadata cases). Default true; pass `false` for a store
   * without it (the engine then re-seeds a lost document with `mergeMetadata`).
   */
  seedMetadata?: boolean;
  /**
   * Run the `epoch` cases. Default true; pass `false` for a store without it (the engine then cannot
   * notice that the store lost its data, and refuses `revocationLoss: 'reject'`).
   */
  epoch?: boolean;
  /**
   * Empties the store under test the way a loss would (a Redis restart without persistence, a
   * flushed prefix, truncated rows): every entry it holds, and nothing else's. Given, the kit checks
   * that the epoch marker changes after it. Only ever delete what the factory's store owns (its
   * key prefix, its own table), never a whole shared server.
   */
  wipe?: (store: SessionStore) => void | Promise<void>;
  /** How many concurrent calls the concurrency cases make. Default 50. */
  concurrency?: number;
  /**
   * How long, in milliseconds, an expiry case waits at most for an entry to disappear after its
   * `expiresAt`. Default 5000. Raise it for a backend that expires lazily on a slow timer.
   */
  expiryGraceMs?: number;
  /** Called once after the cases with the store the factory made: close clients, drop tables. */
  teardown?: (store: SessionStore) => void | Promise<void>;
}

/** Creates the store under test; called once, before the cases. */
export type SessionStoreFactory = () => SessionStore | Promise<SessionStore>;

/** Seconds an entry that must expire during a case lives (at least 1, at most 2 wall seconds). */

export const SHORT_LIFE = 2;
/** Seconds an entry that must outlive a case lives. */
export const LONG_LIFE = 600;
const POLL_MS = 50;

export const nowSeconds = epochSeconds;
const randomSuffix = (): string => crypto.randomUUID().replaceAll('-', '');
export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it answers true, failing after `timeoutMs`. */
export async function eventually(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await delay(POLL_MS);
  }
}

/** What each area of the kit receives from {@link createConformanceContext}. */
export interface ConformanceContext {
  /** The adapter's name, shown in the test report and in errors. */
  readonly name: string;
  /** The options of the run. */
  readonly options: SessionStoreConformanceOptions;
  /** How many calls the concurrency cases make at once. */
  readonly concurrency: number;
  /** Time to wait for a short-lived entry to be gone, in ms. */
  readonly expiryWait: number;
  /** The timeout of a case that waits for expiry, in ms. */
  readonly expiryTimeout: number;
  /** The store under test (made in `beforeAll`). */
  store(): SessionStore;
  /** A key unique to this run and call; a `sess_` id when `prefix` is omitted. */
  unique(prefix?: string): string;
  /** The metadata operations, or a clear error when the adapter lacks them. */
  metadataStore(): Required<Pick<SessionStore, 'readMetadata' | 'mergeMetadata'>>;
  /** The seed operation with the metadata operations, or a clear error. */
  seedStore(): Required<Pick<SessionStore, 'readMetadata' | 'mergeMetadata' | 'seedMetadata'>>;
  /** The store's epoch marker, or a clear error when the adapter has none. */
  epochOf(): Promise<string>;
  /** The transfer-log operations (`recordLink`, `listLinks`), or a clear error. */
  linkStore(): Required<Pick<SessionStore, 'recordLink' | 'listLinks'>>;
}

/**
 * Makes the store under test before the cases of the current `describe` (and tears it down after
 * them) and returns what the areas share. Call it inside a `describe`, then register areas with it.
 *
 * @param name - the adapter's name.
 * @param factory - makes the store under test.
 * @param options - which optional parts to check, concurrency, expiry grace and teardown.
 */
export function createConformanceContext(
  name: string,
  factory: SessionStoreFactory,
  options: SessionStoreConformanceOptions = {},
): ConformanceContext {
  const concurrency = options.concurrency ?? 50;
  const grace = options.expiryGraceMs ?? 5000;
  /** Time to wait for a SHORT_LIFE entry to be gone. */
  const expiryWait = SHORT_LIFE * 1000 + grace;
  const expiryTimeout = expiryWait + 10_000;
  const run = randomSuffix().slice(0, 12);
  let counter = 0;
  let store: SessionStore;

  beforeAll(async () => {
    store = await factory();
  });

  afterAll(async () => {
    if (store !== undefined) await options.teardown?.(store);
  });

  const metadataStore = (): Required<Pick<SessionStore, 'readMetadata' | 'mergeMetadata'>> => {
    const { readMetadata, mergeMetadata } = store;
    if (typeof readMetadata !== 'function' || typeof mergeMetadata !== 'function') {
      throw new Error(`${name} does not implement readMetadata and mergeMetadata; pass { metadata: false } to skip these cases`);
    }
    return {
      readMetadata: (sessionId) => readMetadata.call(store, sessionId),
      mergeMetadata: (sessionId, patch, mergeOptions) => mergeMetadata.call(store, sessionId, patch, mergeOptions),
    };
  };
  const seedStore = (): Required<Pick<SessionStore, 'readMetadata' | 'mergeMetadata' | 'seedMetadata'>> => {
    const { seedMetadata } = store;
    if (typeof seedMetadata !== 'function') {
      throw new Error(`${name} does not implement seedMetadata; pass { seedMetadata: false } to skip these cases`);
    }
    return { ...metadataStore(), seedMetadata: (sessionId, document, expiresAt) => seedMetadata.call(store, sessionId, document, expiresAt) };
  };
  const epochOf = (): Promise<string> => {
    const { epoch } = store;
    if (typeof epoch !== 'function') throw new Error(`${name} does not implement epoch; pass { epoch: false } to skip these cases`);
    return epoch.call(store);
  };
  const linkStore = (): Required<Pick<SessionStore, 'recordLink' | 'listLinks'>> => {
    const { recordLink, listLinks } = store;
    if (typeof recordLink !== 'function' || typeof listLinks !== 'function') {
      throw new Error(`${name} does not implement recordLink and listLinks; pass { links: false } to skip these cases`);
    }
    return {
      recordLink: (link, expiresAt) => recordLink.call(store, link, expiresAt),
      listLinks: (userId) => listLinks.call(store, userId),
    };
  };

  return {
    name,
    options,
    concurrency,
    expiryWait,
    expiryTimeout,
    store: () => store,
    unique: (prefix = 'sess_conf') => `${prefix}${run}${(counter += 1)}`,
    metadataStore,
    seedStore,
    epochOf,
    linkStore,
  };
}
