/** The conformance cases of one area: readMetadata / mergeMetadata: atomic merges and their limits. */
import { describe, expect, it } from 'vitest';
import { jsonByteLength, jsonDepth, mergePatch, type JsonObject } from '../metadata/metadata.js';
import type { StoredMetadata, MetadataMergeOptions } from '../store/store.js';
import { SHORT_LIFE, LONG_LIFE, nowSeconds, eventually, type ConformanceContext } from './context.js';

/** Registers the readMetadata / mergeMetadata cases (inside the caller's `describe`). */
export function metadataCases(context: ConformanceContext): void {
  const { options, concurrency, expiryWait, expiryTimeout, unique, metadataStore } = context;
  describe.skipIf(options.metadata === false)('readMetadata / mergeMetadata', () => {
    const limits = (overrides: Partial<MetadataMergeOptions> = {}): MetadataMergeOptions => ({
      expiresAt: nowSeconds() + LONG_LIFE,
      maxBytes: 2048,
      maxDepth: 8,
      ...overrides,
    });
    const merged = async (sessionId: string, patch: JsonObject, mergeOptions = limits()): Promise<StoredMetadata> => {
      const result = await metadataStore().mergeMetadata(sessionId, patch, mergeOptions);
      if (!result.ok) throw new Error(`merge refused: ${result.reason}`);
      return { version: result.version, metadata: result.metadata };
    };

    it('reads a miss as undefined', async () => {
      expect(await metadataStore().readMetadata(unique())).toBeUndefined();
    });

    it('applies RFC 7396 merge patches exactly, preserving every JSON value', async () => {
      const sessionId = unique();
      const tricky: JsonObject = {
        empty_array: [],
        empty_object: {},
        nested_arrays: [[], [{}], [1, [2, [3]]]],
        precise: 0.30000000000000004,
        big: 12345678901234568,
        tiny: 5e-324,
        huge: 1.7976931348623157e308,
        negative: -0.5,
        text: 'é😀 "quoted" back\\slash a/b \n\t\u0000\u2028 {braces}',
        flags: [true, false, null],
      };
      let expected: JsonObject = {};
      const patches: JsonObject[] = [
        { cart: [{ sku: 'A', qty: 1 }], prefs: { theme: 'dark', lang: 'en' }, ...tricky },
        { prefs: { theme: null, font: { size: 12 } }, cart: [{ sku: 'B', qty: 2 }], gone: null },
        { prefs: 'now a string', empty_object: { filled: true }, text: null },
        { prefs: { again: { an: 'object' } }, empty_array: [] },
      ];
      for (const [index, patch] of patches.entries()) {
        expected = mergePatch(expected, patch);
        const result = await merged(sessionId, patch);
        expect(result).toEqual({ version: index + 1, metadata: expected });
        expect(await metadataStore().readMetadata(sessionId)).toEqual({ version: index + 1, metadata: expected });
      }
      expect(expected).toMatchObject({ empty_array: [], nested_arrays: [[], [{}], [1, [2, [3]]]], precise: 0.30000000000000004 });
      expect(jsonByteLength((await metadataStore().readMetadata(sessionId))!.metadata)).toBe(jsonByteLength(expected));
    });

    it('counts versions up by exactly one per merge (an empty patch too); other sessions are untouched', async () => {
      const sessionId = unique();
      const other = unique();
      await merged(other, { mine: true });
      const versions: number[] = [];
      for (const patch of [{ a: 1 }, {}, { a: null }, { b: [1] }] as JsonObject[]) versions.push((await merged(sessionId, patch)).version);
      expect(versions).toEqual([1, 2, 3, 4]);
      expect(await metadataStore().readMetadata(sessionId)).toEqual({ version: 4, metadata: { b: [1] } });
      expect(await metadataStore().readMetadata(other)).toEqual({ version: 1, metadata: { mine: true } });
    });

    it(`applies ${concurrency} concurrent merges one after the other: all ${concurrency} keys, versions 1 to ${concurrency}`, async () => {
      const sessionId = unique();
      const results = await Promise.all(
        Array.from({ length: concurrency }, (_, index) => merged(sessionId, { [`key${index}`]: index, shared: { [`k${index}`]: true } })),
      );
      expect(results.map((result) => result.version).sort((a, b) => a - b)).toEqual(
        Array.from({ length: concurrency }, (_, index) => index + 1),
      );
      // Each merge saw every earlier one: the result of version v holds exactly v keys.
      for (const result of results) {
        expect(Object.keys(result.metadata).filter((key) => key.startsWith('key'))).toHaveLength(result.version);
      }
      const final = await metadataStore().readMetadata(sessionId);
      expect(final?.version).toBe(concurrency);
      for (let index = 0; index < concurrency; index += 1) {
        expect(final?.metadata[`key${index}`]).toBe(index);
        expect((final?.metadata.shared as JsonObject)[`k${index}`]).toBe(true);
      }
    });

    it('refuses a merge over maxBytes (UTF-8 bytes of the JSON text) and leaves the document, version and all, unchanged', async () => {
      const sessionId = unique();
      const maxBytes = 256;
      const start: JsonObject = { note: 'é😀 "q" \n a/b \u0000' };
      await merged(sessionId, start, limits({ maxBytes }));
      // Pad to exactly maxBytes: accepted. One byte more: refused.
      const padFor = (bytes: number): JsonObject => {
        const empty = jsonByteLength(mergePatch(start, { pad: '' }));
        return { pad: 'x'.repeat(bytes - empty) };
      };
      const over = await metadataStore().mergeMetadata(sessionId, padFor(maxBytes + 1), limits({ maxBytes }));
      expect(over).toEqual({ ok: false, reason: 'max_bytes' });
      expect(await metadataStore().readMetadata(sessionId)).toEqual({ version: 1, metadata: start });
      const exact = await merged(sessionId, padFor(maxBytes), limits({ maxBytes }));
      expect(jsonByteLength(exact.metadata)).toBe(maxBytes);
      expect(exact.version).toBe(2);
      // A tiny patch onto a document already over a lowered limit: the merged document counts.
      const lowered = await metadataStore().mergeMetadata(sessionId, { a: 1 }, limits({ maxBytes: maxBytes - 10 }));
      expect(lowered).toEqual({ ok: false, reason: 'max_bytes' });
      expect(await metadataStore().readMetadata(sessionId)).toEqual(exact);
      // A refused merge creates nothing for a session without a document.
      const fresh = unique();
      expect(await metadataStore().mergeMetadata(fresh, padFor(maxBytes * 2), limits({ maxBytes }))).toEqual({
        ok: false,
        reason: 'max_bytes',
      });
      expect(await metadataStore().readMetadata(fresh)).toBeUndefined();
    });

    it('refuses a merge over maxDepth (arrays count) and leaves the document unchanged', async () => {
      const sessionId = unique();
      const start: JsonObject = { a: { b: { c: 1 } } };
      expect(jsonDepth(start)).toBe(3);
      await merged(sessionId, start, limits({ maxDepth: 3 }));
      for (const patch of [{ a: { b: { c: { d: 1 } } } }, { x: [[[1]]] }, { x: [{}, [[]]] }] as JsonObject[]) {
        expect(await metadataStore().mergeMetadata(sessionId, patch, limits({ maxDepth: 3 }))).toEqual({
          ok: false,
          reason: 'max_depth',
        });
      }
      expect(await metadataStore().readMetadata(sessionId)).toEqual({ version: 1, metadata: start });
      expect((await merged(sessionId, { x: [1] }, limits({ maxDepth: 3 }))).version).toBe(2);
      expect(await metadataStore().mergeMetadata(sessionId, { y: 1 }, limits({ maxDepth: 2 }))).toEqual({
        ok: false,
        reason: 'max_depth',
      });
      expect((await metadataStore().readMetadata(sessionId))?.version).toBe(2);
    });

    it(
      'expires the document at expiresAt (a merge never shortens it); a merge after expiry starts at version 1',
      async () => {
        const short = unique();
        const kept = unique();
        await merged(short, { a: 1 }, limits({ expiresAt: nowSeconds() + SHORT_LIFE }));
        await merged(kept, { a: 1 }, limits({ expiresAt: nowSeconds() + LONG_LIFE }));
        await merged(kept, { b: 2 }, limits({ expiresAt: nowSeconds() + SHORT_LIFE }));
        expect(await metadataStore().readMetadata(short)).toEqual({ version: 1, metadata: { a: 1 } });
        await eventually('the document expired', expiryWait, async () => (await metadataStore().readMetadata(short)) === undefined);
        expect(await metadataStore().readMetadata(kept)).toEqual({ version: 2, metadata: { a: 1, b: 2 } });
        expect(await merged(short, { c: 3 })).toEqual({ version: 1, metadata: { c: 3 } });
      },
      expiryTimeout,
    );
  });
}
