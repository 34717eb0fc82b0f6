/**
 * `@anonymous-sessions/core`: the framework-free engine for guest sessions.
 *
 * @packageDocumentation
 */
export { createAnonymousSessions, AnonymousSessions } from './engine.js';
export type {
  AuthorizationServerMetadata,
  IssuedTokens,
  LogoutParameters,
  RequestContext,
  TokenResponse,
  VerifyAccessTokenOptions,
} from './engine.js';
export { configSchema, resolveConfig, DEVELOPMENT_KEYS, RESERVED_CLAIMS, SIGNING_ALGORITHMS } from './config.js';
export type {
  AnonymousSessionsOptions,
  Client,
  ClientInput,
  ClientResolver,
  KeySetInput,
  Logger,
  MetadataSchema,
  OriginCheck,
  PrivateJwk,
  ResolvedConfig,
  ResourceServer,
  ResourceServerInput,
  ResourceServerResolver,
  SigningAlgorithm,
} from './config.js';
export * from './errors.js';
export { memoryStore, DEFAULT_MEMORY_STORE_MAX_ENTRIES } from './memory-store.js';
export { clientAddressBucket, RATE_LIMIT_WINDOW_SECONDS } from './rate-limit.js';
export type { MemoryStoreOptions } from './memory-store.js';
export type {
  CounterState,
  LinkedSession,
  MetadataMergeOptions,
  MetadataMergeResult,
  SeedMetadataResult,
  SessionStore,
  StoredMetadata,
} from './store.js';
export { generateKeySet, rotateKeySet, importKeyRing } from './keys.js';
export type { EncryptionKey, GenerateKeySetOptions, JWK, KeyRing, PrivateJwkSet, SigningKey } from './keys.js';
export { ANONYMOUS_USER_ID, MAX_SESSION_TOKEN_LENGTH, SESSION_TOKEN_TYPE } from './session-token.js';
export type { AnonymousSession, SessionTokenPayload } from './session-token.js';
export { ACCESS_TOKEN_TYPE } from './access-token.js';
export type { AccessTokenClaims } from './access-token.js';
export {
  applyMetadataPatch,
  mergePatch,
  mergeMetadataWithinLimits,
  jsonByteLength,
  jsonDepth,
  FORBIDDEN_METADATA_KEYS,
} from './metadata.js';
export type { JsonObject, JsonValue, MetadataLimits } from './metadata.js';
export { fromAuth0Settings } from './auth0-settings.js';
export type {
  Auth0Client,
  Auth0ResourceServer,
  Auth0Settings,
  Auth0TenantSettings,
  ConvertedAuth0Options,
  FromAuth0SettingsOptions,
} from './auth0-settings.js';
export { createErrorRenderer, createTokenEndpoints, ENDPOINT_PATHS, ENDPOINT_ROUTES, matchEndpoint, errorResponse, bearerToken, headerValue } from './endpoints.js';
export type { EndpointName, ErrorRendererOptions, HttpHeaders, HttpRequest, HttpResponse, TokenEndpoints, TokenEndpointsOptions } from './endpoints.js';
export { sessionCookie, engineSessionCookie, MAX_COOKIE_BYTES } from './session-cookie.js';
export type { CookieWriteContext, ResolvedSessionCookieOptions, SessionCookie, SessionCookieOptions } from './session-cookie.js';
export { createCookieExtractor, createSessionExtractor, DEFAULT_SESSION_QUERY_PARAM } from './session-extractor.js';
export type {
  CookieExtractorOptions,
  ExtractedSession,
  SessionExtractor,
  SessionExtractorOptions,
  SessionExtractorRequest,
} from './session-extractor.js';
export { isSameOrigin, isSameOriginOrAllowed } from './request-origin.js';
export type { AllowedOriginCheck, RequestOriginFacts } from './request-origin.js';
export { readBodyText, parseBodyText, parsedBodySize, DEFAULT_BODY_LIMIT } from './request-body.js';
export {
  createBearerGuard,
  assertScopes,
  assertUser,
  bearerChallenge,
  claimEqualsCheck,
  claimIncludesCheck,
  claimPredicateCheck,
} from './bearer-guard.js';
export type {
  AuthResult,
  BearerGuard,
  BearerGuardOptions,
  BearerRequest,
  ClaimCheck,
  ClaimPredicate,
  ClaimValue,
  CustomUserVerifier,
  RemoteAnonymousIssuer,
  RemoteAnonymousIssuerByDiscovery,
  RemoteAnonymousIssuerByJwks,
  UserIssuerOptions,
} from './bearer-guard.js';
export { UNSUPPORTED_TRANSFER_FLOWS } from './transfer.js';
export type {
  TransferApi,
  TransferEvent,
  TransferHook,
  TransferParameters,
  TransferResult,
  TransferSkipReason,
  TransferUser,
  UsersAdapter,
} from './transfer.js';
export { composeHooks, copyPreferences, linkSessions, mergeCart, mergeMetadata, sumCartsBySku, MAX_CART_ITEMS } from './transfer-recipes.js';
export type {
  CartItem,
  CopyPreferencesOptions,
  LinkSessionsOptions,
  MergeCartOptions,
  MergeMetadataOptions,
  MergeStrategy,
  MetadataTarget,
} from './transfer-recipes.js';
export { LOGIN_BINDING_LIFETIME, LOGIN_BINDING_TYPE } from './login-binding.js';
export { safeRedirectTarget } from './redirect.js';
export { createLoginBinder, createTransferRoute, createTransferStep, LOGIN_BINDING_COOKIE } from './login-flow.js';
export type {
  AuthenticatedUser,
  LoginBinderRequest,
  LoginBindingOutcome,
  LoginFlowCookieOptions,
  TransferRouteOptions,
  TransferRouteRequest,
  TransferStepOptions,
  TransferStepOutcome,
  TransferStepRequest,
} from './login-flow.js';
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
} from './login-stack.js';
export type { IdTokenClaims, LoginFinishOutcome, LoginFinishRequest, LoginStackOptions, LoginStartOptions, LoginStartOutcome, LoginStartRequest } from './login-stack.js';
