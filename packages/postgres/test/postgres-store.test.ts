/**
 * postgresStore specifics on the real local PostgreSQL: option checks, an idempotent and
 * concurrency-safe migrate(), the indexes, and the expiry sweep on demand and on a timer.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@anonymous-sessions/core';
import { postgresStore, type PostgresSessionStore } from '@anonymous-sessions/postgres';
import { describeWithService, waitFor } from '../../../test/support/services.js';
import { DATABASE_URL, dropSchema, privateSchema, probePostgres, testPool } from './postgres-service.js';

const fakePool = { query: () => undefined, connect: () => undefined } as never;

describe('postgresStore options', () => {
  it.each([
    'anonymous-sessions',
    'Anonymous',
    'a.b.c',
    '1table',
    'x; DROP TABLE users',
    '"quoted"',
    '',
    `t${'x'.repeat(48)}`,
  ])('refuses the table name %j with a ConfigError', async (tableName) => {
    const error = await postgresStore({ pool: fakePool, tableName }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]?.path).toBe('tableName');
  });

  it('accepts plain and schema-qualified identifiers and quotes them', async () => {
    expect((await postgresStore({ pool: fakePool })).table).toBe('"anonymous_sessions"');
    expect((await postgresStore({ pool: fakePool, tableName: 'auth.guest_sessions_2' })).table).toBe('"auth"."guest_sessions_2"');
  });

  it('needs a pool and a positive sweep interval', async () => {
    await expect(postgresStore({ pool: undefined as never })).rejects.toBeInstanceOf(ConfigError);
    await expect(postgresStore({ pool: fakePool, sweepIntervalSeconds: 0 })).rejects.toBeInstanceOf(ConfigError);
  });

  it('refuses an unknown (misspelt) option with a ConfigError naming it', async () => {
    const error = await postgresStore({ pool: fakePool, tablename: 'guests' } as never).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([{ path: 'tablename', message: 'is not a known option' }]);
  });
});

describeWithService(`PostgreSQL at ${DATABASE_URL}`, await probePostgres(), () => {
  const schema = privateSchema('unit');
  const tableName = `${schema}.sessions`;
  let pool: pg.Pool;
  let store: PostgresSessionStore;
  const now = (): number => Math.floor(Date.now() / 1000);
  const rowCount = async (): Promise<number> => Number((await pool.query(`SELECT count(*) AS n FROM ${store.table}`)).rows[0].n);

  beforeAll(async () => {
    pool = testPool();
    store = await postgresStore({ pool, tableName, migrate: true });
  });

  afterAll(async () => {
    store?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('migrates idempotently, even from several instances at once, keeping the data', async () => {
    await store.revokeSession('sess_kept_across_migrations', now() + 600);
    await Promise.all(Array.from({ length: 4 }, () => postgresStore({ pool, tableName, migrate: true })));
    await store.migrate();
    expect(await store.isSessionRevoked('sess_kept_across_migrations')).toBe(true);
  });

  it('migrates a table made before the epoch marker: its kind check is widened, its rows kept, and epoch() works', async () => {
    const legacy = `${schema}.legacy`;
    // The table exactly as the previous version's migrate() created it.
    await pool.query(`
      CREATE TABLE "${schema}".legacy (
        kind text NOT NULL CHECK (kind IN ('revoked', 'once', 'counter', 'metadata', 'link')),
        id text NOT NULL,
        expires_at timestamptz,
        counter bigint,
        version bigint,
        document json,
        user_id text,
        PRIMARY KEY (kind, id)
      )`);
    await pool.query(`INSERT INTO "${schema}".legacy (kind, id, expires_at) VALUES ('revoked', 'sess_from_before', now() + interval '1 hour')`);
    const old = await postgresStore({ pool, tableName: legacy });
    await expect(old.epoch()).rejects.toThrow(/check constraint/);
    const migrated = await postgresStore({ pool, tableName: legacy, migrate: true });
    const marker = await migrated.epoch();
    expect(marker).toMatch(/^pg\./);
    expect(await migrated.epoch()).toBe(marker);
    expect(await migrated.isSessionRevoked('sess_from_before')).toBe(true);
    // Still a check: an unknown kind is refused, and a second migrate changes nothing.
    await expect(pool.query(`INSERT INTO "${schema}".legacy (kind, id) VALUES ('bogus', 'x')`)).rejects.toThrow(/check constraint/);
    await migrated.migrate();
    const { rows } = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM pg_constraint WHERE conrelid = '"${schema}"."legacy"'::regclass AND contype = 'c'`,
    );
    expect(Number(rows[0]!.n)).toBe(1);
  });

  it('has an index for every lookup: the primary key, links by user, the expiry sweep', async () => {
    const { rows } = await pool.query<{ indexname: string; indexdef: string }>(
      'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname',
      [schema, 'sessions'],
    );
    const definitions = rows.map((row) => row.indexdef);
    expect(definitions.some((definition) => /UNIQUE INDEX .* \(kind, id\)/.test(definition))).toBe(true);
    expect(definitions.some((definition) => /\(user_id\) WHERE \(kind = 'link'::text\)/.test(definition))).toBe(true);
    expect(definitions.some((definition) => /\(expires_at\) WHERE \(expires_at IS NOT NULL\)/.test(definition))).toBe(true);
    // With sequential scans priced out, the planner can answer each lookup from an index.
    const client = await pool.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const plan = async (sql: string): Promise<string> => JSON.stringify((await client.query(`EXPLAIN ${sql}`)).rows);
      expect(await plan(`SELECT document FROM ${store.table} WHERE kind = 'link' AND user_id = 'u'`)).toMatch(/sessions_links_user_idx/);
      expect(await plan(`SELECT 1 FROM ${store.table} WHERE kind = 'revoked' AND id = 'x'`)).toMatch(/sessions_pkey/);
      expect(await plan(`SELECT kind, id FROM ${store.table} WHERE expires_at <= now()`)).toMatch(/sessions_expires_at_idx/);
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
  });

  it('sweeps expired rows on demand, and only those', async () => {
    await pool.query(`DELETE FROM ${store.table}`);
    await store.revokeSession('sess_sweep_live', now() + 600);
    await store.revokeSession('sess_sweep_forever', undefined);
    // Rows already expired, written straight into the table (as if their time had passed).
    await pool.query(
      `INSERT INTO ${store.table} (kind, id, expires_at) SELECT 'once', 'expired-' || n, now() - interval '1 second' FROM generate_series(1, 25) AS n`,
    );
    expect(await rowCount()).toBe(27);
    expect(await store.sweepExpired(10)).toBe(25);
    expect(await rowCount()).toBe(2);
    expect(await store.isSessionRevoked('sess_sweep_live')).toBe(true);
    expect(await store.isSessionRevoked('sess_sweep_forever')).toBe(true);
    expect(await store.sweepExpired()).toBe(0);
  });

  it('sweeps on a timer when asked, and close() stops it', async () => {
    const timed = await postgresStore({ pool, tableName, sweepIntervalSeconds: 0.2 });
    try {
      await pool.query(`INSERT INTO ${store.table} (kind, id, expires_at) VALUES ('once', 'timer-swept', now() - interval '1 second')`);
      await waitFor('the timed sweep to delete the expired row', 10_000, async () => {
        const { rowCount: left } = await pool.query(`SELECT 1 FROM ${store.table} WHERE id = 'timer-swept'`);
        return left === 0;
      });
    } finally {
      timed.close();
    }
  });
});
