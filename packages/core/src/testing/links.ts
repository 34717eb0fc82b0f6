/** The conformance cases of one area: recordLink / listLinks: the transfer log (linked sessions). */
import { describe, expect, it } from 'vitest';
import type { TransferLogEntry } from '../store/store.js';
import { SHORT_LIFE, LONG_LIFE, nowSeconds, eventually, type ConformanceContext } from './context.js';

/** Registers the recordLink / listLinks cases (inside the caller's `describe`). */
export function transferLogCases(context: ConformanceContext): void {
  const { options, expiryWait, expiryTimeout, unique, linkStore } = context;
  describe.skipIf(options.links === false)('recordLink / listLinks', () => {
    const link = (userId: string, sessionId: string, linkedAt: number, userAgent: string | null = 'Mozilla/5.0'): TransferLogEntry => ({
      session_id: sessionId,
      anonymous_user_id: `anon|${sessionId.slice(5)}`,
      user_id: userId,
      linked_at: new Date(linkedAt * 1000).toISOString(),
      user_agent: userAgent,
    });

    it('lists an account’s links oldest first, only that account’s, and a miss as []', async () => {
      const user = unique('auth0|{odd} user:é ');
      const other = unique('google-oauth2|');
      const base = nowSeconds();
      const second = link(user, unique(), base - 20, null);
      const first = link(user, unique(), base - 30);
      const third = link(user, unique(), base - 10, 'curl/8');
      for (const entry of [second, first, third]) await linkStore().recordLink(entry, base + LONG_LIFE);
      await linkStore().recordLink(link(other, unique(), base), base + LONG_LIFE);
      expect(await linkStore().listLinks(user)).toEqual([first, second, third]);
      expect(await linkStore().listLinks(other)).toHaveLength(1);
      expect(await linkStore().listLinks(unique('nobody|'))).toEqual([]);
    });

    it('replaces the entry when the same (user, session) is recorded again', async () => {
      const user = unique('auth0|');
      const sessionId = unique();
      const base = nowSeconds();
      await linkStore().recordLink(link(user, sessionId, base - 5, 'old agent'), base + LONG_LIFE);
      const replacement = link(user, sessionId, base, 'new agent');
      await linkStore().recordLink(replacement, base + LONG_LIFE);
      expect(await linkStore().listLinks(user)).toEqual([replacement]);
    });

    it(
      'drops an entry at its expiresAt and keeps the others; an expiresAt already past records nothing',
      async () => {
        const user = unique('auth0|');
        const base = nowSeconds();
        const kept = link(user, unique(), base - 1);
        const short = link(user, unique(), base);
        await linkStore().recordLink(kept, base + LONG_LIFE);
        await linkStore().recordLink(short, nowSeconds() + SHORT_LIFE);
        await linkStore().recordLink(link(user, unique(), base), base - 5);
        expect(await linkStore().listLinks(user)).toEqual([kept, short]);
        await eventually('the short link expired', expiryWait, async () => (await linkStore().listLinks(user)).length === 1);
        expect(await linkStore().listLinks(user)).toEqual([kept]);
      },
      expiryTimeout,
    );
  });
}
