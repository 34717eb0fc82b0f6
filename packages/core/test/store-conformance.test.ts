/**
 * The SessionStore conformance kit (`@anonymous-sessions/core/testing`) against memoryStore(): the
 * same cases the Redis and Postgres adapters pass against their real servers.
 */
import { describe, expect, it } from 'vitest';
import { memoryStore, type SessionStore } from '@anonymous-sessions/core';
import { runSessionStoreConformance } from '@anonymous-sessions/core/testing';

/**
 * A memory store loses its data only with its process. `restartable()` stands for the process: its
 * `wipe` replaces the store behind it with a new one, as a restart does, so the kit's loss case runs
 * on the memory store too.
 */
function restartable(): { store: SessionStore; restart: () => void } {
  let current = memoryStore();
  const store = new Proxy({} as SessionStore, {
    get: (_target, property) => {
      const value: unknown = Reflect.get(current, property);
      return typeof value === 'function' ? value.bind(current) : value;
    },
    has: (_target, property) => Reflect.has(current, property),
  });
  return {
    store,
    restart: () => {
      current = memoryStore();
    },
  };
}

let instance: ReturnType<typeof restartable>;
runSessionStoreConformance(
  'memoryStore()',
  () => {
    instance = restartable();
    return instance.store;
  },
  { wipe: async () => instance.restart() },
);

describe('memoryStore() epoch', () => {
  it('is per store: a new store (a restarted process) has a new marker, since it lost everything', async () => {
    const before = memoryStore();
    const marker = await before.epoch!();
    expect(await before.epoch!()).toBe(marker);
    expect(await memoryStore().epoch!()).not.toBe(marker);
  });
});
