import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, memoryStore, type SessionStore } from '@anonymous-sessions/core';
import { T0, T0_SECONDS } from './fixtures.js';

let store: SessionStore;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  store = memoryStore();
});

afterEach(() => {
  vi.useRealTimers();
});

const at = (epochSeconds: number, extraMilliseconds = 0): void => {
  vi.setSystemTime(new Date(epochSeconds * 1000 + extraMilliseconds));
};

describe('revocations', () => {
  it('are revoked until expiresAt and gone from that instant', async () => {
    await store.revokeSession('sess_a', T0_SECONDS + 100);
    expect(await store.isSessionRevoked('sess_a')).toBe(true);
    expect(await store.isSessionRevoked('sess_b')).toBe(false);
    at(T0_SECONDS + 100, -1);
    expect(await store.isSessionRevoked('sess_a')).toBe(true);
    at(T0_SECONDS + 100);
    expect(await store.isSessionRevoked('sess_a')).toBe(false);
    // Gone, not just hidden: moving the clock back does not bring it back.
    at(T0_SECONDS + 50);
    expect(await store.isSessionRevoked('sess_a')).toBe(false);
  });

  it('with expiresAt undefined last forever', async () => {
    await store.revokeSession('sess_forever', undefined);
    at(T0_SECONDS + 100 * 365 * 86_400);
    expect(await store.isSessionRevoked('sess_forever')).toBe(true);
  });

  it('with an expiresAt already past record nothing', async () => {
    await store.revokeSession('sess_old', T0_SECONDS - 1);
    await store.revokeSession('sess_now', T0_SECONDS);
    expect(await store.isSessionRevoked('sess_old')).toBe(false);
    expect(await store.isSessionRevoked('sess_now')).toBe(false);
  });

  it('are idempotent and keep the later expiry', async () => {
    await store.revokeSession('sess_a', T0_SECONDS + 100);
    await store.revokeSession('sess_a', T0_SECONDS + 50);
    at(T0_SECONDS + 75);
    expect(await store.isSessionRevoked('sess_a')).toBe(true);
    await store.revokeSession('sess_a', T0_SECONDS + 200);
    at(T0_SECONDS + 150);
    expect(await store.isSessionRevoked('sess_a')).toBe(true);
    at(T0_SECONDS + 200);
    expect(await store.isSessionRevoked('sess_a')).toBe(false);
  });

  it('are swept out by later writes once expired', async () => {
    const swept = memoryStore({ sweepIntervalSeconds: 1 });
    await swept.revokeSession('sess_short', T0_SECONDS + 1);
    await swept.revokeSession('sess_long', T0_SECONDS + 1000);
    at(T0_SECONDS + 5);
    await swept.markOnce('trigger-sweep', undefined);
    expect(await swept.isSessionRevoked('sess_short')).toBe(false);
    expect(await swept.isSessionRevoked('sess_long')).toBe(true);
  });

  it('belong to one store instance', async () => {
    await store.revokeSession('sess_a', undefined);
    expect(await memoryStore().isSessionRevoked('sess_a')).toBe(false);
  });
});

describe('markOnce', () => {
  it('is atomic: of 20 concurrent calls exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => store.markOnce('transfer:u1:s1', undefined)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(results.filter((won) => !won)).toHaveLength(19);
  });

  it('keeps keys apart', async () => {
    expect(await store.markOnce('k1', undefined)).toBe(true);
    expect(await store.markOnce('k2', undefined)).toBe(true);
    expect(await store.markOnce('k1', undefined)).toBe(false);
  });

  it('can be set again once the mark expires', async () => {
    expect(await store.markOnce('k', T0_SECONDS + 10)).toBe(true);
    at(T0_SECONDS + 10, -1);
    expect(await store.markOnce('k', T0_SECONDS + 20)).toBe(false);
    at(T0_SECONDS + 10);
    expect(await store.markOnce('k', T0_SECONDS + 20)).toBe(true);
  });
});

describe('increment', () => {
  it('counts within a fixed window and reports when it resets', async () => {
    expect(await store.increment('create:1.2.3.4', 60)).toEqual({ count: 1, resetAt: T0_SECONDS + 60 });
    at(T0_SECONDS + 30);
    expect(await store.increment('create:1.2.3.4', 60)).toEqual({ count: 2, resetAt: T0_SECONDS + 60 });
    at(T0_SECONDS + 60, -1);
    expect(await store.increment('create:1.2.3.4', 60)).toEqual({ count: 3, resetAt: T0_SECONDS + 60 });
  });

  it('starts a new window when the old one is over', async () => {
    await store.increment('k', 60);
    await store.increment('k', 60);
    at(T0_SECONDS + 60);
    expect(await store.increment('k', 60)).toEqual({ count: 1, resetAt: T0_SECONDS + 120 });
  });

  it('keeps counters apart', async () => {
    await store.increment('a', 60);
    await store.increment('a', 60);
    expect(await store.increment('b', 60)).toEqual({ count: 1, resetAt: T0_SECONDS + 60 });
  });

  it('never loses a count under concurrency', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => store.increment('k', 60)));
    expect(results.map(({ count }) => count).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('rounds resetAt up to a whole second', async () => {
    at(T0_SECONDS, 400);
    expect(await store.increment('k', 60)).toEqual({ count: 1, resetAt: T0_SECONDS + 61 });
  });
});

describe('capacity (maxEntries)', () => {
  const link = (userId: string, sessionId: string) => ({
    session_id: sessionId,
    anonymous_user_id: `anon|${sessionId}`,
    user_id: userId,
    linked_at: new Date(T0).toISOString(),
    user_agent: null,
  });
  const limits = { expiresAt: T0_SECONDS + 600, maxBytes: 2048, maxDepth: 8 };

  it('holds 100,000 entries by default: 90,000 of other kinds, the rest only for revocations', async () => {
    const full = memoryStore();
    for (let index = 0; index < 90_000; index += 1) await full.increment(`create:${index}`, 60);
    await expect(full.increment('create:one-more', 60)).rejects.toThrow(/full/);
    for (let index = 0; index < 10_000; index += 1) await full.revokeSession(`sess_${index}`, T0_SECONDS + 600);
    await expect(full.revokeSession('sess_one_more', T0_SECONDS + 600)).rejects.toThrow(/full/);
    expect(await full.isSessionRevoked('sess_9999')).toBe(true);
  });

  it('refuses a new counter, mark, document or linked session when full, and changes nothing', async () => {
    const small = memoryStore({ maxEntries: 10 });
    // 10 entries: other kinds stop at 9.
    for (let index = 0; index < 9; index += 1) await small.increment(`create:${index}`, 60);
    await expect(small.increment('create:new', 60)).rejects.toThrow(/memoryStore\(\) is full/);
    await expect(small.markOnce('transfer:new', T0_SECONDS + 600)).rejects.toThrow(/full/);
    await expect(small.mergeMetadata!('sess_new', { cart: [1] }, limits)).rejects.toThrow(/full/);
    await expect(small.recordLink!(link('user-1', 'sess_new'), T0_SECONDS + 600)).rejects.toThrow(/full/);
    expect(await small.readMetadata!('sess_new')).toBeUndefined();
    expect(await small.listLinks!('user-1')).toEqual([]);
    // What is already there keeps working: a counter counts on.
    expect(await small.increment('create:0', 60)).toEqual({ count: 2, resetAt: T0_SECONDS + 60 });
  });

  it('keeps updating entries it already holds when full', async () => {
    const small = memoryStore({ maxEntries: 10 });
    await small.mergeMetadata!('sess_doc', { a: 1 }, limits);
    await small.recordLink!(link('user-1', 'sess_a'), T0_SECONDS + 600);
    await small.revokeSession('sess_r', T0_SECONDS + 100);
    for (let index = 0; index < 6; index += 1) await small.increment(`create:${index}`, 60);
    await expect(small.increment('create:new', 60)).rejects.toThrow(/full/);
    expect(await small.mergeMetadata!('sess_doc', { b: 2 }, limits)).toEqual({ ok: true, version: 2, metadata: { a: 1, b: 2 } });
    await small.recordLink!({ ...link('user-1', 'sess_a'), user_agent: 'again' }, T0_SECONDS + 600);
    expect((await small.listLinks!('user-1'))[0]?.user_agent).toBe('again');
    await small.revokeSession('sess_r', T0_SECONDS + 500);
    vi.setSystemTime(new Date((T0_SECONDS + 400) * 1000));
    expect(await small.isSessionRevoked('sess_r')).toBe(true);
  });

  it('keeps room for logouts when other entries fill it, and never forgets a revocation to make room', async () => {
    const small = memoryStore({ maxEntries: 10 });
    await small.revokeSession('sess_first', undefined);
    for (let index = 0; index < 8; index += 1) await small.increment(`create:${index}`, 60);
    await expect(small.increment('create:new', 60)).rejects.toThrow(/full/);
    // Other kinds are at their limit (9 of 10); a revocation still fits, the next does not.
    await small.revokeSession('sess_second', T0_SECONDS + 600);
    await expect(small.revokeSession('sess_third', T0_SECONDS + 600)).rejects.toThrow(/full/);
    expect(await small.isSessionRevoked('sess_first')).toBe(true);
    expect(await small.isSessionRevoked('sess_second')).toBe(true);
    expect(await small.isSessionRevoked('sess_third')).toBe(false);
    // Once the counters expire there is room again, and both revocations are still there.
    vi.setSystemTime(new Date((T0_SECONDS + 60) * 1000));
    await small.revokeSession('sess_third', T0_SECONDS + 600);
    expect(await small.isSessionRevoked('sess_first')).toBe(true);
    expect(await small.isSessionRevoked('sess_second')).toBe(true);
    expect(await small.isSessionRevoked('sess_third')).toBe(true);
  });

  it('sweeps expired entries out before refusing, even long before the next regular sweep', async () => {
    const small = memoryStore({ maxEntries: 10, sweepIntervalSeconds: 86_400 });
    for (let index = 0; index < 5; index += 1) await small.markOnce(`short:${index}`, T0_SECONDS + 30);
    for (let index = 0; index < 4; index += 1) await small.recordLink!(link('user-1', `sess_${index}`), T0_SECONDS + 30);
    await expect(small.increment('create:new', 60)).rejects.toThrow(/full/);
    vi.setSystemTime(new Date((T0_SECONDS + 30) * 1000));
    expect(await small.increment('create:new', 60)).toEqual({ count: 1, resetAt: T0_SECONDS + 90 });
    for (let index = 0; index < 8; index += 1) expect(await small.markOnce(`other:${index}`, undefined)).toBe(true);
    await expect(small.markOnce('other:8', undefined)).rejects.toThrow(/full/);
  });

  it('frees room when a mark is released or expired links are read out', async () => {
    const small = memoryStore({ maxEntries: 10, sweepIntervalSeconds: 86_400 });
    for (let index = 0; index < 8; index += 1) await small.markOnce(`mark:${index}`, undefined);
    await small.recordLink!(link('user-1', 'sess_a'), T0_SECONDS + 10);
    await expect(small.markOnce('mark:new', undefined)).rejects.toThrow(/full/);
    await small.releaseMark!('mark:0');
    expect(await small.markOnce('mark:new', undefined)).toBe(true);
    vi.setSystemTime(new Date((T0_SECONDS + 10) * 1000));
    expect(await small.listLinks!('user-1')).toEqual([]);
    expect(await small.markOnce('mark:after-links', undefined)).toBe(true);
  });

  it('validates its options', () => {
    for (const maxEntries of [0, -1, 1.5]) {
      expect(() => memoryStore({ maxEntries })).toThrow(ConfigError);
    }
    const error = (() => {
      try {
        memoryStore({ maxEntires: 5 } as never);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([{ path: 'memoryStore.maxEntires', message: 'is not a known option' }]);
    expect(() => memoryStore({ maxEntries: 0 })).toThrow(/memoryStore\.maxEntries/);
  });
});
