import { z } from 'zod/mini';
import { parseOptions } from '../errors/parse-options.js';
import { mergeMetadataWithinLimits, type JsonObject } from '../metadata/metadata.js';
import { randomId } from '../internal/random.js';
import type { CounterState, LinkedSession, MetadataMergeResult, SeedMetadataResult, SessionStore, StoredMetadata } from './store.js';

/** Default of {@link MemoryStoreOptions.maxEntries}: 100,000 entries, about 50 MiB of revocations. */
export const DEFAULT_MEMORY_STORE_MAX_ENTRIES = 100_000;

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /**
   * How often, in seconds, expired entries are swept out (lazily, on the next write after the
   * interval has passed; no timer keeps the process alive). Default 60.
   */
  sweepIntervalSeconds?: number | undefined;
  /**
   * The most live entries the store holds, of every kind together (revocations, rate-limit
   * counters, transfer marks, metadata documents, linked sessions). Default 100,000 (a revocation
   * takes about 0.5 KB, so about 50 MiB).
   *
   * Nothing is ever evicted to make room. A write that needs a new entry when the store is full
   * first sweeps out expired entries; if that frees nothing, the write is refused (it rejects, so
   * the engine answers 503 `temporarily_unavailable`: creating a session fails closed). Revocations
   * may use the whole capacity; every other kind stops at 90% of it, so a flood of new sessions
   * from many addresses cannot stop logouts. Updating an entry that is already there (a counter, a
   * longer revocation, a metadata merge) always works.
   */
  maxEntries?: number | undefined;
}

/** The schema of {@link MemoryStoreOptions}. */
export const memoryStoreOptionsSchema = z.strictObject({
  sweepIntervalSeconds: z._default(z.number().check(z.nonnegative()), 60),
  maxEntries: z._default(z.int().check(z.positive()), DEFAULT_MEMORY_STORE_MAX_ENTRIES),
});

/** Refusal of a write that needs a new entry in a full {@link memoryStore}. */
class MemoryStoreFullError extends Error {
  constructor(kind: string, limit: number) {
    super(`memoryStore() is full: no room for a new ${kind} (${limit} live entries; raise maxEntries or use a shared store)`);
    this.name = 'MemoryStoreFullError';
  }
}

/** Stores made by {@link memoryStore}, and those whose per-process warning was already given. */
const memoryStores = new WeakSet<SessionStore>();
const warnedStores = new WeakSet<SessionStore>();

/**
 * Whether `store` is a {@link memoryStore} whose "per process" warning has not been given yet;
 * marks it as given. The engine logs that warning once per store in production.
 *
 * @param store - the configured store.
 */
export function claimPerProcessWarning(store: SessionStore): boolean {
  if (!memoryStores.has(store) || warnedStores.has(store)) return false;
  warnedStores.add(store);
  return true;
}

interface Entry {
  /** Epoch milliseconds; `Infinity` = never. */
  expiresAtMs: number;
}

interface Counter extends Entry {
  count: number;
}

interface MetadataEntry extends Entry {
  version: number;
  /** The document as JSON text, so no caller can change the stored copy through a reference. */
  json: string;
}

interface LinkEntry extends Entry {
  link: LinkedSession;
}

const toMs = (expiresAt: number | undefined): number =>
  expiresAt === undefined ? Number.POSITIVE_INFINITY : expiresAt * 1000;

/**
 * The embedded, in-process {@link SessionStore}: the default. It implements the whole contract,
 * metadata and linked sessions included. Every operation is atomic because JavaScript runs it to
 * completion on one thread (no `await` inside an operation). Entries are dropped once they expire,
 * and the store never holds more than `maxEntries` of them (see {@link MemoryStoreOptions}): when
 * full it refuses new entries rather than forget one, least of all a revocation.
 *
 * It is per process: with several app instances, a logout on one is not seen by the others. Use
 * `@anonymous-sessions/redis` or `@anonymous-sessions/postgres` there; in production the engine
 * logs this once. A restart loses everything,
 * and its epoch marker with it, so tokens issued before a restart count as issued before a loss
 * (see `revocationLoss`).
 *
 * @param options - capacity and sweep tuning.
 * @returns a new, empty store.
 * @throws ConfigError for an unknown or invalid option.
 */
export function memoryStore(options: MemoryStoreOptions = {}): SessionStore {
  const parsed = parseOptions(memoryStoreOptionsSchema, options, 'memoryStore');
  const { maxEntries } = parsed;
  const sweepIntervalMs = parsed.sweepIntervalSeconds * 1000;
  /** Every kind but revocations stops here, keeping the rest of the capacity for logouts. */
  const otherEntriesLimit = maxEntries - Math.floor(maxEntries / 10);
  const revocations = new Map<string, Entry>();
  const marks = new Map<string, Entry>();
  const counters = new Map<string, Counter>();
  const documents = new Map<string, MetadataEntry>();
  /** user id → (session id → entry). */
  const links = new Map<string, Map<string, LinkEntry>>();
  let linkCount = 0;
  let lastSweep = Date.now();
  let lastForcedSweep = Number.NEGATIVE_INFINITY;

  const size = (): number => revocations.size + marks.size + counters.size + documents.size + linkCount;
  /** The epoch marker: written on first use, gone with the process. */
  let epoch: string | undefined;

  const live = <T extends Entry>(map: Map<string, T>, key: string, now: number): T | undefined => {
    const entry = map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= now) {
      map.delete(key);
      return undefined;
    }
    return entry;
  };

  const sweep = (now: number): void => {
    lastSweep = now;
    for (const map of [revocations, marks, counters, documents] as Map<string, Entry>[]) {
      for (const [key, entry] of map) if (entry.expiresAtMs <= now) map.delete(key);
    }
    for (const [userId, entries] of links) {
      for (const [sessionId, entry] of entries) {
        if (entry.expiresAtMs <= now) {
          entries.delete(sessionId);
          linkCount -= 1;
        }
      }
      if (entries.size === 0) links.delete(userId);
    }
  };

  const sweepIfDue = (now: number): void => {
    if (now - lastSweep >= sweepIntervalMs) sweep(now);
  };

  /**
   * Makes sure one more entry of `kind` fits: when the store is at its limit, expired entries are
   * swept out first (at most once a second, so a full store does not rescan on every request); if
   * that frees nothing, the write is refused. Nothing is ever evicted.
   */
  const makeRoom = (kind: 'revocation' | 'rate-limit counter' | 'mark' | 'metadata document' | 'linked session', now: number): void => {
    const limit = kind === 'revocation' ? maxEntries : otherEntriesLimit;
    if (size() < limit) return;
    if (now - lastForcedSweep >= 1000) {
      lastForcedSweep = now;
      sweep(now);
      if (size() < limit) return;
    }
    throw new MemoryStoreFullError(kind, maxEntries);
  };

  const store: SessionStore = {
    async revokeSession(sessionId, expiresAt) {
      const now = Date.now();
      sweepIfDue(now);
      const expiresAtMs = toMs(expiresAt);
      if (expiresAtMs <= now) return;
      const existing = live(revocations, sessionId, now);
      if (existing === undefined) makeRoom('revocation', now);
      revocations.set(sessionId, {
        expiresAtMs: Math.max(expiresAtMs, existing?.expiresAtMs ?? 0),
      });
    },

    async isSessionRevoked(sessionId) {
      return live(revocations, sessionId, Date.now()) !== undefined;
    },

    async markOnce(key, expiresAt) {
      const now = Date.now();
      sweepIfDue(now);
      if (live(marks, key, now) !== undefined) return false;
      makeRoom('mark', now);
      marks.set(key, { expiresAtMs: toMs(expiresAt) });
      return true;
    },

    async releaseMark(key) {
      marks.delete(key);
    },

    async increment(key, windowSeconds): Promise<CounterState> {
      const now = Date.now();
      sweepIfDue(now);
      let counter = live(counters, key, now);
      if (counter === undefined) {
        makeRoom('rate-limit counter', now);
        counter = { count: 0, expiresAtMs: now + windowSeconds * 1000 };
        counters.set(key, counter);
      }
      counter.count += 1;
      return { count: counter.count, resetAt: Math.ceil(counter.expiresAtMs / 1000) };
    },

    async readMetadata(sessionId): Promise<StoredMetadata | undefined> {
      const entry = live(documents, sessionId, Date.now());
      if (entry === undefined) return undefined;
      return { version: entry.version, metadata: JSON.parse(entry.json) as JsonObject };
    },

    async mergeMetadata(sessionId, patch, options): Promise<MetadataMergeResult> {
      const now = Date.now();
      sweepIfDue(now);
      const entry = live(documents, sessionId, now);
      const current = entry === undefined ? {} : (JSON.parse(entry.json) as JsonObject);
      const merged = mergeMetadataWithinLimits(current, patch, options);
      if (!merged.ok) return merged;
      const expiresAtMs = Math.max(toMs(options.expiresAt), entry?.expiresAtMs ?? 0);
      if (expiresAtMs <= now) return { ok: true, version: (entry?.version ?? 0) + 1, metadata: merged.metadata };
      if (entry === undefined) makeRoom('metadata document', now);
      const version = (entry?.version ?? 0) + 1;
      documents.set(sessionId, { version, json: JSON.stringify(merged.metadata), expiresAtMs });
      return { ok: true, version, metadata: merged.metadata };
    },

    async seedMetadata(sessionId, document, expiresAt): Promise<SeedMetadataResult> {
      const now = Date.now();
      sweepIfDue(now);
      const entry = live(documents, sessionId, now);
      if (entry !== undefined) return { seeded: false, version: entry.version, metadata: JSON.parse(entry.json) as JsonObject };
      const json = JSON.stringify(document.metadata);
      const expiresAtMs = toMs(expiresAt);
      if (expiresAtMs > now) documents.set(sessionId, { version: document.version, json, expiresAtMs });
      return { seeded: true, version: document.version, metadata: JSON.parse(json) as JsonObject };
    },

    async epoch() {
      epoch ??= `mem.${randomId(16)}`;
      return epoch;
    },

    async recordLink(link, expiresAt) {
      const now = Date.now();
      sweepIfDue(now);
      const expiresAtMs = toMs(expiresAt);
      if (expiresAtMs <= now) return;
      const replacing = links.get(link.user_id)?.has(link.session_id) === true;
      if (!replacing) makeRoom('linked session', now);
      let entries = links.get(link.user_id);
      if (entries === undefined) {
        entries = new Map();
        links.set(link.user_id, entries);
      }
      // Delete first so a replaced entry moves to the end, like a new one.
      entries.delete(link.session_id);
      entries.set(link.session_id, { link: { ...link }, expiresAtMs });
      if (!replacing) linkCount += 1;
    },

    async listLinks(userId): Promise<LinkedSession[]> {
      const now = Date.now();
      const entries = links.get(userId);
      if (entries === undefined) return [];
      const found: LinkedSession[] = [];
      for (const [sessionId, entry] of entries) {
        if (entry.expiresAtMs <= now) {
          entries.delete(sessionId);
          linkCount -= 1;
        } else found.push({ ...entry.link });
      }
      if (entries.size === 0) links.delete(userId);
      return found.sort((a, b) => (a.linked_at < b.linked_at ? -1 : a.linked_at > b.linked_at ? 1 : 0));
    },
  };
  memoryStores.add(store);
  return store;
}
