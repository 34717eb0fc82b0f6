/**
 * The engine: `createAnonymousSessions(options)` and what it returns, the facade every request goes
 * through. Every rule about sessions (lifetimes, scopes, metadata, revocation, rate limits) lives
 * once in the engine folder; the bindings only translate HTTP onto these calls. The facade's
 * methods are the named steps of docs/wire-contract.md and delegate to what was chosen when the
 * engine was created: the client registry (`registry.ts`), the metadata storage
 * (`metadata-storage.ts`), the revocation check (`session-revocation.ts`), the rate limits
 * (`rate-limit.ts`), the discovery documents (`discovery.ts`) and the transfer log writer.
 *
 * @packageDocumentation
 */
import { accessTokenSigner, type AccessTokenClaims, type AccessTokenSigner } from '../tokens/access-token.js';
import { mapClaims } from '../tokens/claims-mapping.js';
import {
  DEVELOPMENT_KEYS,
  resolveConfig,
  type AnonymousSessionsOptions,
  type Client,
  type ResolvedConfig,
  type ResourceServer,
} from './config.js';
import {
  ConfigError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidSessionTokenError,
  InvalidTokenError,
  SessionExpiredError,
  UnauthorizedClientError,
} from '../errors/errors.js';
import { developmentKeyRing, importKeyRing, type JWK, type KeyRing, type KeySetInput } from '../keys/keys.js';
import { applyMetadataPatch, type JsonObject } from '../metadata/metadata.js';
import { randomId } from '../internal/random.js';
import { epochSeconds } from '../internal/epoch-seconds.js';
import { withStoreTimeout, type StoreBudget } from '../store/with-timeout.js';
import { createMetadataStorage, type BindStore, type MetadataStorage } from './metadata-storage.js';
import {
  ANONYMOUS_USER_ID,
  sessionTokenCodec,
  toAnonymousSession,
  type AnonymousSession,
  type SessionTokenCodec,
  type SessionTokenPayload,
} from '../tokens/session-token.js';
import {
  supportsEpoch,
  supportsTransferLog,
  type TransferLogEntry,
  type SessionStore,
} from '../store/store.js';
import { openLoginBinding, signLoginBinding, verifyLoginBinding } from '../tokens/login-binding.js';
import { revocationExpiresAt } from '../internal/session-retention.js';
import { runTransfer, type TransferLogWriter, type TransferParameters, type TransferResult } from '../transfer/transfer.js';
import { engineSessionCookie, type SessionCookie } from './session-cookie.js';
import { logoutRequestSchema, parseRequest, tokenRequestSchema, type LogoutRequest, type TokenRequest } from './token-request.js';
import { claimPerProcessWarning } from '../store/memory-store.js';
import { ClientRegistry, type RequestClients } from './registry.js';
import { DiscoveryDocuments, type AuthorizationServerMetadata } from './discovery.js';
import { RateLimiter } from './rate-limit.js';
import { refuseEnded, SessionRevocation } from './session-revocation.js';

/** The JSON body of a successful token response (docs/wire-contract.md). */
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
  /**
   * This request's view of the clients ({@link AnonymousSessions.requestClients}), shared with the
   * binding's origin checks so the client is looked up once per request.
   */
  clients?: RequestClients | undefined;
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
  /**
   * The session cookie the `cookie` option describes: what every middleware reads and writes
   * (the token router, the cookie extractor, the login binding, the transfer), and what a
   * middleware of your own should use too.
   */
  readonly cookie: SessionCookie;
  readonly #sessionTokens: SessionTokenCodec;
  readonly #accessTokens: AccessTokenSigner;
  readonly #registry: ClientRegistry;
  /** The discovery documents: the issuer's, and those of routers mounted elsewhere. */
  readonly #discovery: DiscoveryDocuments;
  /** The revocation check and the store's epoch marker; told of every failing store call. */
  readonly #revocation: SessionRevocation;
  /** The token endpoint's rate limits. */
  readonly #rateLimiter: RateLimiter;
  /**
   * Binds a store to one request's budget: every call bounded by what is left of `storeTimeoutMs`
   * since the request's first store call, so a request answers 503 within `storeTimeoutMs` of it
   * however many calls it makes. (`this.store` bounds each call on its own.)
   */
  readonly #bindStore: BindStore = (store, budget) => withStoreTimeout(store, this.config.storeTimeoutMs, this.#revocation.onStoreFailure, budget);
  /** Where metadata lives (`metadataStorage`), chosen once. */
  readonly #metadata: MetadataStorage;
  /** Where transfers record themselves: `undefined` when the store keeps no log or retention is off. */
  readonly #transferLog: TransferLogWriter | undefined;

  /** Use {@link createAnonymousSessions}, which validates the options and imports the keys. */
  constructor(config: ResolvedConfig, keys: KeyRing) {
    this.config = config;
    this.keys = keys;
    this.#revocation = new SessionRevocation(config);
    this.#rateLimiter = new RateLimiter(config);
    this.store = withStoreTimeout(config.store, config.storeTimeoutMs, this.#revocation.onStoreFailure);
    this.cookie = engineSessionCookie(config);
    this.#sessionTokens = sessionTokenCodec(keys, {
      issuer: config.issuer,
      format: config.sessionTokenFormat,
      clockTolerance: config.clockTolerance,
      expires: config.sessionLifetime > 0,
    });
    this.#accessTokens = accessTokenSigner(keys, { issuer: config.issuer, clockTolerance: config.clockTolerance });
    this.#registry = new ClientRegistry(config);
    this.#metadata = createMetadataStorage(config, this.#bindStore);
    this.#transferLog = transferLogWriter(this.store, config.linkedSessionRetention);
    this.#discovery = new DiscoveryDocuments(config, keys.signingAlgorithms);
  }

  /**
   * Creates or continues a session and issues a session token and an access token (docs/wire-contract.md).
   *
   * @param request - the token request's fields (untrusted; validated here).
   * @param context - the client address and the cookie's session token, from the binding.
   * @throws AnonymousSessionError with the code of the error table in docs/wire-contract.md.
   */
  async issueToken(request: TokenRequest | unknown, context: RequestContext = {}): Promise<IssuedTokens> {
    // The steps of docs/wire-contract.md, `POST /anonymous/token`, in order.
    const input = parseRequest(tokenRequestSchema, request);
    const { client, api, scope } = await this.#authorizeTokenRequest(input, context);
    const budget: StoreBudget = {};
    const store = this.#bindStore(this.config.store, budget);
    const { payload, carried } = await this.#sessionToContinue(store, input, context);
    const now = epochSeconds();
    const { identity, exp } = this.#sessionIdentity(input, payload, now);
    const base = await this.#metadata.base(budget, payload, carried);
    const metadata = await this.#applyPatch(base.metadata, input.metadata);
    // Counted only once the request is known to be good, so refused requests spend no quota.
    await this.#rateLimiter.enforce(store, payload?.session_id, context.ip);
    const saved = await this.#metadata.save(budget, base, {
      // Validated by #applyPatch: a JSON object, or absent.
      patch: input.metadata as JsonObject | undefined,
      continued: payload !== undefined,
      sessionId: identity.session_id,
      metadata,
      exp,
    });
    return this.#signTokens(store, { client, api, scope, identity, exp, now, ...saved });
  }

  /**
   * The request's metadata patch applied to the base. Every check, the host schema included, runs
   * here on the prospective merge; in 'store' mode the store then repeats the size and depth checks
   * inside its atomic merge (packages/core/README.md, Stores).
   */
  async #applyPatch(base: JsonObject, patch: unknown): Promise<JsonObject> {
    return patch === undefined ? base : applyMetadataPatch(base, patch, this.config.metadata);
  }


  /** The client and the API of a token request, and the scopes granted. */
  async #authorizeTokenRequest(input: TokenRequest, context: RequestContext): Promise<{ client: Client; api: ResourceServer; scope: string }> {
    const client = await this.#registry.requireClient(input.client_id, context.clients);
    if (!client.canCreateAnonymousSessions) throw new UnauthorizedClientError();
    // A client-chosen guest id is opt-in per client: otherwise any caller could pick (and so predict
    // or collide with) another guest's user_id.
    if (input.user_id !== undefined && !client.allowUserId) {
      throw new InvalidRequestError('This client may not choose user_id (clients[].allowUserId).');
    }
    const api = await this.#registry.requireResourceServer(input.audience);
    return { client, api, scope: grantScopes(api, input.scope) };
  }

  /**
   * The session a token request continues: the body's `session_token` (which must be live), else
   * the cookie's (ignored when expired or invalid), else none. `carried` is a session issued before
   * the store lost its data under revocationLoss 'reject': it is not continued (it may have been
   * logged out); a fresh session takes its place and carries its metadata.
   */
  async #sessionToContinue(
    store: SessionStore,
    input: TokenRequest,
    context: RequestContext,
  ): Promise<{ payload: SessionTokenPayload | undefined; carried: SessionTokenPayload | undefined }> {
    let opened: OpenedSession | undefined;
    if (input.session_token !== undefined) {
      opened = await this.#openLiveSession(store, input.session_token);
    } else if (context.cookieSessionToken !== undefined) {
      opened = await this.#openLiveSession(store, context.cookieSessionToken).catch((error: unknown) => {
        if (error instanceof InvalidSessionTokenError || error instanceof SessionExpiredError) return undefined;
        throw error;
      });
    }
    const payload = opened?.lost === false ? opened.payload : undefined;
    const carried = opened?.lost === true ? opened.payload : undefined;
    if (opened !== undefined && input.user_id !== undefined) {
      throw new InvalidRequestError('user_id can only be set when a session is created.');
    }
    if (payload === undefined && input.user_id !== undefined && !ANONYMOUS_USER_ID.test(input.user_id)) {
      throw new InvalidRequestError('user_id must be "anon|" followed by 8 to 128 of A-Z a-z 0-9 _ -.');
    }
    return { payload, carried };
  }

  /** Who the session is and until when: a new identity on a create, the token's on a continue. */
  #sessionIdentity(
    input: TokenRequest,
    payload: SessionTokenPayload | undefined,
    now: number,
  ): { identity: SessionIdentity; exp: number | undefined } {
    const lifetime = this.config.sessionLifetime;
    if (payload === undefined) {
      return {
        identity: { user_id: input.user_id ?? `anon|${crypto.randomUUID()}`, session_id: `sess_${randomId(16)}`, created_at: iso(now) },
        exp: lifetime > 0 ? now + lifetime : undefined,
      };
    }
    const createdAt = Math.floor(Date.parse(payload.created_at) / 1000);
    const exp = lifetime === 0 ? undefined : this.config.slidingExpiration ? now + lifetime : createdAt + lifetime;
    if (exp !== undefined && exp <= now) throw new SessionExpiredError();
    return { identity: { user_id: payload.user_id, session_id: payload.session_id, created_at: payload.created_at }, exp };
  }


  /** Seals the session token and signs the access token: the token response. */
  async #signTokens(
    store: SessionStore,
    issue: {
      client: Client;
      api: ResourceServer;
      scope: string;
      identity: SessionIdentity;
      exp: number | undefined;
      now: number;
      metadata: JsonObject;
      metadataVersion: number | undefined;
    },
  ): Promise<IssuedTokens> {
    const { client, api, scope, identity, exp, now, metadata, metadataVersion } = issue;
    const storeEpoch = await this.#revocation.currentEpoch(store);
    const epochClaim = storeEpoch === undefined ? {} : { store_epoch: storeEpoch };
    const session: AnonymousSession = { ...identity, expires_at: exp === undefined ? null : iso(exp), metadata };
    const accessExp = Math.min(now + api.tokenLifetimeForAnonymousAccess, exp ?? Number.POSITIVE_INFINITY);
    const [sessionToken, accessToken] = await Promise.all([
      this.#sessionTokens.encode({
        ...identity,
        metadata,
        ...(metadataVersion === undefined ? {} : { metadata_version: metadataVersion }),
        iat: now,
        ...(exp === undefined ? {} : { exp }),
        ...epochClaim,
      }),
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
        ...epochClaim,
      }),
    ]);
    return {
      response: { session_token: sessionToken, access_token: accessToken, token_type: 'Bearer', expires_in: accessExp - now, scope },
      session,
    };
  }

  /**
   * Verifies a session token and checks it was not ended by logout (nor, with `revocationLoss:
   * 'reject'`, issued before the store lost its data). With `metadataStorage: 'store'` the session's
   * `metadata` is the store's current document, not the token's snapshot; a document the store lost
   * is re-seeded from the snapshot.
   *
   * @throws SessionExpiredError, InvalidSessionTokenError, or TemporarilyUnavailableError (store down).
   */
  async verifySessionToken(token: string): Promise<AnonymousSession> {
    const payload = await this.#sessionTokens.decode(token);
    const budget: StoreBudget = {};
    const [state, read] = await Promise.all([
      this.#revocation.check(this.#bindStore(this.config.store, budget), payload.session_id, payload.store_epoch),
      this.#metadata.read(budget, payload),
    ]);
    refuseEnded(state);
    return toAnonymousSession({ ...payload, metadata: await this.#metadata.current(budget, payload, read) });
  }

  /**
   * Whether a session may no longer be used: it was logged out, or (with `revocationLoss:
   * 'reject'`) its token was issued before the store lost its data. What a revocation check of an
   * access token asks (`checkRevocation`); the bearer guard calls it with the token's `sid` and
   * `store_epoch` claims.
   *
   * @param sessionId - the session's `session_id` (`sid`).
   * @param storeEpoch - the token's `store_epoch` claim, if any.
   * @throws TemporarilyUnavailableError when the store cannot be reached.
   */
  async isSessionEnded(sessionId: string, storeEpoch?: unknown): Promise<boolean> {
    const state = await this.#revocation.check(this.#bindStore(this.config.store, {}), sessionId, typeof storeEpoch === 'string' ? storeEpoch : undefined);
    return state !== 'live';
  }

  /**
   * Ends a session: its `session_id` is revoked in the store until the session would have expired.
   * Ending an already expired or already ended session succeeds and changes nothing.
   *
   * @throws InvalidClientError for an unknown client; InvalidSessionTokenError for a forged token.
   */
  async logout(parameters: LogoutParameters, clients?: RequestClients): Promise<void> {
    await this.#registry.requireClient(parameters.clientId, clients);
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
    const createdAt = Math.floor(Date.parse(payload.created_at) / 1000);
    const until = revocationExpiresAt({ createdAt, exp: payload.exp }, this.config, epochSeconds());
    await this.#bindStore(this.config.store, {}).revokeSession(payload.session_id, until);
  }

  /**
   * Logs out from raw request fields (`client_id`, `session_token`), validating them first.
   *
   * @param request - the logout request's fields (untrusted).
   * @param cookieSessionToken - the cookie's token, used when the body has none.
   */
  async logoutRequest(request: LogoutRequest | unknown, cookieSessionToken?: string, clients?: RequestClients): Promise<void> {
    const input = parseRequest(logoutRequestSchema, request);
    const sessionToken = input.session_token ?? cookieSessionToken;
    if (sessionToken === undefined) {
      throw new InvalidRequestError('session_token is required (in the body or the session cookie).');
    }
    await this.logout({ clientId: input.client_id, sessionToken }, clients);
  }

  /**
   * Verifies an access token this engine issued: pinned algorithms, `typ: at+jwt`, strict
   * `iss`/`aud`/`exp`.
   *
   * @throws InvalidTokenError (401 `invalid_token`), or TemporarilyUnavailableError with
   *   `checkRevocation` when the store is down.
   */
  verifyAccessToken(token: string, options: VerifyAccessTokenOptions): Promise<AccessTokenClaims> {
    let verified: Promise<AccessTokenClaims>;
    try {
      verified = this.#accessTokens.verify(token, options.audience);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!options.checkRevocation) return verified;
    return verified.then(async (claims) => {
      if (await this.isSessionEnded(claims.sid, claims.store_epoch)) throw new InvalidTokenError('The session behind this access token has ended.');
      return claims;
    });
  }

  /** The public JWK Set: signing keys only, never private or symmetric material. */
  jwks(): { keys: readonly Readonly<JWK>[] } {
    return this.keys.publicJwks;
  }

  /**
   * RFC 8414 authorization-server metadata (also served as the OpenID configuration). Its
   * `issuer` is always the configured issuer; its endpoint and JWKS URLs are where the router
   * serves them: under the issuer's path, or, for a router mounted at another path (`mountPath`,
   * e.g. Express `req.baseUrl`), under that path on the issuer's origin.
   *
   * The rule: mount the router at the issuer's path (issuer `https://shop.example.com/auth/` →
   * `app.use('/auth', router)`), so `issuer + .well-known/openid-configuration` — where
   * discovery clients given the issuer look — answers. A router mounted elsewhere still publishes
   * URLs that answer, and the engine warns once. An empty `mountPath` (a router at the root, e.g.
   * behind a proxy that strips the issuer's path) means the issuer's path.
   *
   * @param mountPath - where the router serving the request is mounted.
   */
  metadataDocument(mountPath?: string): AuthorizationServerMetadata {
    return this.#discovery.forMount(mountPath);
  }

  /**
   * Binds an anonymous session to a login that is starting: returns a short-lived signed token to
   * keep in a cookie or the login `state`. The callback's transfer accepts only this session.
   */
  createLoginBinding(sessionId: string): Promise<string> {
    return signLoginBinding(this.keys, this.config.issuer, sessionId);
  }

  /**
   * The session id a login binding names, or `undefined` when it is invalid or expired. It does not
   * say whether the binding was already used: a binding serves one transfer callback, and
   * {@link transfer} checks that in the store.
   */
  verifyLoginBinding(token: string): Promise<string | undefined> {
    return verifyLoginBinding(this.keys, this.config.issuer, token, this.config.clockTolerance);
  }

  /**
   * Transfers a guest session to the account that just signed up or logged in (docs/login-flow.md): runs
   * `onPreRegistration` or `onPostLogin`, applies what they set in one `users.update`, at most once
   * per (session, user) for as long as the session lives; each login binding serves one callback.
   * See {@link TransferParameters}.
   */
  async transfer(parameters: TransferParameters): Promise<TransferResult> {
    return runTransfer(
      {
        verifySessionToken: (token) => this.verifySessionToken(token),
        openLoginBinding: (token) => openLoginBinding(this.keys, this.config.issuer, token, this.config.clockTolerance),
        lifetime: this.config,
        store: this.store,
        transferLog: this.#transferLog,
        logger: this.config.logger,
      },
      parameters,
    );
  }

  /**
   * The transfer log: which guest sessions were transferred into this account, oldest first, for as
   * long as `linkedSessionRetention` keeps them. Every successful {@link transfer} records one entry
   * (session id, anonymous user id, user id, time, user agent).
   *
   * @param userId - the account's user id.
   * @throws ConfigError when the store keeps no transfer log (`recordLink`, `listLinks`);
   *   TemporarilyUnavailableError when the store cannot be reached.
   */
  async transferLog(userId: string): Promise<TransferLogEntry[]> {
    const store = this.store;
    if (!supportsTransferLog(store)) {
      throw new ConfigError([{ path: 'store', message: 'does not implement recordLink and listLinks, so it keeps no transfer log' }]);
    }
    return store.listLinks(userId);
  }

  /**
   * @deprecated Renamed {@link AnonymousSessions.transferLog}: the entries are a log of transfers,
   * not sessions still linked to anything. This alias goes in the next release.
   */
  linkedSessions(userId: string): Promise<TransferLogEntry[]> {
    return this.transferLog(userId);
  }

  /**
   * Whether `origin` may call the endpoints cross-origin: it is in the `allowedOrigins` of the
   * client `clientId`, or, without a client id, of any statically configured client.
   */
  async isAllowedOrigin(origin: string, clientId?: string): Promise<boolean> {
    return this.#registry.forRequest().isAllowedOrigin(origin, clientId);
  }

  /**
   * One request's view of the clients, which looks each client up at most once: a binding makes one
   * per request and passes it to {@link AnonymousSessions.issueToken} (`RequestContext.clients`) and
   * to its origin checks, so a `clients` resolver runs once per request.
   */
  requestClients(): RequestClients {
    return this.#registry.forRequest();
  }


  /**
   * Opens a session token for a continue: refused when logged out; `lost` when it was issued before
   * the store lost its data and `revocationLoss` is 'reject'.
   */
  async #openLiveSession(store: SessionStore, token: string): Promise<OpenedSession> {
    const payload = await this.#sessionTokens.decode(token);
    const state = await this.#revocation.check(store, payload.session_id, payload.store_epoch);
    if (state === 'revoked') refuseEnded(state);
    return { payload, lost: state === 'lost' };
  }
}

/** Who a session is: the part of the session token that never changes. */
type SessionIdentity = Pick<SessionTokenPayload, 'user_id' | 'session_id' | 'created_at'>;

/** A session token opened for a continue. */
interface OpenedSession {
  payload: SessionTokenPayload;
  /** Issued before the store lost its data, and `revocationLoss` is 'reject'. */
  lost: boolean;
}

/** The transfer log a transfer writes to, chosen once: none without the store's operations or with retention off. */
function transferLogWriter(store: SessionStore, retention: number | false): TransferLogWriter | undefined {
  if (retention === false || !supportsTransferLog(store)) return undefined;
  return { retention, record: (entry, expiresAt) => store.recordLink(entry, expiresAt) };
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
    if (
      !(error instanceof ConfigError) ||
      keyInput === undefined ||
      keyInput === DEVELOPMENT_KEYS ||
      error.issues.some((issue) => issue.path.startsWith('keys'))
    ) {
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
  if (config.keys === undefined || config.keys === DEVELOPMENT_KEYS) {
    keys = await developmentKeyRing(config.developmentSigningAlgorithm);
    config.logger.warn(
      'No keys configured: using ephemeral development keys. Tokens die on restart and cannot be shared between instances. Generate a key set with `npx -p @anonymous-sessions/core anonymous-sessions keys generate`.',
    );
  } else {
    keys = await importKeyRing(config.keys, { requireEncryptionKey: config.sessionTokenFormat === 'jwe' });
  }
  if (config.sessionLifetime === 0) {
    config.logger.warn('sessionLifetime is 0: anonymous sessions never expire. Only logout ends them.');
  }
  if (config.production && claimPerProcessWarning(config.store)) {
    config.logger.warn(
      'memoryStore() is per process: logouts, rate-limit counters and transfer marks live only in this process, so another instance accepts a logged-out session and counts its own limits, and a restart forgets them all. Use @anonymous-sessions/redis or @anonymous-sessions/postgres in production.',
    );
  }
  if (!supportsEpoch(config.store)) {
    config.logger.warn(
      'The store has no epoch(): if it loses its data, every logout recorded in it is undone and nothing notices (see revocationLoss).',
    );
  }
  return new AnonymousSessions(config, keys);
}
