import {
  assertScopes,
  assertUser,
  claimEqualsCheck,
  claimIncludesCheck,
  claimPredicateCheck,
  createBearerGuard,
  readBodyText,
  type AuthResult,
  type BearerGuardOptions,
  type BearerRequest,
  type ClaimCheck,
  type ClaimPredicate,
  type ClaimValue,
} from '@anonymous-sessions/core/http';
import { rendering, withResponse } from './errors.js';
import { bodyOf, headersOf } from './request.js';

/** Options of {@link requireAnonymousOrUser}. */
export type RequireAnonymousOrUserOptions = BearerGuardOptions;

/**
 * The guard: the verified token of a `Request`. Resolves `undefined` only with
 * `authRequired: false` and no token at all; refusals throw an {@link AnonymousErrorWithResponse}.
 */
export type AnonymousOrUserGuard = (request: Request) => Promise<AuthResult | undefined>;

/** A check on the guard's result: returns it when it passes, throws an error with its `response` otherwise. */
export type AuthCheck = (auth: AuthResult | undefined) => AuthResult;

/** The realm of the guard that verified a result, for the checks' challenges. */
const realms = new WeakMap<AuthResult, string>();

/**
 * What the guard reads of a `Request` (RFC 6750 §2): the `Authorization` header, the
 * `access_token` query parameter, and a form body's `access_token` (read from a clone, so the
 * route can still read the body). The core decides which count.
 */
export async function bearerRequest(request: Request, parsedForm?: Record<string, unknown>): Promise<BearerRequest> {
  const headers = headersOf(request);
  const queryToken = new URL(request.url).searchParams.getAll('access_token');
  const isForm = (request.headers.get('content-type') ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
  let bodyToken: unknown = parsedForm?.access_token;
  if (bodyToken === undefined && isForm && request.method !== 'GET' && request.method !== 'HEAD' && request.body !== null && !request.bodyUsed) {
    const text = await readBodyText(bodyOf(request.clone(), undefined).bodyStream!, FORM_LIMIT, request.headers.get('content-length') ?? undefined);
    bodyToken = new URLSearchParams(text).getAll('access_token');
  }
  return { headers, method: request.method, queryToken: oneOrList(queryToken), bodyToken: Array.isArray(bodyToken) ? oneOrList(bodyToken) : bodyToken };
}

/** The cap on a form body the guard reads for its `access_token`: body-parser's default, 100 KiB. */
const FORM_LIMIT = 100 * 1024;

/** No value, one, or the repeated values (which the core refuses). */
const oneOrList = (values: string[]): string | string[] | undefined => (values.length === 0 ? undefined : values.length === 1 ? values[0] : values);

/** The guard with what the Hono middleware read of the request. */
export function createGuard(options: RequireAnonymousOrUserOptions) {
  const guard = createBearerGuard(options);
  const verify = (input: BearerRequest): Promise<AuthResult | undefined> =>
    rendering(async () => {
      // One extraction: the cached result at once, or one verification (what Express and Koa call too).
      const auth = await guard.authenticateRequest(input);
      if (auth !== undefined) realms.set(auth, guard.realm);
      return auth;
    });
  return { realm: guard.realm, verify };
}

/**
 * Bearer guard (RFC 6750) accepting our anonymous access tokens and, through `user`, the host's own
 * identity provider's tokens: resolves `{ token, header, payload, isAnonymous }`. A refusal throws
 * the error with its ready `response` (status, `{ error, error_description }`, `WWW-Authenticate`);
 * return it: `catch (error) { return anonymousErrorResponse(error) ?? … }`. With
 * `authRequired: false` a request without any token resolves `undefined`.
 *
 * @throws ConfigError for contradictory options, at start-up.
 */
export function requireAnonymousOrUser(options: RequireAnonymousOrUserOptions): AnonymousOrUserGuard {
  const { verify } = createGuard(options);
  return async (request) => verify(await bearerRequest(request));
}

/** Runs a core claim check on a guard's result, with that guard's realm. */
export function runCheck(check: ClaimCheck, auth: AuthResult | undefined, realm = auth === undefined ? undefined : realms.get(auth)): AuthResult {
  try {
    check(auth, realm);
    return auth!;
  } catch (error) {
    throw withResponse(error);
  }
}

/** A check: refuses guests with 403 `insufficient_user_authentication` (RFC 9470), no result with 401. */
export function requireUser(): AuthCheck {
  return (auth) => runCheck(assertUser, auth);
}

/** A check: refuses a token lacking any of `scopes` with 403 `insufficient_scope`. */
export function requireScopes(...scopes: string[]): AuthCheck {
  return (auth) => runCheck((result, realm) => assertScopes(result, scopes, realm), auth);
}

/** A check: the token's `claim` must be exactly `expected`, else 401 `invalid_token`, as `express-oauth2-jwt-bearer`'s `claimEquals`. */
export function claimEquals(claim: string, expected: ClaimValue): AuthCheck {
  const check = claimEqualsCheck(claim, expected);
  return (auth) => runCheck(check, auth);
}

/** A check: the token's `claim` (an array, or a space-separated string) must include every one of `expected`, else 401 `invalid_token`. */
export function claimIncludes(claim: string, ...expected: ClaimValue[]): AuthCheck {
  const check = claimIncludesCheck(claim, ...expected);
  return (auth) => runCheck(check, auth);
}

/** A check: `predicate(payload, auth)` must return true, else 401 `invalid_token` with `description`. */
export function claimCheck(predicate: ClaimPredicate, description?: string): AuthCheck {
  const check = claimPredicateCheck(predicate, description);
  return (auth) => runCheck(check, auth);
}

/** Whether a guard's result is an anonymous (guest) token. */
export function isAnonymous(auth: AuthResult | undefined): boolean {
  return auth?.isAnonymous === true;
}
