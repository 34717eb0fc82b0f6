/**
 * The guard's option type is written out by hand (so its docs reach the editor from the shipped
 * `.d.ts`); this compile-time check (run by `tsc -p tsconfig.json`) keeps it equal to the input type
 * of the `zod/mini` schema that validates it.
 */
import { describe, expect, it } from 'vitest';
import type { input } from 'zod/v4/core';
import type { bearerGuardOptionsSchema, BearerGuardOptions } from '../src/guard/guard-options.js';

/** `true` only when `A` and `B` are the same type (not merely assignable either way). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const guardMatchesSchema: Equals<BearerGuardOptions, input<typeof bearerGuardOptionsSchema>> = true;
// The check itself can fail: a type that differs in one field is refused.
// @ts-expect-error -- `realm` as a number is not the schema's input.
const differs: Equals<Omit<BearerGuardOptions, 'realm'> & { realm?: number }, input<typeof bearerGuardOptionsSchema>> = true;

describe('hand-written guard option type', () => {
  it('equals the schema’s input type (checked at compile time)', () => {
    expect([guardMatchesSchema, differs]).toEqual([true, true]);
  });
});
