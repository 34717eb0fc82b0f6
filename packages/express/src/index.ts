/**
 * `@anonymous-sessions/express`: Express 4 and 5 bindings. Each only translates Express requests
 * onto `@anonymous-sessions/core`.
 *
 * @packageDocumentation
 */
export { anonymousTokenRouter } from './token-router.js';
export type { AnonymousTokenRouterOptions } from './token-router.js';
export { anonCookieExtractor } from './cookie-extractor.js';
export type { AnonCookieExtractorOptions } from './cookie-extractor.js';
export { anonymousErrorHandler } from './error-handler.js';
export type { AnonymousErrorHandlerOptions } from './error-handler.js';
export { requireAnonymousOrUser, requireUser, requireScopes, claimEquals, claimIncludes, claimCheck, isAnonymous, getAuth } from './guards.js';
export type { RequireAnonymousOrUserOptions, RequestAuth, RequestAuthHeader, RequestWithAuth } from './guards.js';
export type { ClaimPredicate, ClaimValue } from '@anonymous-sessions/core/http';
export { sessionTransfer, anonymousLoginBinding, LOGIN_BINDING_COOKIE } from './session-transfer.js';
export type { AnonymousLoginBindingOptions, AuthenticatedUser, SessionTransferOptions } from './session-transfer.js';
export { safeRedirectTarget, loginCallbackError } from '@anonymous-sessions/core/http';
export { mergeCart, mergeGuestMetadata, mergeMetadata, linkSessions, copyPreferences, composeHooks } from '@anonymous-sessions/core';
// The engine's factory and store, so an app that installed only this binding (pnpm's strict
// layout does not expose a dependency's dependencies) can still write the quick start.
export { createAnonymousSessions, memoryStore } from '@anonymous-sessions/core';
export type { AnonymousSessions } from '@anonymous-sessions/core';
export type { AnonymousSessionsOptions } from '@anonymous-sessions/core';
export type { IdTokenClaims } from '@anonymous-sessions/core/http';
export { loginTransfer, passportTransfer, openIdConnectTransfer } from './login-stacks.js';
export type {
  FlowOption,
  LoginTransfer,
  LoginTransferOptions,
  OpenIdConnectLoginOptions,
  OpenIdConnectTransfer,
  OpenIdConnectTransferOptions,
  PassportTransferOptions,
} from './login-stacks.js';
