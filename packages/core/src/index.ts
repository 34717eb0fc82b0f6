/**
 * `@anonymous-sessions/core`: the framework-free engine for guest sessions, as a host uses it —
 * the factory, the stores, the keys, the errors and the transfer recipes, with their types: what a
 * host writes. Binding and store-adapter authors import `@anonymous-sessions/core/http` (the
 * exchange types, the endpoints, the guard, the login flow, the store's result types, the metadata
 * helpers); store authors run the conformance kit from `@anonymous-sessions/core/testing`.
 * packages/core/test/entries.test.ts pins both lists, so a change to them is deliberate.
 *
 * @packageDocumentation
 */
// The engine.
export { createAnonymousSessions } from './engine/engine.js';
export type { AnonymousSessions } from './engine/engine.js';
export { DEVELOPMENT_KEYS } from './engine/config.js';
export type {
  AnonymousSessionsOptions,
  ClientInput,
  ClientResolver,
  MetadataOptions,
  OriginCheck,
  RateLimitOptions,
  ResourceServerInput,
  ResourceServerResolver,
  SessionCookieOptions,
} from './engine/config.js';
export type { Logger } from './internal/logger.js';
export { fromAuth0Settings } from './engine/auth0-settings.js';
export type { Auth0Settings, FromAuth0SettingsOptions } from './engine/auth0-settings.js';

// Sessions, tokens and metadata, as a host reads them.
export type { AnonymousSession } from './tokens/session-token.js';
export type { AccessTokenClaims } from './tokens/access-token.js';
export type { JsonObject, JsonValue, MetadataSchema } from './metadata/metadata.js';

// Errors: a host switches on `code` (`isKnownError` narrows to the class); it throws these two itself.
export {
  AccessDeniedError,
  AnonymousSessionError,
  ConfigError,
  InvalidRequestError,
  isAnonymousSessionError,
  isKnownError,
} from './errors/errors.js';
export type { AnonymousSessionErrorCode, ConfigIssue, KnownAnonymousSessionError } from './errors/errors.js';

// Stores.
export { memoryStore } from './store/memory-store.js';
export type { MemoryStoreOptions } from './store/memory-store.js';
export type { LinkedSession, SessionStore, TransferLogEntry } from './store/store.js';

// Keys.
export { generateKeySet, rotateKeySet } from './keys/keys.js';
export type { GenerateKeySetOptions, PrivateJwk, PrivateJwkSet, SigningAlgorithm } from './keys/keys.js';

// Transfer and its recipes.
export type { StoredUser, TransferApi, TransferEvent, TransferHook, TransferResult, TransferUser, UsersAdapter } from './transfer/transfer.js';
export { composeHooks, copyPreferences, linkSessions, mergeCart, mergeGuestMetadata, sumCartsBySku } from './transfer/transfer-recipes.js';
export type { CopyPreferencesOptions, LinkSessionsOptions, MergeCartOptions, MergeGuestMetadataOptions } from './transfer/transfer-recipes.js';

// The host's side of a login stack: rendering an identity provider's callback error.
export { loginCallbackError } from './http/login-stack.js';
export type { IdTokenClaims } from './http/login-stack.js';

// Deprecated: kept one release for hosts that use them (the recipe's old name; the error classes
// core's endpoints and guard throw, now in `@anonymous-sessions/core/http`).
export { mergeMetadata } from './transfer/transfer-recipes.js';
export type { MergeMetadataOptions } from './transfer/transfer-recipes.js';
export * from './errors/moved-errors.js';
