/**
 * `@anonymous-sessions/client`: the guest-session client for browsers and Node. Fetch-based, no
 * dependencies, tree-shakeable.
 *
 * @packageDocumentation
 */
export { createAnonymousClient } from './client.js';
export type {
  AccessTokenOptions,
  AnonymousClient,
  AnonymousClientMode,
  AnonymousClientOptions,
  CreateSessionOptions,
  SyncOutcome,
  UpdateOutcome,
  UpdateSessionOptions,
} from './client.js';
export { AnonymousSessionClientError } from './errors.js';
export type {
  AnonymousSessionClientErrorCode,
  AnonymousSessionClientErrorOptions,
  ClientOnlyErrorCode,
  ServerErrorCode,
} from './errors.js';
export { localStorageAdapter, memoryStorage } from './storage.js';
export type { AnonymousClientStorage, WebStorageLike } from './storage.js';
export { mergePatch } from './merge-patch.js';
export { ACCESS_TOKEN_EXPIRY_LEEWAY_MS } from './access-token-cache.js';
export type { FetchFunction, FetchRequestInit, FetchResponse } from './internal/transport.js';
export type { AnonymousSession, JsonObject, JsonValue, TokenResponse } from './types.js';
