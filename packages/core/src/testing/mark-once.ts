/** The conformance cases of one area: markOnce: exactly-once marks under concurrency. */
import { describe, expect, it } from 'vitest';
import { SHORT_LIFE, LONG_LIFE, nowSeconds, eventually, type ConformanceContext } from './context.js';

/** Registers the markOnce cases (inside the caller's `describe`). */
export function markOnceCases(context: ConformanceContext): void {
  const { options, concurrency, expiryWait, expiryTimeout, unique, store } = context;
  describe('markOnce', () => {
    it(`gives exactly one winner among ${concurrency} concurrent calls, and false afterwards`, async () => {
      const key = unique('transfer:sess_conf');
      const results = await Promise.all(
        Array.from({ length: concurrency }, () => store().markOnce(key, nowSeconds() + LONG_LIFE)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store().markOnce(key, nowSeconds() + LONG_LIFE)).toBe(false);
    });

    it('keeps keys apart, whatever characters they hold', async () => {
      const base = unique('transfer:{sess}:auth0|é ');
      expect(await store().markOnce(`${base}:a`, nowSeconds() + LONG_LIFE)).toBe(true);
      expect(await store().markOnce(`${base}:b`, nowSeconds() + LONG_LIFE)).toBe(true);
      expect(await store().markOnce(`${base}:a`, nowSeconds() + LONG_LIFE)).toBe(false);
      expect(await store().markOnce(`${base}:forever`, undefined)).toBe(true);
      expect(await store().markOnce(`${base}:forever`, undefined)).toBe(false);
    });

    it.skipIf(options.releaseMark === false)('can be set again after releaseMark', async () => {
      expect(store().releaseMark).toBeTypeOf('function');
      const key = unique('transfer:released');
      expect(await store().markOnce(key, nowSeconds() + LONG_LIFE)).toBe(true);
      await store().releaseMark!(key);
      expect(await store().markOnce(key, nowSeconds() + LONG_LIFE)).toBe(true);
      expect(await store().markOnce(key, nowSeconds() + LONG_LIFE)).toBe(false);
      await store().releaseMark!(unique('transfer:never-marked')); // a missing mark is not an error
    });

    it(
      'can be set again once the mark has expired',
      async () => {
        const key = unique('transfer:');
        expect(await store().markOnce(key, nowSeconds() + SHORT_LIFE)).toBe(true);
        expect(await store().markOnce(key, nowSeconds() + SHORT_LIFE)).toBe(false);
        let again = false;
        await eventually('the mark expired', expiryWait, async () => {
          again = await store().markOnce(key, nowSeconds() + LONG_LIFE);
          return again;
        });
        expect(again).toBe(true);
        expect(await store().markOnce(key, nowSeconds() + LONG_LIFE)).toBe(false);
      },
      expiryTimeout,
    );
  });
}
