/**
 * The SessionStore conformance kit (`@anonymous-sessions/core/testing`) against memoryStore(): the
 * same cases the Redis and Postgres adapters pass against their real servers.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore } from '@anonymous-sessions/core';
import { runSessionStoreConformance } from '@anonymous-sessions/core/testing';

runSessionStoreConformance('memoryStore()', () => memoryStore());

describe('memoryStore() epoch', () => {
  it('is per store: a new store (a restarted process) has a new marker, since it lost everything', async () => {
    const before = memoryStore();
    const marker = await before.epoch!();
    expect(await before.epoch!()).toBe(marker);
    expect(await memoryStore().epoch!()).not.toBe(marker);
  });
});
