/** The conformance cases of one area: epoch: the marker that changes when the store loses its data. */
import { describe, expect, it } from 'vitest';
import { LONG_LIFE, nowSeconds, type ConformanceContext } from './context.js';

/** Registers the epoch cases (inside the caller's `describe`). */
export function epochCases(context: ConformanceContext): void {
  const { options, concurrency, unique, epochOf, store } = context;
  describe.skipIf(options.epoch === false)('epoch', () => {
    it(`answers one marker (a string of 1 to 64 characters) to repeated and ${concurrency} concurrent calls`, async () => {
      const first = await epochOf();
      expect(typeof first).toBe('string');
      expect(first.length).toBeGreaterThan(0);
      expect(first.length).toBeLessThanOrEqual(64);
      const again = await Promise.all(Array.from({ length: concurrency }, () => epochOf()));
      expect(new Set(again)).toEqual(new Set([first]));
    });

    it.skipIf(options.wipe === undefined)(
      'answers a new marker once the store lost its data (wiped), the same one to every caller, and keeps it',
      async () => {
        const sessionId = unique();
        await store().revokeSession(sessionId, nowSeconds() + LONG_LIFE);
        const before = await epochOf();
        await options.wipe?.(store());
        // The loss the marker stands for: the revocation is gone too.
        expect(await store().isSessionRevoked(sessionId)).toBe(false);
        const after = await Promise.all(Array.from({ length: concurrency }, () => epochOf()));
        expect(new Set(after).size).toBe(1);
        expect(after[0]).not.toBe(before);
        expect(await epochOf()).toBe(after[0]);
      },
    );
  });
}
