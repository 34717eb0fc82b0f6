/**
 * The local Redis the tests use (REDIS_URL, default redis://127.0.0.1:6379), a probe, and cleanup
 * of one test file's keys.
 */
import { Cluster, Redis } from 'ioredis';
import { loopbackUrl, type Availability } from '../../../test/support/services.js';

/** REDIS_URL or the local default; loopback only. */
export const REDIS_URL = loopbackUrl('REDIS_URL', 'redis://127.0.0.1:6379');

/** Whether Redis answers PING at `url` within a second. */
export async function probeRedis(url = REDIS_URL): Promise<Availability> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    client.disconnect();
  }
}

/** A client for the tests: fails fast instead of retrying for long. */
export function testClient(url = REDIS_URL): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1 });
}

/** Deletes every key under `prefix` (SCAN, never KEYS), on each master of a cluster. */
export async function deleteKeys(client: Redis | Cluster, prefix: string): Promise<number> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  let deleted = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      // One DEL per key: in a cluster, keys of different slots cannot share a command.
      for (const key of keys) deleted += await node.del(key);
    } while (cursor !== '0');
  }
  return deleted;
}
