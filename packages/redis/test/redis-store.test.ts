/**
 * redisStore specifics on the real local Redis: options, key layout with hash tags and native
 * expiry, script reloading after SCRIPT FLUSH, and the Lua merge agreeing byte for byte with the
 * core's JavaScript merge on random documents.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, type JsonObject, type JsonValue } from '@anonymous-sessions/core';
import { jsonByteLength, mergePatch } from '@anonymous-sessions/core/http';
import { redisStore, type RedisSessionStore } from '@anonymous-sessions/redis';
import { describeWithService, randomSuffix } from '../../../test/support/services.js';
import { deleteKeys, probeRedis, REDIS_URL, testClient } from './redis-service.js';

describe('redisStore options', () => {
  it('needs an ioredis client', () => {
    expect(() => redisStore({ client: undefined as never })).toThrow(ConfigError);
    expect(() => redisStore({ client: {} as never })).toThrow(/connected ioredis client/);
  });

  it('refuses a prefix with { or }, which would change the Cluster hash tag', () => {
    const client = { evalsha: () => undefined } as never;
    expect(() => redisStore({ client, prefix: 'anon:{x}:' })).toThrow(/without \{ or \}/);
    expect(() => redisStore({ client, prefix: 'anon}' })).toThrow(ConfigError);
    expect(() => redisStore({ client, prefix: 'my-app:anon:' })).not.toThrow();
  });

  it('names every bad or unknown option in one ConfigError', () => {
    const client = { evalsha: () => undefined } as never;
    const error = (() => {
      try {
        redisStore({ client: undefined as never, prefix: 'a{', prefx: 'x' } as never);
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((issue) => issue.path)).toEqual(['prefx', 'client', 'prefix']);
    expect(() => redisStore({ client, keyPrefix: 'anon:' } as never)).toThrow(/keyPrefix: is not a known option/);
  });
});

describeWithService(`Redis at ${REDIS_URL}`, await probeRedis(), () => {
  const prefix = `anon-test:unit:${randomSuffix()}:`;
  let client: Redis;
  let store: RedisSessionStore;
  const now = (): number => Math.floor(Date.now() / 1000);

  beforeAll(() => {
    client = testClient();
    store = redisStore({ client, prefix });
  });

  afterAll(async () => {
    await deleteKeys(client, prefix);
    await client.quit();
  });

  it('names keys <prefix>{<id>}:<kind>, with ids percent-encoded inside the hash tag', async () => {
    const sessionId = `sess_${randomSuffix()}`;
    await store.revokeSession(sessionId, now() + 60);
    await store.mergeMetadata(sessionId, { a: 1 }, { expiresAt: now() + 60, maxBytes: 2048, maxDepth: 8 });
    await store.markOnce(`transfer:${sessionId}:auth0|{x}`, now() + 60);
    await store.increment('create:127.0.0.1', 60);
    await store.recordLink(
      { session_id: sessionId, anonymous_user_id: 'anon|abcdefgh', user_id: 'auth0|{x}', linked_at: new Date().toISOString(), user_agent: null },
      now() + 60,
    );
    const keys = new Set<string>();
    let cursor = '0';
    do {
      const [next, found] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of found) keys.add(key.slice(prefix.length));
    } while (cursor !== '0');
    expect(keys).toEqual(
      new Set([
        `{${sessionId}}:revoked`,
        `{${sessionId}}:metadata`,
        `{transfer%3A${sessionId}%3Aauth0%7C%7Bx%7D}:once`,
        '{create%3A127.0.0.1}:counter',
        '{user:auth0%7C%7Bx%7D}:links',
        '{user:auth0%7C%7Bx%7D}:links:expiry',
      ]),
    );
  });

  it('gives every key a native expiry (PTTL) matching its expiresAt', async () => {
    const sessionId = `sess_${randomSuffix()}`;
    const expiresAt = now() + 120;
    await store.revokeSession(sessionId, expiresAt);
    await store.mergeMetadata(sessionId, { a: 1 }, { expiresAt, maxBytes: 2048, maxDepth: 8 });
    await store.markOnce(`mark-${sessionId}`, expiresAt);
    await store.increment(`count-${sessionId}`, 120);
    const user = `auth0|${sessionId}`;
    await store.recordLink({ session_id: sessionId, anonymous_user_id: 'anon|abcdefgh', user_id: user, linked_at: new Date().toISOString(), user_agent: null }, expiresAt);
    const keys = [
      `${prefix}{${sessionId}}:revoked`,
      `${prefix}{${sessionId}}:metadata`,
      `${prefix}{mark-${sessionId}}:once`,
      `${prefix}{count-${sessionId}}:counter`,
      `${prefix}{user:${encodeURIComponent(user)}}:links`,
      `${prefix}{user:${encodeURIComponent(user)}}:links:expiry`,
    ];
    for (const key of keys) {
      const ttl = await client.pttl(key);
      expect(ttl, key).toBeGreaterThan(110_000);
      expect(ttl, key).toBeLessThanOrEqual(121_000);
    }
    // undefined = never: no TTL at all.
    await store.revokeSession(sessionId, undefined);
    expect(await client.pttl(`${prefix}{${sessionId}}:revoked`)).toBe(-1);
  });

  it('reloads its Lua scripts after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const sessionId = `sess_${randomSuffix()}`;
    await store.mergeMetadata(sessionId, { a: 1 }, { expiresAt: now() + 60, maxBytes: 2048, maxDepth: 8 });
    await client.script('FLUSH');
    const result = await store.mergeMetadata(sessionId, { b: 2 }, { expiresAt: now() + 60, maxBytes: 2048, maxDepth: 8 });
    expect(result).toEqual({ ok: true, version: 2, metadata: { a: 1, b: 2 } });
    expect((await store.increment(`after-flush-${sessionId}`, 60)).count).toBe(1);
  });

  it('merges in Lua exactly as the core merges in JavaScript, byte for byte, on 300 random patches', async () => {
    let seed = 20_300;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const keys = ['a', 'b', 'c', 'é', '😀', 'with space', 'quote"d', 'back\\slash', 'slash/ed', '1', '10'];
    const scalars: JsonValue[] = [
      0, -1, 1.5, 0.1 + 0.2, 1e21, 5e-324, 2 ** 53 + 2, -0.000001, true, false, '', 'plain', 'ünïcödé 😀', 'esc "\n\t\u0000\u001f\u2028', '</script>',
    ];
    const value = (depth: number): JsonValue => {
      const roll = random();
      if (depth >= 3 || roll < 0.5) return pick(scalars);
      if (roll < 0.7) return Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1));
      return object(depth + 1, false);
    };
    const object = (depth: number, allowNull: boolean): JsonObject => {
      const result: JsonObject = {};
      for (let index = Math.floor(random() * 4); index > 0; index -= 1) {
        result[pick(keys)] = allowNull && random() < 0.25 ? null : value(depth);
      }
      return result;
    };
    for (let round = 0; round < 10; round += 1) {
      const sessionId = `sess_fuzz${round}${randomSuffix()}`;
      let expected: JsonObject = {};
      for (let step = 0; step < 30; step += 1) {
        const patch = object(1, true);
        expected = mergePatch(expected, patch);
        const result = await store.mergeMetadata(sessionId, patch, { expiresAt: now() + 60, maxBytes: 1_000_000, maxDepth: 64 });
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.metadata).toEqual(expected);
        expect(jsonByteLength(result.metadata)).toBe(jsonByteLength(expected));
        // The stored text itself is what JSON.stringify would write (same bytes, up to key order).
        const stored = (await client.hget(`${prefix}{${sessionId}}:metadata`, 'd')) as string;
        expect(Buffer.byteLength(stored)).toBe(jsonByteLength(expected));
        expect(JSON.parse(stored)).toEqual(expected);
      }
    }
  });
});
