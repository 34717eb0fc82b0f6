/**
 * `postgresStore`: the {@link SessionStore} on PostgreSQL through `pg`.
 *
 * One table (default `anonymous_sessions`) holds every kind of entry, keyed by `(kind, id)`:
 *
 * | kind | id | uses |
 * |---|---|---|
 * | `revoked` | session id | `expires_at` |
 * | `once` | transfer mark key | `expires_at` |
 * | `counter` | rate-limit key | `counter`, `expires_at` (the window end) |
 * | `metadata` | session id | `version`, `document` (json), `expires_at` |
 * | `link` | `["<user id>","<session id>"]` | `user_id`, `document` (the link), `expires_at` |
 * | `epoch` | `epoch` | `document` (the epoch marker, a JSON string); never expires |
 *
 * `expires_at` is `NULL` for "never". Every read ignores expired rows (the database clock, `now()`,
 * decides), so an entry is gone at its expiry even before a sweep deletes the row. Indexes: the
 * primary key serves every lookup by key, a partial index on `user_id` serves `listLinks`, and a
 * partial index on `expires_at` serves the sweep.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import * as z from 'zod/mini';
import {
  parseOptions,
  mergeMetadataWithinLimits,
  type CounterState,
  type MetadataMergeOptions,
  type MetadataMergeResult,
  type SeedMetadataResult,
  type StoredMetadata,
} from '@anonymous-sessions/core/http';
import type { JsonObject, TransferLogEntry, SessionStore } from '@anonymous-sessions/core';

/** Options of {@link postgresStore}. */
export interface PostgresStoreOptions {
  /**
   * A `pg.Pool` (`new pg.Pool({ connectionString })`). The store never creates or ends it; the host
   * owns it. Give it a `connectionTimeoutMillis` (and a `statement_timeout`) so calls made while the
   * database is down give up; the engine's `storeTimeoutMs` already answers 503 meanwhile.
   */
  pool: Pool;
  /**
   * The table, optionally schema-qualified (`anonymous_sessions`, `auth.anonymous_sessions`).
   * Each part must be a lowercase SQL identifier (`[a-z_][a-z0-9_]*`), the table name at most 48
   * characters so its index names fit PostgreSQL's 63. Default `anonymous_sessions`.
   */
  tableName?: string | undefined;
  /** Run {@link PostgresSessionStore.migrate} before returning. Default false. */
  migrate?: boolean | undefined;
  /**
   * Delete expired rows every this many seconds, on a timer that never keeps the process alive
   * (`unref`). Default: no timer; call {@link PostgresSessionStore.sweepExpired} yourself (from a
   * cron job, say). Expired rows are ignored by every read either way.
   */
  sweepIntervalSeconds?: number | undefined;
  /** Called when a timed sweep fails. Default: `console.error`. */
  onSweepError?: ((error: unknown) => void) | undefined;
}

/** The PostgreSQL {@link SessionStore}, with its maintenance operations. */
export interface PostgresSessionStore extends Required<SessionStore> {
  /** The quoted, possibly schema-qualified table name the store uses. */
  readonly table: string;
  /**
   * Creates the table, its indexes (and its schema, when the name is qualified) if they do not
   * exist. Idempotent and safe to run from several instances at once (an advisory lock serialises
   * it).
   */
  migrate(): Promise<void>;
  /**
   * Deletes expired rows now, in batches of `batchSize` (default 5000).
   *
   * @returns how many rows were deleted.
   */
  sweepExpired(batchSize?: number): Promise<number>;
  /** Stops the sweep timer, if any. Never ends the pool. */
  close(): void;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const MAX_TABLE_LENGTH = 48;

/** A table name's schema (when qualified) and table; valid by {@link postgresStoreOptionsSchema}. */
function splitTableName(tableName: string): { schema: string | undefined; table: string } {
  const parts = tableName.split('.');
  return { schema: parts.length === 2 ? parts[0] : undefined, table: parts.at(-1) as string };
}

/** What is wrong with a table name, or `undefined` when it is good. */
function tableNameProblem(tableName: string): string | undefined {
  const parts = tableName.split('.');
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part) && part.length <= 63)) {
    return 'must be a lowercase SQL identifier ([a-z_][a-z0-9_]*), optionally schema-qualified as schema.table';
  }
  if ((parts.at(-1) as string).length > MAX_TABLE_LENGTH) return `the table name may have at most ${MAX_TABLE_LENGTH} characters`;
  return undefined;
}

/** The schema of {@link PostgresStoreOptions}: any other key is a ConfigError naming it. */
export const postgresStoreOptionsSchema = z.strictObject({
  pool: z.custom<Pool>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      typeof (value as Partial<Pool>).query === 'function' &&
      typeof (value as Partial<Pool>).connect === 'function',
    'must be a pg.Pool',
  ),
  tableName: z._default(
    z.string({ error: 'must be a string' }).check(
      z.superRefine((tableName, ctx) => {
        const problem = tableNameProblem(tableName);
        if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: tableName });
      }),
    ),
    'anonymous_sessions',
  ),
  migrate: z.optional(z.boolean({ error: 'must be a boolean' })),
  sweepIntervalSeconds: z.optional(
    z.number({ error: 'must be a positive number of seconds' }).check(
      z.refine((seconds) => Number.isFinite(seconds) && seconds > 0, 'must be a positive number of seconds'),
    ),
  ),
  onSweepError: z.optional(z.custom<(error: unknown) => void>((value) => typeof value === 'function', 'must be a function')),
});

const quote = (identifier: string): string => `"${identifier}"`;
/** Epoch seconds → a `to_timestamp` argument; `null` = never. */
const seconds = (expiresAt: number | undefined): number | null => (expiresAt === undefined ? null : expiresAt);
const LIVE = '(expires_at IS NULL OR expires_at > now())';
const KINDS = "('revoked', 'once', 'counter', 'metadata', 'link', 'epoch')";
/** A statement that lost a race with a concurrent delete is run again, at most this many times. */
const MAX_ATTEMPTS = 5;

/**
 * Creates the PostgreSQL {@link SessionStore}. Atomic operations are single `INSERT … ON CONFLICT`
 * statements; a metadata merge is one transaction holding the session's row lock, in which the merge
 * and its size and depth checks run, so concurrent merges apply one after the other.
 *
 * ```ts
 * import pg from 'pg';
 * import { postgresStore } from '@anonymous-sessions/postgres';
 * const store = await postgresStore({ pool: new pg.Pool({ connectionString }), migrate: true });
 * ```
 *
 * @param options - the pool, the table name, whether to migrate, the sweep timer.
 * @returns the store (after `migrate()` when asked).
 * @throws ConfigError for a bad table name or pool, at start-up.
 */
export async function postgresStore(options: PostgresStoreOptions): Promise<PostgresSessionStore> {
  const parsed = parseOptions(postgresStoreOptionsSchema, options);
  const { pool } = parsed;
  const { schema, table: bareTable } = splitTableName(parsed.tableName);
  const table = schema === undefined ? quote(bareTable) : `${quote(schema)}.${quote(bareTable)}`;
  const sweepInterval = parsed.sweepIntervalSeconds;
  const t: StoreTable = { pool, table, schema, bareTable };

  let timer: ReturnType<typeof setInterval> | undefined;
  const store: PostgresSessionStore = {
    table,

    migrate: () => migrateTable(t),

    sweepExpired: (batchSize = 5000) => sweepExpired(t, batchSize),

    close() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },

    async revokeSession(sessionId, expiresAt) {
      await pool.query(
        `INSERT INTO ${table} AS entry (kind, id, expires_at)
         SELECT 'revoked', $1, to_timestamp($2::float8)
         WHERE $2::float8 IS NULL OR to_timestamp($2::float8) > now()
         ON CONFLICT (kind, id) DO UPDATE SET expires_at = CASE
           WHEN entry.expires_at IS NOT NULL AND entry.expires_at <= now() THEN EXCLUDED.expires_at
           WHEN entry.expires_at IS NULL OR EXCLUDED.expires_at IS NULL THEN NULL
           ELSE greatest(entry.expires_at, EXCLUDED.expires_at)
         END`,
        [sessionId, seconds(expiresAt)],
      );
    },

    async isSessionRevoked(sessionId) {
      const { rowCount } = await pool.query(`SELECT 1 FROM ${table} WHERE kind = 'revoked' AND id = $1 AND ${LIVE}`, [sessionId]);
      return (rowCount ?? 0) > 0;
    },

    async markOnce(key, expiresAt) {
      const { rowCount } = await pool.query(
        `INSERT INTO ${table} AS entry (kind, id, expires_at) VALUES ('once', $1, to_timestamp($2::float8))
         ON CONFLICT (kind, id) DO UPDATE SET expires_at = EXCLUDED.expires_at
           WHERE entry.expires_at IS NOT NULL AND entry.expires_at <= now()
         RETURNING 1`,
        [key, seconds(expiresAt)],
      );
      return rowCount === 1;
    },

    async releaseMark(key) {
      await pool.query(`DELETE FROM ${table} WHERE kind = 'once' AND id = $1`, [key]);
    },

    async increment(key, windowSeconds): Promise<CounterState> {
      const { rows } = await pool.query<{ counter: string; reset_at: string }>(
        `INSERT INTO ${table} AS entry (kind, id, counter, expires_at)
         VALUES ('counter', $1, 1, now() + make_interval(secs => $2::float8))
         ON CONFLICT (kind, id) DO UPDATE SET
           counter = CASE WHEN entry.expires_at <= now() THEN 1 ELSE entry.counter + 1 END,
           expires_at = CASE WHEN entry.expires_at <= now() THEN EXCLUDED.expires_at ELSE entry.expires_at END
         RETURNING counter, extract(epoch FROM expires_at) AS reset_at`,
        [key, windowSeconds],
      );
      const row = rows[0] as { counter: string; reset_at: string };
      return { count: Number(row.counter), resetAt: Math.ceil(Number(row.reset_at)) };
    },

    readMetadata: (sessionId) => readMetadata(t, sessionId),

    mergeMetadata: (sessionId, patch, mergeOptions) => mergeMetadata(t, sessionId, patch, mergeOptions),

    seedMetadata: (sessionId, document, expiresAt) => seedMetadata(t, sessionId, document, expiresAt),

    epoch: () => readEpoch(t),

    async recordLink(link: TransferLogEntry, expiresAt) {
      await pool.query(
        `INSERT INTO ${table} AS entry (kind, id, user_id, document, expires_at)
         SELECT 'link', $1, $2, $3::json, to_timestamp($4::float8)
         WHERE $4::float8 IS NULL OR to_timestamp($4::float8) > now()
         ON CONFLICT (kind, id) DO UPDATE SET
           user_id = EXCLUDED.user_id, document = EXCLUDED.document, expires_at = EXCLUDED.expires_at`,
        [JSON.stringify([link.user_id, link.session_id]), link.user_id, JSON.stringify(link), seconds(expiresAt)],
      );
    },

    async listLinks(userId): Promise<TransferLogEntry[]> {
      const { rows } = await pool.query<{ document: TransferLogEntry }>(
        `SELECT document FROM ${table} WHERE kind = 'link' AND user_id = $1 AND ${LIVE}
         ORDER BY document->>'linked_at' COLLATE "C", id`,
        [userId],
      );
      return rows.map((row) => row.document);
    },
  };

  if (parsed.migrate === true) await store.migrate();
  if (sweepInterval !== undefined) {
    const onError = parsed.onSweepError ?? ((error: unknown) => console.error('[anonymous-sessions/postgres] expiry sweep failed', error));
    timer = startSweeping(t, sweepInterval, onError);
  }
  return store;
}


/** The table a store works on, and the pool it reaches it through. */
interface StoreTable {
  readonly pool: Pool;
  /** The quoted, possibly schema-qualified name. */
  readonly table: string;
  /** The schema, when the name is qualified. */
  readonly schema: string | undefined;
  /** The table's own name, unquoted (for its index names). */
  readonly bareTable: string;
}

/** Runs `work` in a transaction on one connection; a connection that cannot roll back is destroyed. */
async function transaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    // A connection that could not even roll back is destroyed, not returned to the pool.
    client.release(broken);
  }
}

/** {@link PostgresSessionStore.migrate}. */
async function migrateTable(t: StoreTable): Promise<void> {
  await transaction(t.pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`anonymous-sessions:${t.table}`]);
    if (t.schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${quote(t.schema)}`);
    await client.query(`
      CREATE TABLE IF NOT EXISTS ${t.table} (
        kind text NOT NULL CHECK (kind IN ${KINDS}),
        id text NOT NULL,
        expires_at timestamptz,
        counter bigint,
        version bigint,
        document json,
        user_id text,
        PRIMARY KEY (kind, id)
      )`);
    // A table made by an earlier version allows fewer kinds: widen its check (the old rows all
    // pass the wider one, so NOT VALID skips a scan of the table).
    const { rows: checks } = await client.query<{ name: string; definition: string }>(
      `SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint
       WHERE conrelid = $1::regclass AND contype = 'c'`,
      [t.table],
    );
    for (const check of checks) {
      if (!check.definition.includes('kind') || check.definition.includes("'epoch'")) continue;
      await client.query(
        `ALTER TABLE ${t.table} DROP CONSTRAINT ${quote(check.name)},
         ADD CONSTRAINT ${quote(check.name)} CHECK (kind IN ${KINDS}) NOT VALID`,
      );
    }
    await client.query(
      `CREATE INDEX IF NOT EXISTS ${quote(`${t.bareTable}_expires_at_idx`)} ON ${t.table} (expires_at) WHERE expires_at IS NOT NULL`,
    );
    await client.query(
      `CREATE INDEX IF NOT EXISTS ${quote(`${t.bareTable}_links_user_idx`)} ON ${t.table} (user_id) WHERE kind = 'link'`,
    );
  });
}

/** {@link PostgresSessionStore.sweepExpired}. */
async function sweepExpired(t: StoreTable, batchSize: number): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await t.pool.query(
      `WITH doomed AS (
         SELECT kind, id FROM ${t.table} WHERE expires_at <= now() LIMIT $1 FOR UPDATE SKIP LOCKED
       )
       DELETE FROM ${t.table} AS entry USING doomed WHERE entry.kind = doomed.kind AND entry.id = doomed.id`,
      [batchSize],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < batchSize) return total;
  }
}

/** The store's `readMetadata`. */
async function readMetadata(t: StoreTable, sessionId: string): Promise<StoredMetadata | undefined> {
  const { rows } = await t.pool.query<{ version: string; document: JsonObject }>(
    `SELECT version, document FROM ${t.table} WHERE kind = 'metadata' AND id = $1 AND ${LIVE}`,
    [sessionId],
  );
  const row = rows[0];
  return row === undefined ? undefined : { version: Number(row.version), metadata: row.document };
}

/** The store's `mergeMetadata`: under a row lock, in a transaction. */
async function mergeMetadata(
  t: StoreTable,
  sessionId: string,
  patch: JsonObject,
  mergeOptions: MetadataMergeOptions,
): Promise<MetadataMergeResult> {
  return transaction(t.pool, async (client) => {
    // Make sure a row exists to lock (born expired, so it reads as "no document"); a refused
    // merge rolls this back too.
    await client.query(
      `INSERT INTO ${t.table} (kind, id, version, document, expires_at) VALUES ('metadata', $1, 0, '{}', now())
       ON CONFLICT (kind, id) DO NOTHING`,
      [sessionId],
    );
    const { rows } = await client.query<{ version: string; document: JsonObject; expired: boolean }>(
      `SELECT version, document, (expires_at IS NOT NULL AND expires_at <= now()) AS expired
       FROM ${t.table} WHERE kind = 'metadata' AND id = $1 FOR UPDATE`,
      [sessionId],
    );
    const row = rows[0] as { version: string; document: JsonObject; expired: boolean };
    const version = row.expired ? 0 : Number(row.version);
    const merged = mergeMetadataWithinLimits(row.expired ? {} : row.document, patch, mergeOptions);
    if (!merged.ok) {
      throw new RefusedMerge(merged.reason);
    }
    await client.query(
      `UPDATE ${t.table} SET version = $2, document = $3::json, expires_at = CASE
         WHEN $5 THEN to_timestamp($4::float8)
         WHEN expires_at IS NULL OR $4::float8 IS NULL THEN NULL
         ELSE greatest(expires_at, to_timestamp($4::float8))
       END
       WHERE kind = 'metadata' AND id = $1`,
      [sessionId, version + 1, JSON.stringify(merged.metadata), seconds(mergeOptions.expiresAt), row.expired],
    );
    return { ok: true as const, version: version + 1, metadata: merged.metadata };
  }).catch((error: unknown) => {
    if (error instanceof RefusedMerge) return { ok: false as const, reason: error.reason };
    throw error;
  });
}

/** The store's `seedMetadata`: create-if-absent, retried while the live row vanishes under it. */
async function seedMetadata(
  t: StoreTable,
  sessionId: string,
  document: StoredMetadata,
  expiresAt: number | undefined,
): Promise<SeedMetadataResult> {
  for (let attempt = 1; ; attempt += 1) {
    // Create-if-absent in one statement: an expired row is replaced, a live one kept.
    const { rowCount } = await t.pool.query(
      `INSERT INTO ${t.table} AS entry (kind, id, version, document, expires_at)
       VALUES ('metadata', $1, $2, $3::json, to_timestamp($4::float8))
       ON CONFLICT (kind, id) DO UPDATE SET
         version = EXCLUDED.version, document = EXCLUDED.document, expires_at = EXCLUDED.expires_at
         WHERE entry.expires_at IS NOT NULL AND entry.expires_at <= now()
       RETURNING 1`,
      [sessionId, document.version, JSON.stringify(document.metadata), seconds(expiresAt)],
    );
    if (rowCount === 1) return { seeded: true, version: document.version, metadata: structuredClone(document.metadata) };
    const live = await readMetadata(t, sessionId);
    if (live !== undefined) return { seeded: false, ...live };
    // The live row vanished between the two statements (expired, deleted): try again.
    if (attempt >= MAX_ATTEMPTS) throw new Error('seedMetadata: the document kept vanishing');
  }
}

/** The store's `epoch`: written once, read back in a second statement. */
async function readEpoch(t: StoreTable): Promise<string> {
  const candidate = JSON.stringify(`pg.${randomBytes(16).toString('base64url')}`);
  for (let attempt = 1; ; attempt += 1) {
    await t.pool.query(
      `INSERT INTO ${t.table} (kind, id, document) VALUES ('epoch', 'epoch', $1::json) ON CONFLICT (kind, id) DO NOTHING`,
      [candidate],
    );
    // A second statement, so it sees a marker that a concurrent first call committed meanwhile.
    const { rows } = await t.pool.query<{ document: unknown }>(`SELECT document FROM ${t.table} WHERE kind = 'epoch' AND id = 'epoch'`);
    const marker = rows[0]?.document;
    if (typeof marker === 'string') return marker;
    if (attempt >= MAX_ATTEMPTS) throw new Error('epoch: the marker kept vanishing');
  }
}

/** Starts the sweep timer (never keeping the process alive); one sweep at a time. */
function startSweeping(t: StoreTable, intervalSeconds: number, onError: (error: unknown) => void): ReturnType<typeof setInterval> {
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sweepExpired(t, 5000)
      .catch(onError)
      .finally(() => {
        sweeping = false;
      });
  }, intervalSeconds * 1000);
  timer.unref();
  return timer;
}

/** Thrown inside the merge transaction to roll it back; turned into a refusal result. */
class RefusedMerge extends Error {
  constructor(readonly reason: 'max_bytes' | 'max_depth') {
    super(reason);
  }
}
