/**
 * The bearer guard behind `requireAnonymousOrUser` (RFC 6750): extracts the access token, decides
 * by its issuer which key set may verify it, verifies it, and answers RFC 6750 / RFC 9470 errors
 * with their exact `WWW-Authenticate` challenge. Written once here; each binding wraps it.
 *
 * A token is only ever checked against the key set of the issuer it names: anonymous tokens against
 * our engine's keys (or a remote anonymous issuer's JWKS), user tokens against the host's identity
 * provider. Whether the caller is a guest is decided by that issuer, never by the `sub` claim; a
 * token from our issuer must also carry the claims of an anonymous access token
 * (`assertAnonymousAccessClaims`), and a token from the identity provider must not be an ID token
 * (`nonce`) unless the host allows it. A logged-out session's access tokens are refused by default
 * (`checkRevocation`), and an issuer that cannot be reached is a 503, never a 401.
 *
 * @packageDocumentation
 */
import type { JWTPayload } from 'jose';
import type { Logger } from '../internal/logger.js';
import {
  AnonymousSessionError,
  ConfigError,
  DEFAULT_REALM,
  InsufficientScopeError,
  InsufficientUserAuthenticationError,
  InvalidBearerRequestError,
  InvalidTokenError,
} from '../errors/errors.js';
import { parseOptions } from '../errors/parse-options.js';
import type { AnonymousSessions } from '../engine/engine.js';
import { bearerCandidate, bearerToken, headerValue, isB64Token, type HttpHeaders } from '../exchange/http-exchange.js';
import type { SessionStore } from '../store/store.js';
import { deepFreeze } from '../internal/deep-freeze.js';
import { LruCache } from '../internal/lru-cache.js';
import { remoteKeySet, type RemoteDocumentOptions } from '../internal/remote-documents.js';
import { withStoreTimeout } from '../store/with-timeout.js';
import { bearerGuardOptionsSchema, isEngine, type BearerGuardOptions, type RemoteAnonymousIssuer } from './guard-options.js';
import { discoveredIssuerVerifier, userTokenVerifier } from './remote-verifiers.js';
import { TokenVerifier, type AuthResult } from './token-verifier.js';

export type {
  BearerGuardOptions,
  CustomUserVerifier,
  RemoteAnonymousIssuer,
  RemoteAnonymousIssuerByDiscovery,
  RemoteAnonymousIssuerByJwks,
  UserIssuerOptions,
} from './guard-options.js';
export type { AuthResult } from './token-verifier.js';

/** Defaults shared with `express-oauth2-jwt-bearer`'s options of the same names. */
const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_COOLDOWN_MS = 30_000;
const DEFAULT_CACHE_MAX_AGE_MS = 600_000;
const DEFAULT_CLOCK_TOLERANCE_S = 5;

/** What a guard reads from a request. */
export interface BearerRequest {
  /** Request headers, names in lower case. */
  headers: HttpHeaders;
  /** The request method: a body's `access_token` is read only for methods other than GET and HEAD. */
  method?: string;
  /** The query's `access_token`, if any (RFC 6750 §2.3). */
  queryToken?: unknown;
  /**
   * The parsed body's `access_token`, if a body parser put one there. Read only from an
   * `application/x-www-form-urlencoded` body of a request whose `method` is not GET or HEAD
   * (RFC 6750 §2.2); a JSON body's is ignored.
   */
  bodyToken?: unknown;
}

/** A configured guard. */
export interface BearerGuard {
  /** The realm of its challenges. */
  readonly realm: string;
  /**
   * Authenticates a request or throws the RFC 6750 error to answer with. Resolves `undefined` only
   * with `authRequired: false`, for a request that carries no access token.
   */
  authenticate(request: BearerRequest): Promise<AuthResult | undefined>;
  /**
   * The synchronous fast path: the result for a token already in the verified-token cache (still
   * live, and needing no store call), `undefined` when {@link BearerGuard.authenticate} must run.
   * Throws the same RFC 6750 errors for a missing or malformed token.
   */
  authenticateCached(request: BearerRequest): AuthResult | undefined;
  /**
   * Both in one call, for a binding's middleware: the result itself (synchronously) when the
   * verified-token cache answers, else the promise {@link BearerGuard.authenticate} returns. The
   * request is read once and nothing is remembered about it. Throws the RFC 6750 errors of a missing
   * or malformed token synchronously; the promise rejects with the others. `undefined` (or a promise
   * of it) only with `authRequired: false`, for a request that carries no access token.
   */
  authenticateRequest(request: BearerRequest): AuthResult | undefined | Promise<AuthResult | undefined>;
}


const consoleLogger: Logger = {
  warn: (message) => console.warn(`[anonymous-sessions] ${message}`),
  error: (message, error) => console.error(`[anonymous-sessions] ${message}`, error instanceof Error ? error : ''),
};

/** `${name}: ${message}` of the innermost cause: the reason behind a refusal, for the log. */
function rootCause(error: unknown): string | undefined {
  let current = error;
  for (let depth = 0; depth < 8 && current instanceof Error && current.cause !== undefined; depth += 1) current = current.cause;
  if (!(current instanceof Error)) return undefined;
  return current.name === 'Error' ? current.message : `${current.name}: ${current.message}`;
}

/** A guard's settings, resolved once from its options. */
interface GuardSettings {
  realm: string;
  authRequired: boolean;
  requiredScopes: string[];
  logger: Logger;
  verifier: TokenVerifier;
  cache: LruCache<string, AuthResult> | undefined;
  /** Whether anonymous tokens are checked for revocation on every request. */
  checkRevocation: boolean;
  /** The local engine (which answers for its store), when `anonymous` is one. */
  engine: AnonymousSessions | undefined;
  /** A remote issuer's shared store, bounded by the timeout. */
  revocations: SessionStore | undefined;
}

/** Parses the options and resolves everything a guard needs. */
function resolveSettings(input: BearerGuardOptions): GuardSettings {
  const options = parseOptions(bearerGuardOptionsSchema, input);
  const realm = options.realm ?? DEFAULT_REALM;
  const audiences = Array.isArray(options.audience) ? options.audience : [options.audience];
  const engine = isEngine(options.anonymous) ? options.anonymous : undefined;
  const remote = engine ? undefined : (options.anonymous as RemoteAnonymousIssuer);
  const timeoutDuration = options.timeoutDuration ?? DEFAULT_TIMEOUT_MS;
  const clockTolerance = options.clockTolerance ?? DEFAULT_CLOCK_TOLERANCE_S;
  const logger = options.logger ?? engine?.config.logger ?? consoleLogger;
  const fetching: RemoteDocumentOptions = {
    timeoutDuration,
    cooldownDuration: options.cooldownDuration ?? DEFAULT_COOLDOWN_MS,
    cacheMaxAge: options.cacheMaxAge ?? DEFAULT_CACHE_MAX_AGE_MS,
    logger,
  };
  // Revocations: the engine answers for its store; a remote issuer's shared store is bounded by the
  // timeout (a store that hangs is a 503, not a hung request).
  const revocations = remote?.store ? withStoreTimeout(remote.store, timeoutDuration) : undefined;
  const checkRevocation = options.checkRevocation ?? (engine !== undefined || revocations !== undefined);
  if (checkRevocation && engine === undefined && revocations === undefined) {
    throw new ConfigError([{ path: 'checkRevocation', message: 'needs a store: the local engine as `anonymous`, or a remote issuer with its `store`' }]);
  }
  const user = options.user;
  const verifier = new TokenVerifier({
    realm,
    audiences,
    clockTolerance,
    engine,
    anonymousIssuer: engine ? engine.config.issuer : remote!.issuer,
    remoteAnonymousKeys: remote?.jwksUri !== undefined ? remoteKeySet(new URL(remote.jwksUri), fetching) : undefined,
    discoveredAnonymous: remote?.issuerBaseURL !== undefined ? discoveredIssuerVerifier(remote.issuerBaseURL, audiences, fetching, clockTolerance) : undefined,
    userVerifier: user === undefined ? undefined : userTokenVerifier(user, audiences, fetching, clockTolerance),
    allowIdTokens: user?.allowIdTokens === true,
  });
  return {
    realm,
    authRequired: options.authRequired !== false,
    requiredScopes: options.scopes ?? [],
    logger,
    verifier,
    cache: options.cache === false ? undefined : new LruCache<string, AuthResult>(options.cache?.maxEntries ?? 1000),
    checkRevocation,
    engine,
    revocations,
  };
}

/**
 * Builds a bearer guard. Options are checked once, through a strict schema.
 *
 * @throws ConfigError for unknown, ill-typed or contradictory options.
 */
export function createBearerGuard(options: BearerGuardOptions): BearerGuard {
  return new CachingBearerGuard(resolveSettings(options));
}

/** The guard: extraction, the verified-token cache, verification, revocation, scopes. */
class CachingBearerGuard implements BearerGuard {
  readonly realm: string;
  readonly #settings: GuardSettings;
  /**
   * The token `authenticateCached` extracted from a request it could not answer from the cache
   * (`null`: the request carried none): `authenticate` on the same request takes it from here
   * instead of parsing the request again.
   */
  readonly #extracted = new WeakMap<BearerRequest, string | null>();

  constructor(settings: GuardSettings) {
    this.#settings = settings;
    this.realm = settings.realm;
  }

  authenticateCached(request: BearerRequest): AuthResult | undefined {
    const { cache, realm, authRequired } = this.#settings;
    let token: string | undefined;
    try {
      token = extractToken(request, realm, authRequired);
    } catch (error) {
      return this.#refused(error, undefined);
    }
    if (token === undefined || cache === undefined) {
      this.#extracted.set(request, token ?? null);
      return undefined;
    }
    const result = this.#cached(token);
    if (result === undefined || this.#needsRevocationCheck(result)) {
      this.#extracted.set(request, token);
      return undefined;
    }
    return this.#finish(result);
  }

  authenticateRequest(request: BearerRequest): AuthResult | undefined | Promise<AuthResult | undefined> {
    const { cache, realm, authRequired } = this.#settings;
    // The common case first: a header token only, already verified. Every cached token is a whole
    // b64token (checked before it is cached), so a header whose `Bearer ` value equals one is a
    // well-formed header carrying it, and the token is in no other place: exactly what
    // `extractToken` would return, without running its pattern over a kilobyte of token.
    if (cache !== undefined && request.queryToken === undefined && request.bodyToken === undefined) {
      const candidate = bearerCandidate(request.headers);
      const hit = candidate === undefined ? undefined : this.#cached(candidate);
      if (hit !== undefined && !this.#needsRevocationCheck(hit)) return this.#finish(hit);
    }
    let token: string | undefined;
    try {
      token = extractToken(request, realm, authRequired);
    } catch (error) {
      return this.#refused(error, undefined);
    }
    if (token === undefined) return undefined; // authRequired: false, and no token at all
    if (cache !== undefined) {
      const result = this.#cached(token);
      if (result !== undefined && !this.#needsRevocationCheck(result)) return this.#finish(result);
    }
    return this.#authenticateToken(token);
  }

  async authenticate(request: BearerRequest): Promise<AuthResult | undefined> {
    const { realm, authRequired } = this.#settings;
    let token: string | undefined;
    try {
      const memo = this.#extracted.get(request);
      token = memo === undefined ? extractToken(request, realm, authRequired) : (memo ?? undefined);
    } catch (error) {
      return this.#refused(error, undefined);
    }
    this.#extracted.delete(request);
    if (token === undefined) return undefined; // authRequired: false, and no token at all
    return this.#authenticateToken(token);
  }

  /** A token's result: from the cache or verified (and cached), its session checked, its scopes. */
  async #authenticateToken(token: string): Promise<AuthResult> {
    const { cache, realm } = this.#settings;
    let result = this.#cached(token);
    if (result === undefined) {
      try {
        result = await this.#settings.verifier.verify(token);
      } catch (error) {
        return this.#refused(error, token);
      }
      // Only a whole b64token is cached: `authenticateRequest`'s header shortcut relies on it.
      if (cache !== undefined && typeof result.payload.exp === 'number' && isB64Token(token)) cache.set(token, cacheEntry(result));
    }
    if (this.#needsRevocationCheck(result) && (await this.#isEnded(result.payload))) {
      cache?.delete(token);
      this.#refused(InvalidTokenError.forBearer(realm, 'The session behind this access token has ended.', new Error('session ended by logout')), token);
    }
    return this.#finish(result);
  }

  /**
   * Whether the session behind an anonymous token ended: a local engine answers for its store (and
   * notices a store that lost its data); a remote guard can only ask the shared store.
   */
  #isEnded(payload: JWTPayload): Promise<boolean> {
    const { engine, revocations } = this.#settings;
    const sid = payload.sid as string;
    return engine ? engine.isSessionEnded(sid, payload.store_epoch) : revocations!.isSessionRevoked(sid);
  }

  /** A cached, still-live result for `token`, or `undefined`. */
  #cached(token: string): AuthResult | undefined {
    const cache = this.#settings.cache;
    const result = cache?.get(token);
    if (result === undefined) return undefined;
    if ((result.payload.exp as number) * 1000 <= Date.now()) {
      cache!.delete(token);
      return undefined;
    }
    return result;
  }

  #needsRevocationCheck(result: AuthResult): boolean {
    return this.#settings.checkRevocation && result.isAnonymous;
  }

  /**
   * What a request gets: its own top-level copies of `header` and `payload` (a route that edits
   * `req.auth` cannot change what the cache serves the next request), over deep-frozen values.
   */
  #finish(result: AuthResult): AuthResult {
    const { requiredScopes, realm } = this.#settings;
    if (requiredScopes.length > 0) assertScopes(result, requiredScopes, realm);
    return { token: result.token, header: { ...result.header }, payload: { ...result.payload }, isAnonymous: result.isAnonymous };
  }

  /** Logs why a request was refused (debug only; the token never appears), then rethrows. */
  #refused(error: unknown, token: string | undefined): never {
    const { logger } = this.#settings;
    if (logger.debug !== undefined && error instanceof AnonymousSessionError && error.status < 500) {
      let reason = rootCause(error.cause) ?? error.description;
      if (token !== undefined) {
        // A host verifier's message may quote the token, or a part of it: neither reaches the log.
        for (const part of [token, ...token.split('.')]) if (part.length >= 16) reason = reason.split(part).join('[token]');
      }
      logger.debug(`Bearer token refused (${error.status} ${error.code}): ${reason}`);
    }
    throw error;
  }
}

/**
 * What the verified-token cache keeps of a result: top-level `header` and `payload` objects of its
 * own, which are never handed out (every request gets copies: `#finish`), over deep-frozen values
 * (shared by every copy). The top level stays unfrozen because V8 copies a frozen object through a
 * slow path: ~200 ns against ~35 ns for our header and payload, on every cached request.
 */
function cacheEntry(result: AuthResult): AuthResult {
  const header = { ...result.header };
  const payload = { ...result.payload };
  for (const value of Object.values(header)) deepFreeze(value);
  for (const value of Object.values(payload)) deepFreeze(value);
  return { token: result.token, header, payload, isAnonymous: result.isAnonymous };
}

/** Whether a `Content-Type` is `application/x-www-form-urlencoded` (any parameters, any case). */
function isFormEncoded(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';', 1)[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/**
 * RFC 6750 §2: the token from the header, a form-encoded body of a method other than GET or HEAD,
 * or the query; more than one place is a 400. A body's `access_token` in any other case (JSON, a
 * GET body) is not a token at all: it is ignored. No token at all: the 401 when `required`, else
 * `undefined`.
 */
function extractToken(request: BearerRequest, realm: string, required: boolean): string | undefined {
  const authorization = headerValue(request.headers, 'authorization');
  const fromHeader = bearerToken(request.headers);
  const method = request.method?.toUpperCase();
  const bodyAllowed = method !== undefined && method !== 'GET' && method !== 'HEAD' && isFormEncoded(headerValue(request.headers, 'content-type'));
  const bodyToken = bodyAllowed ? request.bodyToken : undefined;
  const fromQuery = typeof request.queryToken === 'string' && request.queryToken.length > 0 ? request.queryToken : undefined;
  const fromBody = typeof bodyToken === 'string' && bodyToken.length > 0 ? bodyToken : undefined;
  if (Array.isArray(request.queryToken) || Array.isArray(bodyToken)) {
    throw new InvalidBearerRequestError('The access token was sent more than once.', realm);
  }
  const places = (fromHeader === undefined ? 0 : 1) + (fromQuery === undefined ? 0 : 1) + (fromBody === undefined ? 0 : 1);
  if (places > 1) {
    throw new InvalidBearerRequestError('The access token was sent in more than one place.', realm);
  }
  if (authorization !== undefined && fromHeader === undefined) {
    if (/^Bearer\b/i.test(authorization)) {
      throw new InvalidBearerRequestError('The Authorization header is malformed.', realm);
    }
  }
  const token = fromHeader ?? fromQuery ?? fromBody;
  if (token === undefined && required) {
    throw InvalidTokenError.missing(realm, new Error('no access token'));
  }
  return token;
}

/**
 * Throws `insufficient_scope` unless the token carries every scope, or `invalid_token` (401, the
 * bare challenge) when no guard authenticated the request.
 */
export function assertScopes(auth: AuthResult | undefined, scopes: readonly string[], realm = DEFAULT_REALM): void {
  if (auth === undefined) throw InvalidTokenError.missing(realm);
  const granted = new Set(typeof auth.payload.scope === 'string' ? auth.payload.scope.split(' ') : []);
  const missing = scopes.filter((scope) => !granted.has(scope));
  if (missing.length > 0) {
    const description = `Missing scope: ${missing.join(' ')}.`;
    throw new InsufficientScopeError(description, scopes, realm);
  }
}

/** Throws `insufficient_user_authentication` (RFC 9470) for a guest, or `invalid_token` without auth. */
export function assertUser(auth: AuthResult | undefined, realm = DEFAULT_REALM): void {
  if (auth === undefined) throw InvalidTokenError.missing(realm);
  if (auth.isAnonymous) {
    throw new InsufficientUserAuthenticationError(realm);
  }
}

/** A JSON value a claim is compared with by {@link claimEqualsCheck} and {@link claimIncludesCheck}. */
export type ClaimValue = string | number | boolean | null;

/**
 * A check of the verified token's claims, run after a guard on the same request (the bindings'
 * `claimEquals`, `claimIncludes` and `claimCheck` wrap it): returns when the claims pass; throws 401
 * `invalid_token` when they do not, or with the bare challenge when no guard authenticated the
 * request.
 */
export type ClaimCheck = (auth: AuthResult | undefined, realm?: string) => void;

/** What a claim check is given to decide: the verified claims, and the whole result (`isAnonymous`, `header`). */
export type ClaimPredicate = (payload: JWTPayload, auth: AuthResult) => boolean;

const isClaimValue = (value: unknown): value is ClaimValue =>
  value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

function requireClaimName(claim: unknown): asserts claim is string {
  if (typeof claim !== 'string' || claim.length === 0) throw new ConfigError([{ path: 'claim', message: 'must be a non-empty string' }]);
}

/** Builds a claim check from a test that returns the refusal's description, or `undefined` to pass. */
function claimRule(refusal: (payload: JWTPayload, auth: AuthResult) => string | undefined): ClaimCheck {
  return (auth, realm = DEFAULT_REALM) => {
    if (auth === undefined) throw InvalidTokenError.missing(realm);
    const description = refusal(auth.payload, auth);
    if (description !== undefined) throw InvalidTokenError.forBearer(realm, description);
  };
}

/**
 * The check behind `claimEquals(claim, expected)`, as in `express-oauth2-jwt-bearer`: the token's
 * `claim` must be exactly `expected` (401 `invalid_token` "Missing 'claim' claim" or "Unexpected
 * 'claim' value" otherwise).
 *
 * @throws ConfigError for an empty claim name or a non-JSON-primitive `expected`, at start-up.
 */
export function claimEqualsCheck(claim: string, expected: ClaimValue): ClaimCheck {
  requireClaimName(claim);
  if (!isClaimValue(expected)) throw new ConfigError([{ path: 'expected', message: 'must be a string, number, boolean or null' }]);
  return claimRule((payload) => {
    if (!Object.hasOwn(payload, claim)) return `Missing '${claim}' claim`;
    return payload[claim] === expected ? undefined : `Unexpected '${claim}' value`;
  });
}

/**
 * The check behind `claimIncludes(claim, ...expected)`, as in `express-oauth2-jwt-bearer`: the
 * token's `claim` — an array, or a space-separated string such as `scope` — must include every one
 * of `expected`.
 *
 * @throws ConfigError for an empty claim name, no expected value, or a non-JSON-primitive one.
 */
export function claimIncludesCheck(claim: string, ...expected: ClaimValue[]): ClaimCheck {
  requireClaimName(claim);
  if (expected.length === 0) throw new ConfigError([{ path: 'expected', message: 'name at least one value' }]);
  if (!expected.every(isClaimValue)) throw new ConfigError([{ path: 'expected', message: 'must be strings, numbers, booleans or null' }]);
  return claimRule((payload) => {
    if (!Object.hasOwn(payload, claim)) return `Missing '${claim}' claim`;
    const value = payload[claim];
    const actual: unknown[] | undefined = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : undefined;
    return actual !== undefined && expected.every((wanted) => actual.includes(wanted)) ? undefined : `Unexpected '${claim}' value`;
  });
}

/**
 * The check behind `claimCheck(predicate, description)`, as in `express-oauth2-jwt-bearer`: the
 * host's `predicate` must return true for the verified claims (it also gets the whole result, so it
 * can tell guests from users); otherwise 401 `invalid_token` with `description`.
 *
 * @throws ConfigError when `predicate` is not a function.
 */
export function claimPredicateCheck(predicate: ClaimPredicate, description = 'Unexpected claim value'): ClaimCheck {
  if (typeof predicate !== 'function') throw new ConfigError([{ path: 'predicate', message: 'must be a function (payload, auth) => boolean' }]);
  return claimRule((payload, auth) => (predicate(payload, auth) === true ? undefined : description));
}
