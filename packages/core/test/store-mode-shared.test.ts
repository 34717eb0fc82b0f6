/**
 * The cross-store `metadataStorage: 'store'` suite on memoryStore() (two engines in one process
 * sharing the store); Redis and PostgreSQL run the same suite against their real servers.
 */
import { memoryStore } from '@anonymous-sessions/core';
import { runStoreModeSuite } from '../../../test/support/store-mode-suite.js';

runStoreModeSuite('memoryStore()', async () => ({ store: memoryStore(), cleanup: async () => undefined }));
