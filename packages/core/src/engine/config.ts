/**
 * Every option of `createAnonymousSessions`, defined once: one zod schema with its defaults and a
 * doc comment per field, parsed exactly once, at start-up. `ResolvedConfig` (the frozen output) is
 * derived from it; `AnonymousSessionsOptions` (the input) and its nested types are written out by
 * hand with TSDoc per field, so the docs reach the editor from the shipped `.d.ts`, and
 * packages/core/test/options-types.test.ts keeps them equal to the schema's input type.
 *
 * @packageDocumentation
 */
import * as z from 'zod/mini';
import type { output } from 'zod/v4/core';
import type { ConfigIssue } from '../errors/errors.js';
import { ENGLISH_MESSAGES, isFunction, parseOptions, toConfigIssues } from '../errors/parse-options.js';
import { consoleLogger, type Logger } from '../internal/logger.js';
import { SIGNING_ALGORITHMS } from '../keys/keys.js';
import type { MetadataSchema } from '../metadata/metadata.js';
import { memoryStore } from '../store/memory-store.js';
import { supportsEpoch, supportsStoredMetadata, type SessionStore } from '../store/store.js';

/** Claim names a claims mapping may not use: the engine sets them itself. */
export const RESERVED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'scope', 'client_id', 'sid', 'store_epoch'] as const;

const CLAIM_PATH = /^anonymous_session\.(user_id|session_id|created_at|metadata(\.[^.\s]+)+)$/;
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 §3.3 scope-token
const MAX_CLAIMS = 10;

const httpUrl = z.string().check(
  z.refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || url.protocol === 'http:';
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL'),
);

const origin = z.string().check(
  // The URL parser accepts `*` in a host, but no browser ever sends such an Origin: a wildcard
  // (allowed in Auth0's allowed_origins) would silently match nothing.
  z.refine((value) => !value.includes('*'), { error: 'wildcards are not supported: list each exact origin', abort: true }),
  z.refine((value) => {
    try {
      return new URL(value).origin === value;
    } catch {
      return false;
    }
  }, 'must be an exact origin such as https://shop.example.com (scheme, host and port; no path or trailing slash)'),
);

/** A whole number of seconds, at least 0 (and at most `max`). */
const seconds = (max?: number) => (max === undefined ? z.int().check(z.nonnegative()) : z.int().check(z.nonnegative(), z.lte(max)));

/**
 * The error of a required option: when it is missing, a message saying what belongs there (instead
 * of zod's bare "Invalid input"); any other bad value keeps the schema's own message.
 */
const requiredOption = (what: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? `is required: ${what}` : undefined),
});

/**
 * The session cookie's attributes, defined once: the engine's `cookie` option, which every
 * middleware (token router, cookie extractor, login binding, session transfer) reads.
 */
export const cookieOptionsSchema = z
  .strictObject({
    /** Cookie name. Default `anon`. A `__Host-` name needs `secure: true`, `path: '/'` and no `domain`. */
    name: z._default(z.string().check(z.regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid cookie name')), 'anon'),
    /** Default true: scripts cannot read the session token. */
    httpOnly: z._default(z.boolean(), true),
    /**
     * Default true: only sent over HTTPS. `'auto'`: `Secure` when the request is HTTPS as the
     * framework reports it (Express `req.protocol`, Koa `ctx.protocol`, which follow
     * `X-Forwarded-Proto` only from a trusted proxy), and whenever the protocol is unknown; not
     * `Secure` on plain http (local development). `false`: never `Secure`.
     */
    secure: z._default(z.union([z.boolean(), z.literal('auto')], { error: "must be true, false or 'auto'" }), true),
    /** Default `lax`. `none` needs `secure: true`. */
    sameSite: z._default(z.enum(['lax', 'strict', 'none']), 'lax'),
    /** Default `/`. */
    path: z._default(z.string().check(z.startsWith('/')), '/'),
    /** Cookie domain; default host-only. */
    domain: z.optional(z.string().check(z.minLength(1))),
    /**
     * `Partitioned` (CHIPS): the cookie is kept per top-level site, for an app embedded in other
     * sites' pages. Needs `secure: true` and `sameSite: 'none'`, as browsers do. Default false.
     */
    partitioned: z._default(z.boolean(), false),
  })
  .check(z.superRefine((options, ctx) => {
    if (options.sameSite === 'none' && options.secure !== true) {
      ctx.addIssue({ code: 'custom', path: ['sameSite'], message: 'sameSite "none" requires secure: true' });
    }
    if (options.partitioned && (options.secure !== true || options.sameSite !== 'none')) {
      ctx.addIssue({
        code: 'custom',
        path: ['partitioned'],
        message: 'requires secure: true and sameSite: "none" (browsers drop a Partitioned cookie without them)',
      });
    }
    if (options.name.startsWith('__Host-') && (options.secure !== true || options.path !== '/' || options.domain !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'a __Host- cookie requires secure: true, path "/" and no domain' });
    } else if (options.name.startsWith('__Secure-') && options.secure !== true) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'a __Secure- cookie requires secure: true' });
    }
  }));

/**
 * Options of the session cookie (the engine's `cookie`), read by every middleware (token router,
 * cookie extractor, login binding, session transfer). Written out by hand for the editor; a test
 * keeps it equal to the input type of `cookieOptionsSchema`.
 */
export interface SessionCookieOptions {
  /**
   * Cookie name. Default `anon`. A `__Host-` name needs `secure: true`, `path: '/'` and no
   * `domain`; a `__Secure-` name needs `secure: true`.
   */
  name?: string | undefined;
  /** Default `true`: scripts cannot read the session token. */
  httpOnly?: boolean | undefined;
  /**
   * Default `true`: only sent over HTTPS. `'auto'`: `Secure` when the request is HTTPS as the
   * framework reports it (Express `req.protocol`, Koa `ctx.protocol`, which follow
   * `X-Forwarded-Proto` only from a trusted proxy), and whenever the protocol is unknown; not
   * `Secure` on plain http (local development). `false`: never `Secure`.
   */
  secure?: boolean | 'auto' | undefined;
  /** Default `'lax'`. `'none'` needs `secure: true`. */
  sameSite?: 'lax' | 'strict' | 'none' | undefined;
  /** Default `/`. */
  path?: string | undefined;
  /** Cookie domain. Default: none (host-only). */
  domain?: string | undefined;
  /**
   * `Partitioned` (CHIPS): the cookie is kept per top-level site, for an app embedded in other
   * sites' pages. Needs `secure: true` and `sameSite: 'none'`, as browsers do. Default `false`.
   */
  partitioned?: boolean | undefined;
}
/** The session cookie's options after defaults. */
export type ResolvedSessionCookieOptions = output<typeof cookieOptionsSchema>;

/**
 * Answers whether `origin` may call the endpoints cross-origin in a request that names no client
 * (a CORS preflight, `GET /anonymous/session`). See the engine's `allowedOrigins`.
 */
export type OriginCheck = (origin: string) => boolean | Promise<boolean>;

const clientShape = {
  /** The `client_id` a front end sends. */
  clientId: z.string().check(z.minLength(1)),
  /** May this client create (and continue) anonymous sessions? Auth0's `can_create_anonymous_sessions`. Default false. */
  canCreateAnonymousSessions: z._default(z.boolean(), false),
  /** Exact origins allowed to call the endpoints cross-origin, with credentials (CORS). Default none. */
  allowedOrigins: z._default(z.array(origin), []),
  /**
   * May this client choose the `user_id` of a session it creates (`anon|` + 8–128 of
   * `[A-Za-z0-9_-]`)? Default false: a token request with a `user_id` is refused with 400
   * `invalid_request`, so no caller can pick (and so predict or collide with) another guest's id.
   */
  allowUserId: z._default(z.boolean(), false),
};
/** A client a resolver returns (extra fields, such as a database row's, are dropped). */
const clientSchema = z.object(clientShape);

const claimsMappingSchema = z._default(z.record(z.string().check(z.minLength(1)), z.string()), {}).check(
  z.superRefine((mapping, ctx) => {
    const names = Object.keys(mapping);
    if (names.length > MAX_CLAIMS) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_CLAIMS} claims may be mapped (got ${names.length})` });
    }
    for (const name of names) {
      if ((RESERVED_CLAIMS as readonly string[]).includes(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is a reserved claim and cannot be mapped` });
      }
      const path = mapping[name] as string;
      if (!CLAIM_PATH.test(path)) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message:
            'must be a dot path into anonymous_session: anonymous_session.user_id, .session_id, .created_at or .metadata.<key>[.<key>…]',
        });
      }
    }
  }),
);

const resourceServerShape = {
  /** The API's identifier: the access token's `aud`. */
  audience: z.string().check(z.minLength(1)),
  /** May guests get access tokens for this API? Auth0's `allow_anonymous_access`. Default false. */
  allowAnonymousAccess: z._default(z.boolean(), false),
  /** The scopes a guest may ask for. Default `['anon']`. */
  anonymousScopes: z._default(z.array(z.string().check(z.regex(SCOPE_TOKEN, 'must be a scope token (no spaces or quotes)'))), ['anon']),
  /** Access-token lifetime in seconds. Auth0's `token_lifetime_for_anonymous_access`. Default 86400. */
  tokenLifetimeForAnonymousAccess: z._default(z.int().check(z.positive(), z.lte(31_536_000)), 86_400),
  /** Claim name → dot path into `anonymous_session` (at most 10; reserved names refused). */
  claimsMapping: claimsMappingSchema,
};
/** A resource server a resolver returns (extra fields, such as a database row's, are dropped). */
const resourceServerSchema = z.object(resourceServerShape);

/** A client application, as configured (an entry of `clients`, or what a {@link ClientResolver} returns). */
export interface ClientInput {
  /** The `client_id` a front end sends. Required. */
  clientId: string;
  /** May this client create (and continue) anonymous sessions? Auth0's `can_create_anonymous_sessions`. Default `false`. */
  canCreateAnonymousSessions?: boolean | undefined;
  /** Exact origins allowed to call the endpoints cross-origin, with credentials (CORS). Default none. */
  allowedOrigins?: string[] | undefined;
  /**
   * May this client choose the `user_id` of a session it creates (`anon|` + 8–128 of
   * `[A-Za-z0-9_-]`)? Default `false`: a token request with a `user_id` is refused with 400
   * `invalid_request`, so no caller can pick (and so predict or collide with) another guest's id.
   */
  allowUserId?: boolean | undefined;
}
/** A client application after defaults. */
export type Client = output<typeof clientSchema>;
/** A resource server (API), as configured (an entry of `resourceServers`, or what a {@link ResourceServerResolver} returns). */
export interface ResourceServerInput {
  /** The API's identifier: the access token's `aud`. Required. */
  audience: string;
  /** May guests get access tokens for this API? Auth0's `allow_anonymous_access`. Default `false`. */
  allowAnonymousAccess?: boolean | undefined;
  /** The scopes a guest may ask for (RFC 6749 scope tokens). Default `['anon']`. */
  anonymousScopes?: string[] | undefined;
  /**
   * Access-token lifetime in seconds (at most one year). Auth0's
   * `token_lifetime_for_anonymous_access`. Default 86400 (one day).
   */
  tokenLifetimeForAnonymousAccess?: number | undefined;
  /**
   * Claim name → dot path into `anonymous_session` (`anonymous_session.user_id`, `.session_id`,
   * `.created_at` or `.metadata.<key>…`), added to this API's access tokens. At most 10; reserved
   * names ({@link RESERVED_CLAIMS}) are refused. Default `{}`.
   */
  claimsMapping?: Record<string, string> | undefined;
}
/** A resource server (API) after defaults. */
export type ResourceServer = output<typeof resourceServerSchema>;

/** Looks a client up by `client_id`; `undefined` when unknown. */
export type ClientResolver = (clientId: string) => Promise<ClientInput | undefined> | ClientInput | undefined;
/** Looks a resource server up by `audience`; `undefined` when unknown. */
export type ResourceServerResolver = (
  audience: string,
) => Promise<ResourceServerInput | undefined> | ResourceServerInput | undefined;

/**
 * The `keys` value that asks for ephemeral development keys explicitly, even in production (see
 * {@link configSchema}'s `production`).
 */
export const DEVELOPMENT_KEYS = 'development';

/**
 * `NODE_ENV`, read portably (Node, Bun, Deno with env access; `undefined` where there is no
 * `process` or reading it is not allowed). The core reads the environment nowhere else.
 */
function nodeEnvironment(): string | undefined {
  try {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    return env?.NODE_ENV;
  } catch {
    return undefined;
  }
}

const keySetSchema = z.union([
  z.string().check(z.minLength(1)),
  z.object({ keys: z.array(z.looseObject({ kty: z.string() })).check(z.minLength(1, 'must hold at least one key')) }),
]);

const storeSchema = z.custom<SessionStore>(
  (value: unknown) =>
    typeof value === 'object' &&
    value !== null &&
    ['revokeSession', 'isSessionRevoked', 'markOnce', 'increment'].every((method) =>
      isFunction((value as Record<string, unknown>)[method]),
    ),
  'must implement SessionStore (revokeSession, isSessionRevoked, markOnce, increment)',
);

/** The configuration schema. Its input type is {@link AnonymousSessionsOptions}. */
export const configSchema = z
  .strictObject({
    /** `iss` of every token and base of discovery; an absolute URL. */
    issuer: z.pipe(z.string(requiredOption("the absolute URL of your token issuer, e.g. 'https://shop.example.com/'")), httpUrl),
    /** Where the JWKS is served. Default `<issuer>.well-known/jwks.json`. */
    jwksUri: z.optional(httpUrl),
    /**
     * The session cookie, once for every middleware: the token router sets it, the cookie extractor
     * and the login binding read it, the transfer clears it. Default `{ name: 'anon', httpOnly:
     * true, secure: true, sameSite: 'lax', path: '/', partitioned: false }`; `secure: 'auto'` for
     * an app served over HTTPS in production and plain http in development.
     */
    cookie: z.prefault(cookieOptionsSchema, {}),
    /**
     * Origins allowed in requests that name no client — CORS preflights (a browser sends no
     * `client_id` there) and `GET /anonymous/session` — on top of every listed client's
     * `allowedOrigins`: exact origins, or a function of the origin. With `clients` as a resolver,
     * list here the origins of your clients, or browsers never send their cross-origin token
     * requests. A request that names a client is still answered only for that client's origins.
     */
    allowedOrigins: z.optional(z.union([z.array(origin), z.custom<OriginCheck>(isFunction)])),
    /** Session lifetime in seconds. Default 30 days. `0` = never expires (a warning is logged). */
    sessionLifetime: z._default(seconds(), 2_592_000),
    /** `jwe` (dir + A256GCM, default): encrypted. `jwt`: signed and readable by anyone holding it. */
    sessionTokenFormat: z._default(z.enum(['jwe', 'jwt']), 'jwe'),
    /**
     * The private key set. Without it (or with `'development'`), ephemeral development keys are
     * generated and a warning is logged; in production (see `production`) leaving it out is a
     * `ConfigError`, and only an explicit `'development'` opts into throwaway keys.
     */
    // `'development'` passes as a string; the engine recognises it before importing anything.
    keys: z.optional(keySetSchema),
    /** Algorithm of the ephemeral development signing key. Default RS256. Ignored when `keys` is set. */
    developmentSigningAlgorithm: z._default(z.enum(SIGNING_ALGORITHMS), 'RS256'),
    /** The client applications, or a lookup by `client_id`. */
    // Listed in the config: strict, so a misspelt option (`allowAnonymousAcess`) is an error, not a
    // silently kept default. Objects returned by a resolver may carry extra fields (database rows).
    clients: z.union(
      [z.array(z.strictObject(clientShape)), z.custom<ClientResolver>(isFunction)],
      requiredOption(
        "a list of the apps that may create sessions, e.g. [{ clientId: 'shop-web', canCreateAnonymousSessions: true }], or a resolver function (clientId) => client",
      ),
    ),
    /** The APIs guests may call, or a lookup by `audience`. */
    resourceServers: z.union(
      [
        z.array(z.strictObject(resourceServerShape)).check(z.minLength(1, 'at least one resource server is required')),
        z.custom<ResourceServerResolver>(isFunction),
      ],
      requiredOption(
        "a list of the APIs guests may call, e.g. [{ audience: 'https://api.shop.example.com', allowAnonymousAccess: true }], or a resolver function (audience) => resource server",
      ),
    ),
    /**
     * Server-side state: revocations, rate-limit counters, transfer marks, the linked-session
     * registry and, with `metadataStorage: 'store'`, metadata. Default `memoryStore()` (per process).
     */
    store: z.optional(storeSchema),
    /** Limits on session metadata. */
    metadata: z._default(
      z.object({
        /** Maximum size of the merged metadata as JSON, in UTF-8 bytes. Default 2048. */
        maxBytes: z._default(z.int().check(z.positive()), 2048),
        /** Maximum nesting depth (an object of scalars is depth 1). Default 8. */
        maxDepth: z._default(z.int().check(z.positive(), z.lte(64)), 8),
        /** A Standard Schema the merged metadata must pass. */
        schema: z.optional(
          z.custom<MetadataSchema>(
            (value) =>
              typeof value === 'object' &&
              value !== null &&
              typeof (value as { '~standard'?: { validate?: unknown } })['~standard']?.validate === 'function',
            'must be a Standard Schema (for example a zod schema)',
          ),
        ),
      }),
      { maxBytes: 2048, maxDepth: 8 },
    ),
    /**
     * `token` (default): metadata travels in the session token only; concurrent updates from two
     * tabs are last-writer-wins. `store`: the store holds each session's metadata and merges every
     * patch atomically, so concurrent updates all apply and an old session token cannot roll the
     * metadata back; tokens carry a snapshot and its `metadata_version`. Needs a store with the
     * metadata operations (`readMetadata`, `mergeMetadata`).
     */
    metadataStorage: z._default(z.enum(['token', 'store'], { error: "must be 'token' or 'store'" }), 'token'),
    /**
     * How long, in seconds, the linked-session registry keeps each transfer (`anon.linkedSessions`).
     * Default 90 days. `false`: record nothing.
     */
    linkedSessionRetention: z._default(z.union([z.literal(false), z.int().check(z.positive())]), 7_776_000),
    /**
     * What happens to a session issued before the store lost its data (its epoch marker changed:
     * every logout recorded before the loss is gone, so a logged-out token looks live again). The
     * engine logs an error either way, once per lost epoch.
     * `accept` (default): such sessions are accepted as before, logged-out ones included.
     * `reject`: they fail closed: a revocation check refuses them (401), and continuing one at the
     * token endpoint starts a fresh session (new `user_id` and `session_id`) that carries the old
     * token's metadata. Needs a store with `epoch()` and shared by every instance.
     */
    revocationLoss: z._default(z.enum(['accept', 'reject'], { error: "must be 'accept' or 'reject'" }), 'accept'),
    /** true: each continue renews `exp` to now + `sessionLifetime`. Default false (absolute). */
    slidingExpiration: z._default(z.boolean(), false),
    /** Seconds of clock skew tolerated on every verification. Default 15. */
    clockTolerance: z._default(seconds(300), 15),
    /**
     * Rate limits, each a fixed one-minute window in the store; `false` turns them all off.
     * `createPerMinute` (default 60): new sessions per client address (an IPv6 address counts per
     * /64; a request without an address is not counted against anyone else's). `continuePerMinute`
     * (default 60): continues of one session, whatever the address. Over a limit: 429
     * `too_many_requests` with `Retry-After`.
     */
    rateLimit: z._default(
      z.union([
        z.literal(false),
        z.strictObject({
          createPerMinute: z._default(z.int().check(z.positive()), 60),
          continuePerMinute: z._default(z.int().check(z.positive()), 60),
        }),
      ]),
      { createPerMinute: 60, continuePerMinute: 60 },
    ),
    /**
     * How long a request may wait on the store, counted from its first store call (later calls get
     * what is left); then it fails closed with 503. Default 2000 ms.
     */
    storeTimeoutMs: z._default(z.int().check(z.positive(), z.lte(60_000)), 2000),
    /** Where warnings and unexpected errors go. Default `console`. */
    logger: z._default(
      z.custom<Logger>(
        (value) =>
          typeof value === 'object' &&
          value !== null &&
          isFunction((value as Logger).warn) &&
          isFunction((value as Logger).error),
        'must have warn(message) and error(message, error)',
      ),
      consoleLogger,
    ),
    /**
     * Production mode: starting without `keys` is a `ConfigError` (tokens signed with throwaway
     * keys die on every restart and differ per instance), and a `memoryStore()` logs once that it
     * is per process. Default: whether `NODE_ENV` is `production`, read once when the engine is
     * created. Set it explicitly where there is no `NODE_ENV`.
     */
    production: z._default(z.boolean(), () => nodeEnvironment() === 'production'),
  })
  .check(
    z.superRefine(
    (config, ctx) => {
      // Runs even when other fields are bad (`when`), so one ConfigError lists this too; it reads
      // only `production` (already defaulted, or whatever the host wrote) and `keys`.
      const { production, keys } = config as { production?: unknown; keys?: unknown };
      if (production === true && keys === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['keys'],
          message:
            "is required in production (NODE_ENV=production): generate a key set with `npx -p @anonymous-sessions/core anonymous-sessions keys generate` and pass it in, or set keys: 'development' to run on throwaway keys anyway",
        });
      }
    },
    { when: () => true },
    ),
    z.superRefine((config, ctx) => {
    if (config.metadataStorage === 'store' && config.store !== undefined && !supportsStoredMetadata(config.store)) {
      ctx.addIssue({
        code: 'custom',
        path: ['metadataStorage'],
        message:
          "'store' needs a store with the metadata operations readMetadata and mergeMetadata (memoryStore, @anonymous-sessions/redis and @anonymous-sessions/postgres have them)",
      });
    }
    if (config.revocationLoss === 'reject' && config.store !== undefined && !supportsEpoch(config.store)) {
      ctx.addIssue({
        code: 'custom',
        path: ['revocationLoss'],
        message: "'reject' needs a store with epoch(), which marks when the store loses its data (memoryStore, @anonymous-sessions/redis and @anonymous-sessions/postgres have it)",
      });
    }
    }),
  );

/** Limits on session metadata (the engine's `metadata`). */
export interface MetadataOptions {
  /** Maximum size of the merged metadata as JSON, in UTF-8 bytes. Default 2048. */
  maxBytes?: number | undefined;
  /** Maximum nesting depth (an object of scalars is depth 1), at most 64. Default 8. */
  maxDepth?: number | undefined;
  /** A Standard Schema (for example a zod schema) the merged metadata must pass. Default none. */
  schema?: MetadataSchema | undefined;
}

/** Rate limits (the engine's `rateLimit`), each a fixed one-minute window in the store. */
export interface RateLimitOptions {
  /**
   * New sessions per minute per client address (an IPv6 address counts per /64; a request without
   * an address is not counted against anyone else's). Default 60.
   */
  createPerMinute?: number | undefined;
  /** Continues of one session per minute, whatever the address. Default 60. */
  continuePerMinute?: number | undefined;
}

/**
 * Options of `createAnonymousSessions`. Written out by hand so every field's docs reach the editor;
 * a test keeps it equal to the input type of `configSchema`, the schema that validates them.
 */
export interface AnonymousSessionsOptions {
  /** `iss` of every token and base of discovery: an absolute http(s) URL. Required. */
  issuer: string;
  /** Where the JWKS is served. Default `<issuer>.well-known/jwks.json`. */
  jwksUri?: string | undefined;
  /**
   * The session cookie, once for every middleware: the token router sets it, the cookie extractor
   * and the login binding read it, the transfer clears it. Default `{ name: 'anon', httpOnly:
   * true, secure: true, sameSite: 'lax', path: '/', partitioned: false }`; `secure: 'auto'` for
   * an app served over HTTPS in production and plain http in development.
   */
  cookie?: SessionCookieOptions | undefined;
  /**
   * Origins allowed in requests that name no client — CORS preflights (a browser sends no
   * `client_id` there) and `GET /anonymous/session` — on top of every listed client's
   * `allowedOrigins`: exact origins, or a function of the origin. With `clients` as a resolver,
   * list here the origins of your clients, or browsers never send their cross-origin token
   * requests. A request that names a client is still answered only for that client's origins.
   * Wildcards are refused. Default none.
   */
  allowedOrigins?: string[] | OriginCheck | undefined;
  /** Session lifetime in seconds. Default 2592000 (30 days). `0` = never expires (a warning is logged). */
  sessionLifetime?: number | undefined;
  /** `'jwe'` (dir + A256GCM, default): encrypted. `'jwt'`: signed and readable by anyone holding it. */
  sessionTokenFormat?: 'jwe' | 'jwt' | undefined;
  /**
   * The private key set (a JWKS object or its JSON text). Without it (or with `'development'`),
   * ephemeral development keys are generated and a warning is logged; in production (see
   * `production`) leaving it out is a `ConfigError`, and only an explicit `'development'` opts into
   * throwaway keys.
   */
  keys?: string | { keys: { [parameter: string]: unknown; kty: string }[] } | undefined;
  /** Algorithm of the ephemeral development signing key. Default `'RS256'`. Ignored when `keys` is set. */
  developmentSigningAlgorithm?: (typeof SIGNING_ALGORITHMS)[number] | undefined;
  /**
   * The client applications that may use the endpoints, or a lookup by `client_id`
   * ({@link ClientResolver}). Required.
   */
  clients: ClientInput[] | ClientResolver;
  /** The APIs guests may call (at least one), or a lookup by `audience` ({@link ResourceServerResolver}). Required. */
  resourceServers: ResourceServerInput[] | ResourceServerResolver;
  /**
   * Server-side state: revocations, rate-limit counters, transfer marks, the linked-session
   * registry and, with `metadataStorage: 'store'`, metadata. Default `memoryStore()` (per process).
   */
  store?: SessionStore | undefined;
  /** Limits on session metadata. Default `{ maxBytes: 2048, maxDepth: 8 }`. */
  metadata?: MetadataOptions | undefined;
  /**
   * `'token'` (default): metadata travels in the session token only; concurrent updates from two
   * tabs are last-writer-wins. `'store'`: the store holds each session's metadata and merges every
   * patch atomically, so concurrent updates all apply and an old session token cannot roll the
   * metadata back; tokens carry a snapshot and its `metadata_version`. Needs a store with the
   * metadata operations (`readMetadata`, `mergeMetadata`).
   */
  metadataStorage?: 'token' | 'store' | undefined;
  /**
   * How long, in seconds, the linked-session registry keeps each transfer (`anon.linkedSessions`).
   * Default 7776000 (90 days). `false`: record nothing.
   */
  linkedSessionRetention?: false | number | undefined;
  /**
   * What happens to a session issued before the store lost its data (its epoch marker changed:
   * every logout recorded before the loss is gone, so a logged-out token looks live again). The
   * engine logs an error either way, once per lost epoch.
   * `'accept'` (default): such sessions are accepted as before, logged-out ones included.
   * `'reject'`: they fail closed: a revocation check refuses them (401), and continuing one at the
   * token endpoint starts a fresh session (new `user_id` and `session_id`) that carries the old
   * token's metadata. Needs a store with `epoch()` and shared by every instance.
   */
  revocationLoss?: 'accept' | 'reject' | undefined;
  /** `true`: each continue renews `exp` to now + `sessionLifetime`. Default `false` (absolute expiry). */
  slidingExpiration?: boolean | undefined;
  /** Seconds of clock skew tolerated on every verification, at most 300. Default 15. */
  clockTolerance?: number | undefined;
  /**
   * Rate limits, each a fixed one-minute window in the store; `false` turns them all off. Over a
   * limit: 429 `too_many_requests` with `Retry-After`. Default `{ createPerMinute: 60,
   * continuePerMinute: 60 }`.
   */
  rateLimit?: false | RateLimitOptions | undefined;
  /**
   * How long, in milliseconds, a request may wait on the store, counted from its first store call
   * (later calls get what is left); then it fails closed with 503. At most 60000. Default 2000.
   */
  storeTimeoutMs?: number | undefined;
  /** Where warnings and unexpected errors go (`warn(message)`, `error(message, error)`). Default `console`. */
  logger?: Logger | undefined;
  /**
   * Production mode: starting without `keys` is a `ConfigError` (tokens signed with throwaway
   * keys die on every restart and differ per instance), and a `memoryStore()` logs once that it
   * is per process. Default: whether `NODE_ENV` is `production`, read once when the engine is
   * created. Set it explicitly where there is no `NODE_ENV`.
   */
  production?: boolean | undefined;
}
/** The resolved, frozen configuration. */
export type ResolvedConfig = Readonly<Omit<output<typeof configSchema>, 'store'> & { store: SessionStore }>;

/**
 * Parses and defaults the options. Throws one {@link ConfigError} listing every bad field.
 *
 * @param options - the options as the host wrote them.
 * @returns the resolved configuration.
 */
export function resolveConfig(options: AnonymousSessionsOptions): ResolvedConfig {
  const parsed = parseOptions(configSchema, options);
  // The default store is made here, after parsing, never inside the schema: parsing has no effects.
  return Object.freeze({ ...parsed, store: parsed.store ?? memoryStore() });
}

/**
 * Parses one resource server returned by a {@link ResourceServerResolver} at run time.
 *
 * @returns the resource server, or the issues when it is malformed.
 */
export function parseResourceServer(value: unknown): { ok: true; value: ResourceServer } | { ok: false; issues: ConfigIssue[] } {
  const result = resourceServerSchema.safeParse(value, { error: ENGLISH_MESSAGES });
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: toConfigIssues(result.error.issues) };
}

/**
 * Parses one client returned by a {@link ClientResolver} at run time.
 *
 * @returns the client, or the issues when it is malformed.
 */
export function parseClient(value: unknown): { ok: true; value: Client } | { ok: false; issues: ConfigIssue[] } {
  const result = clientSchema.safeParse(value, { error: ENGLISH_MESSAGES });
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: toConfigIssues(result.error.issues) };
}
