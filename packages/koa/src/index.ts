/**
 * `@anonymous-sessions/koa`: Koa 2 and 3 bindings. Each only translates Koa's context onto
 * `@anonymous-sessions/core`; results live on `ctx.state`.
 *
 * @packageDocumentation
 */
export type { AnonymousSessionsState } from './state.js';
export { anonymousTokenRouter } from './token-router.js';
export type { AnonymousTokenRouterOptions } from './token-router.js';
export { anonCookieExtractor } from './cookie-extractor.js';
export type { AnonCookieExtractorOptions } from './cookie-extractor.js';
export { anonymousErrorHandler } from './error-handler.js';
export type { AnonymousErrorHandlerOptions } from './error-handler.js';
export { requireAnonymousOrUser, requireUser, requireScopes, claimEquals, claimIncludes, claimCheck, isAnonymous } from './guards.js';
export type { RequireAnonymousOrUserOptions } from './guards.js';
export type { ClaimPredicate, ClaimValue } from '@anonymous-sessions/core/http';
export { sessionTransfer, anonymousLoginBinding } from './session-transfer.js';
export type { AnonymousLoginBindingOptions, SessionTransferOptions } from './session-transfer.js';
export type { AuthenticatedUser } from '@anonymous-sessions/core/http';
export { LOGIN_BINDING_COOKIE, safeRedirectTarget, loginCallbackError } from '@anonymous-sessions/core/http';
export { mergeCart, mergeGuestMetadata, mergeMetadata, linkSessions, copyPreferences, composeHooks } from '@anonymous-sessions/core';
// The engine's factory and store, so an app that installed only this binding (pnpm's strict
// layout does not expose a dependency's dependencies) can still write the quick start.
export { createAnonymousSessions, memoryStore } from '@anonymous-sessions/core';
export type { AnonymousSessions } from '@anonymous-sessions/core';
export type { AnonymousSessionsOptions } from '@anonymous-sessions/core';
export { loginTransfer, openIdClientLogin } from './login-stacks.js';
export type {
  FlowOption,
  LoginTransfer,
  LoginTransferOptions,
  OpenIdClientApi,
  OpenIdClientLogin,
  OpenIdClientLoginOptions,
  OpenIdTokens,
} from './login-stacks.js';
export type { IdTokenClaims } from '@anonymous-sessions/core/http';
