/** The conformance cases of one area: every kind of entry expires with its expiresAt. */
import { expect, it } from 'vitest';
import { SHORT_LIFE, LONG_LIFE, nowSeconds, eventually, type ConformanceContext } from './context.js';

/** Registers the every kind of entry expires with its expiresAt cases (inside the caller's `describe`). */
export function expiryCases(context: ConformanceContext): void {
  const { options, expiryWait, expiryTimeout, unique, metadataStore, linkStore, store } = context;
  it(
    'expires every kind of entry with its expiresAt',
    async () => {
      const sessionId = unique();
      const markKey = unique('transfer:');
      const counterKey = unique('create:');
      const userId = unique('auth0|');
      const expiresAt = nowSeconds() + SHORT_LIFE;
      await store().revokeSession(sessionId, expiresAt);
      expect(await store().markOnce(markKey, expiresAt)).toBe(true);
      expect((await store().increment(counterKey, SHORT_LIFE)).count).toBe(1);
      const withMetadata = options.metadata !== false;
      const withLinks = options.links !== false;
      if (withMetadata) await metadataStore().mergeMetadata(sessionId, { a: 1 }, { expiresAt, maxBytes: 2048, maxDepth: 8 });
      if (withLinks) {
        await linkStore().recordLink(
          { session_id: sessionId, anonymous_user_id: 'anon|conformance', user_id: userId, linked_at: new Date().toISOString(), user_agent: null },
          expiresAt,
        );
      }
      expect(await store().isSessionRevoked(sessionId)).toBe(true);
      if (withMetadata) expect(await metadataStore().readMetadata(sessionId)).toBeDefined();
      if (withLinks) expect(await linkStore().listLinks(userId)).toHaveLength(1);

      await eventually('every entry expired', expiryWait, async () => {
        const revoked = await store().isSessionRevoked(sessionId);
        const documentLeft = withMetadata && (await metadataStore().readMetadata(sessionId)) !== undefined;
        const linksLeft = withLinks && (await linkStore().listLinks(userId)).length > 0;
        return !revoked && !documentLeft && !linksLeft;
      });
      expect(await store().markOnce(markKey, nowSeconds() + LONG_LIFE)).toBe(true);
      // The counter's window started a moment later than the others' expiresAt was computed.
      await eventually('the counter window ended', expiryWait, async () => (await store().increment(counterKey, SHORT_LIFE)).count === 1);
    },
    expiryTimeout,
  );
}
