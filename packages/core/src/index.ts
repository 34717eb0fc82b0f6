/**
 * `@anonymous-sessions/core`: the framework-free engine for guest sessions, as a host uses it —
 * the factory, the stores, the keys, the errors and the transfer recipes, with their types.
 * Binding authors import `@anonymous-sessions/core/http`; store authors run the conformance kit
 * from `@anonymous-sessions/core/testing`.
 *
 * @packageDocumentation
 */
// The engine.
export { createAnonymousSessions } from './engine/engine.js';
export type { AuthorizationServerMetadata } from './engine/discovery.js';
export type {
  AnonymousSessions,
  IssuedTokens,
  LogoutParameters,
  RequestContext,
  TokenResponse,
  VerifyAccessTokenOptions,
} from './engine/engine.js';
export { DEVELOPMENT_KEYS, RESERVED_CLAIMS } from './engine/config.js';
export type {
  AnonymousSessionsOptions,
  Client,
  ClientInput,
  ClientResolver,
  MetadataOptions,
  OriginCheck,
  RateLimitOptions,
  ResolvedConfig,
  ResourceServer,
  ResourceServerInput,
  ResourceServerResolver,
} from './engine/config.js';
export type { Logger } from './internal/logger.js';
export { clientAddressBucket } from './engine/rate-limit.js';
export { fromAuth0Settings } from './engine/auth0-settings.js';
export type {
  Auth0Client,
  Auth0ResourceServer,
  Auth0Settings,
  Auth0TenantSettings,
  ConvertedAuth0Options,
  FromAuth0SettingsOptions,
} from './engine/auth0-settings.js';

// Errors.
export * from './errors/errors.js';

// Stores.
export { memoryStore, DEFAULT_MEMORY_STORE_MAX_ENTRIES } from './store/memory-store.js';
export type { MemoryStoreOptions } from './store/memory-store.js';
export type {
  CounterState,
  LinkedSession,
  TransferLogEntry,
  MetadataMergeOptions,
  MetadataMergeResult,
  SeedMetadataResult,
  SessionStore,
  StoredMetadata,
} from './store/store.js';

// Keys.
export { generateKeySet, rotateKeySet, importKeyRing, SIGNING_ALGORITHMS } from './keys/keys.js';
export type {
  EncryptionKey,
  GenerateKeySetOptions,
  JWK,
  KeyRing,
  KeySetInput,
  PrivateJwk,
  PrivateJwkSet,
  SigningAlgorithm,
  SigningKey,
} from './keys/keys.js';

// Tokens and metadata.
export { ANONYMOUS_USER_ID, MAX_SESSION_TOKEN_LENGTH, SESSION_TOKEN_TYPE } from './tokens/session-token.js';
export type { AnonymousSession, SessionTokenPayload } from './tokens/session-token.js';
export { ACCESS_TOKEN_TYPE } from './tokens/access-token.js';
export type { AccessTokenClaims } from './tokens/access-token.js';
export { applyMetadataPatch, mergePatch, mergeMetadataWithinLimits, jsonByteLength, jsonDepth, FORBIDDEN_METADATA_KEYS } from './metadata/metadata.js';
export type { JsonObject, JsonValue, MetadataLimits, MetadataSchema } from './metadata/metadata.js';

// Transfer and its recipes.
export { UNSUPPORTED_TRANSFER_FLOWS } from './transfer/transfer.js';
export type {
  TransferApi,
  TransferEvent,
  TransferHook,
  TransferParameters,
  TransferResult,
  TransferSkipReason,
  StoredUser,
  TransferUser,
  UsersAdapter,
} from './transfer/transfer.js';
export {
  composeHooks,
  copyPreferences,
  linkSessions,
  mergeCart,
  mergeGuestMetadata,
  mergeMetadata,
  sumCartsBySku,
  MAX_CART_ITEMS,
} from './transfer/transfer-recipes.js';
export type {
  CartItem,
  CopyPreferencesOptions,
  LinkSessionsOptions,
  MergeCartOptions,
  MergeGuestMetadataOptions,
  MergeMetadataOptions,
  MergeStrategy,
  MetadataTarget,
} from './transfer/transfer-recipes.js';

// The host's side of a login stack: rendering an identity provider's callback error.
export { loginCallbackError } from './http/login-stack.js';
export type { IdTokenClaims } from './http/login-stack.js';
export type { BearerGuardOptions } from './guard/bearer-guard.js';
export type { ClaimCheck, ClaimPredicate, ClaimValue } from './guard/bearer-guard.js';
export type { ResolvedSessionCookieOptions, SessionCookieOptions } from './engine/session-cookie.js';
