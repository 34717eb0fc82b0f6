/** The conformance cases of one area: increment: fixed rate-limit windows. */
import { describe, expect, it } from 'vitest';
import { nowSeconds, eventually, type ConformanceContext } from './context.js';

/** Registers the increment cases (inside the caller's `describe`). */
export function incrementCases(context: ConformanceContext): void {
  const { concurrency, expiryWait, expiryTimeout, unique, store } = context;
  describe('increment', () => {
    it('counts 1, 2, 3 within one fixed window that later increments do not extend', async () => {
      const key = unique('create:198.51.100.');
      const before = nowSeconds();
      const first = await store().increment(key, 60);
      const second = await store().increment(key, 60);
      const third = await store().increment(key, 60);
      expect([first.count, second.count, third.count]).toEqual([1, 2, 3]);
      expect(first.resetAt).toBeGreaterThanOrEqual(before + 59);
      expect(first.resetAt).toBeLessThanOrEqual(nowSeconds() + 61);
      expect(second.resetAt).toBe(first.resetAt);
      expect(third.resetAt).toBe(first.resetAt);
      await store().increment(unique('create:other'), 60);
      expect((await store().increment(key, 60)).count).toBe(4);
    });

    it(`never loses a count: ${concurrency} concurrent increments return 1 to ${concurrency}, each once`, async () => {
      const key = unique('create:203.0.113.');
      const states = await Promise.all(Array.from({ length: concurrency }, () => store().increment(key, 60)));
      expect(states.map((state) => state.count).sort((a, b) => a - b)).toEqual(
        Array.from({ length: concurrency }, (_, index) => index + 1),
      );
      expect(new Set(states.map((state) => state.resetAt)).size).toBe(1);
      expect((await store().increment(key, 60)).count).toBe(concurrency + 1);
    });

    it(
      'starts a new window from 1 once resetAt has passed',
      async () => {
        const key = unique('create:192.0.2.');
        const first = await store().increment(key, 1);
        expect(first.count).toBe(1);
        expect((await store().increment(key, 1)).count).toBe(2);
        let fresh = { count: 0, resetAt: 0 };
        await eventually('the window ended', expiryWait, async () => {
          fresh = await store().increment(key, 1);
          return fresh.count === 1;
        });
        expect(Date.now()).toBeGreaterThanOrEqual((first.resetAt - 1) * 1000);
        expect(fresh.resetAt).toBeGreaterThan(first.resetAt - 1);
      },
      expiryTimeout,
    );
  });
}
