import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryStore, type SessionStore } from '@anonymous-sessions/core';
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
