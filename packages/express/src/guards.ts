import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  assertScopes,
  assertUser,
  claimEqualsCheck,
  claimIncludesCheck,
  claimPredicateCheck,
  createBearerGuard,
  DEFAULT_REALM,
  type AuthResult,
  type BearerGuardOptions,
  type BearerRequest,
  type ClaimCheck,
  type ClaimPredicate,
  type ClaimValue,
} from '@anonymous-sessions/core/http';

/**
 * What `requireAnonymousOrUser` leaves on `req.auth`, as the request type declares it: the token,
 * its header and payload, and `isAnonymous`.
 *
 * `isAnonymous` is optional here, and the property is declared through this base interface rather
 * than on `Express.Request` itself, so that an app also using `express-oauth2-jwt-bearer` (which
 * declares `Request.auth` as its own `AuthResult`) compiles with `skipLibCheck: false`: TypeScript
 * refuses two different types for one property (TS2717), but lets `Request`'s own declaration
 * narrow an inherited one. In such an app `req.auth` is typed as theirs; read ours, typed in full,
 * with {@link getAuth} or {@link RequestWithAuth}.
 */
export interface RequestAuth {
  /** The raw access token. Never log it. */
  token: string;
  /** Its protected header (`alg` as a plain string, as other verifiers report it). */
  header: RequestAuthHeader;
  /** Its verified claims. */
  payload: AuthResult['payload'];
  /** True for our anonymous issuer's tokens; false for the host's identity provider's. */
  isAnonymous?: boolean;
}

/** A JWS protected header as {@link RequestAuth} declares it. */
export interface RequestAuthHeader {
  /** The signing algorithm. */
  alg?: string;
  /** The key's id. */
  kid?: string;
  /** The token type (`at+jwt` for access tokens). */
  typ?: string;
  /** Any other header parameter. */
  [parameter: string]: unknown;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    /** The `auth` property `requireAnonymousOrUser` sets (see {@link RequestAuth}). */
    interface AnonymousSessionsRequest {
      /** Set by `requireAnonymousOrUser`: the verified token, guest or user. */
      auth?: RequestAuth;
    }
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- merged into Express's Request
    interface Request extends AnonymousSessionsRequest {}
  }
}

/** A request that went through `requireAnonymousOrUser` with a token: `req.auth` typed in full. */
export type RequestWithAuth = Request & { auth: AuthResult };

/** `req.auth` as the guard set it, whatever type the app's other libraries declare for it. */
const authOf = (req: Request): AuthResult | undefined => (req as { auth?: AuthResult }).auth;

/**
 * The verified token `requireAnonymousOrUser` left on the request, typed in full (`isAnonymous`
 * included), also in an app where another library declares `req.auth` with its own type.
 *
 * @returns the result, or `undefined` when the guard did not run, let a request without a token
 *   through (`authRequired: false`), or `req.auth` was set by some other middleware (it then has no
 *   boolean `isAnonymous`).
 */
export function getAuth(req: Request): AuthResult | undefined {
  const auth = authOf(req);
  return auth !== undefined && typeof auth === 'object' && typeof auth.isAnonymous === 'boolean' ? auth : undefined;
}

/** Options of {@link requireAnonymousOrUser}. */
export type RequireAnonymousOrUserOptions = BearerGuardOptions;

/**
 * The realm of the last guard that ran on a request, when it is not the default, for `requireUser`
 * and `requireScopes` on the same request. Kept beside the request rather than on it: Express 5
 * swaps every request's prototype, and V8 then gives each request a map of its own, so reading a
 * property a request lacks costs a lookup through its whole prototype chain on every request.
 */
const realms = new WeakMap<Request, string>();
const realmOf = (req: Request): string | undefined => realms.get(req);

/**
 * Bearer guard (RFC 6750) accepting our anonymous access tokens and, through `user`, the host's own
 * identity provider's tokens. Sets `req.auth = { token, header, payload, isAnonymous }`. Errors go
 * to `next(err)` with `status` and `headers` (`WWW-Authenticate`); `anonymousErrorHandler` renders
 * them as JSON. With `authRequired: false` a request without any token goes on without `req.auth`.
 *
 * @throws ConfigError for contradictory options, at start-up.
 */
export function requireAnonymousOrUser(options: RequireAnonymousOrUserOptions): RequestHandler {
  const guard = createBearerGuard(options);
  const realm = guard.realm;
  // The default realm is what `requireUser` and `requireScopes` assume when none is kept for the
  // request: only another realm is kept.
  const leaveRealm = realm !== DEFAULT_REALM;
  return (req: Request, _res: Response, next: NextFunction): void => {
    // The last guard's realm counts: another guard's, already kept for the request, is replaced.
    if (leaveRealm) realms.set(req, realm);
    else realms.delete(req);
    let outcome: AuthResult | undefined | Promise<AuthResult | undefined>;
    try {
      outcome = guard.authenticateRequest(bearerRequest(req));
    } catch (error) {
      next(error);
      return;
    }
    if (outcome instanceof Promise) {
      outcome.then((verified) => authenticated(req, verified, next), next);
      return;
    }
    authenticated(req, outcome, next);
  };
}

/** What the guard reads from an Express request. */
function bearerRequest(req: Request): BearerRequest {
  const method = req.method;
  // req.query re-parses the URL on every read: only read it when there is a query string.
  const queryToken = req.url.includes('?') ? (req.query as Record<string, unknown>).access_token : undefined;
  // The core decides whether a body token counts (form-encoded, not GET/HEAD: RFC 6750 §2.2); a
  // GET or HEAD body is never read.
  const bodyToken = method === 'GET' || method === 'HEAD' ? undefined : (req.body as Record<string, unknown> | undefined)?.access_token;
  return { headers: req.headers, method, queryToken, bodyToken };
}

/** Leaves the result on `req.auth` (none: authRequired false, no token) and goes on. */
function authenticated(req: Request, auth: AuthResult | undefined, next: NextFunction): void {
  if (auth !== undefined) req.auth = auth;
  next();
}

/** After `requireAnonymousOrUser`: refuses guests with 403 `insufficient_user_authentication` (RFC 9470). */
export function requireUser(): RequestHandler {
  return (req, _res, next) => {
    try {
      assertUser(authOf(req), realmOf(req));
      next();
    } catch (error) {
      next(error);
    }
  };
}

/** After `requireAnonymousOrUser`: refuses a token lacking any of `scopes` with 403 `insufficient_scope`. */
export function requireScopes(...scopes: string[]): RequestHandler {
  return (req, _res, next) => {
    try {
      assertScopes(authOf(req), scopes, realmOf(req));
      next();
    } catch (error) {
      next(error);
    }
  };
}

/** Runs a core claim check as Express middleware, with the guard's realm. */
const toHandler =
  (check: ClaimCheck): RequestHandler =>
  (req, _res, next) => {
    try {
      check(authOf(req), realmOf(req));
      next();
    } catch (error) {
      next(error);
    }
  };

/**
 * After `requireAnonymousOrUser`: the token's `claim` must be exactly `expected`, else 401
 * `invalid_token` ("Unexpected 'claim' value"), as `express-oauth2-jwt-bearer`'s `claimEquals`.
 */
export function claimEquals(claim: string, expected: ClaimValue): RequestHandler {
  return toHandler(claimEqualsCheck(claim, expected));
}

/**
 * After `requireAnonymousOrUser`: the token's `claim` (an array, or a space-separated string) must
 * include every one of `expected`, else 401 `invalid_token`, as `express-oauth2-jwt-bearer`'s
 * `claimIncludes`.
 */
export function claimIncludes(claim: string, ...expected: ClaimValue[]): RequestHandler {
  return toHandler(claimIncludesCheck(claim, ...expected));
}

/**
 * After `requireAnonymousOrUser`: `predicate(payload, auth)` must return true, else 401
 * `invalid_token` with `description`, as `express-oauth2-jwt-bearer`'s `claimCheck`.
 */
export function claimCheck(predicate: ClaimPredicate, description?: string): RequestHandler {
  return toHandler(claimPredicateCheck(predicate, description));
}

/** Whether the request was authenticated with an anonymous (guest) token. */
export function isAnonymous(req: Request): boolean {
  return getAuth(req)?.isAnonymous === true;
}
