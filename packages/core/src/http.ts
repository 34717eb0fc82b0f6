/**
 * `@anonymous-sessions/core/http`: what a binding author needs to put the engine behind a web
 * framework — the exchange types ({@link HttpRequest} in, {@link HttpResponse} out), the six
 * endpoints and their routing table, the error renderer, the cookie codec, the session extractors,
 * the origin rule, the bearer guard and the login flow. A third binding is writable from this
 * entry alone; hosts use `@anonymous-sessions/core` and a binding package instead.
 *
 * @packageDocumentation
 */
// What a binding passes around from the engine, re-exported so this entry stands on its own.
export type { AnonymousSessions, IssuedTokens, LogoutParameters, RequestContext, TokenResponse, VerifyAccessTokenOptions } from './engine/engine.js';
export type { AuthorizationServerMetadata } from './engine/discovery.js';
export type { Client, ResolvedConfig, ResourceServer } from './engine/config.js';
export { RESERVED_CLAIMS } from './engine/config.js';
export { clientAddressBucket } from './engine/rate-limit.js';
export type { AnonymousSession, SessionTokenPayload } from './tokens/session-token.js';
export { ANONYMOUS_USER_ID, MAX_SESSION_TOKEN_LENGTH, SESSION_TOKEN_TYPE } from './tokens/session-token.js';
export { ACCESS_TOKEN_TYPE } from './tokens/access-token.js';
export type { TransferParameters, TransferResult } from './transfer/transfer.js';
export { UNSUPPORTED_TRANSFER_FLOWS } from './transfer/transfer.js';

// Errors: every class core throws in a request, the code lists, and rendering foreign errors.
export * from './errors/errors.js';

// What a store adapter returns, and the metadata rules it applies (JSON Merge Patch, the limits).
export type { CounterState, MetadataMergeOptions, MetadataMergeResult, SeedMetadataResult, StoredMetadata } from './store/store.js';
export { applyMetadataPatch, mergePatch, mergeMetadataWithinLimits, jsonByteLength, jsonDepth, FORBIDDEN_METADATA_KEYS } from './metadata/metadata.js';
export type { MetadataLimits } from './metadata/metadata.js';
// Options parsing for a binding's or a store adapter's own factory: one ConfigError shape everywhere.
export { parseOptions } from './errors/parse-options.js';

// The exchange between a binding and core.
export { bearerToken, headerValue } from './exchange/http-exchange.js';
export { epochSeconds } from './internal/epoch-seconds.js';
export type { HttpHeaders, HttpRequest, HttpResponse } from './exchange/http-exchange.js';
export { createErrorRenderer, errorResponse } from './exchange/error-response.js';
export type { ErrorRendererOptions } from './exchange/error-response.js';
export { forwardedRequestFacts } from './exchange/forwarded.js';
export type { ForwardedRequestInput, ProxyTrust } from './exchange/forwarded.js';

// The endpoints.
export { createEndpoints, createTokenEndpoints, ENDPOINT_PATHS, ENDPOINT_ROUTES, matchEndpoint } from './http/endpoints.js';
export type { EndpointName, TokenEndpoints, TokenEndpointsOptions } from './http/endpoints.js';
export { readBodyText, parseBodyText, parsedBodySize, DEFAULT_BODY_LIMIT } from './http/request-body.js';
export { isSameOrigin, isSameOriginOrAllowed } from './http/request-origin.js';
export type { AllowedOriginCheck, RequestOriginFacts } from './http/request-origin.js';

// Cookies and session extraction.
export { cookieCodec, engineSessionCookie, sessionCookie, MAX_COOKIE_BYTES } from './engine/session-cookie.js';
export type { CookieWriteContext, ResolvedSessionCookieOptions, SessionCookie, SessionCookieOptions } from './engine/session-cookie.js';
export { createCookieExtractor, createSessionExtractor, DEFAULT_SESSION_QUERY_PARAM } from './http/session-extractor.js';
export type {
  CookieExtractorOptions,
  ExtractedSession,
  SessionExtractor,
  SessionExtractorOptions,
  SessionExtractorRequest,
} from './http/session-extractor.js';

// The bearer guard.
export { createBearerGuard, assertScopes, assertUser, claimEqualsCheck, claimIncludesCheck, claimPredicateCheck } from './guard/bearer-guard.js';
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
} from './guard/bearer-guard.js';

// The login flow: the binding cookie, the transfer handler, the login stacks.
export { LOGIN_BINDING_LIFETIME, LOGIN_BINDING_TYPE } from './tokens/login-binding.js';
export { safeRedirectTarget } from './http/redirect.js';
export { createLoginBinder, createTransferHandler, createTransferRoute, createTransferStep, LOGIN_BINDING_COOKIE } from './http/login-flow.js';
export type {
  AuthenticatedUser,
  LoginBinderRequest,
  LoginBindingOutcome,
  LoginFlowCookieOptions,
  TransferHandler,
  TransferHandlerOptions,
  TransferHandlerOutcome,
  TransferHandlerRequest,
  TransferRequestReaders,
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
  parseLoginStackOptions,
  sameOriginReturnTo,
  stripQueryParameter,
} from './http/login-stack.js';
export { createOpenIdClientLogin } from './http/openid-client-login.js';
export type {
  OpenIdCallbackOutcome,
  OpenIdCallbackRequest,
  OpenIdClientApi,
  OpenIdClientLoginOptions,
  OpenIdClientLoginSteps,
  OpenIdLoginStartOutcome,
  OpenIdLoginStartRequest,
  OpenIdTokens,
} from './http/openid-client-login.js';
export type {
  IdTokenClaims,
  LoginFinishOutcome,
  LoginFinishRequest,
  LoginStackOptions,
  LoginStartOptions,
  LoginStartOutcome,
  LoginStartRequest,
} from './http/login-stack.js';
