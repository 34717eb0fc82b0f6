/**
 * `@anonymous-sessions/postgres`: the anonymous-sessions `SessionStore` on PostgreSQL through
 * `pg`, a peer dependency. The host passes a pool.
 *
 * @packageDocumentation
 */
export { postgresStore } from './postgres-store.js';
export type { PostgresSessionStore, PostgresStoreOptions } from './postgres-store.js';
