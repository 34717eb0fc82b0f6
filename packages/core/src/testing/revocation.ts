/** The conformance cases of one area: revokeSession / isSessionRevoked: revocations with expiry. */
import { describe, expect, it } from 'vitest';
import { SHORT_LIFE, LONG_LIFE, nowSeconds, eventually, type ConformanceContext } from './context.js';

/** Registers the revokeSession / isSessionRevoked cases (inside the caller's `describe`). */
export function revocationCases(context: ConformanceContext): void {
  const { expiryWait, expiryTimeout, unique, store } = context;
  describe('revokeSession / isSessionRevoked', () => {
    it('answers true for a revoked session and false (a miss, not an error) for any other', async () => {
      const revoked = unique();
      await store().revokeSession(revoked, nowSeconds() + LONG_LIFE);
      expect(await store().isSessionRevoked(revoked)).toBe(true);
      expect(await store().isSessionRevoked(unique())).toBe(false);
    });

    it('records nothing for an expiresAt already past', async () => {
      const past = unique();
      await store().revokeSession(past, nowSeconds() - 5);
      expect(await store().isSessionRevoked(past)).toBe(false);
    });

    it(
      'ends the revocation at expiresAt; keeps the later expiry when revoked twice; undefined is forever',
      async () => {
        const short = unique();
        const extended = unique();
        const forever = unique();
        const expiresAt = nowSeconds() + SHORT_LIFE;
        await store().revokeSession(short, expiresAt);
        await store().revokeSession(extended, expiresAt);
        await store().revokeSession(extended, nowSeconds() + LONG_LIFE);
        await store().revokeSession(extended, expiresAt); // an earlier expiry never shortens it
        await store().revokeSession(forever, undefined);
        expect(await store().isSessionRevoked(short)).toBe(true);
        await eventually('the short revocation expired', expiryWait, async () => !(await store().isSessionRevoked(short)));
        expect(Date.now()).toBeGreaterThanOrEqual((expiresAt - 1) * 1000);
        expect(await store().isSessionRevoked(extended)).toBe(true);
        expect(await store().isSessionRevoked(forever)).toBe(true);
        // Expired means gone: revoking again starts a new entry.
        await store().revokeSession(short, nowSeconds() + LONG_LIFE);
        expect(await store().isSessionRevoked(short)).toBe(true);
      },
      expiryTimeout,
    );
  });
}
