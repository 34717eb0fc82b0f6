/**
 * `@anonymous-sessions/redis`: the anonymous-sessions `SessionStore` on Redis (standalone or
 * Cluster) through ioredis, a peer dependency. The host passes a connected client.
 *
 * @packageDocumentation
 */
export { redisStore } from './redis-store.js';
export type { RedisSessionStore, RedisStoreOptions } from './redis-store.js';
