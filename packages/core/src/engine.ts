/**
 * The engine: `createAnonymousSessions(options)` and what it returns. Every rule about sessions
 * (lifetimes, scopes, metadata, revocation, rate limits) lives here once; the bindings only
 * translate HTTP onto these calls.
 *
 * @packageDocumentation
 */
import { accessTokenSigner, type AccessTokenClaims, type AccessTokenSigner } from './access-token.js';
import { mapClaims } from './claims-mapping.js';
import {
  parseClient,
  parseResourceServer,
  resolveConfig,
  type AnonymousSessionsOptions,
  type Client,
  type KeySetInput,
  type ResolvedConfig,
  type ResourceServer,
} from './config.js';
import {
  AccessDeniedError,
  ConfigError,
  InvalidClientError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidSessionTokenError,
  InvalidTargetError,
  InvalidTokenError,
  SessionExpiredError,
  ServerError,
  TooManyRequestsError,
  UnauthorizedClientError,
} from './errors.js';
import { developmentKeyRing, importKeyRing, type JWK, type KeyRing } from './keys.js';
import { applyMetadataPatch, type JsonObject } from './metadata.js';
import { randomId } from './internal/random.js';
import { withStoreTimeout } from './internal/with-timeout.js';
import {
  ANONYMOUS_USER_ID,
  sessionTokenCodec,
  toAnonymousSession,
  type AnonymousSession,
  type SessionTokenCodec,
  type SessionTokenPayload,
} from './session-token.js';
import type { SessionStore } from './store.js';
import { signLoginBinding, verifyLoginBinding } from './login-binding.js';
import { runTransfer, type TransferParameters, type TransferResult } from './transfer.js';
import { logoutRequestSchema, parseRequest, tokenRequestSchema, type LogoutRequest, type TokenRequest } from './token-request.js';

/** The JSON body of a successful token response (DESIGN §3). */
export interface TokenResponse {
  /** The new session token: keep it (or let the cookie keep it) to continue the session. */
  session_token: string;
  /** The access token for the requested API. */
  access_token: string;
  /** Always `Bearer`. */
  token_type: 'Bearer';
  /** Seconds until the access token expires. */
  expires_in: number;
  /** Space-separated granted scopes. */
  scope: string;
}

/** What {@link AnonymousSessions.issueToken} returns: the response body and the session behind it. */
export interface IssuedTokens {
  /** The body to send to the client. */
  response: TokenResponse;
  /** The session after this request (for cookies and the host's own use). */
  session: AnonymousSession;
}

/** Facts about the HTTP request that the engine needs, supplied by the binding. */
export interface RequestContext {
  /** The client address as the framework reports it (`req.ip`, `ctx.ip`); keys the rate limit. */
  ip?: string | undefined;
  /**
   * A session token from the `anon` cookie. Used when the request carries no `session_token`; if it
   * is expired, revoked or invalid it is ignored and a new session begins (the cookie is replaced).
   */
  cookieSessionToken?: string | undefined;
}

/** Options of {@link AnonymousSessions.verifyAccessToken}. */
export interface VerifyAccessTokenOptions {
  /** The audience (or audiences) the token must be for. */
  audience: string | readonly string[];
  /** Also refuse tokens whose session was logged out (asks the store). Default false. */
  checkRevocation?: boolean;
}

/** The parameters of {@link AnonymousSessions.logout}. */
export interface LogoutParameters {
  /** The client ending the session. */
  clientId: string;
  /** The session token to end. */
  sessionToken: string;
}

/** RFC 8414 authorization-server metadata, plus the anonymous token endpoint. */
export interface AuthorizationServerMetadata {
  issuer: string;
  jwks_uri: string;
  anonymous_token_endpoint: string;
  anonymous_session_endpoint: string;
  anonymous_logout_endpoint: string;
  token_endpoint_auth_methods_supported: string[];
  grant_types_supported: string[];
  response_types_supported: string[];
  scopes_supported?: string[];
  id_token_signing_alg_values_supported: string[];
  access_token_signing_alg_values_supported: string[];
  [parameter: string]: unknown;
}

const secondsNow = (): number => Math.floor(Date.now() / 1000);
const iso = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();

/**
 * An anonymous-sessions engine. Create it with {@link createAnonymousSessions}; share one per app.
 */
export class AnonymousSessions {
  /** The resolved, frozen configuration. */
  readonly config: ResolvedConfig;
  /** The imported keys. */
  readonly keys: KeyRing;
  /** The store, every call bounded by `storeTimeoutMs` (503 when exceeded or failing). */
  readonly store: SessionStore;
  readonly #sessionTokens: SessionTokenCodec;
  readonly #accessTokens: AccessTokenSigner;
  readonly #clients: ReadonlyMap<string, Client> | undefined;
  readonly #resourceServers: ReadonlyMap<string, ResourceServer> | undefined;
  readonly #staticOrigins: ReadonlySet<string>;
  readonly #metadataDocument: AuthorizationServerMetadata;

  /** Use {@link createAnonymousSessions}, which validates the options and imports the keys. */
  constructor(config: ResolvedConfig, keys: KeyRing) {
    this.config = config;
    this.keys = keys;
    this.store = withStoreTimeout(config.store, config.storeTimeoutMs);
    this.#sessionTokens = sessionTokenCodec(keys, {
      issuer: config.issuer,
      format: config.sessionTokenFormat,
      clockTolerance: config.clockTolerance,
      expires: config.sessionLifetime > 0,
    });
    this.#accessTokens = accessTokenSigner(keys, { issuer: config.issuer, clockTolerance: config.clockTolerance });
    this.#clients = Array.isArray(config.clients)
      ? new Map(config.clients.map((client) => [client.clientId, client]))
      : undefined;
    this.#resourceServers = Array.isArray(config.resourceServers)
      ? new Map(config.resourceServers.map((api) => [api.audience, api]))
      : undefined;
    this.#staticOrigins = new Set([...(this.#clients?.values() ?? [])].flatMap((client) => client.allowedOrigins));
    this.#metadataDocument = this.#buildMetadataDocument();
  }

  /**
   * Creates or continues a session and issues a session token and an access token (DESIGN §3).
   *
   * @param request - the token request's fields (untrusted; validated here).
   * @param context - the client address and the cookie's session token, from the binding.
   * @throws AnonymousSessionError with the code of the DESIGN §3 table.
   */
  async issueToken(request: TokenRequest | unknown, context: RequestContext = {}): Promise<IssuedTokens> {
    const input = parseRequest(tokenRequestSchema, request);
    const client = await this.#requireClient(input.client_id);
    if (!client.canCreateAnonymousSessions) throw new UnauthorizedClientError();
    const api = await this.#requireResourceServer(input.audience);
    const scope = grantScopes(api, input.scope);

    let payload: SessionTokenPayload | undefined;
    if (input.session_token !== undefined) {
      payload = await this.#openLiveSession(input.session_token);
    } else if (context.cookieSessionToken !== undefined) {
      payload = await this.#openLiveSession(context.cookieSessionToken).catch((error: unknown) => {
        if (error instanceof InvalidSessionTokenError || error instanceof SessionExpiredError) return undefined;
        throw error;
      });
    }
    if (payload !== undefined && input.user_id !== undefined) {
      throw new InvalidRequestError('user_id can only be set when a session is created.');
    }
    if (payload === undefined && input.user_id !== undefined && !ANONYMOUS_USER_ID.test(input.user_id)) {
      throw new InvalidRequestError('user_id must be "anon|" followed by 8 to 128 of A-Z a-z 0-9 _ -.');
    }

    const now = secondsNow();
    const lifetime = this.config.sessionLifetime;
    let identity: Pick<SessionTokenPayload, 'user_id' | 'session_id' | 'created_at'>;
    let metadata: JsonObject;
    let exp: number | undefined;
    if (payload === undefined) {
      identity = {
        user_id: input.user_id ?? `anon|${crypto.randomUUID()}`,
        session_id: `sess_${randomId(16)}`,
        created_at: iso(now),
      };
      metadata = {};
      exp = lifetime > 0 ? now + lifetime : undefined;
    } else {
      identity = { user_id: payload.user_id, session_id: payload.session_id, created_at: payload.created_at };
      metadata = payload.metadata;
      const createdAt = Math.floor(Date.parse(payload.created_at) / 1000);
      exp = lifetime === 0 ? undefined : this.config.slidingExpiration ? now + lifetime : createdAt + lifetime;
      if (exp !== undefined && exp <= now) throw new SessionExpiredError();
    }
    if (input.metadata !== undefined) {
      metadata = await applyMetadataPatch(metadata, input.metadata, this.config.metadata);
    }
    // Counted only once the request is known to be good, so refused requests spend no quota.
    if (payload === undefined) await this.#enforceCreationLimit(context.ip);

    const session: AnonymousSession = { ...identity, expires_at: exp === undefined ? null : iso(exp), metadata };
    const accessExp = Math.min(now + api.tokenLifetimeForAnonymousAccess, exp ?? Number.POSITIVE_INFINITY);
    const [sessionToken, accessToken] = await Promise.all([
      this.#sessionTokens.encode({ ...identity, metadata, iat: now, ...(exp === undefined ? {} : { exp }) }),
      this.#accessTokens.sign({
        ...mapClaims(api.claimsMapping, session),
        sub: identity.user_id,
        aud: api.audience,
        iat: now,
        exp: accessExp,
        jti: randomId(16),
        client_id: client.clientId,
        scope,
        sid: identity.session_id,
      }),
    ]);
    return {
      response: {
        session_token: sessionToken,
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: accessExp - now,
        scope,
      },
      session,
    };
  }

  /**
   * Verifies a session token and checks it was not ended by logout.
   *
   * @throws SessionExpiredError, InvalidSessionTokenError, or TemporarilyUnavailableError (store down).
   */
  async verifySessionToken(token: string): Promise<AnonymousSession> {
    return toAnonymousSession(await this.#openLiveSession(token));
  }

  /**
   * Ends a session: its `session_id` is revoked in the store until the session would have expired.
   * Ending an already expired or already ended session succeeds and changes nothing.
   *
   * @throws InvalidClientError for an unknown client; InvalidSessionTokenError for a forged token.
   */
  async logout(parameters: LogoutParameters): Promise<void> {
    await this.#requireClient(parameters.clientId);
    let payload: SessionTokenPayload;
    try {
      payload = await this.#sessionTokens.decode(parameters.sessionToken);
    } catch (error) {
      if (error instanceof SessionExpiredError) return;
      throw error;
    }
    // The revocation must outlive every token of the session: with slidingExpiration a newer token
    // than this one may expire up to `sessionLifetime` from now, and every token is still accepted
    // for `clockTolerance` seconds after its exp.
    let until = payload.exp;
    if (until !== undefined && this.config.slidingExpiration) until = Math.max(until, secondsNow() + this.config.sessionLifetime);
    await this.store.revokeSession(payload.session_id, until === undefined ? undefined : until + this.config.clockTolerance);
  }

  /**
   * Logs out from raw request fields (`client_id`, `session_token`), validating them first.
   *
   * @param request - the logout request's fields (untrusted).
   * @param cookieSessionToken - the cookie's token, used when the body has none.
   */
  async logoutRequest(request: LogoutRequest | unknown, cookieSessionToken?: string): Promise<void> {
    const input = parseRequest(logoutRequestSchema, request);
    const sessionToken = input.session_token ?? cookieSessionToken;
    if (sessionToken === undefined) {
      throw new InvalidRequestError('session_token is required (in the body or the session cookie).');
    }
    await this.logout({ clientId: input.client_id, sessionToken });
  }

  /**
   * Verifies an access token this engine issued: pinned algorithms, `typ: at+jwt`, strict
   * `iss`/`aud`/`exp`.
   *
   * @throws InvalidTokenError (401 `invalid_token`), or TemporarilyUnavailableError with
   *   `checkRevocation` when the store is down.
   */
  async verifyAccessToken(token: string, options: VerifyAccessTokenOptions): Promise<AccessTokenClaims> {
    const claims = await this.#accessTokens.verify(token, options.audience);
    if (options.checkRevocation && (await this.store.isSessionRevoked(claims.sid))) {
      throw new InvalidTokenError('The session behind this access token has ended.');
    }
    return claims;
  }

  /** The public JWK Set: signing keys only, never private or symmetric material. */
  jwks(): { keys: readonly Readonly<JWK>[] } {
    return this.keys.publicJwks;
  }

  /** RFC 8414 authorization-server metadata (also served as the OpenID configuration). */
  metadataDocument(): AuthorizationServerMetadata {
    return this.#metadataDocument;
  }

  /**
   * Binds an anonymous session to a login that is starting: returns a short-lived signed token to
   * keep in a cookie or the login `state`. The callback's transfer accepts only this session.
   */
  createLoginBinding(sessionId: string): Promise<string> {
    return signLoginBinding(this.keys, this.config.issuer, sessionId);
  }

  /** The session id a login binding names, or `undefined` when it is invalid or expired. */
  verifyLoginBinding(token: string): Promise<string | undefined> {
    return verifyLoginBinding(this.keys, this.config.issuer, token, this.config.clockTolerance);
  }

  /**
   * Transfers a guest session to the account that just signed up or logged in (DESIGN §6): runs
   * `onPreRegistration` or `onPostLogin`, applies what they set in one `users.update`, at most once
   * per (session, user). See {@link TransferParameters}.
   */
  transfer(parameters: TransferParameters): Promise<TransferResult> {
    return runTransfer(this, parameters);
  }

  /**
   * Whether `origin` may call the endpoints cross-origin: it is in the `allowedOrigins` of the
   * client `clientId`, or, without a client id, of any statically configured client.
   */
  async isAllowedOrigin(origin: string, clientId?: string): Promise<boolean> {
    if (clientId === undefined) return this.#staticOrigins.has(origin);
    const client = await this.#findClient(clientId).catch(() => undefined);
    return client?.allowedOrigins.includes(origin) ?? false;
  }

  /** Looks a client up; `undefined` when unknown. A malformed resolver answer is a server error. */
  async #findClient(clientId: string): Promise<Client | undefined> {
    if (this.#clients) return this.#clients.get(clientId);
    const resolver = this.config.clients as (id: string) => unknown;
    const found = await resolver(clientId);
    if (found === undefined || found === null) return undefined;
    const parsed = parseClient(found);
    if (!parsed.ok) throw new ServerError({ cause: new Error(`clients(${JSON.stringify(clientId)}) returned an invalid client`) });
    return parsed.value;
  }

  async #requireClient(clientId: string): Promise<Client> {
    const client = await this.#findClient(clientId);
    if (client === undefined) throw new InvalidClientError();
    return client;
  }

  async #requireResourceServer(audience: string | undefined): Promise<ResourceServer> {
    let api: ResourceServer | undefined;
    if (audience === undefined) {
      if (this.#resourceServers?.size !== 1) {
        throw new InvalidRequestError('audience is required: this server has more than one API.');
      }
      api = this.#resourceServers.values().next().value;
    } else if (this.#resourceServers) {
      api = this.#resourceServers.get(audience);
    } else {
      const resolver = this.config.resourceServers as (audience: string) => unknown;
      const found = await resolver(audience);
      if (found !== undefined && found !== null) {
        const parsed = parseResourceServer(found);
        if (!parsed.ok) throw new ServerError({ cause: new Error('resourceServers() returned an invalid resource server') });
        api = parsed.value;
      }
    }
    if (api === undefined) throw new InvalidTargetError();
    if (!api.allowAnonymousAccess) throw new AccessDeniedError();
    return api;
  }

  async #openLiveSession(token: string): Promise<SessionTokenPayload> {
    const payload = await this.#sessionTokens.decode(token);
    if (await this.store.isSessionRevoked(payload.session_id)) {
      throw new InvalidSessionTokenError({ cause: new Error('session ended by logout') });
    }
    return payload;
  }

  async #enforceCreationLimit(ip: string | undefined): Promise<void> {
    const limit = this.config.rateLimit;
    if (limit === false) return;
    const { count, resetAt } = await this.store.increment(`create:${ip ?? 'unknown'}`, 60);
    if (count > limit.createPerMinute) throw new TooManyRequestsError(resetAt - Date.now() / 1000);
  }

  #buildMetadataDocument(): AuthorizationServerMetadata {
    const { issuer } = this.config;
    const base = issuer.endsWith('/') ? issuer : `${issuer}/`;
    const algorithms = [...this.keys.signingAlgorithms];
    const scopes = this.#resourceServers
      ? [...new Set([...this.#resourceServers.values()].flatMap((api) => api.anonymousScopes))]
      : undefined;
    return Object.freeze({
      issuer,
      jwks_uri: this.config.jwksUri ?? `${base}.well-known/jwks.json`,
      anonymous_token_endpoint: `${base}anonymous/token`,
      anonymous_session_endpoint: `${base}anonymous/session`,
      anonymous_logout_endpoint: `${base}anonymous/logout`,
      token_endpoint_auth_methods_supported: ['none'],
      grant_types_supported: ['urn:anonymous-sessions:anonymous'],
      response_types_supported: ['token'],
      ...(scopes ? { scopes_supported: scopes } : {}),
      id_token_signing_alg_values_supported: algorithms,
      access_token_signing_alg_values_supported: algorithms,
    });
  }
}

/** The scopes granted: the requested ones (all within the API's anonymous scopes), or all of them. */
function grantScopes(api: ResourceServer, requested: string | undefined): string {
  const scopes = (requested ?? '').split(' ').filter((scope) => scope.length > 0);
  if (scopes.length === 0) return api.anonymousScopes.join(' ');
  for (const scope of scopes) {
    if (!api.anonymousScopes.includes(scope)) throw new InvalidScopeError(`The scope "${scope}" is not available to guests.`);
  }
  return [...new Set(scopes)].join(' ');
}

/**
 * Creates an engine: validates every option (one {@link ConfigError} lists every bad field),
 * imports the keys once, and warns about development keys or never-expiring sessions.
 *
 * @param options - see {@link AnonymousSessionsOptions}.
 */
export async function createAnonymousSessions(options: AnonymousSessionsOptions): Promise<AnonymousSessions> {
  let config: ResolvedConfig;
  try {
    config = resolveConfig(options);
  } catch (error) {
    // List key problems alongside the other fields' problems, so one run shows everything.
    const keyInput = (options as { keys?: unknown } | undefined)?.keys;
    if (!(error instanceof ConfigError) || keyInput === undefined || error.issues.some((issue) => issue.path.startsWith('keys'))) {
      throw error;
    }
    const format = (options as { sessionTokenFormat?: unknown }).sessionTokenFormat;
    const keyIssues = await importKeyRing(keyInput as KeySetInput, { requireEncryptionKey: format !== 'jwt' }).then(
      () => [],
      (keyError: unknown) => (keyError instanceof ConfigError ? keyError.issues : []),
    );
    throw new ConfigError([...error.issues, ...keyIssues]);
  }
  let keys: KeyRing;
  if (config.keys === undefined) {
    keys = await developmentKeyRing(config.developmentSigningAlgorithm);
    config.logger.warn(
      'No keys configured: using ephemeral development keys. Tokens die on restart and cannot be shared between instances. Generate a key set with `npx anonymous-sessions keys generate`.',
    );
  } else {
    keys = await importKeyRing(config.keys, { requireEncryptionKey: config.sessionTokenFormat === 'jwe' });
  }
  if (config.sessionLifetime === 0) {
    config.logger.warn('sessionLifetime is 0: anonymous sessions never expire. Only logout ends them.');
  }
  return new AnonymousSessions(config, keys);
}
