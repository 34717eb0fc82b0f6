/**
 * The option types are written out by hand (so their docs reach the editor from the shipped
 * `.d.ts`); these compile-time checks (run by `tsc -p tsconfig.json`) keep each equal to the input
 * type of the zod schema that validates it, factory by factory.
 */
import { describe, expect, it } from 'vitest';
import type { input } from 'zod/v4/core';
import type { configSchema, cookieOptionsSchema, AnonymousSessionsOptions, SessionCookieOptions } from '../src/engine/config.js';
import type { endpointsOptionsSchema, TokenEndpointsOptions } from '../src/http/endpoints.js';
import type {
  loginFlowCookieOptionsSchema,
  transferRouteOptionsSchema,
  transferStepOptionsSchema,
  LoginFlowCookieOptions,
  TransferRouteOptions,
  TransferStepOptions,
} from '../src/http/login-flow.js';
import type { loginStackOptionsSchema, loginStartOptionsSchema, LoginStackOptions, LoginStartOptions } from '../src/http/login-stack.js';
import type {
  cookieExtractorOptionsSchema,
  sessionExtractorOptionsSchema,
  CookieExtractorOptions,
  SessionExtractorOptions,
} from '../src/http/session-extractor.js';
import type { memoryStoreOptionsSchema, MemoryStoreOptions } from '../src/store/memory-store.js';
import type { redisStoreOptionsSchema, RedisStoreOptions } from '../../redis/src/redis-store.js';
import type { postgresStoreOptionsSchema, PostgresStoreOptions } from '../../postgres/src/postgres-store.js';

/** `true` only when `A` and `B` are the same type (not merely assignable either way). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const optionsMatchSchema: Equals<AnonymousSessionsOptions, input<typeof configSchema>> = true;
const cookieMatchesSchema: Equals<SessionCookieOptions, input<typeof cookieOptionsSchema>> = true;
const endpoints: Equals<TokenEndpointsOptions, input<typeof endpointsOptionsSchema>> = true;
const sessionExtractor: Equals<SessionExtractorOptions, input<typeof sessionExtractorOptionsSchema>> = true;
const cookieExtractor: Equals<CookieExtractorOptions, input<typeof cookieExtractorOptionsSchema>> = true;
const loginBinder: Equals<LoginFlowCookieOptions, input<typeof loginFlowCookieOptionsSchema>> = true;
const transferStep: Equals<TransferStepOptions, input<typeof transferStepOptionsSchema>> = true;
const transferRoute: Equals<TransferRouteOptions<unknown>, input<typeof transferRouteOptionsSchema>> = true;
const loginStack: Equals<LoginStackOptions, input<typeof loginStackOptionsSchema>> = true;
const loginStart: Equals<LoginStartOptions, input<typeof loginStartOptionsSchema>> = true;
const memory: Equals<MemoryStoreOptions, input<typeof memoryStoreOptionsSchema>> = true;
const redis: Equals<RedisStoreOptions, input<typeof redisStoreOptionsSchema>> = true;
const postgres: Equals<PostgresStoreOptions, input<typeof postgresStoreOptionsSchema>> = true;
// The check itself can fail: a type that differs in one field is refused.
// @ts-expect-error -- `issuer` optional is not the schema's input.
const differs: Equals<Omit<AnonymousSessionsOptions, 'issuer'> & { issuer?: string }, input<typeof configSchema>> = true;
// @ts-expect-error -- a key the schema does not have.
const extraKey: Equals<MemoryStoreOptions & { sweep?: number }, input<typeof memoryStoreOptionsSchema>> = true;

describe('hand-written option types', () => {
  it('equal the schemas’ input types (checked at compile time)', () => {
    const checks: boolean[] = [optionsMatchSchema, cookieMatchesSchema, endpoints, sessionExtractor, cookieExtractor, loginBinder, transferStep];
    checks.push(transferRoute, loginStack, loginStart, memory, redis, postgres, differs, extraKey);
    expect(checks.every((check) => check)).toBe(true);
  });
});
