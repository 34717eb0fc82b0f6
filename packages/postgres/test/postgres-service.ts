/**
 * The local PostgreSQL the tests use (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test),
 * a probe, and a private schema per test file.
 */
import pg from 'pg';
import { loopbackUrl, randomSuffix, type Availability } from '../../../test/support/services.js';

/** DATABASE_URL or the local default; loopback only. */
export const DATABASE_URL = loopbackUrl('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/test');

/** Whether PostgreSQL answers `SELECT 1` at `url` within two seconds. */
export async function probePostgres(url = DATABASE_URL): Promise<Availability> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A pool for the tests, failing fast when the database is away. */
export function testPool(url = DATABASE_URL): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000 });
  pool.on('error', () => undefined);
  return pool;
}

/** A schema name of its own for one test file: `anon_test_<what>_<random>`. */
export const privateSchema = (what: string): string => `anon_test_${what}_${randomSuffix()}`;

/** Drops a test file's schema and everything in it. */
export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  if (!/^anon_test_[a-z0-9_]+$/.test(schema)) throw new Error(`refusing to drop ${schema}`);
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
