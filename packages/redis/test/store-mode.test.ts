/**
 * `metadataStorage: 'store'` on the real local Redis: two engines sharing one store, 50 concurrent
 * updates, no rollback, the atomic size limit, the linked-session registry.
 */
import { redisStore } from '@anonymous-sessions/redis';
import { describeWithService, randomSuffix } from '../../../test/support/services.js';
import { runStoreModeSuite } from '../../../test/support/store-mode-suite.js';
import { deleteKeys, probeRedis, REDIS_URL, testClient } from './redis-service.js';

describeWithService(`Redis at ${REDIS_URL}`, await probeRedis(), () => {
  runStoreModeSuite('Redis', async () => {
    const client = testClient();
    const prefix = `anon-test:store-mode:${randomSuffix()}:`;
    return {
      store: redisStore({ client, prefix }),
      // This run's keys only (SCAN + DEL), never the shared server.
      wipe: async () => {
        await deleteKeys(client, prefix);
      },
      cleanup: async () => {
        await deleteKeys(client, prefix);
        await client.quit();
      },
    };
  });
});
