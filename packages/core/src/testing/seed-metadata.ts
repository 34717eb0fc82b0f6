/** The conformance cases of one area: seedMetadata: create-if-absent metadata seeds. */
import { describe, expect, it } from 'vitest';
import type { StoredMetadata, MetadataMergeOptions } from '../store/store.js';
import { SHORT_LIFE, LONG_LIFE, nowSeconds, eventually, type ConformanceContext } from './context.js';

/** Registers the seedMetadata cases (inside the caller's `describe`). */
export function seedMetadataCases(context: ConformanceContext): void {
  const { options, concurrency, expiryWait, expiryTimeout, unique, seedStore } = context;
  describe.skipIf(options.metadata === false || options.seedMetadata === false)('seedMetadata', () => {
    const mergeOptions = (): MetadataMergeOptions => ({ expiresAt: nowSeconds() + LONG_LIFE, maxBytes: 2048, maxDepth: 8 });

    it('stores the given version and document when there is none, and keeps a live one untouched', async () => {
      const sessionId = unique();
      const document: StoredMetadata = { version: 7, metadata: { cart: [{ sku: 'A', qty: 2 }], empty: [], nested: { deep: {} } } };
      expect(await seedStore().seedMetadata(sessionId, document, nowSeconds() + LONG_LIFE)).toEqual({ seeded: true, ...document });
      expect(await seedStore().readMetadata(sessionId)).toEqual(document);
      // A later seed (an older snapshot from another tab) changes nothing and answers the live one.
      expect(await seedStore().seedMetadata(sessionId, { version: 3, metadata: { cart: [] } }, nowSeconds() + LONG_LIFE)).toEqual({
        seeded: false,
        ...document,
      });
      // Merges go on from the seeded version.
      const merged = await seedStore().mergeMetadata(sessionId, { theme: 'dark' }, mergeOptions());
      expect(merged).toEqual({ ok: true, version: 8, metadata: { ...document.metadata, theme: 'dark' } });
      expect(await seedStore().seedMetadata(sessionId, document, nowSeconds() + LONG_LIFE)).toMatchObject({ seeded: false, version: 8 });
    });

    it(`gives exactly one of ${concurrency} concurrent seeds the write; all answer the same document`, async () => {
      const sessionId = unique();
      const results = await Promise.all(
        Array.from({ length: concurrency }, (_, index) =>
          seedStore().seedMetadata(sessionId, { version: 5, metadata: { writer: index } }, nowSeconds() + LONG_LIFE),
        ),
      );
      const winners = results.filter((result) => result.seeded);
      expect(winners).toHaveLength(1);
      for (const result of results) expect(result).toEqual({ ...winners[0], seeded: result.seeded });
      expect(await seedStore().readMetadata(sessionId)).toEqual({ version: 5, metadata: winners[0]!.metadata });
    });

    it('does not check the limits (the document met them when it was first written)', async () => {
      const sessionId = unique();
      const big = { text: 'x'.repeat(4096), deep: { a: { b: { c: { d: {} } } } } };
      expect(await seedStore().seedMetadata(sessionId, { version: 2, metadata: big }, nowSeconds() + LONG_LIFE)).toMatchObject({
        seeded: true,
        version: 2,
      });
      expect((await seedStore().readMetadata(sessionId))?.metadata).toEqual(big);
    });

    it(
      'keeps the document until expiresAt; an expiresAt already past stores nothing; an expired document counts as absent',
      async () => {
        const past = unique();
        expect(await seedStore().seedMetadata(past, { version: 1, metadata: { a: 1 } }, nowSeconds() - 5)).toMatchObject({ seeded: true });
        expect(await seedStore().readMetadata(past)).toBeUndefined();
        const short = unique();
        await seedStore().seedMetadata(short, { version: 4, metadata: { a: 1 } }, nowSeconds() + SHORT_LIFE);
        expect(await seedStore().readMetadata(short)).toEqual({ version: 4, metadata: { a: 1 } });
        await eventually('the seeded document expired', expiryWait, async () => (await seedStore().readMetadata(short)) === undefined);
        expect(await seedStore().seedMetadata(short, { version: 9, metadata: { b: 2 } }, nowSeconds() + LONG_LIFE)).toEqual({
          seeded: true,
          version: 9,
          metadata: { b: 2 },
        });
      },
      expiryTimeout,
    );
  });
}
