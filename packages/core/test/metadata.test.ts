import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type JsonObject, type JsonValue, type MetadataSchema } from '@anonymous-sessions/core';
import {
  FORBIDDEN_METADATA_KEYS,
  applyMetadataPatch,
  mergePatch,
  type MetadataLimits,
} from '@anonymous-sessions/core/http';
import { jsonByteLength, jsonDepth } from '../src/metadata/metadata.js';
import { expectAnonymousError } from './fixtures.js';

const LIMITS: MetadataLimits = { maxBytes: 2048, maxDepth: 8 };

/** RFC 7396 Appendix A, every example: [original, patch, result]. */
const RFC_7396_EXAMPLES: readonly [JsonValue, JsonValue, JsonValue][] = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [['a', 'b'], ['c', 'd'], ['c', 'd']],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

const isObject = (value: JsonValue): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
};

/** A nested object `depth` levels deep: depth 1 is `{ k: 'leaf' }`. */
const nested = (depth: number): JsonObject => {
  let value: JsonObject = { k: 'leaf' };
  for (let level = 1; level < depth; level += 1) value = { k: value };
  return value;
};

describe('mergePatch (RFC 7396)', () => {
  it.each(RFC_7396_EXAMPLES.filter(([original, patch]) => isObject(original) && isObject(patch)))(
    'Appendix A: %j patched with %j gives %j',
    (original, patch, result) => {
      expect(mergePatch(original as JsonObject, patch as JsonObject)).toEqual(result);
    },
  );

  // Session metadata is always an object, so examples whose document or patch is not an object are
  // checked one level down, where mergePatch meets them: `{doc: original}` patched with `{doc: patch}`.
  it.each(RFC_7396_EXAMPLES)('Appendix A, one level down: %j patched with %j gives %j', (original, patch, result) => {
    const merged = mergePatch({ doc: original }, { doc: patch });
    expect(merged).toEqual(result === null ? {} : { doc: result });
  });

  it('never modifies its inputs and shares no nested object with them', () => {
    const target = deepFreeze<JsonObject>({ cart: { items: [{ sku: 'A', qty: 1 }], coupon: 'X' }, lang: 'en' });
    const patch = deepFreeze<JsonObject>({ cart: { coupon: null, note: { gift: true } }, lang: null, theme: 'dark' });
    const targetCopy = structuredClone(target);
    const patchCopy = structuredClone(patch);

    const merged = mergePatch(target, patch);

    expect(merged).toEqual({ cart: { items: [{ sku: 'A', qty: 1 }], note: { gift: true } }, theme: 'dark' });
    expect(target).toEqual(targetCopy);
    expect(patch).toEqual(patchCopy);
    expect(merged).not.toBe(target);
    expect(merged.cart).not.toBe(target.cart);
    expect((merged.cart as JsonObject).note).not.toBe((patch.cart as JsonObject).note);
  });

  it('replaces arrays whole, never merges them', () => {
    expect(mergePatch({ tags: ['a', 'b', 'c'] }, { tags: ['d'] })).toEqual({ tags: ['d'] });
  });
});

describe('applyMetadataPatch', () => {
  it('merges a valid patch', async () => {
    await expect(applyMetadataPatch({ a: 1, b: { c: 2 } }, { b: { c: null, d: 3 }, e: 'x' }, LIMITS)).resolves.toEqual({
      a: 1,
      b: { d: 3 },
      e: 'x',
    });
  });

  it.each([[['a']], ['text'], [null], [42], [true]])('refuses %j: metadata must be an object', async (patch) => {
    const error = await expectAnonymousError(applyMetadataPatch({}, patch, LIMITS), 'invalid_metadata', 400);
    expect(error.description).toBe('metadata must be a JSON object.');
  });

  it('lists exactly the three forbidden keys', () => {
    expect([...FORBIDDEN_METADATA_KEYS].sort()).toEqual(['__proto__', 'constructor', 'prototype']);
  });

  it.each([
    '{"__proto__": {"polluted": true}}',
    '{"constructor": {"prototype": {"polluted": true}}}',
    '{"prototype": 1}',
    '{"cart": {"items": {"__proto__": {"polluted": true}}}}',
    '{"cart": [{"sku": "A"}, {"constructor": 1}]}',
    '{"a": {"b": {"c": {"d": {"prototype": null}}}}}',
  ])('refuses a forbidden key at any depth: %s', async (json) => {
    const error = await expectAnonymousError(applyMetadataPatch({}, JSON.parse(json), LIMITS), 'invalid_metadata', 400);
    expect(error.description).toMatch(/may not contain the key "(__proto__|constructor|prototype)"/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('accepts exactly maxDepth levels and refuses one more', async () => {
    expect(jsonDepth(nested(8))).toBe(8);
    await expect(applyMetadataPatch({}, nested(8), LIMITS)).resolves.toEqual(nested(8));
    const error = await expectAnonymousError(applyMetadataPatch({}, nested(9), LIMITS), 'invalid_metadata', 400);
    expect(error.description).toBe('metadata is nested deeper than 8 levels.');
  });

  it('counts arrays as levels too', async () => {
    await expectAnonymousError(applyMetadataPatch({}, { a: [[[1]]] }, { ...LIMITS, maxDepth: 3 }), 'invalid_metadata', 400);
    await expect(applyMetadataPatch({}, { a: [[1]] }, { ...LIMITS, maxDepth: 3 })).resolves.toEqual({ a: [[1]] });
  });

  it('refuses a hostile, very deep patch without overflowing the stack', async () => {
    const json = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    await expectAnonymousError(applyMetadataPatch({}, JSON.parse(json), LIMITS), 'invalid_metadata', 400);
  });

  it('accepts exactly maxBytes (UTF-8) and refuses one more with metadata_too_large', async () => {
    const fits = { s: 'é'.repeat(10) }; // {"s":"…"} = 8 bytes + 20 bytes of two-byte characters
    expect(jsonByteLength(fits)).toBe(28);
    await expect(applyMetadataPatch({}, fits, { ...LIMITS, maxBytes: 28 })).resolves.toEqual(fits);
    const error = await expectAnonymousError(
      applyMetadataPatch({}, fits, { ...LIMITS, maxBytes: 27 }),
      'metadata_too_large',
      413,
    );
    expect(error.description).toBe('metadata is 28 bytes; the limit is 27.');
  });

  it('measures the merged document, not the patch', async () => {
    const current = { big: 'x'.repeat(50) };
    await expectAnonymousError(applyMetadataPatch(current, { more: 'y'.repeat(50) }, { ...LIMITS, maxBytes: 100 }), 'metadata_too_large', 413);
    await expect(applyMetadataPatch(current, { big: null, more: 'y'.repeat(50) }, { ...LIMITS, maxBytes: 100 })).resolves.toEqual({
      more: 'y'.repeat(50),
    });
  });

  it.each([
    ['NaN', { n: Number.NaN }],
    ['Infinity', { n: Number.POSITIVE_INFINITY }],
    ['undefined', { u: undefined }],
    ['a Date', { d: new Date(0) }],
    ['a function', { f: () => 1 }],
    ['a Map', { m: new Map() }],
  ])('refuses a value that is not JSON: %s', async (_label, patch) => {
    await expectAnonymousError(applyMetadataPatch({}, patch, LIMITS), 'invalid_metadata', 400);
  });

  it('refuses metadata that fails the host zod schema, and accepts what passes', async () => {
    const schema = z.object({ language: z.enum(['en', 'fr']).optional(), cart_id: z.string().optional() }).strict();
    const limits = { ...LIMITS, schema };
    const error = await expectAnonymousError(applyMetadataPatch({}, { language: 'de' }, limits), 'invalid_metadata', 400);
    expect(error.description).toMatch(/^metadata does not match the schema: /);
    await expectAnonymousError(applyMetadataPatch({ language: 'en' }, { extra: 1 }, limits), 'invalid_metadata', 400);
    await expect(applyMetadataPatch({ language: 'en' }, { cart_id: 'c1' }, limits)).resolves.toEqual({
      language: 'en',
      cart_id: 'c1',
    });
  });

  it('validates the merged result against the schema (a patch may remove a required key)', async () => {
    const schema = z.object({ consent: z.boolean() });
    await expectAnonymousError(applyMetadataPatch({ consent: true }, { consent: null }, { ...LIMITS, schema }), 'invalid_metadata', 400);
  });

  it('awaits an asynchronous Standard Schema', async () => {
    const schema: MetadataSchema = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async (value) =>
          (value as JsonObject).ok === true ? { value } : { issues: [{ message: 'ok must be true' }] },
      },
    };
    await expect(applyMetadataPatch({}, { ok: true }, { ...LIMITS, schema })).resolves.toEqual({ ok: true });
    const error = await expectAnonymousError(applyMetadataPatch({}, { ok: false }, { ...LIMITS, schema }), 'invalid_metadata', 400);
    expect(error.description).toBe('metadata does not match the schema: ok must be true');
  });

  it('does not modify the current metadata', async () => {
    const current = deepFreeze<JsonObject>({ cart: { a: 1 } });
    await applyMetadataPatch(current, { cart: { b: 2 } }, LIMITS);
    expect(current).toEqual({ cart: { a: 1 } });
  });
});
