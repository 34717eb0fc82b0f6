/**
 * Packages the harness uses only when they exist: Koa and `@anonymous-sessions/koa`, and
 * `@anonymous-sessions/redis` with ioredis. They are imported by a computed specifier, so the
 * harness typechecks and runs while they are still being written; each loader checks the shape it
 * relies on and throws a readable reason otherwise.
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { AnonymousSessions, SessionStore } from '@anonymous-sessions/core';

/** The few parts of a Koa context the benchmark apps touch. */
export interface KoaContext {
  path: string;
  method: string;
  body: unknown;
  state: Record<string, unknown>;
}
export type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void> | void;
export interface KoaApplication {
  use(middleware: KoaMiddleware): KoaApplication;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}
export type KoaConstructor = new () => KoaApplication;

/** What the harness needs from `@anonymous-sessions/koa`. */
export interface KoaBinding {
  requireAnonymousOrUser(options: { anonymous: AnonymousSessions; audience: string; cache?: false; checkRevocation?: boolean }): KoaMiddleware;
  anonymousTokenRouter?: (anon: AnonymousSessions, options: { cookie?: { secure: boolean } }) => KoaMiddleware;
}

/** The ioredis client surface used here. */
export interface RedisClient {
  ping(): Promise<string>;
  scan(cursor: string, ...args: (string | number)[]): Promise<[string, string[]]>;
  del(...keys: string[]): Promise<number>;
  quit(): Promise<string>;
  disconnect(): void;
}
export type RedisConstructor = new (url: string, options: Record<string, unknown>) => RedisClient;

const root = fileURLToPath(new URL('../', import.meta.url));
const dynamicImport = (specifier: string): Promise<Record<string, unknown>> => import(specifier) as Promise<Record<string, unknown>>;

export async function loadKoa(): Promise<KoaConstructor> {
  const module = await dynamicImport('koa');
  const Koa = (module.default ?? module) as unknown;
  if (typeof Koa !== 'function') throw new Error('koa has no default export');
  return Koa as KoaConstructor;
}

export async function loadKoaBinding(): Promise<KoaBinding> {
  const module = await dynamicImport('@anonymous-sessions/koa');
  if (typeof module.requireAnonymousOrUser !== 'function') throw new Error('@anonymous-sessions/koa does not export requireAnonymousOrUser');
  return module as unknown as KoaBinding;
}

/**
 * Why the Koa scenarios cannot run yet, or `undefined` when they can. The token endpoint on Koa
 * additionally needs `anonymousTokenRouter` (reported as `issuance`).
 */
export async function koaAvailability(): Promise<{ guard?: string; issuance?: string }> {
  if (!existsSync(`${root}packages/koa/package.json`)) {
    const reason = '@anonymous-sessions/koa does not exist yet (packages/koa is missing)';
    return { guard: reason, issuance: reason };
  }
  try {
    await loadKoa();
    const binding = await loadKoaBinding();
    return binding.anonymousTokenRouter === undefined ? { issuance: '@anonymous-sessions/koa does not export anonymousTokenRouter yet' } : {};
  } catch (error) {
    const reason = `@anonymous-sessions/koa cannot be loaded: ${error instanceof Error ? error.message : String(error)}`;
    return { guard: reason, issuance: reason };
  }
}

export async function loadRedisStore(): Promise<{
  redisStore: (options: { client: RedisClient; prefix: string }) => SessionStore;
  Redis: RedisConstructor;
}> {
  const store = await dynamicImport('@anonymous-sessions/redis');
  if (typeof store.redisStore !== 'function') throw new Error('@anonymous-sessions/redis does not export redisStore');
  const ioredis = await dynamicImport('ioredis');
  const Redis = (ioredis.Redis ?? ioredis.default) as unknown;
  if (typeof Redis !== 'function') throw new Error('ioredis has no Redis export');
  return {
    redisStore: store.redisStore as (options: { client: RedisClient; prefix: string }) => SessionStore,
    Redis: Redis as RedisConstructor,
  };
}

/** Why the Redis scenarios cannot run, or `undefined` when they can. */
export async function redisAvailability(url: string): Promise<string | undefined> {
  if (!existsSync(`${root}packages/redis/package.json`)) return '@anonymous-sessions/redis does not exist yet (packages/redis is missing)';
  let Redis: RedisConstructor;
  try {
    ({ Redis } = await loadRedisStore());
  } catch (error) {
    return `@anonymous-sessions/redis cannot be loaded: ${error instanceof Error ? error.message : String(error)}`;
  }
  const client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null, enableOfflineQueue: true });
  try {
    const answer = await Promise.race([
      client.ping(),
      new Promise<string>((_resolve, reject) => setTimeout(() => reject(new Error('no answer within 1.5 s')), 1500).unref()),
    ]);
    return answer === 'PONG' ? undefined : `Redis at ${url} answered ${answer}`;
  } catch (error) {
    return `Redis at ${url} is unreachable (${error instanceof Error ? error.message : String(error)})`;
  } finally {
    client.disconnect();
  }
}
