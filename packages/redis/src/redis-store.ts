/**
 * `redisStore`: the {@link SessionStore} on Redis, standalone or Cluster, through ioredis.
 *
 * Keys (with the default prefix `anon:`), each hash-tagged so every multi-key operation stays in
 * one Cluster slot:
 *
 * | key | type | holds |
 * |---|---|---|
 * | `anon:{<session id>}:revoked` | string | a logout, until the session's end |
 * | `anon:{<session id>}:metadata` | hash `v`, `d` | version and JSON document (`metadataStorage: 'store'`) |
 * | `anon:{<key>}:once` | string | a transfer mark |
 * | `anon:{<key>}:counter` | hash `n`, `r` | a rate-limit count and its window end |
 * | `anon:{user:<user id>}:links`, `…:links:expiry` | hash, sorted set | the linked-session registry |
 * | `anon:epoch` | string | the epoch marker (no expiry): gone when Redis loses its data |
 *
 * Ids inside the braces are percent-encoded (`encodeURIComponent`), so no id can end a hash tag
 * early. Every key carries a native expiry (`PXAT`/`PEXPIREAT`) and disappears with its entry.
 *
 * @packageDocumentation
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import * as z from 'zod/mini';
import { parseOptions } from '@anonymous-sessions/core/http';
import type { JsonObject, TransferLogEntry, SessionStore } from '@anonymous-sessions/core';
import type {
  CounterState,
  MetadataMergeOptions,
  MetadataMergeResult,
  SeedMetadataResult,
  StoredMetadata,
} from '@anonymous-sessions/core/http';
import { EPOCH, INCREMENT, LIST_LINKS, MERGE_METADATA, RECORD_LINK, REVOKE, SEED_METADATA } from './internal/scripts.js';

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /**
   * A connected ioredis client: `new Redis(url)` or `new Redis.Cluster([...])`. The store never
   * creates, configures or closes it; the host owns its lifecycle. With ioredis' defaults, commands
   * sent while Redis is down wait in the offline queue; the engine's `storeTimeoutMs` still bounds
   * every call (503), and queued commands run once Redis is back.
   */
  client: Redis | Cluster;
  /**
   * Prepended to every key, so several apps (or test runs) can share one Redis. Default `anon:`.
   * It may not contain `{` or `}` (they would change the Cluster hash tag).
   */
  prefix?: string | undefined;
}

const PREFIX_MESSAGE = 'must be a string without { or } (they would change the Cluster hash tag)';

/** The schema of {@link RedisStoreOptions}: any other key is a ConfigError (a typo is never ignored). */
export const redisStoreOptionsSchema = z.strictObject({
  client: z.custom<Redis | Cluster>(
    (value) => typeof value === 'object' && value !== null && typeof (value as Partial<Redis>).evalsha === 'function',
    'must be a connected ioredis client (new Redis(url) or new Redis.Cluster([...]))',
  ),
  prefix: z._default(z.string({ error: PREFIX_MESSAGE }).check(z.refine((prefix) => !/[{}]/.test(prefix), PREFIX_MESSAGE)), 'anon:'),
});

/** A {@link SessionStore} on Redis, with the full contract (metadata and linked sessions included). */
export type RedisSessionStore = Required<SessionStore>;

interface Script {
  source: string;
  sha: string;
}

const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });
const SCRIPTS = {
  revoke: script(REVOKE),
  increment: script(INCREMENT),
  mergeMetadata: script(MERGE_METADATA),
  seedMetadata: script(SEED_METADATA),
  epoch: script(EPOCH),
  recordLink: script(RECORD_LINK),
  listLinks: script(LIST_LINKS),
} as const;

/** Epoch seconds (the contract's unit) → epoch milliseconds as Redis wants them; '' = never. */
const expiryArgument = (expiresAt: number | undefined): string =>
  expiresAt === undefined ? '' : String(Math.round(expiresAt * 1000));

const isNoScript = (error: unknown): boolean => error instanceof Error && error.message.startsWith('NOSCRIPT');

/**
 * Creates a {@link SessionStore} on Redis. Atomic operations run as Lua scripts (`EVALSHA`, loaded on
 * first use with `EVAL`), single-key ones as plain commands; every entry expires natively.
 *
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisStore } from '@anonymous-sessions/redis';
 * const store = redisStore({ client: new Redis(process.env.REDIS_URL), prefix: 'anon:' });
 * ```
 *
 * @param options - the connected client and the key prefix.
 * @returns the store; pass it as `createAnonymousSessions({ store })`.
 * @throws ConfigError naming every bad or unknown option: a missing client, a prefix holding `{` or
 *   `}`, a misspelt key.
 */
export function redisStore(options: RedisStoreOptions): RedisSessionStore {
  const { client, prefix } = parseOptions(redisStoreOptionsSchema, options);

  const tagged = (id: string, suffix: string): string => `${prefix}{${encodeURIComponent(id)}}:${suffix}`;
  const linkKeys = (userId: string): [string, string] => {
    const base = `${prefix}{user:${encodeURIComponent(userId)}}:links`;
    return [base, `${base}:expiry`];
  };

  const run = async (which: Script, keys: string[], args: string[]): Promise<unknown> => {
    try {
      return await client.evalsha(which.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return client.eval(which.source, keys.length, ...keys, ...args);
    }
  };

  return {
    async revokeSession(sessionId, expiresAt) {
      await run(SCRIPTS.revoke, [tagged(sessionId, 'revoked')], [expiryArgument(expiresAt)]);
    },

    async isSessionRevoked(sessionId) {
      return (await client.exists(tagged(sessionId, 'revoked'))) === 1;
    },

    async markOnce(key, expiresAt) {
      const redisKey = tagged(key, 'once');
      const reply =
        expiresAt === undefined
          ? await client.set(redisKey, '1', 'NX')
          : await client.set(redisKey, '1', 'PXAT', Math.round(expiresAt * 1000), 'NX');
      return reply === 'OK';
    },

    async releaseMark(key) {
      await client.del(tagged(key, 'once'));
    },

    async increment(key, windowSeconds): Promise<CounterState> {
      const reply = (await run(SCRIPTS.increment, [tagged(key, 'counter')], [String(windowSeconds * 1000)])) as [number, number];
      return { count: Number(reply[0]), resetAt: Math.ceil(Number(reply[1]) / 1000) };
    },

    async readMetadata(sessionId): Promise<StoredMetadata | undefined> {
      const [version, document] = await client.hmget(tagged(sessionId, 'metadata'), 'v', 'd');
      if (version === null || version === undefined || document === null || document === undefined) return undefined;
      return { version: Number(version), metadata: JSON.parse(document) as JsonObject };
    },

    async mergeMetadata(sessionId, patch: JsonObject, mergeOptions: MetadataMergeOptions): Promise<MetadataMergeResult> {
      const reply = (await run(
        SCRIPTS.mergeMetadata,
        [tagged(sessionId, 'metadata')],
        [JSON.stringify(patch), expiryArgument(mergeOptions.expiresAt), String(mergeOptions.maxBytes), String(mergeOptions.maxDepth)],
      )) as [number, number | string, string?];
      if (reply[0] === 0) return { ok: false, reason: reply[1] as 'max_bytes' | 'max_depth' };
      return { ok: true, version: Number(reply[1]), metadata: JSON.parse(reply[2] as string) as JsonObject };
    },

    async seedMetadata(sessionId, document: StoredMetadata, expiresAt): Promise<SeedMetadataResult> {
      const reply = (await run(
        SCRIPTS.seedMetadata,
        [tagged(sessionId, 'metadata')],
        [JSON.stringify(document.metadata), String(document.version), expiryArgument(expiresAt)],
      )) as [number, number, string];
      return { seeded: reply[0] === 1, version: Number(reply[1]), metadata: JSON.parse(reply[2]) as JsonObject };
    },

    async epoch() {
      return String(await run(SCRIPTS.epoch, [`${prefix}epoch`], [`redis.${randomBytes(16).toString('base64url')}`]));
    },

    async recordLink(link: TransferLogEntry, expiresAt) {
      await run(SCRIPTS.recordLink, linkKeys(link.user_id), [link.session_id, JSON.stringify(link), expiryArgument(expiresAt)]);
    },

    async listLinks(userId): Promise<TransferLogEntry[]> {
      const found = (await run(SCRIPTS.listLinks, linkKeys(userId), [])) as string[];
      return found
        .map((json) => JSON.parse(json) as TransferLogEntry)
        .sort((a, b) => (a.linked_at < b.linked_at ? -1 : a.linked_at > b.linked_at ? 1 : 0));
    },
  };
}
