import { describe, expect, it } from 'vitest';
import { LruCache } from '../src/internal/lru-cache.js';

describe('LruCache', () => {
  it('evicts the least recently used entry, a read counting as a use (also of the newest entry, by an equal key)', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the newest
    expect(cache.get(['a'].join(''))).toBe(1); // an equal key, not the same string
    cache.set('c', 3); // evicts b
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.size]).toEqual([1, 3, 2]);
  });

  it('forgets a deleted or evicted newest entry', () => {
    const cache = new LruCache<string, number>(1);
    cache.set('a', 1);
    cache.delete('a');
    expect(cache.get('a')).toBeUndefined();
    cache.set('a', 1);
    cache.set('b', 2);
    expect([cache.get('a'), cache.get('b'), cache.size]).toEqual([undefined, 2, 1]);
  });
});
