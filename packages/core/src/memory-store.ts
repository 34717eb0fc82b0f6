import { mergeMetadataWithinLimits, type JsonObject } from './metadata.js';
import { randomId } from './internal/random.js';
import type { CounterState, LinkedSession, MetadataMergeResult, SeedMetadataResult, SessionStore, StoredMetadata } from './store.js';

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /**
   * How often, in seconds, expired entries are swept out (lazily, on the next write after the
   * interval has passed; no timer keeps the process alive). Default 60.
   */
  sweepIntervalSeconds?: number;
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
 * completion on one thread (no `await` inside an operation). Entries are dropped once they expire, so memory
 * stays bounded by the number of live sessions.
 *
 * It is per process: with several app instances, a logout on one is not seen by the others. Use
 * `@anonymous-sessions/redis` or `@anonymous-sessions/postgres` there. A restart loses everything,
 * and its epoch marker with it, so tokens issued before a restart count as issued before a loss
 * (see `revocationLoss`).
 *
 * @param options - sweep tuning.
 * @returns a new, empty store.
 */
export function memoryStore(options: MemoryStoreOptions = {}): SessionStore {
  const sweepIntervalMs = (options.sweepIntervalSeconds ?? 60) * 1000;
  const revocations = new Map<string, Entry>();
  const marks = new Map<string, Entry>();
  const counters = new Map<string, Counter>();
  const documents = new Map<string, MetadataEntry>();
  /** user id → (session id → entry). */
  const links = new Map<string, Map<string, LinkEntry>>();
  let lastSweep = Date.now();
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

  const sweepIfDue = (now: number): void => {
    if (now - lastSweep < sweepIntervalMs) return;
    lastSweep = now;
    for (const map of [revocations, marks, counters, documents] as Map<string, Entry>[]) {
      for (const [key, entry] of map) if (entry.expiresAtMs <= now) map.delete(key);
    }
    for (const [userId, entries] of links) {
      for (const [sessionId, entry] of entries) if (entry.expiresAtMs <= now) entries.delete(sessionId);
      if (entries.size === 0) links.delete(userId);
    }
  };

  return {
    async revokeSession(sessionId, expiresAt) {
      const now = Date.now();
      sweepIfDue(now);
      const expiresAtMs = toMs(expiresAt);
      if (expiresAtMs <= now) return;
      const existing = live(revocations, sessionId, now);
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
      let entries = links.get(link.user_id);
      if (entries === undefined) {
        entries = new Map();
        links.set(link.user_id, entries);
      }
      // Delete first so a replaced entry moves to the end, like a new one.
      entries.delete(link.session_id);
      entries.set(link.session_id, { link: { ...link }, expiresAtMs });
    },

    async listLinks(userId): Promise<LinkedSession[]> {
      const now = Date.now();
      const entries = links.get(userId);
      if (entries === undefined) return [];
      const found: LinkedSession[] = [];
      for (const [sessionId, entry] of entries) {
        if (entry.expiresAtMs <= now) entries.delete(sessionId);
        else found.push({ ...entry.link });
      }
      return found.sort((a, b) => (a.linked_at < b.linked_at ? -1 : a.linked_at > b.linked_at ? 1 : 0));
    },
  };
}
