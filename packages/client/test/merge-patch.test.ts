import { describe, expect, it } from 'vitest';
import { mergePatch, type JsonObject, type JsonValue } from '@anonymous-sessions/client';
import { canComposePatches, composePatches } from '../src/merge-patch.js';
import { createPatchQueue } from '../src/patch-queue.js';

describe('mergePatch (RFC 7396)', () => {
  // RFC 7396 Appendix A, every example.
  const examples: [JsonValue, JsonValue, JsonValue][] = [
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

  it.each(examples)('%j patched with %j is %j', (target, patch, expected) => {
    const before = JSON.stringify(target);
    expect(mergePatch(target, patch)).toEqual(expected);
    expect(JSON.stringify(target)).toBe(before); // never modified
  });

  it('treats a __proto__ key as data, never as the prototype', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}}') as JsonObject;
    const result = mergePatch({}, patch) as JsonObject;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.keys(result)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('composePatches', () => {
  const documents: JsonObject[] = [
    {},
    { a: 1, b: { c: 2, d: [3] }, e: 'x' },
    { a: { x: 1 }, b: null, e: { f: { g: 1 } } },
  ];
  const pairs: [JsonObject, JsonObject][] = [
    [{ a: 2 }, { b: 3 }],
    [{ a: 2 }, { a: null }],
    [{ a: null }, { a: 5 }],
    [{ b: { c: null } }, { b: { d: [4], c: 7 } }],
    [{ b: { c: 1 } }, { b: null }],
    [{ e: { f: { g: null, h: 1 } } }, { e: { f: { g: 2 } } }],
    [{ a: [1] }, { a: [2] }],
    [{ n: { m: 1 } }, { n: { o: null } }],
  ];

  it.each(pairs)('%j then %j is one patch with the same effect on any document', (first, second) => {
    expect(canComposePatches(first, second)).toBe(true);
    const composed = composePatches(first, second);
    for (const document of documents) {
      expect(mergePatch(document, composed)).toEqual(mergePatch(mergePatch(document, first), second));
    }
  });

  it('refuses replace-then-merge, which one merge patch cannot say', () => {
    expect(canComposePatches({ a: null }, { a: { b: 1 } })).toBe(false);
    expect(canComposePatches({ a: 1 }, { a: { b: 1 } })).toBe(false);
    expect(canComposePatches({ a: { b: [1] } }, { a: { b: { c: 1 } } })).toBe(false);
    expect(canComposePatches({ a: { b: 1 } }, { a: { c: { d: 1 } } })).toBe(true);
  });
});

describe('the patch queue', () => {
  it('composes into one segment, splits only where it must, and keeps every waiter', () => {
    const queue = createPatchQueue<string>();
    queue.append({ a: 1 }, ['first']);
    queue.append({ b: { c: 1 } }, ['second']);
    queue.append({ a: null }, ['third']);
    expect(queue.size).toBe(1);
    queue.append({ a: { fresh: true } }, ['fourth']);
    expect(queue.size).toBe(2);
    expect(queue.patches()).toEqual([{ a: null, b: { c: 1 } }, { a: { fresh: true } }]);

    const taken = queue.takeAll();
    expect(queue.size).toBe(0);
    expect(taken.map((segment) => segment.waiters)).toEqual([['first', 'second', 'third'], ['fourth']]);

    queue.append({ z: 1 }, ['later']);
    queue.putBack(taken);
    expect(queue.patches()).toEqual([{ a: null, b: { c: 1 } }, { a: { fresh: true }, z: 1 }]);
  });
});
