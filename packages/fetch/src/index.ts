/**
 * `@anonymous-sessions/fetch`: the binding for Web-standard `Request`/`Response` — Next.js route
 * handlers, Hono (also as middleware: `@anonymous-sessions/fetch/hono`), Deno, Bun, workers. Each
 * function only translates a `Request` onto `@anonymous-sessions/core` and returns a `Response`,
 * the result, or the `Set-Cookie` headers to add.
 *
 * @packageDocumentation
 */
export { anonymousTokenHandler } from './token-handler.js';
export type { AnonymousTokenHandler, AnonymousTokenHandlerOptions } from './token-handler.js';
export type { FetchRequestOptions } from './request.js';
export type { ProxyTrust } from '@anonymous-sessions/core/http';
export { anonCookieExtractor } from './cookie-extractor.js';
export type { AnonCookieExtractorOptions, CookieExtraction } from './cookie-extractor.js';
export { anonymousErrorResponse } from './errors.js';
export type { AnonymousErrorResponseOptions, AnonymousErrorWithResponse } from './errors.js';
export { requireAnonymousOrUser, requireUser, requireScopes, claimEquals, claimIncludes, claimCheck, isAnonymous } from './guards.js';
export type { AnonymousOrUserGuard, AuthCheck, RequireAnonymousOrUserOptions } from './guards.js';
export type { AuthResult } from '@anonymous-sessions/core/http';
export type { ClaimPredicate, ClaimValue } from '@anonymous-sessions/core/http';
export { sessionTransfer, anonymousLoginBinding, LOGIN_BINDING_COOKIE } from './session-transfer.js';
export type { AnonymousLoginBindingOptions, AuthenticatedUser, LoginBindingResult, SessionTransferOptions, SessionTransferResult } from './session-transfer.js';
export { loginTransfer, openIdClientLogin } from './login-stacks.js';
export type {
  FlowOption,
  LoginFinishResult,
  LoginStartResult,
  LoginTransfer,
  LoginTransferOptions,
  MaybeUser,
  OpenIdCallbackResult,
  OpenIdClientApi,
  OpenIdClientLogin,
  OpenIdClientLoginOptions,
  OpenIdTokens,
} from './login-stacks.js';
export { safeRedirectTarget, loginCallbackError } from '@anonymous-sessions/core/http';
export { mergeCart, mergeGuestMetadata, mergeMetadata, linkSessions, copyPreferences, composeHooks } from '@anonymous-sessions/core';
// The engine's factory and store, so an app that installed only this binding (pnpm's strict
// layout does not expose a dependency's dependencies) can still write the quick start.
export { createAnonymousSessions, memoryStore } from '@anonymous-sessions/core';
export type { AnonymousSessions } from '@anonymous-sessions/core';
export type { AnonymousSessionsOptions } from '@anonymous-sessions/core';
export type { IdTokenClaims } from '@anonymous-sessions/core/http';
