/**
 * `@anonymous-sessions/core`: the framework-free engine for guest sessions.
 *
 * @packageDocumentation
 */
export { createAnonymousSessions, AnonymousSessions } from './engine/engine.js';
export type {
  AuthorizationServerMetadata,
  IssuedTokens,
  LogoutParameters,
  RequestContext,
  TokenResponse,
  VerifyAccessTokenOptions,
} from './engine/engine.js';
export { configSchema, resolveConfig, DEVELOPMENT_KEYS, RESERVED_CLAIMS } from './engine/config.js';
export type {
  AnonymousSessionsOptions,
  Client,
  ClientInput,
  ClientResolver,
  ResolvedConfig,
  ResourceServer,
  ResourceServerInput,
  ResourceServerResolver,
} from './engine/config.js';
export type { Logger } from './internal/logger.js';
export type { MetadataSchema } from './metadata/metadata.js';
export * from './errors/errors.js';
export { memoryStore, DEFAULT_MEMORY_STORE_MAX_ENTRIES } from './store/memory-store.js';
export { clientAddressBucket, RATE_LIMIT_WINDOW_SECONDS } from './engine/rate-limit.js';
export type { MemoryStoreOptions } from './store/memory-store.js';
export type {
  CounterState,
  LinkedSession,
  MetadataMergeOptions,
  MetadataMergeResult,
  SeedMetadataResult,
  SessionStore,
  StoredMetadata,
} from './store/store.js';
export { generateKeySet, rotateKeySet, importKeyRing, SIGNING_ALGORITHMS } from './keys/keys.js';
export type { EncryptionKey, GenerateKeySetOptions, JWK, KeyRing, KeySetInput, PrivateJwk, PrivateJwkSet, SigningAlgorithm, SigningKey } from './keys/keys.js';
export { ANONYMOUS_USER_ID, MAX_SESSION_TOKEN_LENGTH, SESSION_TOKEN_TYPE } from './tokens/session-token.js';
export type { AnonymousSession, SessionTokenPayload } from './tokens/session-token.js';
export { ACCESS_TOKEN_TYPE } from './tokens/access-token.js';
export type { AccessTokenClaims } from './tokens/access-token.js';
export {
  applyMetadataPatch,
  mergePatch,
  mergeMetadataWithinLimits,
  jsonByteLength,
  jsonDepth,
  FORBIDDEN_METADATA_KEYS,
} from './metadata/metadata.js';
export type { JsonObject, JsonValue, MetadataLimits } from './metadata/metadata.js';
export { fromAuth0Settings } from './engine/auth0-settings.js';
export type {
  Auth0Client,
  Auth0ResourceServer,
  Auth0Settings,
  Auth0TenantSettings,
  ConvertedAuth0Options,
  FromAuth0SettingsOptions,
} from './engine/auth0-settings.js';
export { createTokenEndpoints, ENDPOINT_PATHS, ENDPOINT_ROUTES, matchEndpoint } from './http/endpoints.js';
export type { EndpointName, TokenEndpoints, TokenEndpointsOptions } from './http/endpoints.js';
export { createErrorRenderer, errorResponse } from './exchange/error-response.js';
export type { ErrorRendererOptions } from './exchange/error-response.js';
export { bearerToken, headerValue } from './exchange/http-exchange.js';
export type { HttpHeaders, HttpRequest, HttpResponse } from './exchange/http-exchange.js';
export { sessionCookie, MAX_COOKIE_BYTES } from './http/session-cookie.js';
export type { ResolvedSessionCookieOptions, SessionCookie, SessionCookieOptions } from './http/session-cookie.js';
export { createCookieExtractor, createSessionExtractor, DEFAULT_SESSION_QUERY_PARAM } from './http/session-extractor.js';
export type {
  CookieExtractorOptions,
  ExtractedSession,
  SessionExtractor,
  SessionExtractorOptions,
  SessionExtractorRequest,
} from './http/session-extractor.js';
export { isSameOrigin, isSameOriginOrAllowed } from './http/request-origin.js';
export type { AllowedOriginCheck, RequestOriginFacts } from './http/request-origin.js';
export { readBodyText, parseBodyText, parsedBodySize, DEFAULT_BODY_LIMIT } from './http/request-body.js';
export { createBearerGuard, assertScopes, assertUser, bearerChallenge } from './guard/bearer-guard.js';
export type {
  AuthResult,
  BearerGuard,
  BearerGuardOptions,
  BearerRequest,
  CustomUserVerifier,
  RemoteAnonymousIssuer,
  UserIssuerOptions,
} from './guard/bearer-guard.js';
export { UNSUPPORTED_TRANSFER_FLOWS } from './transfer/transfer.js';
export type {
  TransferApi,
  TransferEvent,
  TransferHook,
  TransferParameters,
  TransferResult,
  TransferSkipReason,
  TransferUser,
  UsersAdapter,
} from './transfer/transfer.js';
export { composeHooks, copyPreferences, linkSessions, mergeCart, mergeMetadata, sumCartsBySku, MAX_CART_ITEMS } from './transfer/transfer-recipes.js';
export type {
  CartItem,
  CopyPreferencesOptions,
  LinkSessionsOptions,
  MergeCartOptions,
  MergeMetadataOptions,
  MergeStrategy,
  MetadataTarget,
} from './transfer/transfer-recipes.js';
export { LOGIN_BINDING_LIFETIME, LOGIN_BINDING_TYPE } from './tokens/login-binding.js';
export { safeRedirectTarget } from './http/redirect.js';
export { createLoginBinder, createTransferRoute, createTransferStep, LOGIN_BINDING_COOKIE } from './http/login-flow.js';
export type {
  AuthenticatedUser,
  LoginBindingOutcome,
  LoginFlowCookieOptions,
  TransferRouteOptions,
  TransferRouteRequest,
  TransferStepOptions,
  TransferStepOutcome,
  TransferStepRequest,
} from './http/login-flow.js';
export {
  acceptsQuerySessionToken,
  assertLoginStackOptions,
  createLoginFinish,
  createLoginStart,
  loginCallbackError,
  LOGIN_RETURN_COOKIE,
  LOGIN_SEED_COOKIE,
  LOGIN_STACK_OPTION_KEYS,
  sameOriginReturnTo,
  stripQueryParameter,
} from './http/login-stack.js';
export type { IdTokenClaims, LoginFinishOutcome, LoginFinishRequest, LoginStackOptions, LoginStartOptions, LoginStartOutcome, LoginStartRequest } from './http/login-stack.js';
