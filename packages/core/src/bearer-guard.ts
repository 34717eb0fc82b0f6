/**
 * The bearer guard behind `requireAnonymousOrUser` (RFC 6750): extracts the access token, decides
 * by its issuer which key set may verify it, verifies it, and answers RFC 6750 / RFC 9470 errors
 * with their exact `WWW-Authenticate` challenge. Written once here; each binding wraps it.
 *
 * A token is only ever checked against the key set of the issuer it names: anonymous tokens against
 * our engine's keys (or a remote anonymous issuer's JWKS), user tokens against the host's identity
 * provider. Whether the caller is a guest is decided by that issuer, never by the `sub` claim.
 *
 * @packageDocumentation
 */
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTHeaderParameters,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import { ACCESS_TOKEN_TYPE } from './access-token.js';
import { ConfigError, TemporarilyUnavailableError, InsufficientScopeError, InsufficientUserAuthenticationError, InvalidBearerRequestError, InvalidTokenError } from './errors.js';
import type { AnonymousSessions } from './engine.js';
import { bearerToken, headerValue, type HttpHeaders } from './endpoints.js';
import { LruCache } from './internal/lru-cache.js';

/** Asymmetric algorithms accepted from remote issuers; symmetric ones never are. */
const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

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
export interface RemoteAnonymousIssuer {
  /** The anonymous issuer (`iss`), exactly. */
  issuer: string;
  /** Its JWKS URL. */
  jwksUri: string;
}

/** The host's own identity provider, verified by discovery and a cached JWKS. */
export interface UserIssuerOptions {
  /** The provider's base URL; discovery is read from `/.well-known/openid-configuration`. */
  issuerBaseURL: string;
  /** The audience user tokens must carry. Default: the guard's `audience`. */
  audience?: string | string[];
  /** Allowed algorithms. Default: what discovery advertises, asymmetric only. */
  algorithms?: string[];
}

/** A host-written verifier for user tokens: resolve the claims, or throw. */
export interface CustomUserVerifier {
  /** Verifies a user token and returns its claims; throw to reject it. */
  verify(token: string): Promise<JWTPayload> | JWTPayload;
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
  /** Also refuse anonymous tokens whose session was logged out (asks the store). Local engine only. */
  checkRevocation?: boolean;
  /** The verified-token cache: on by default (1000 tokens); `false` turns it off. */
  cache?: false | { maxEntries?: number };
  /** The `realm` of challenges. Default `api`. */
  realm?: string;
  /** Discovery / JWKS fetch timeout for remote issuers, ms. Default 5000. */
  timeoutDuration?: number;
}

/** What a guard reads from a request. */
export interface BearerRequest {
  /** Request headers, names in lower case. */
  headers: HttpHeaders;
  /** The query's `access_token`, if any (RFC 6750 §2.3). */
  queryToken?: unknown;
  /** A form body's `access_token`, if a body parser put one there (RFC 6750 §2.2). */
  bodyToken?: unknown;
}

/** A configured guard. */
export interface BearerGuard {
  /** The realm of its challenges. */
  readonly realm: string;
  /** Authenticates a request or throws the RFC 6750 error to answer with. */
  authenticate(request: BearerRequest): Promise<AuthResult>;
  /**
   * The synchronous fast path: the result for a token already in the verified-token cache (still
   * live, and needing no store call), `undefined` when {@link BearerGuard.authenticate} must run.
   * Throws the same RFC 6750 errors for a missing or malformed token.
   */
  authenticateCached(request: BearerRequest): AuthResult | undefined;
}

const quote = (value: string): string => `"${value.replace(/["\\]/g, '')}"`;

/** Builds a `WWW-Authenticate: Bearer …` challenge. */
export function bearerChallenge(realm: string, parameters: Record<string, string | undefined> = {}): Record<string, string> {
  const parts = [`realm=${quote(realm)}`];
  for (const [name, value] of Object.entries(parameters)) if (value !== undefined) parts.push(`${name}=${quote(value)}`);
  return { 'WWW-Authenticate': `Bearer ${parts.join(', ')}` };
}

const isEngine = (value: BearerGuardOptions['anonymous']): value is AnonymousSessions =>
  typeof (value as AnonymousSessions).verifyAccessToken === 'function';

const withSlash = (url: string): string => (url.endsWith('/') ? url : `${url}/`);

/**
 * Builds a bearer guard. Options are checked once.
 *
 * @throws ConfigError for contradictory options.
 */
export function createBearerGuard(options: BearerGuardOptions): BearerGuard {
  const realm = options.realm ?? 'api';
  const audiences = Array.isArray(options.audience) ? options.audience : [options.audience];
  if (audiences.length === 0 || audiences.some((aud) => typeof aud !== 'string' || aud.length === 0)) {
    throw new ConfigError([{ path: 'audience', message: 'is required' }]);
  }
  const engine = isEngine(options.anonymous) ? options.anonymous : undefined;
  if (options.checkRevocation && engine === undefined) {
    throw new ConfigError([{ path: 'checkRevocation', message: 'needs the local engine as `anonymous` (a remote issuer has no store here)' }]);
  }
  const anonymousIssuer = engine ? engine.config.issuer : (options.anonymous as RemoteAnonymousIssuer).issuer;
  const remoteAnonymousKeys = engine
    ? undefined
    : createRemoteJWKSet(new URL((options.anonymous as RemoteAnonymousIssuer).jwksUri), { timeoutDuration: options.timeoutDuration ?? 5000 });
  const userVerifier = options.user === undefined ? undefined : userTokenVerifier(options.user, audiences, options.timeoutDuration ?? 5000);
  const cache = options.cache === false ? undefined : new LruCache<string, AuthResult>(options.cache?.maxEntries ?? 1000);
  const requiredScopes = options.scopes ?? [];

  const invalid = (description: string, cause?: unknown): InvalidTokenError =>
    new InvalidTokenError(description, {
      cause,
      headers: bearerChallenge(realm, { error: 'invalid_token', error_description: description }),
    });

  const verify = async (token: string): Promise<AuthResult> => {
    let header: ProtectedHeaderParameters;
    let issuer: unknown;
    try {
      header = decodeProtectedHeader(token);
      issuer = decodeJwt(token).iss;
    } catch (error) {
      throw invalid('The access token is malformed.', error);
    }
    if (issuer === anonymousIssuer) {
      let payload: JWTPayload;
      try {
        payload = engine
          ? await engine.verifyAccessToken(token, { audience: audiences })
          : (
              await jwtVerify(token, remoteAnonymousKeys!, {
                issuer: anonymousIssuer,
                audience: audiences,
                typ: ACCESS_TOKEN_TYPE,
                algorithms: ASYMMETRIC_ALGORITHMS,
              })
            ).payload;
      } catch (error) {
        throw invalid(error instanceof joseErrors.JWTExpired || /expired/.test(String((error as Error).message)) ? 'The access token expired.' : 'The access token is invalid.', error);
      }
      return { token, header: header as JWTHeaderParameters, payload, isAnonymous: true };
    }
    if (userVerifier !== undefined && typeof issuer === 'string') {
      const payload = await userVerifier(token, issuer).catch((error: unknown) => {
        // The identity provider could not be reached: fail closed, but say so (503), so clients
        // do not throw their users out during an outage.
        if (error instanceof IdentityProviderUnavailable || error instanceof joseErrors.JWKSTimeout) {
          throw new TemporarilyUnavailableError({ cause: error });
        }
        throw invalid(error instanceof joseErrors.JWTExpired ? 'The access token expired.' : 'The access token is invalid.', error);
      });
      if (payload !== undefined) return { token, header: header as JWTHeaderParameters, payload, isAnonymous: false };
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

  const needsRevocationCheck = (result: AuthResult): boolean => options.checkRevocation === true && result.isAnonymous;

  return {
    realm,
    authenticateCached(request) {
      if (cache === undefined) return undefined;
      const result = cached(extractToken(request, realm));
      return result === undefined || needsRevocationCheck(result) ? undefined : finish(result);
    },
    async authenticate(request) {
      const token = extractToken(request, realm);
      let result = cached(token);
      if (result === undefined) {
        result = await verify(token);
        if (cache !== undefined && typeof result.payload.exp === 'number') cache.set(token, deepFreeze(result));
      }
      if (needsRevocationCheck(result) && engine) {
        const sid = result.payload.sid;
        if (typeof sid !== 'string' || (await engine.isSessionEnded(sid, result.payload.store_epoch))) {
          cache?.delete(token);
          throw invalid('The session behind this access token has ended.');
        }
      }
      return finish(result);
    },
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

/** RFC 6750 §2: the token from the header, a form body or the query; more than one place is a 400. */
function extractToken(request: BearerRequest, realm: string): string {
  const authorization = headerValue(request.headers, 'authorization');
  const fromHeader = bearerToken(request.headers);
  const fromQuery = typeof request.queryToken === 'string' && request.queryToken.length > 0 ? request.queryToken : undefined;
  const fromBody = typeof request.bodyToken === 'string' && request.bodyToken.length > 0 ? request.bodyToken : undefined;
  if (Array.isArray(request.queryToken) || Array.isArray(request.bodyToken)) {
    throw new InvalidBearerRequestError(
      'The access token was sent more than once.',
      bearerChallenge(realm, { error: 'invalid_request', error_description: 'The access token was sent more than once.' }),
    );
  }
  const places = (fromHeader === undefined ? 0 : 1) + (fromQuery === undefined ? 0 : 1) + (fromBody === undefined ? 0 : 1);
  if (places > 1) {
    throw new InvalidBearerRequestError(
      'The access token was sent in more than one place.',
      bearerChallenge(realm, { error: 'invalid_request', error_description: 'The access token was sent in more than one place.' }),
    );
  }
  if (authorization !== undefined && fromHeader === undefined) {
    if (/^Bearer\b/i.test(authorization)) {
      throw new InvalidBearerRequestError(
        'The Authorization header is malformed.',
        bearerChallenge(realm, { error: 'invalid_request', error_description: 'The Authorization header is malformed.' }),
      );
    }
  }
  const token = fromHeader ?? fromQuery ?? fromBody;
  if (token === undefined) {
    throw new InvalidTokenError('An access token is required.', { headers: bearerChallenge(realm) });
  }
  return token;
}

/**
 * Throws `insufficient_scope` unless the token carries every scope, or `invalid_token` (401, the
 * bare challenge) when no guard authenticated the request.
 */
export function assertScopes(auth: AuthResult | undefined, scopes: readonly string[], realm = 'api'): void {
  if (auth === undefined) throw new InvalidTokenError('An access token is required.', { headers: bearerChallenge(realm) });
  const granted = new Set(typeof auth.payload.scope === 'string' ? auth.payload.scope.split(' ') : []);
  const missing = scopes.filter((scope) => !granted.has(scope));
  if (missing.length > 0) {
    const description = `Missing scope: ${missing.join(' ')}.`;
    throw new InsufficientScopeError(
      description,
      bearerChallenge(realm, { error: 'insufficient_scope', error_description: description, scope: scopes.join(' ') }),
    );
  }
}

/** Throws `insufficient_user_authentication` (RFC 9470) for a guest, or `invalid_token` without auth. */
export function assertUser(auth: AuthResult | undefined, realm = 'api'): void {
  if (auth === undefined) throw new InvalidTokenError('An access token is required.', { headers: bearerChallenge(realm) });
  if (auth.isAnonymous) {
    throw new InsufficientUserAuthenticationError(
      bearerChallenge(realm, { error: 'insufficient_user_authentication', error_description: 'A signed-in user is required.' }),
    );
  }
}

/** The host's identity provider (discovery or JWKS) could not be reached. */
class IdentityProviderUnavailable extends Error {}

interface Discovery {
  issuer: string;
  jwks: ReturnType<typeof createRemoteJWKSet>;
  algorithms: string[];
}

/**
 * A verifier for the host's user tokens. Returns `undefined` when the token names another issuer
 * (so it is never checked against these keys), the claims when valid, and throws when invalid.
 */
function userTokenVerifier(
  user: UserIssuerOptions | CustomUserVerifier,
  defaultAudiences: string[],
  timeoutDuration: number,
): (token: string, issuer: string) => Promise<JWTPayload | undefined> {
  if ('verify' in user && typeof user.verify === 'function') {
    const custom = user;
    return async (token) => custom.verify(token);
  }
  const options = user as UserIssuerOptions;
  const audience = options.audience ?? defaultAudiences;
  let discovery: Promise<Discovery> | undefined;
  const discover = (): Promise<Discovery> => {
    discovery ??= (async () => {
      const url = new URL('.well-known/openid-configuration', withSlash(options.issuerBaseURL));
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutDuration), headers: { accept: 'application/json' } }).catch(
        (error: unknown) => {
          throw new IdentityProviderUnavailable('discovery could not be fetched', { cause: error });
        },
      );
      if (!response.ok) throw new IdentityProviderUnavailable(`discovery answered ${response.status}`);
      const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown; id_token_signing_alg_values_supported?: unknown };
      if (typeof document.issuer !== 'string' || typeof document.jwks_uri !== 'string') throw new Error('discovery document lacks issuer or jwks_uri');
      const advertised = Array.isArray(document.id_token_signing_alg_values_supported)
        ? document.id_token_signing_alg_values_supported.filter((alg): alg is string => typeof alg === 'string')
        : ASYMMETRIC_ALGORITHMS;
      return {
        issuer: document.issuer,
        jwks: createRemoteJWKSet(new URL(document.jwks_uri), { timeoutDuration }),
        algorithms: (options.algorithms ?? advertised).filter((alg) => ASYMMETRIC_ALGORITHMS.includes(alg)),
      };
    })();
    discovery.catch(() => {
      discovery = undefined; // try again on the next request
    });
    return discovery;
  };
  return async (token, issuer) => {
    const found = await discover();
    if (issuer !== found.issuer) return undefined;
    const { payload } = await jwtVerify(token, found.jwks, { issuer: found.issuer, audience, algorithms: found.algorithms });
    return payload;
  };
}
