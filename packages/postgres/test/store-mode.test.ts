/**
 * `metadataStorage: 'store'` on the real local PostgreSQL: two engines sharing one store, 50
 * concurrent updates, no rollback, the atomic size limit, the linked-session registry.
 */
import { postgresStore } from '@anonymous-sessions/postgres';
import { describeWithService } from '../../../test/support/services.js';
import { runStoreModeSuite } from '../../../test/support/store-mode-suite.js';
import { DATABASE_URL, dropSchema, privateSchema, probePostgres, testPool } from './postgres-service.js';

describeWithService(`PostgreSQL at ${DATABASE_URL}`, await probePostgres(), () => {
  runStoreModeSuite('PostgreSQL', async () => {
    const pool = testPool();
    const schema = privateSchema('store_mode');
    return {
      store: await postgresStore({ pool, tableName: `${schema}.anonymous_sessions`, migrate: true }),
      // Every row of this run's own table, as a restore to an empty database would leave it.
      wipe: async () => {
        await pool.query(`DELETE FROM "${schema}".anonymous_sessions`);
      },
      cleanup: async () => {
        await dropSchema(pool, schema);
        await pool.end();
      },
    };
  });
});
