/**
 * The client's side of the wire contract: the HTTP calls, the stored session token, and the token
 * requests, which run one at a time because each answer rotates the session token. Private: the
 * client (`client.ts`) composes it.
 */
import { accessTokenCache, accessTokenCacheKey, type AccessTokenCache } from '../access-token-cache.js';
import { AnonymousSessionClientError, isSessionEndedError } from '../errors.js';
import type { AnonymousClientStorage } from '../storage.js';
import type { AnonymousSession, JsonObject, TokenResponse } from '../types.js';
import { serialLane, type SerialLane } from './serial.js';
import { asSession, asTokenResponse, sendRequest, type FetchFunction, type FetchRequestInit } from './transport.js';

const TOKEN_PATH = '/anonymous/token';
const LOGOUT_PATH = '/anonymous/logout';
const SESSION_PATH = '/anonymous/session';

/** What a token request carries besides `client_id`. */
export interface TokenFields {
  audience?: string | undefined;
  scope?: string | undefined;
  metadata?: JsonObject | undefined;
  userId?: string | undefined;
  /** Start a new session even when one is stored. */
  fresh?: boolean;
}

/** How a {@link TokenChannel} reaches the server and keeps the session token. */
export interface TokenChannelSettings {
  clientId: string;
  mode: 'cookie' | 'token';
  /** Where the router is mounted, without a trailing slash. */
  baseUrl: string;
  fetchFunction: FetchFunction;
  /** Keeps the session token (`'token'` mode). */
  storage: AnonymousClientStorage;
  /** The storage key of the session token. */
  tokenKey: string;
}

/** The HTTP calls of the wire contract and the session token they rotate. */
export class TokenChannel {
  /** The access tokens, per audience and scope. */
  readonly accessTokens: AccessTokenCache = accessTokenCache();
  readonly #settings: TokenChannelSettings;
  readonly #credentials: FetchRequestInit['credentials'];
  /** Every call that sends a session token, one at a time. */
  readonly #lane: SerialLane = serialLane();

  constructor(settings: TokenChannelSettings) {
    this.#settings = settings;
    this.#credentials = settings.mode === 'cookie' ? 'include' : 'omit';
  }

  /** `GET /anonymous/session` with the given token, or the cookie's when `undefined`. */
  async fetchSession(sessionToken: string | undefined): Promise<AnonymousSession> {
    const { fetchFunction, baseUrl } = this.#settings;
    return asSession(
      await sendRequest(fetchFunction, baseUrl + SESSION_PATH, {
        method: 'GET',
        headers: sessionToken === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', Authorization: `Bearer ${sessionToken}` },
        credentials: this.#credentials,
      }),
    );
  }

  /** The stored session token (`'token'` mode); `undefined` in `'cookie'` mode or when none is stored. */
  async readSessionToken(): Promise<string | undefined> {
    if (this.#settings.mode === 'cookie') return undefined;
    const value = await this.#settings.storage.getItem(this.#settings.tokenKey);
    return typeof value === 'string' && value !== '' ? value : undefined;
  }

  /** Forgets the session here: the cached access tokens and the stored token. */
  async forgetSession(): Promise<void> {
    this.accessTokens.clear();
    if (this.#settings.mode === 'token') await this.#settings.storage.removeItem(this.#settings.tokenKey);
  }

  /**
   * `POST /anonymous/token`, one at a time. Continues the stored session (token mode) or the cookie's
   * (cookie mode); a stored token the server calls expired or invalid is dropped and a new session
   * begins, once. Stores the rotated session token and caches the access token.
   */
  requestTokens(fields: TokenFields): Promise<TokenResponse> {
    return this.#lane.run(async () => {
      let sessionToken = fields.fresh === true ? undefined : await this.readSessionToken();
      let body: unknown;
      try {
        body = await this.#postTokenRequest(fields, sessionToken);
      } catch (error) {
        if (sessionToken === undefined || !isSessionEndedError(error)) throw error;
        await this.forgetSession();
        sessionToken = undefined;
        body = await this.#postTokenRequest(fields, undefined);
      }
      const response = asTokenResponse(body);
      const { mode, storage, tokenKey } = this.#settings;
      // A new session: access tokens cached for the old one must not be served any more.
      if (fields.fresh === true || (mode === 'token' && sessionToken === undefined)) this.accessTokens.clear();
      if (mode === 'token') await storage.setItem(tokenKey, response.session_token);
      this.accessTokens.set(accessTokenCacheKey(fields.audience, fields.scope), response.access_token, response.expires_in);
      return response;
    });
  }

  /**
   * `POST /anonymous/logout` (after any token request under way), then forgets the session here.
   * A session already ended, or in cookie mode no cookie to end, is not an error.
   */
  logout(): Promise<void> {
    return this.#lane.run(async () => {
      const sessionToken = await this.readSessionToken();
      const { mode, clientId } = this.#settings;
      if (mode === 'cookie' || sessionToken !== undefined) {
        try {
          await this.#post(LOGOUT_PATH, { client_id: clientId, session_token: sessionToken });
        } catch (error) {
          // Already ended; or, in cookie mode, there was no cookie to end (400 invalid_request).
          const nothingToEnd = mode === 'cookie' && error instanceof AnonymousSessionClientError && error.code === 'invalid_request';
          if (!isSessionEndedError(error) && !nothingToEnd) throw error;
        }
      }
      await this.forgetSession();
    });
  }

  #postTokenRequest(fields: TokenFields, sessionToken: string | undefined): Promise<unknown> {
    return this.#post(TOKEN_PATH, {
      client_id: this.#settings.clientId,
      audience: fields.audience,
      scope: fields.scope,
      session_token: sessionToken,
      metadata: fields.metadata,
      user_id: fields.userId,
    });
  }

  #post(path: string, body: Record<string, unknown>): Promise<unknown> {
    return sendRequest(this.#settings.fetchFunction, this.#settings.baseUrl + path, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: this.#credentials,
    });
  }
}
