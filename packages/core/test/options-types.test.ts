/**
 * The option types are written out by hand (so their docs reach the editor from the shipped
 * `.d.ts`); these compile-time checks (run by `tsc -p tsconfig.json`) keep each equal to the input
 * type of the zod schema that validates it.
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import type { configSchema, cookieOptionsSchema, AnonymousSessionsOptions, SessionCookieOptions } from '../src/engine/config.js';

/** `true` only when `A` and `B` are the same type (not merely assignable either way). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const optionsMatchSchema: Equals<AnonymousSessionsOptions, z.input<typeof configSchema>> = true;
const cookieMatchesSchema: Equals<SessionCookieOptions, z.input<typeof cookieOptionsSchema>> = true;
// The check itself can fail: a type that differs in one field is refused.
// @ts-expect-error -- `issuer` optional is not the schema's input.
const differs: Equals<Omit<AnonymousSessionsOptions, 'issuer'> & { issuer?: string }, z.input<typeof configSchema>> = true;

describe('hand-written option types', () => {
  it('equal the schemas’ input types (checked at compile time)', () => {
    expect([optionsMatchSchema, cookieMatchesSchema, differs]).toEqual([true, true, true]);
  });
});
