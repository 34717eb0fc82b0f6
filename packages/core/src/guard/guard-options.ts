/**
 * The options of the bearer guard, defined once: the hand-written, documented types hosts read, and
 * the strict `zod/mini` schema that checks them through {@link parseOptions} (a test keeps the two
 * equal at compile time). An unknown or ill-typed option is a `ConfigError` naming its path.
 *
 * @packageDocumentation
 */
import type { JWTPayload } from 'jose';
import * as z from 'zod/mini';
import { safeParse, type $ZodType } from 'zod/v4/core';
import type { AnonymousSessions } from '../engine/engine.js';
import type { Logger } from '../internal/logger.js';
import type { SessionStore } from '../store/store.js';

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

/** Options of `createBearerGuard` (and of the bindings' `requireAnonymousOrUser`). */
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

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const isFunction = (value: unknown): boolean => typeof value === 'function';

/** Whether `value` is an absolute http(s) URL. */
export const isHttpUrl = (value: unknown): boolean => {
  if (typeof value !== 'string') return false;
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
};

/** Whether the guard's `anonymous` is our engine (rather than a remote issuer). */
export const isEngine = (value: BearerGuardOptions['anonymous']): value is AnonymousSessions =>
  typeof (value as AnonymousSessions).verifyAccessToken === 'function';

/** Whether the guard's `user` is a host-written verifier (rather than an identity provider). */
export const isCustomVerifier = (value: NonNullable<BearerGuardOptions['user']>): value is CustomUserVerifier =>
  typeof (value as CustomUserVerifier).verify === 'function';

const httpUrl = (message: string) => z.custom<string>(isHttpUrl, message);
const boolean = () => z.boolean({ error: 'must be a boolean' });
const atLeast = (minimum: number) =>
  z.custom<number>((value) => typeof value === 'number' && Number.isFinite(value) && value >= minimum, `must be a number ≥ ${minimum}`);

/** Parses `value` with one of two schemas, chosen by `pick`, reporting its issues under the field. */
function oneOf<T>(message: string, pick: (value: Record<string, unknown>) => $ZodType | undefined) {
  return z.custom<T>(isObject, message).check(
    z.superRefine((value, context) => {
      const schema = pick(value as Record<string, unknown>);
      const result = schema === undefined ? undefined : safeParse(schema, value);
      if (result !== undefined && !result.success) for (const issue of result.error.issues) context.issues.push({ ...issue, input: value } as (typeof context.issues)[number]);
    }),
  );
}

const storeSchema = z.custom<SessionStore>((value) => isObject(value) && isFunction(value.isSessionRevoked), 'must be a SessionStore (with isSessionRevoked)');

/** A remote anonymous issuer: by discovery, or by issuer and JWKS (never both). */
const remoteIssuerSchema = z
  .strictObject({
    issuer: z.optional(httpUrl('must be an absolute http(s) URL (or give issuerBaseURL instead)')),
    jwksUri: z.optional(httpUrl('must be an absolute http(s) URL')),
    issuerBaseURL: z.optional(httpUrl('must be an absolute http(s) URL')),
    store: z.optional(storeSchema),
  })
  .check(
    z.superRefine((value, context) => {
      if (value.issuerBaseURL !== undefined) {
        for (const key of ['issuer', 'jwksUri'] as const) {
          if (value[key] !== undefined) context.issues.push({ code: 'custom', path: [key], message: 'is not used with issuerBaseURL (discovery names it): give one or the other', input: value });
        }
        return;
      }
      if (value.issuer === undefined) context.issues.push({ code: 'custom', path: ['issuer'], message: 'must be an absolute http(s) URL (or give issuerBaseURL instead)', input: value });
      if (value.jwksUri === undefined) context.issues.push({ code: 'custom', path: ['jwksUri'], message: 'must be an absolute http(s) URL', input: value });
    }),
  );

const audienceSchema = z.union([z.string().check(z.minLength(1)), z.array(z.string().check(z.minLength(1))).check(z.minLength(1))], { error: 'is required' });

const userIssuerSchema = z.strictObject({
  issuerBaseURL: httpUrl('must be an http(s) URL'),
  audience: z.optional(audienceSchema),
  algorithms: z.optional(z.array(z.string())),
  allowIdTokens: z.optional(boolean()),
});

const customVerifierSchema = z.object({
  verify: z.custom<CustomUserVerifier['verify']>(isFunction),
  allowIdTokens: z.optional(boolean()),
});

/** The strict schema of {@link BearerGuardOptions}. */
export const bearerGuardOptionsSchema = z.strictObject({
  anonymous: oneOf<AnonymousSessions | RemoteAnonymousIssuer>('must be the engine, { issuerBaseURL, store? } or { issuer, jwksUri, store? }', (value) =>
    isFunction(value.verifyAccessToken) ? undefined : remoteIssuerSchema,
  ),
  audience: audienceSchema,
  user: z.optional(
    oneOf<UserIssuerOptions | CustomUserVerifier>('must be { issuerBaseURL, … } or { verify(token) }', (value) =>
      isFunction(value.verify) ? customVerifierSchema : userIssuerSchema,
    ),
  ),
  scopes: z.optional(z.array(z.string())),
  authRequired: z.optional(boolean()),
  checkRevocation: z.optional(boolean()),
  cache: z.optional(
    z.union([z.literal(false), z.strictObject({ maxEntries: z.optional(z.custom<number>((value) => Number.isInteger(value) && (value as number) > 0, 'must be a positive integer')) })], {
      error: 'must be false or { maxEntries }',
    }),
  ),
  realm: z.optional(z.string()),
  timeoutDuration: z.optional(atLeast(1)),
  cooldownDuration: z.optional(atLeast(0)),
  cacheMaxAge: z.optional(atLeast(0)),
  clockTolerance: z.optional(atLeast(0)),
  logger: z.optional(
    z.custom<Logger>((value) => isObject(value) && isFunction(value.warn) && isFunction(value.error), 'must have warn(message) and error(message, error)'),
  ),
});
