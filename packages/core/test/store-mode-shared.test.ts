/**
 * The cross-store `metadataStorage: 'store'` suite on memoryStore() (two engines in one process
 * sharing the store); Redis and PostgreSQL run the same suite against their real servers. A wipe
 * puts a new memoryStore() behind the same object, as a restarted process would have.
 */
import { memoryStore, type SessionStore } from '@anonymous-sessions/core';
import { runStoreModeSuite } from '../../../test/support/store-mode-suite.js';

runStoreModeSuite('memoryStore()', async () => {
  let inner = memoryStore();
  const store: Required<SessionStore> = {
    revokeSession: (...args) => inner.revokeSession(...args),
    isSessionRevoked: (...args) => inner.isSessionRevoked(...args),
    markOnce: (...args) => inner.markOnce(...args),
    releaseMark: (...args) => inner.releaseMark!(...args),
    increment: (...args) => inner.increment(...args),
    readMetadata: (...args) => inner.readMetadata!(...args),
    mergeMetadata: (...args) => inner.mergeMetadata!(...args),
    seedMetadata: (...args) => inner.seedMetadata!(...args),
    epoch: () => inner.epoch!(),
    recordLink: (...args) => inner.recordLink!(...args),
    listLinks: (...args) => inner.listLinks!(...args),
  };
  return {
    store,
    cleanup: async () => undefined,
    wipe: async () => {
      inner = memoryStore();
    },
  };
});
