/**
 * The SessionStore conformance kit against postgresStore on the real local PostgreSQL
 * (DATABASE_URL), in a schema of its own that is dropped afterwards.
 */
import type pg from 'pg';
import { runSessionStoreConformance } from '@anonymous-sessions/core/testing';
import { postgresStore } from '@anonymous-sessions/postgres';
import { describeWithService } from '../../../test/support/services.js';
import { DATABASE_URL, dropSchema, privateSchema, probePostgres, testPool } from './postgres-service.js';

const availability = await probePostgres();

describeWithService(`PostgreSQL at ${DATABASE_URL}`, availability, () => {
  const schema = privateSchema('conformance');
  let pool: pg.Pool;
  runSessionStoreConformance(
    'postgresStore',
    () => {
      pool = testPool();
      return postgresStore({ pool, tableName: `${schema}.anonymous_sessions`, migrate: true });
    },
    {
      // A loss, as a restore to an empty database would cause: every row of this run's own table.
      wipe: async () => {
        await pool.query(`DELETE FROM "${schema}".anonymous_sessions`);
      },
      teardown: async () => {
        await dropSchema(pool, schema);
        await pool.end();
      },
    },
  );
});
