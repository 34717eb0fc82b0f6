/**
 * The SessionStore conformance kit (`@anonymous-sessions/core/testing`) against memoryStore(): the
 * same cases the Redis and Postgres adapters pass against their real servers.
 */
import { memoryStore } from '@anonymous-sessions/core';
import { runSessionStoreConformance } from '@anonymous-sessions/core/testing';

runSessionStoreConformance('memoryStore()', () => memoryStore());
