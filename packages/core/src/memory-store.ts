import type { CounterState, SessionStore } from './store.js';

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

const toMs = (expiresAt: number | undefined): number =>
  expiresAt === undefined ? Number.POSITIVE_INFINITY : expiresAt * 1000;

/**
 * The embedded, in-process {@link SessionStore}: the default. Every operation is atomic because
 * JavaScript runs it to completion on one thread. Entries are dropped once they expire, so memory
 * stays bounded by the number of live sessions.
 *
 * It is per process: with several app instances, a logout on one is not seen by the others. Use
 * `@anonymous-sessions/redis` or `@anonymous-sessions/postgres` there.
 *
 * @param options - sweep tuning.
 * @returns a new, empty store.
 */
export function memoryStore(options: MemoryStoreOptions = {}): SessionStore {
  const sweepIntervalMs = (options.sweepIntervalSeconds ?? 60) * 1000;
  const revocations = new Map<string, Entry>();
  const marks = new Map<string, Entry>();
  const counters = new Map<string, Counter>();
  let lastSweep = Date.now();

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
    for (const map of [revocations, marks, counters] as Map<string, Entry>[]) {
      for (const [key, entry] of map) if (entry.expiresAtMs <= now) map.delete(key);
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
  };
}
