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
import {
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTHeaderParameters,
  type JWTPayload,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import { ACCESS_TOKEN_TYPE, assertAnonymousAccessClaims } from '../tokens/access-token.js';
import type { Logger } from '../internal/logger.js';
import {
  AnonymousSessionError,
  ConfigError,
  TemporarilyUnavailableError,
  InsufficientScopeError,
  InsufficientUserAuthenticationError,
  InvalidBearerRequestError,
  InvalidTokenError,
  type ConfigIssue,
} from '../errors/errors.js';
import type { AnonymousSessions } from '../engine/engine.js';
import { bearerToken, headerValue, type HttpHeaders } from '../exchange/http-exchange.js';
import type { SessionStore } from '../store/store.js';
import { LruCache } from '../internal/lru-cache.js';
import { IssuerUnavailableError, RemoteDocument, remoteKeySet, type RemoteDocumentOptions } from '../internal/remote-documents.js';
import { withStoreTimeout } from '../store/with-timeout.js';

/** Asymmetric algorithms accepted from remote issuers; symmetric ones never are. */
const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** Defaults shared with `express-oauth2-jwt-bearer`'s options of the same names. */
const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_COOLDOWN_MS = 30_000;
const DEFAULT_CACHE_MAX_AGE_MS = 600_000;
const DEFAULT_CLOCK_TOLERANCE_S = 5;

/** What a guard puts on `req.auth` / `ctx.state.auth` (the shape express-oauth2-jwt-bearer uses). */
export interface AuthResult {
  /** The raw access token. Never log it. */
  token: string;
  /** Its protected header. */
  header: JWTHeaderParameters;
  /** Its verified claims. */
  payload: JWTPayload;
  /** True for our anonymous issuer's tokens; false for the host's identity provider's. */
  isAnonymous: boolean;
}

/** A resource server in another service trusting our anonymous issuer through its JWKS. */
export interface RemoteAnonymousIssuerByJwks {
  /** The anonymous issuer (`iss`), exactly; an http(s) URL. */
  issuer: string;
  /** Its JWKS URL. */
  jwksUri: string;
  /** Not with `issuer` and `jwksUri`. */
  issuerBaseURL?: never;
  /**
   * The issuer's own session store (the shared `redisStore`/`postgresStore` its engines use), read
   * for revocations only. With it, a logout reaches this guard too (`checkRevocation` defaults to
   * true); without it, a guest's access token stays valid until its `exp`.
   */
  store?: SessionStore;
}

/**
 * A resource server in another service finding our anonymous issuer by discovery, as
 * `express-oauth2-jwt-bearer`'s `auth({ issuerBaseURL })` does: the issuer and its JWKS come from
 * `<issuerBaseURL>/.well-known/openid-configuration`, whose `issuer` must be `issuerBaseURL`
 * (a trailing slash aside). Serve the token router at the issuer's path for it to answer.
 */
export interface RemoteAnonymousIssuerByDiscovery {
  /** The anonymous issuer's URL (the engine's `issuer`). */
  issuerBaseURL: string;
  /** Not with `issuerBaseURL`: discovery names the issuer. */
  issuer?: never;
  /** Not with `issuerBaseURL`: discovery names the JWKS. */
  jwksUri?: never;
  /** As {@link RemoteAnonymousIssuerByJwks.store}. */
  store?: SessionStore;
}

/** A remote anonymous issuer: by its issuer and JWKS, or by discovery. */
export type RemoteAnonymousIssuer = RemoteAnonymousIssuerByJwks | RemoteAnonymousIssuerByDiscovery;

/** The host's own identity provider, verified by discovery and a cached JWKS. */
export interface UserIssuerOptions {
  /** The provider's base URL; discovery is read from `/.well-known/openid-configuration`. */
  issuerBaseURL: string;
  /** The audience user tokens must carry. Default: the guard's `audience`. */
  audience?: string | string[];
  /** Allowed algorithms. Default: what discovery advertises, asymmetric only. */
  algorithms?: string[];
  /** Accept ID tokens (tokens carrying `nonce`) as bearer tokens. Default false: they are a 401. */
  allowIdTokens?: boolean;
}

/** A host-written verifier for user tokens: resolve the claims, or throw. */
export interface CustomUserVerifier {
  /**
   * Verifies a user token and returns its claims; throw to reject it (401), or throw a
   * `TemporarilyUnavailableError` when the provider cannot be asked (503).
   */
  verify(token: string): Promise<JWTPayload> | JWTPayload;
  /** Accept claims carrying `nonce` (ID tokens). Default false: they are a 401. */
  allowIdTokens?: boolean;
}

/** Options of {@link createBearerGuard}. */
export interface BearerGuardOptions {
  /** Our engine, or a remote anonymous issuer. */
  anonymous: AnonymousSessions | RemoteAnonymousIssuer;
  /** The audience anonymous tokens (and, by default, user tokens) must carry. */
  audience: string | string[];
  /** The host's identity provider for real users; without it only guests get in. */
  user?: UserIssuerOptions | CustomUserVerifier;
  /** Scopes every request must carry. */
  scopes?: string[];
  /**
   * Default true. `false`: a request carrying no access token at all goes on unauthenticated (no
   * `req.auth` / `ctx.state.auth`), as `express-oauth2-jwt-bearer`'s `authRequired: false`; a token
   * that is there and bad (invalid, expired, malformed, sent twice) is still refused, and an issuer
   * that cannot be reached is still a 503.
   */
  authRequired?: boolean;
  /**
   * Refuse anonymous tokens whose session was logged out (asks the store on every request).
   * Default: true with the local engine, or a remote issuer given its `store`; `true` without a
   * store is a ConfigError. `false` makes anonymous access tokens valid until their `exp`.
   */
  checkRevocation?: boolean;
  /** The verified-token cache: on by default (1000 tokens); `false` turns it off. */
  cache?: false | { maxEntries?: number };
  /** The `realm` of challenges. Default `api`. */
  realm?: string;
  /** One deadline (ms) for a discovery or JWKS fetch, headers and body, and for a remote issuer's store. Default 5000. */
  timeoutDuration?: number;
  /** How long (ms) a discovery document or JWKS is not fetched again after a fetch, good or failed. Default 30000. */
  cooldownDuration?: number;
  /** How long (ms) a fetched discovery document or JWKS is used before it is fetched again. Default 600000. */
  cacheMaxAge?: number;
  /**
   * Seconds of clock skew allowed on `exp`, `nbf` and `iat` of tokens from a remote anonymous issuer
   * or the identity provider. Default 5. A local engine's tokens use the engine's `clockTolerance`.
   */
  clockTolerance?: number;
  /**
   * Where the guard logs: why a token was refused (`debug`, never the token) and why an issuer
   * could not be reached (`warn`). Default: the local engine's logger, else the console.
   */
  logger?: Logger;
}

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
}


const isEngine = (value: BearerGuardOptions['anonymous']): value is AnonymousSessions =>
  typeof (value as AnonymousSessions).verifyAccessToken === 'function';

const isCustomVerifier = (value: NonNullable<BearerGuardOptions['user']>): value is CustomUserVerifier =>
  typeof (value as CustomUserVerifier).verify === 'function';

const withSlash = (url: string): string => (url.endsWith('/') ? url : `${url}/`);

const consoleLogger: Logger = {
  warn: (message) => console.warn(`[anonymous-sessions] ${message}`),
  error: (message, error) => console.error(`[anonymous-sessions] ${message}`, error instanceof Error ? error : ''),
};

const GUARD_KEYS = new Set([
  'anonymous', 'audience', 'user', 'scopes', 'authRequired', 'checkRevocation', 'cache', 'realm',
  'timeoutDuration', 'cooldownDuration', 'cacheMaxAge', 'clockTolerance', 'logger',
]);
const REMOTE_ISSUER_KEYS = new Set(['issuer', 'jwksUri', 'issuerBaseURL', 'store']);
const USER_ISSUER_KEYS = new Set(['issuerBaseURL', 'audience', 'algorithms', 'allowIdTokens']);
const CACHE_KEYS = new Set(['maxEntries']);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

const isHttpUrl = (value: unknown): boolean => {
  if (typeof value !== 'string') return false;
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
};

/** Every problem with the options, by path (unknown keys included: a misspelt `store` must not pass silently). */
function optionIssues(options: BearerGuardOptions): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const unknown = (value: Record<string, unknown>, known: Set<string>, prefix: string): void => {
    for (const key of Object.keys(value)) if (!known.has(key)) issues.push({ path: `${prefix}${key}`, message: 'is not a known option' });
  };
  if (!isObject(options)) return [{ path: '', message: 'must be an object' }];
  unknown(options as unknown as Record<string, unknown>, GUARD_KEYS, '');
  const audiences = Array.isArray(options.audience) ? options.audience : [options.audience];
  if (audiences.length === 0 || audiences.some((aud) => typeof aud !== 'string' || aud.length === 0)) {
    issues.push({ path: 'audience', message: 'is required' });
  }
  const anonymous = options.anonymous as unknown;
  if (!isObject(anonymous)) {
    issues.push({ path: 'anonymous', message: 'must be the engine, { issuerBaseURL, store? } or { issuer, jwksUri, store? }' });
  } else if (typeof anonymous.verifyAccessToken !== 'function') {
    unknown(anonymous, REMOTE_ISSUER_KEYS, 'anonymous.');
    if (anonymous.issuerBaseURL !== undefined) {
      if (!isHttpUrl(anonymous.issuerBaseURL)) issues.push({ path: 'anonymous.issuerBaseURL', message: 'must be an absolute http(s) URL' });
      for (const key of ['issuer', 'jwksUri']) {
        if (anonymous[key] !== undefined) issues.push({ path: `anonymous.${key}`, message: 'is not used with issuerBaseURL (discovery names it): give one or the other' });
      }
    } else {
      if (!isHttpUrl(anonymous.issuer)) issues.push({ path: 'anonymous.issuer', message: 'must be an absolute http(s) URL (or give issuerBaseURL instead)' });
      if (!isHttpUrl(anonymous.jwksUri)) issues.push({ path: 'anonymous.jwksUri', message: 'must be an absolute http(s) URL' });
    }
    if (anonymous.store !== undefined && !(isObject(anonymous.store) && typeof anonymous.store.isSessionRevoked === 'function')) {
      issues.push({ path: 'anonymous.store', message: 'must be a SessionStore (with isSessionRevoked)' });
    }
  }
  const user = options.user as unknown;
  if (user !== undefined) {
    if (!isObject(user)) {
      issues.push({ path: 'user', message: 'must be { issuerBaseURL, … } or { verify(token) }' });
    } else if (typeof user.verify !== 'function') {
      unknown(user, USER_ISSUER_KEYS, 'user.');
      if (!isHttpUrl(user.issuerBaseURL)) issues.push({ path: 'user.issuerBaseURL', message: 'must be an http(s) URL' });
    }
    if (isObject(user) && user.allowIdTokens !== undefined && typeof user.allowIdTokens !== 'boolean') {
      issues.push({ path: 'user.allowIdTokens', message: 'must be a boolean' });
    }
  }
  for (const name of ['checkRevocation', 'authRequired'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') issues.push({ path: name, message: 'must be a boolean' });
  }
  const durations: [keyof BearerGuardOptions, number][] = [['timeoutDuration', 1], ['cooldownDuration', 0], ['cacheMaxAge', 0], ['clockTolerance', 0]];
  for (const [name, minimum] of durations) {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < minimum)) {
      issues.push({ path: name, message: `must be a number ≥ ${minimum}` });
    }
  }
  const cache = options.cache as unknown;
  if (cache !== undefined && cache !== false) {
    if (!isObject(cache)) {
      issues.push({ path: 'cache', message: 'must be false or { maxEntries }' });
    } else {
      unknown(cache, CACHE_KEYS, 'cache.');
      const { maxEntries } = cache;
      if (maxEntries !== undefined && !(typeof maxEntries === 'number' && Number.isInteger(maxEntries) && maxEntries > 0)) {
        issues.push({ path: 'cache.maxEntries', message: 'must be a positive integer' });
      }
    }
  }
  if (options.logger !== undefined && !(isObject(options.logger) && typeof options.logger.warn === 'function' && typeof options.logger.error === 'function')) {
    issues.push({ path: 'logger', message: 'must have warn(message) and error(message, error)' });
  }
  return issues;
}

/** `${name}: ${message}` of the innermost cause: the reason behind a refusal, for the log. */
function rootCause(error: unknown): string | undefined {
  let current = error;
  for (let depth = 0; depth < 8 && current instanceof Error && current.cause !== undefined; depth += 1) current = current.cause;
  if (!(current instanceof Error)) return undefined;
  return current.name === 'Error' ? current.message : `${current.name}: ${current.message}`;
}

/**
 * Builds a bearer guard. Options are checked once.
 *
 * @throws ConfigError for unknown, ill-typed or contradictory options.
 */
export function createBearerGuard(options: BearerGuardOptions): BearerGuard {
  const issues = optionIssues(options);
  if (issues.length > 0) throw new ConfigError(issues);
  const realm = options.realm ?? 'api';
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

  // Revocations: the engine's store, or the remote issuer's shared store (bounded by the timeout: a
  // store that hangs is a 503, not a hung request).
  const revocations = engine ? engine.store : remote?.store ? withStoreTimeout(remote.store, timeoutDuration) : undefined;
  const checkRevocation = options.checkRevocation ?? revocations !== undefined;
  if (checkRevocation && revocations === undefined) {
    throw new ConfigError([
      { path: 'checkRevocation', message: 'needs a store: the local engine as `anonymous`, or a remote issuer with its `store`' },
    ]);
  }

  const anonymousIssuer = engine ? engine.config.issuer : remote!.issuer;
  const remoteAnonymousKeys = remote?.jwksUri !== undefined ? remoteKeySet(new URL(remote.jwksUri), fetching) : undefined;
  const discoveredAnonymous = remote?.issuerBaseURL !== undefined ? discoveredIssuerVerifier(remote.issuerBaseURL, audiences, fetching, clockTolerance) : undefined;
  const authRequired = options.authRequired !== false;
  const user = options.user;
  const userVerifier = user === undefined ? undefined : userTokenVerifier(user, audiences, fetching, clockTolerance);
  const allowIdTokens = user?.allowIdTokens === true;
  const cache = options.cache === false ? undefined : new LruCache<string, AuthResult>(options.cache?.maxEntries ?? 1000);
  const requiredScopes = options.scopes ?? [];

  const invalid = (description: string, cause?: unknown): InvalidTokenError => InvalidTokenError.forBearer(realm, description, cause);

  /** An issuer that could not be reached: 503, with `Retry-After` when the next fetch will be tried. */
  const unavailable = (error: IssuerUnavailableError): TemporarilyUnavailableError =>
    new TemporarilyUnavailableError({ cause: error, headers: { 'Retry-After': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) } });

  const expiredOrInvalid = (error: unknown): InvalidTokenError =>
    invalid(
      error instanceof joseErrors.JWTExpired || (error instanceof InvalidTokenError && /expired/.test(error.description))
        ? 'The access token expired.'
        : 'The access token is invalid.',
      error,
    );

  const verify = async (token: string): Promise<AuthResult> => {
    let header: ProtectedHeaderParameters;
    let issuer: unknown;
    try {
      header = decodeProtectedHeader(token);
      issuer = decodeJwt(token).iss;
    } catch (error) {
      throw invalid('The access token is malformed.', error);
    }
    if (anonymousIssuer !== undefined && issuer === anonymousIssuer) {
      let payload: JWTPayload;
      try {
        if (engine) {
          payload = await engine.verifyAccessToken(token, { audience: audiences });
        } else {
          ({ payload } = await jwtVerify(token, remoteAnonymousKeys!, {
            issuer: anonymousIssuer,
            audience: audiences,
            typ: ACCESS_TOKEN_TYPE,
            algorithms: ASYMMETRIC_ALGORITHMS,
            clockTolerance,
          }));
          assertAnonymousAccessClaims(payload, clockTolerance);
        }
      } catch (error) {
        if (error instanceof IssuerUnavailableError) throw unavailable(error);
        throw expiredOrInvalid(error);
      }
      return { token, header: header as JWTHeaderParameters, payload, isAnonymous: true };
    }
    if (discoveredAnonymous !== undefined && typeof issuer === 'string') {
      let payload: JWTPayload | undefined;
      try {
        payload = await discoveredAnonymous(token, issuer);
      } catch (error) {
        if (error instanceof IssuerUnavailableError) throw unavailable(error);
        throw expiredOrInvalid(error);
      }
      if (payload !== undefined) return { token, header: header as JWTHeaderParameters, payload, isAnonymous: true };
    }
    if (userVerifier !== undefined && typeof issuer === 'string') {
      let payload: JWTPayload | undefined;
      try {
        payload = await userVerifier(token, issuer);
      } catch (error) {
        // The identity provider could not be reached: fail closed, but say so (503), so clients
        // do not throw their users out during an outage.
        if (error instanceof IssuerUnavailableError) throw unavailable(error);
        if (error instanceof AnonymousSessionError && error.status === 503) throw error;
        throw expiredOrInvalid(error);
      }
      if (payload !== undefined) {
        if (payload.nonce !== undefined && !allowIdTokens) {
          throw invalid('The access token is invalid.', new Error('an ID token (it carries "nonce") is not an access token'));
        }
        return { token, header: header as JWTHeaderParameters, payload, isAnonymous: false };
      }
    }
    throw invalid('The access token is invalid.', new Error('token from an untrusted issuer'));
  };

  /** A cached, still-live result for `token`, or `undefined`. */
  const cached = (token: string): AuthResult | undefined => {
    const result = cache?.get(token);
    if (result === undefined) return undefined;
    if ((result.payload.exp as number) * 1000 <= Date.now()) {
      cache!.delete(token);
      return undefined;
    }
    return result;
  };

  /**
   * What a request gets: its own top-level copies of `header` and `payload` (a route that edits
   * `req.auth` cannot change what the cache serves the next request), over deep-frozen values.
   */
  const finish = (result: AuthResult): AuthResult => {
    if (requiredScopes.length > 0) assertScopes(result, requiredScopes, realm);
    return { token: result.token, header: { ...result.header }, payload: { ...result.payload }, isAnonymous: result.isAnonymous };
  };

  const needsRevocationCheck = (result: AuthResult): boolean => checkRevocation && result.isAnonymous;

  /** Logs why a request was refused (debug only; the token never appears), then rethrows. */
  const refused = (error: unknown, token: string | undefined): never => {
    if (logger.debug !== undefined && error instanceof AnonymousSessionError && error.status < 500) {
      let reason = rootCause(error.cause) ?? error.description;
      if (token !== undefined) {
        // A host verifier's message may quote the token, or a part of it: neither reaches the log.
        for (const part of [token, ...token.split('.')]) if (part.length >= 16) reason = reason.split(part).join('[token]');
      }
      logger.debug(`Bearer token refused (${error.status} ${error.code}): ${reason}`);
    }
    throw error;
  };

  /**
   * The token `authenticateCached` extracted from a request it could not answer from the cache
   * (`null`: the request carried none): `authenticate` on the same request takes it from here
   * instead of parsing the request again.
   */
  const extracted = new WeakMap<BearerRequest, string | null>();

  const authenticate = async (request: BearerRequest): Promise<AuthResult | undefined> => {
    let token: string | undefined;
    try {
      const memo = extracted.get(request);
      token = memo === undefined ? extractToken(request, realm, authRequired) : (memo ?? undefined);
    } catch (error) {
      return refused(error, undefined);
    }
    extracted.delete(request);
    if (token === undefined) return undefined; // authRequired: false, and no token at all
    let result = cached(token);
    if (result === undefined) {
      try {
        result = await verify(token);
      } catch (error) {
        return refused(error, token);
      }
      if (cache !== undefined && typeof result.payload.exp === 'number') cache.set(token, deepFreeze(result));
    }
    if (needsRevocationCheck(result)) {
      const sid = result.payload.sid as string;
      // A local engine answers for its store (and notices a store that lost its data); a remote
      // guard can only ask the shared store whether the session was revoked.
      const ended = engine ? await engine.isSessionEnded(sid, result.payload.store_epoch) : await revocations!.isSessionRevoked(sid);
      if (ended) {
        cache?.delete(token);
        refused(invalid('The session behind this access token has ended.', new Error('session ended by logout')), token);
      }
    }
    return finish(result);
  };

  return {
    realm,
    authenticateCached(request) {
      let token: string | undefined;
      try {
        token = extractToken(request, realm, authRequired);
      } catch (error) {
        return refused(error, undefined);
      }
      if (token === undefined || cache === undefined) {
        extracted.set(request, token ?? null);
        return undefined;
      }
      const result = cached(token);
      if (result === undefined || needsRevocationCheck(result)) {
        extracted.set(request, token);
        return undefined;
      }
      return finish(result);
    },
    authenticate,
  };
}

/** Freezes a JSON-like value and everything inside it. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
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
export function assertScopes(auth: AuthResult | undefined, scopes: readonly string[], realm = 'api'): void {
  if (auth === undefined) throw InvalidTokenError.missing(realm);
  const granted = new Set(typeof auth.payload.scope === 'string' ? auth.payload.scope.split(' ') : []);
  const missing = scopes.filter((scope) => !granted.has(scope));
  if (missing.length > 0) {
    const description = `Missing scope: ${missing.join(' ')}.`;
    throw new InsufficientScopeError(description, scopes, realm);
  }
}

/** Throws `insufficient_user_authentication` (RFC 9470) for a guest, or `invalid_token` without auth. */
export function assertUser(auth: AuthResult | undefined, realm = 'api'): void {
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
  return (auth, realm = 'api') => {
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

/** What discovery tells the guard. */
interface Discovery {
  issuer: string;
  jwksUri: URL;
  algorithms: string[];
}

/**
 * Reads an OpenID / RFC 8414 discovery document; throws when it is not one. The algorithms are the
 * configured ones, else those the document advertises in `advertisedIn` (asymmetric only).
 */
function parseDiscovery(
  json: unknown,
  configured: string[] | undefined,
  advertisedIn: 'id_token_signing_alg_values_supported' | 'access_token_signing_alg_values_supported' = 'id_token_signing_alg_values_supported',
): Discovery {
  const document = json as ({ issuer?: unknown; jwks_uri?: unknown } & Record<string, unknown>) | null;
  if (typeof document !== 'object' || document === null || typeof document.issuer !== 'string' || !isHttpUrl(document.jwks_uri)) {
    throw new Error('the answer is not a discovery document with issuer and jwks_uri');
  }
  const list = document[advertisedIn] ?? document.id_token_signing_alg_values_supported;
  const advertised = Array.isArray(list) ? list.filter((alg): alg is string => typeof alg === 'string') : ASYMMETRIC_ALGORITHMS;
  return {
    issuer: document.issuer,
    jwksUri: new URL(document.jwks_uri as string),
    algorithms: (configured ?? advertised).filter((alg) => ASYMMETRIC_ALGORITHMS.includes(alg)),
  };
}

/** An issuer URL without its trailing slashes, for comparing `issuerBaseURL` with an `iss`. */
const withoutSlash = (url: string): string => url.replace(/\/+$/, '');

/**
 * A verifier for a remote anonymous issuer found by discovery (`anonymous: { issuerBaseURL }`).
 * Returns `undefined` for a token whose `iss` is not that issuer (so discovery is only fetched for
 * tokens that claim it), the claims when valid, and throws when invalid — an
 * {@link IssuerUnavailableError} when discovery or the JWKS cannot be had (503). The discovery
 * document's `issuer` must be `issuerBaseURL` (a trailing slash aside), and the token's `iss` must
 * be exactly that `issuer`; the token is then checked as every anonymous access token is (`typ:
 * at+jwt`, asymmetric algorithms the document advertises, audience, strict anonymous claims).
 */
function discoveredIssuerVerifier(
  issuerBaseURL: string,
  audiences: string[],
  fetching: RemoteDocumentOptions,
  clockTolerance: number,
): (token: string, issuer: string) => Promise<JWTPayload | undefined> {
  const expected = withoutSlash(issuerBaseURL);
  const discovery = new RemoteDocument(
    new URL('.well-known/openid-configuration', withSlash(issuerBaseURL)),
    (json) => {
      const found = parseDiscovery(json, undefined, 'access_token_signing_alg_values_supported');
      if (withoutSlash(found.issuer) !== expected) {
        throw new Error(`the document's issuer ${JSON.stringify(found.issuer)} is not issuerBaseURL ${JSON.stringify(issuerBaseURL)}`);
      }
      return found;
    },
    fetching,
  );
  let keys: { url: string; getKey: JWTVerifyGetKey } | undefined;
  return async (token, issuer) => {
    if (withoutSlash(issuer) !== expected) return undefined;
    const found = await discovery.get();
    if (issuer !== found.issuer) throw new Error(`iss ${JSON.stringify(issuer)} is not the discovered issuer ${JSON.stringify(found.issuer)}`);
    if (keys?.url !== found.jwksUri.href) keys = { url: found.jwksUri.href, getKey: remoteKeySet(found.jwksUri, fetching) };
    const { payload } = await jwtVerify(token, keys.getKey, {
      issuer: found.issuer,
      audience: audiences,
      typ: ACCESS_TOKEN_TYPE,
      algorithms: found.algorithms,
      clockTolerance,
    });
    assertAnonymousAccessClaims(payload, clockTolerance);
    return payload;
  };
}

/**
 * A verifier for the host's user tokens. Returns `undefined` when the token names another issuer
 * (so it is never checked against these keys), the claims when valid, and throws when invalid — an
 * {@link IssuerUnavailableError} when discovery or the JWKS cannot be had.
 */
function userTokenVerifier(
  user: UserIssuerOptions | CustomUserVerifier,
  defaultAudiences: string[],
  fetching: RemoteDocumentOptions,
  clockTolerance: number,
): (token: string, issuer: string) => Promise<JWTPayload | undefined> {
  if (isCustomVerifier(user)) {
    const custom = user;
    return async (token) => custom.verify(token);
  }
  const audience = user.audience ?? defaultAudiences;
  const discovery = new RemoteDocument(
    new URL('.well-known/openid-configuration', withSlash(user.issuerBaseURL)),
    (json) => parseDiscovery(json, user.algorithms),
    fetching,
  );
  let keys: { url: string; getKey: JWTVerifyGetKey } | undefined;
  return async (token, issuer) => {
    const found = await discovery.get();
    if (issuer !== found.issuer) return undefined;
    if (keys?.url !== found.jwksUri.href) keys = { url: found.jwksUri.href, getKey: remoteKeySet(found.jwksUri, fetching) };
    const { payload } = await jwtVerify(token, keys.getKey, { issuer: found.issuer, audience, algorithms: found.algorithms, clockTolerance });
    return payload;
  };
}
