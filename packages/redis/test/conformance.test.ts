/**
 * The SessionStore conformance kit against redisStore on the real local Redis (REDIS_URL).
 */
import type { Redis } from 'ioredis';
import { runSessionStoreConformance } from '@anonymous-sessions/core/testing';
import { redisStore } from '@anonymous-sessions/redis';
import { describeWithService, randomSuffix } from '../../../test/support/services.js';
import { deleteKeys, probeRedis, REDIS_URL, testClient } from './redis-service.js';

const availability = await probeRedis();

describeWithService(`Redis at ${REDIS_URL}`, availability, () => {
  const prefix = `anon-test:conformance:${randomSuffix()}:`;
  let client: Redis;
  runSessionStoreConformance(
    'redisStore (single server)',
    () => {
      client = testClient();
      return redisStore({ client, prefix });
    },
    {
      // A loss, as a restart without persistence would cause: this run's keys flushed (never FLUSHALL).
      wipe: async () => {
        await deleteKeys(client, prefix);
      },
      teardown: async () => {
        await deleteKeys(client, prefix);
        await client.quit();
      },
    },
  );
});
