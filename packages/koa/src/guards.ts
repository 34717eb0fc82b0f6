import type { Context, Middleware, Next } from 'koa';
import {
  assertScopes,
  assertUser,
  claimEqualsCheck,
  claimIncludesCheck,
  claimPredicateCheck,
  createBearerGuard,
  DEFAULT_REALM,
  type BearerGuardOptions,
  type ClaimPredicate,
  type ClaimValue,
} from '@anonymous-sessions/core/http';
import { hostBody } from './http.js';
import './state.js';

/** Options of {@link requireAnonymousOrUser}. */
export type RequireAnonymousOrUserOptions = BearerGuardOptions;

/** Where the guard leaves its realm for `requireUser` / `requireScopes` on the same request. */
const REALM = Symbol('anonymous-sessions.realm');
const realmOf = (ctx: Context): string | undefined => (ctx as Context & { [REALM]?: string })[REALM];

/**
 * Bearer guard (RFC 6750) accepting our anonymous access tokens and, through `user`, the host's own
 * identity provider's tokens. Sets `ctx.state.auth = { token, header, payload, isAnonymous }`.
 * Errors are thrown with `status`, `expose` and `headers` (`WWW-Authenticate`), so Koa's own
 * `ctx.onerror` renders them; `anonymousErrorHandler` renders them as JSON. With
 * `authRequired: false` a request without any token goes on without `ctx.state.auth`.
 *
 * @throws ConfigError for contradictory options, at start-up.
 */
export function requireAnonymousOrUser(options: RequireAnonymousOrUserOptions): Middleware {
  const guard = createBearerGuard(options);
  const realm = guard.realm;
  // The default realm is what `requireUser` and `requireScopes` assume when the context carries
  // none: only another realm is left on it (a property added to every context costs).
  const leaveRealm = realm !== DEFAULT_REALM;
  return async function requireAnonymousOrUser(ctx: Context, next: Next): Promise<void> {
    // (Another guard's realm already on the context is replaced, as the last guard's realm counts.)
    if (leaveRealm || realmOf(ctx) !== undefined) (ctx as Context & { [REALM]?: string })[REALM] = realm;
    const method = ctx.method;
    // ctx.query re-parses the query string on every read: only read it when there is one.
    // The core decides whether a body token counts (form-encoded, not GET/HEAD: RFC 6750 §2.2); a
    // GET or HEAD body is never read.
    const input = {
      headers: ctx.headers,
      method,
      queryToken: ctx.querystring ? ctx.query.access_token : undefined,
      bodyToken: method === 'GET' || method === 'HEAD' ? undefined : hostBody(ctx)?.access_token,
    };
    const outcome = guard.authenticateRequest(input);
    const auth = outcome instanceof Promise ? await outcome : outcome;
    if (auth !== undefined) ctx.state.auth = auth; // undefined: authRequired false, no token
    await next();
  };
}

/** After `requireAnonymousOrUser`: refuses guests with 403 `insufficient_user_authentication` (RFC 9470). */
export function requireUser(): Middleware {
  return async function requireUser(ctx: Context, next: Next): Promise<void> {
    assertUser(ctx.state.auth, realmOf(ctx));
    await next();
  };
}

/** After `requireAnonymousOrUser`: refuses a token lacking any of `scopes` with 403 `insufficient_scope`. */
export function requireScopes(...scopes: string[]): Middleware {
  return async function requireScopes(ctx: Context, next: Next): Promise<void> {
    assertScopes(ctx.state.auth, scopes, realmOf(ctx));
    await next();
  };
}

/**
 * After `requireAnonymousOrUser`: the token's `claim` must be exactly `expected`, else 401
 * `invalid_token` ("Unexpected 'claim' value"), as `express-oauth2-jwt-bearer`'s `claimEquals`.
 */
export function claimEquals(claim: string, expected: ClaimValue): Middleware {
  const check = claimEqualsCheck(claim, expected);
  return async function claimEquals(ctx: Context, next: Next): Promise<void> {
    check(ctx.state.auth, realmOf(ctx));
    await next();
  };
}

/**
 * After `requireAnonymousOrUser`: the token's `claim` (an array, or a space-separated string) must
 * include every one of `expected`, else 401 `invalid_token`, as `express-oauth2-jwt-bearer`'s
 * `claimIncludes`.
 */
export function claimIncludes(claim: string, ...expected: ClaimValue[]): Middleware {
  const check = claimIncludesCheck(claim, ...expected);
  return async function claimIncludes(ctx: Context, next: Next): Promise<void> {
    check(ctx.state.auth, realmOf(ctx));
    await next();
  };
}

/**
 * After `requireAnonymousOrUser`: `predicate(payload, auth)` must return true, else 401
 * `invalid_token` with `description`, as `express-oauth2-jwt-bearer`'s `claimCheck`.
 */
export function claimCheck(predicate: ClaimPredicate, description?: string): Middleware {
  const check = claimPredicateCheck(predicate, description);
  return async function claimCheck(ctx: Context, next: Next): Promise<void> {
    check(ctx.state.auth, realmOf(ctx));
    await next();
  };
}

/** Whether the request was authenticated with an anonymous (guest) token. */
export function isAnonymous(ctx: Context): boolean {
  return ctx.state.auth?.isAnonymous === true;
}
