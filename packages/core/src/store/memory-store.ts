import * as z from 'zod/mini';
import { parseOptions } from '../errors/parse-options.js';
import { mergeMetadataWithinLimits, type JsonObject } from '../metadata/metadata.js';
import { randomId } from '../internal/random.js';
import type {
  CounterState,
  TransferLogEntry,
  MetadataMergeOptions,
  MetadataMergeResult,
  SeedMetadataResult,
  SessionStore,
  StoredMetadata,
} from './store.js';

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
  link: TransferLogEntry;
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
  const state = new MemoryState(parsed.maxEntries, parsed.sweepIntervalSeconds * 1000);
  // Each operation is bound to this store's state, so a method taken off the store still works.
  const store: SessionStore = {
    revokeSession: (sessionId, expiresAt) => revokeSession(state, sessionId, expiresAt),
    isSessionRevoked: async (sessionId) => state.live(state.revocations, sessionId, Date.now()) !== undefined,
    markOnce: (key, expiresAt) => markOnce(state, key, expiresAt),
    releaseMark: async (key) => {
      state.marks.delete(key);
    },
    increment: (key, windowSeconds) => increment(state, key, windowSeconds),
    readMetadata: (sessionId) => readMetadata(state, sessionId),
    mergeMetadata: (sessionId, patch, mergeOptions) => mergeMetadata(state, sessionId, patch, mergeOptions),
    seedMetadata: (sessionId, document, expiresAt) => seedMetadata(state, sessionId, document, expiresAt),
    epoch: async () => (state.epoch ??= `mem.${randomId(16)}`),
    recordLink: (link, expiresAt) => recordLink(state, link, expiresAt),
    listLinks: (userId) => listLinks(state, userId),
  };
  memoryStores.add(store);
  return store;
}

/** What a write needs room for, as named in the "full" error. */
type EntryKind = 'revocation' | 'rate-limit counter' | 'mark' | 'metadata document' | 'linked session';

/** The entries of one {@link memoryStore}, with expiry and the capacity rule. */
class MemoryState {
  readonly revocations = new Map<string, Entry>();
  readonly marks = new Map<string, Entry>();
  readonly counters = new Map<string, Counter>();
  readonly documents = new Map<string, MetadataEntry>();
  /** user id → (session id → entry). */
  readonly links = new Map<string, Map<string, LinkEntry>>();
  linkCount = 0;
  /** The epoch marker: written on first use, gone with the process. */
  epoch: string | undefined;
  private lastSweep = Date.now();
  private lastForcedSweep = Number.NEGATIVE_INFINITY;
  /** Every kind but revocations stops here, keeping the rest of the capacity for logouts. */
  private readonly otherEntriesLimit: number;

  constructor(
    readonly maxEntries: number,
    private readonly sweepIntervalMs: number,
  ) {
    this.otherEntriesLimit = maxEntries - Math.floor(maxEntries / 10);
  }

  size(): number {
    return this.revocations.size + this.marks.size + this.counters.size + this.documents.size + this.linkCount;
  }

  /** The entry under `key` unless it has expired (an expired one is dropped). */
  live<T extends Entry>(map: Map<string, T>, key: string, now: number): T | undefined {
    const entry = map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= now) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }

  sweep(now: number): void {
    this.lastSweep = now;
    for (const map of [this.revocations, this.marks, this.counters, this.documents] as Map<string, Entry>[]) {
      for (const [key, entry] of map) if (entry.expiresAtMs <= now) map.delete(key);
    }
    for (const [userId, entries] of this.links) {
      for (const [sessionId, entry] of entries) {
        if (entry.expiresAtMs <= now) {
          entries.delete(sessionId);
          this.linkCount -= 1;
        }
      }
      if (entries.size === 0) this.links.delete(userId);
    }
  }

  sweepIfDue(now: number): void {
    if (now - this.lastSweep >= this.sweepIntervalMs) this.sweep(now);
  }

  /**
   * Makes sure one more entry of `kind` fits: when the store is at its limit, expired entries are
   * swept out first (at most once a second, so a full store does not rescan on every request); if
   * that frees nothing, the write is refused. Nothing is ever evicted.
   */
  makeRoom(kind: EntryKind, now: number): void {
    const limit = kind === 'revocation' ? this.maxEntries : this.otherEntriesLimit;
    if (this.size() < limit) return;
    if (now - this.lastForcedSweep >= 1000) {
      this.lastForcedSweep = now;
      this.sweep(now);
      if (this.size() < limit) return;
    }
    throw new MemoryStoreFullError(kind, this.maxEntries);
  }
}

// The operations. Each is async (a refused write rejects) and runs to completion without an
// `await`, which is what makes it atomic.

async function revokeSession(state: MemoryState, sessionId: string, expiresAt: number | undefined): Promise<void> {
  const now = Date.now();
  state.sweepIfDue(now);
  const expiresAtMs = toMs(expiresAt);
  if (expiresAtMs <= now) return;
  const existing = state.live(state.revocations, sessionId, now);
  if (existing === undefined) state.makeRoom('revocation', now);
  state.revocations.set(sessionId, { expiresAtMs: Math.max(expiresAtMs, existing?.expiresAtMs ?? 0) });
}

async function markOnce(state: MemoryState, key: string, expiresAt: number | undefined): Promise<boolean> {
  const now = Date.now();
  state.sweepIfDue(now);
  if (state.live(state.marks, key, now) !== undefined) return false;
  state.makeRoom('mark', now);
  state.marks.set(key, { expiresAtMs: toMs(expiresAt) });
  return true;
}

async function increment(state: MemoryState, key: string, windowSeconds: number): Promise<CounterState> {
  const now = Date.now();
  state.sweepIfDue(now);
  let counter = state.live(state.counters, key, now);
  if (counter === undefined) {
    state.makeRoom('rate-limit counter', now);
    counter = { count: 0, expiresAtMs: now + windowSeconds * 1000 };
    state.counters.set(key, counter);
  }
  counter.count += 1;
  return { count: counter.count, resetAt: Math.ceil(counter.expiresAtMs / 1000) };
}

async function readMetadata(state: MemoryState, sessionId: string): Promise<StoredMetadata | undefined> {
  const entry = state.live(state.documents, sessionId, Date.now());
  if (entry === undefined) return undefined;
  return { version: entry.version, metadata: JSON.parse(entry.json) as JsonObject };
}

async function mergeMetadata(
  state: MemoryState,
  sessionId: string,
  patch: JsonObject,
  options: MetadataMergeOptions,
): Promise<MetadataMergeResult> {
  const now = Date.now();
  state.sweepIfDue(now);
  const entry = state.live(state.documents, sessionId, now);
  const current = entry === undefined ? {} : (JSON.parse(entry.json) as JsonObject);
  const merged = mergeMetadataWithinLimits(current, patch, options);
  if (!merged.ok) return merged;
  const expiresAtMs = Math.max(toMs(options.expiresAt), entry?.expiresAtMs ?? 0);
  if (expiresAtMs <= now) return { ok: true, version: (entry?.version ?? 0) + 1, metadata: merged.metadata };
  if (entry === undefined) state.makeRoom('metadata document', now);
  const version = (entry?.version ?? 0) + 1;
  state.documents.set(sessionId, { version, json: JSON.stringify(merged.metadata), expiresAtMs });
  return { ok: true, version, metadata: merged.metadata };
}

async function seedMetadata(
  state: MemoryState,
  sessionId: string,
  document: StoredMetadata,
  expiresAt: number | undefined,
): Promise<SeedMetadataResult> {
  const now = Date.now();
  state.sweepIfDue(now);
  const entry = state.live(state.documents, sessionId, now);
  if (entry !== undefined) return { seeded: false, version: entry.version, metadata: JSON.parse(entry.json) as JsonObject };
  const json = JSON.stringify(document.metadata);
  const expiresAtMs = toMs(expiresAt);
  if (expiresAtMs > now) state.documents.set(sessionId, { version: document.version, json, expiresAtMs });
  return { seeded: true, version: document.version, metadata: JSON.parse(json) as JsonObject };
}

async function recordLink(state: MemoryState, link: TransferLogEntry, expiresAt: number | undefined): Promise<void> {
  const now = Date.now();
  state.sweepIfDue(now);
  const expiresAtMs = toMs(expiresAt);
  if (expiresAtMs <= now) return;
  const replacing = state.links.get(link.user_id)?.has(link.session_id) === true;
  if (!replacing) state.makeRoom('linked session', now);
  let entries = state.links.get(link.user_id);
  if (entries === undefined) {
    entries = new Map();
    state.links.set(link.user_id, entries);
  }
  // Delete first so a replaced entry moves to the end, like a new one.
  entries.delete(link.session_id);
  entries.set(link.session_id, { link: { ...link }, expiresAtMs });
  if (!replacing) state.linkCount += 1;
}

async function listLinks(state: MemoryState, userId: string): Promise<TransferLogEntry[]> {
  const now = Date.now();
  const entries = state.links.get(userId);
  if (entries === undefined) return [];
  const found: TransferLogEntry[] = [];
  for (const [sessionId, entry] of entries) {
    if (entry.expiresAtMs <= now) {
      entries.delete(sessionId);
      state.linkCount -= 1;
    } else found.push({ ...entry.link });
  }
  if (entries.size === 0) state.links.delete(userId);
  return found.sort((a, b) => (a.linked_at < b.linked_at ? -1 : a.linked_at > b.linked_at ? 1 : 0));
}
