/**
 * `createAnonymousClient(options)`: the guest-session client for browsers and Node. It creates and
 * recovers sessions, caches access tokens per audience with single flight, batches metadata
 * updates into one request, and keeps updates made offline until the network is back.
 *
 * @packageDocumentation
 */
import { accessTokenCache, accessTokenCacheKey } from './access-token-cache.js';
import { AnonymousSessionClientError, isNetworkError, isSessionEndedError } from './errors.js';
import { serialLane } from './internal/serial.js';
import { asSession, asTokenResponse, sendRequest, type FetchFunction, type FetchRequestInit } from './internal/transport.js';
import { isJsonObject } from './merge-patch.js';
import { createPatchQueue, type PatchSegment } from './patch-queue.js';
import { singleFlight } from './single-flight.js';
import { memoryStorage, type AnonymousClientStorage } from './storage.js';
import type { AnonymousSession, JsonObject, TokenResponse } from './types.js';

/**
 * Where the session token lives.
 * - `'cookie'`: in the server's HttpOnly `anon` cookie; scripts never see it. Requests use
 *   `credentials: 'include'`. Needs a same-site API (or CORS with `allowedOrigins`) and, outside a
 *   browser, a `fetch` with a cookie jar.
 * - `'token'`: in the client's `storage`, sent in request bodies and as `Authorization: Bearer`.
 *   Requests use `credentials: 'omit'`.
 */
export type AnonymousClientMode = 'cookie' | 'token';

/** Options of {@link createAnonymousClient}. */
export interface AnonymousClientOptions {
  /**
   * Where the token router is mounted: `''` for the page's own origin, `'/auth'`, or
   * `'https://shop.example.com'`. The client appends `/anonymous/token` and friends.
   */
  baseUrl: string;
  /** The `client_id` the server knows, with `canCreateAnonymousSessions: true`. */
  clientId: string;
  /** The API (`audience`) of the access tokens; may be left out when the server has exactly one. */
  audience?: string;
  /** Space-separated scopes for {@link audience}; default: every anonymous scope of the API. */
  scope?: string;
  /** Where the session token lives: see {@link AnonymousClientMode}. */
  mode: AnonymousClientMode;
  /**
   * Keeps the session token (`'token'` mode) and the offline queue. Default {@link memoryStorage}:
   * nothing survives a reload. Use {@link localStorageAdapter} or your own async storage to persist.
   */
  storage?: AnonymousClientStorage;
  /** Prefix of the storage keys. Default `anonymous-sessions:<clientId>:`. */
  storageKeyPrefix?: string;
  /** The `fetch` to use. Default: the global `fetch`. */
  fetch?: FetchFunction;
  /**
   * How long metadata updates are collected before they are sent as one request, in ms. Default
   * `0`: everything updated in the same tick of the event loop.
   */
  batchWindowMs?: number;
  /** Called with the error when a sync started by the browser's `online` event fails. */
  onSyncError?: (error: unknown) => void;
}

/** Options of {@link AnonymousClient.createSession}. */
export interface CreateSessionOptions {
  /** Metadata the new session starts with. */
  metadata?: JsonObject;
  /**
   * The guest's id: `anon|` + 8–128 of `[A-Za-z0-9_-]`. Default: the server picks `anon|<uuid>`.
   * The server accepts it only from a client configured with `allowUserId: true` (otherwise 400
   * `invalid_request`).
   */
  userId?: string;
}

/** Options of {@link AnonymousClient.updateSession}. */
export interface UpdateSessionOptions {
  /** A JSON Merge Patch (RFC 7396) onto the session's metadata: `null` deletes a key. */
  metadata: JsonObject;
}

/** Options of {@link AnonymousClient.getAccessToken} and {@link AnonymousClient.refreshIfNeeded}. */
export interface AccessTokenOptions {
  /** The API. Default: the client's `audience`. */
  audience?: string;
  /** Space-separated scopes. Default: the client's `scope` for its own audience, else the API's anonymous scopes. */
  scope?: string;
  /** Skip the cache and ask the server (concurrent callers still share one request). */
  forceRefresh?: boolean;
}

/** What happened to an update: sent to the server, or kept in the offline queue. */
export type UpdateOutcome = 'sent' | 'queued';

/** What {@link AnonymousClient.syncPendingUpdates} did: `'empty'` when nothing was pending. */
export type SyncOutcome = UpdateOutcome | 'empty';

/** The client {@link createAnonymousClient} returns. */
export interface AnonymousClient {
  /** Where the session token lives. */
  readonly mode: AnonymousClientMode;

  /**
   * The current session, read from the server; creates one when there is none. When the server
   * says `session_expired` or `invalid_session_token`, a new session is started, once. Pending
   * updates (batch window, offline queue) are sent first, so the answer includes them.
   */
  getSession(): Promise<AnonymousSession>;

  /**
   * Starts a new session with the given metadata (and guest id), replacing the stored one in
   * `'token'` mode. In `'cookie'` mode a live cookie session is continued by the server (and a
   * `userId` is refused): call {@link logout} first to start over.
   */
  createSession(options?: CreateSessionOptions): Promise<AnonymousSession>;

  /**
   * Merges `metadata` (JSON Merge Patch) into the session. Updates in the same batch window go out
   * as ONE request, composed in order. Resolves `'sent'` once the server accepted it, or `'queued'`
   * when the network was down: the patch is then kept (and persisted in `storage`) until the browser
   * goes back online, {@link syncPendingUpdates} is called, or the next update goes out. Rejects with
   * the server's error (e.g. `invalid_metadata`, `metadata_too_large`); such a patch is dropped.
   */
  updateSession(options: UpdateSessionOptions): Promise<UpdateOutcome>;

  /**
   * Sends every pending update now, as one request. Rejects with the server's error if it refuses
   * them (they are then dropped).
   */
  syncPendingUpdates(): Promise<SyncOutcome>;

  /** Whether updates are waiting to be sent (offline queue or batch window). */
  hasPendingUpdates(): boolean;

  /**
   * Ends the session on the server (revoked; the cookie is cleared) and forgets it here: stored
   * token, cached access tokens, and updates not sent yet (the offline queue is discarded; updates
   * still in the batch window reject with `logged_out`). Ending a session that is already gone
   * succeeds. On a network error nothing is forgotten and the error is thrown.
   */
  logout(): Promise<void>;

  /**
   * An access token for the audience: from the cache until one minute before it expires, else from
   * the server (creating a session if needed). Concurrent callers share one request.
   */
  getAccessToken(options?: AccessTokenOptions): Promise<string>;

  /**
   * Fetches a new access token when the cached one is missing or expires within a minute.
   * Resolves `true` when it asked the server.
   */
  refreshIfNeeded(options?: AccessTokenOptions): Promise<boolean>;

  /** Stops listening for the browser's `online` event. Pending updates are still sent. */
  dispose(): void;
}

const TOKEN_PATH = '/anonymous/token';
const LOGOUT_PATH = '/anonymous/logout';
const SESSION_PATH = '/anonymous/session';

/** Someone waiting for a patch segment. */
interface Waiter {
  resolve(outcome: UpdateOutcome): void;
  reject(error: unknown): void;
}

/** What a token request carries besides `client_id`. */
interface TokenFields {
  audience?: string | undefined;
  scope?: string | undefined;
  metadata?: JsonObject | undefined;
  userId?: string | undefined;
  /** Start a new session even when one is stored. */
  fresh?: boolean;
}

/** The browser's event target and connectivity flag, where they exist. */
interface BrowserGlobals {
  addEventListener?: (type: string, listener: () => void) => void;
  removeEventListener?: (type: string, listener: () => void) => void;
  navigator?: { onLine?: boolean };
}

/** Throws a `TypeError` listing every bad option. */
function checkOptions(options: AnonymousClientOptions): void {
  const problems: string[] = [];
  if (typeof options.baseUrl !== 'string') problems.push('baseUrl must be a string');
  if (typeof options.clientId !== 'string' || options.clientId === '') problems.push('clientId must be a non-empty string');
  if (options.mode !== 'cookie' && options.mode !== 'token') problems.push('mode must be "cookie" or "token"');
  const window = options.batchWindowMs;
  if (window !== undefined && !(Number.isFinite(window) && window >= 0)) problems.push('batchWindowMs must be a number >= 0');
  if (problems.length > 0) throw new TypeError(`createAnonymousClient: ${problems.join('; ')}.`);
}

/** A deep copy of a JSON object, so later changes by the caller do not change what is sent. */
const cloneJson = (value: JsonObject): JsonObject => JSON.parse(JSON.stringify(value)) as JsonObject;

/**
 * Creates a client for the anonymous-session endpoints.
 *
 * @param options - see {@link AnonymousClientOptions}.
 * @throws TypeError for bad options.
 * @example
 * ```ts
 * const anon = createAnonymousClient({ baseUrl: '', clientId: 'shop-web', audience: 'https://api.shop.example', mode: 'cookie' });
 * await anon.updateSession({ metadata: { cart: [{ sku: 'tee', qty: 1 }] } });
 * const token = await anon.getAccessToken();
 * ```
 */
export function createAnonymousClient(options: AnonymousClientOptions): AnonymousClient {
  checkOptions(options);
  const { clientId, audience: defaultAudience, scope: defaultScope, mode } = options;
  const storage = options.storage ?? memoryStorage();
  const prefix = options.storageKeyPrefix ?? `anonymous-sessions:${clientId}:`;
  const tokenKey = `${prefix}session_token`;
  const pendingKey = `${prefix}pending_metadata`;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const fetchFunction: FetchFunction = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const batchWindowMs = options.batchWindowMs ?? 0;
  const credentials: FetchRequestInit['credentials'] = mode === 'cookie' ? 'include' : 'omit';
  const browser = globalThis as BrowserGlobals;

  const accessTokens = accessTokenCache();
  const accessTokenFlights = singleFlight<string, string>();
  const sessionFlight = singleFlight<0, AnonymousSession>();
  const tokenLane = serialLane();
  const queue = createPatchQueue<Waiter>();
  let batchTimer: ReturnType<typeof setTimeout> | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let persisted = false;
  let persisting: Promise<void> = Promise.resolve();

  // ---- HTTP ----------------------------------------------------------------------------------

  const post = (path: string, body: Record<string, unknown>): Promise<unknown> =>
    sendRequest(fetchFunction, baseUrl + path, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials,
    });

  const fetchSession = async (sessionToken: string | undefined): Promise<AnonymousSession> =>
    asSession(
      await sendRequest(fetchFunction, baseUrl + SESSION_PATH, {
        method: 'GET',
        headers: sessionToken === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', Authorization: `Bearer ${sessionToken}` },
        credentials,
      }),
    );

  // ---- the stored session ----------------------------------------------------------------------

  const readSessionToken = async (): Promise<string | undefined> => {
    if (mode === 'cookie') return undefined;
    const value = await storage.getItem(tokenKey);
    return typeof value === 'string' && value !== '' ? value : undefined;
  };

  const forgetSession = async (): Promise<void> => {
    accessTokens.clear();
    if (mode === 'token') await storage.removeItem(tokenKey);
  };

  /**
   * `POST /anonymous/token`, one at a time. Continues the stored session (token mode) or the cookie's
   * (cookie mode); a stored token the server calls expired or invalid is dropped and a new session
   * begins, once. Stores the rotated session token and caches the access token.
   */
  const requestTokens = (fields: TokenFields): Promise<TokenResponse> =>
    tokenLane.run(async () => {
      const request = (sessionToken: string | undefined): Promise<unknown> =>
        post(TOKEN_PATH, {
          client_id: clientId,
          audience: fields.audience,
          scope: fields.scope,
          session_token: sessionToken,
          metadata: fields.metadata,
          user_id: fields.userId,
        });
      let sessionToken = fields.fresh === true ? undefined : await readSessionToken();
      let body: unknown;
      try {
        body = await request(sessionToken);
      } catch (error) {
        if (sessionToken === undefined || !isSessionEndedError(error)) throw error;
        await forgetSession();
        sessionToken = undefined;
        body = await request(undefined);
      }
      const response = asTokenResponse(body);
      // A new session: access tokens cached for the old one must not be served any more.
      if (fields.fresh === true || (mode === 'token' && sessionToken === undefined)) accessTokens.clear();
      if (mode === 'token') await storage.setItem(tokenKey, response.session_token);
      accessTokens.set(accessTokenCacheKey(fields.audience, fields.scope), response.access_token, response.expires_in);
      return response;
    });

  // ---- the offline queue ---------------------------------------------------------------------

  /** Writes the queue to storage (or removes it when empty), one write at a time, best effort. */
  const persistQueue = (): Promise<void> => {
    persisting = persisting.then(async () => {
      try {
        if (queue.size > 0) {
          await storage.setItem(pendingKey, JSON.stringify(queue.patches()));
          persisted = true;
        } else if (persisted) {
          await storage.removeItem(pendingKey);
          persisted = false;
        }
      } catch {
        // The storage refused (quota, private mode): the queue stays in memory.
      }
    });
    return persisting;
  };

  /** Loads the patches a previous page (or process) could not send. */
  const restoreQueue = async (): Promise<void> => {
    try {
      const saved = await storage.getItem(pendingKey);
      if (typeof saved !== 'string') return;
      persisted = true;
      const patches: unknown = JSON.parse(saved);
      if (!Array.isArray(patches)) throw new TypeError('not a list');
      for (const patch of patches) if (isJsonObject(patch)) queue.append(patch);
    } catch {
      await persistQueue(); // unreadable: replace it with what we have
    }
  };
  const ready = restoreQueue();

  const settleSegment = (segment: PatchSegment<Waiter>, outcome: UpdateOutcome): void => {
    for (const waiter of segment.waiters.splice(0)) waiter.resolve(outcome);
  };

  /** Sends every queued segment in order; on a network error keeps the rest for later. Never rejects. */
  const sendQueued = async (): Promise<void> => {
    const segments = queue.takeAll();
    if (segments.length === 0) return;
    let held: PatchSegment<Waiter>[] = [];
    if (browser.navigator?.onLine === false) {
      held = segments;
    } else {
      for (const [index, segment] of segments.entries()) {
        try {
          await requestTokens({ audience: defaultAudience, scope: defaultScope, metadata: segment.patch });
          settleSegment(segment, 'sent');
        } catch (error) {
          if (isNetworkError(error)) {
            held = segments.slice(index);
            break;
          }
          for (const waiter of segment.waiters.splice(0)) waiter.reject(error);
        }
      }
    }
    for (const segment of held) settleSegment(segment, 'queued');
    queue.putBack(held);
    await persistQueue();
  };

  /** Starts a flush after the ones already running. */
  const flush = (): Promise<void> => {
    if (batchTimer !== undefined) {
      clearTimeout(batchTimer);
      batchTimer = undefined;
    }
    flushing = flushing.then(sendQueued);
    return flushing;
  };

  /** Sends every pending update now (batch window and offline queue), and waits for the sends. */
  const settleUpdates = async (): Promise<void> => {
    await ready;
    if (queue.size > 0) void flush();
    await flushing;
  };

  const syncPendingUpdates = async (): Promise<SyncOutcome> => {
    await ready;
    await flushing;
    if (queue.size === 0) return 'empty';
    // One waiter per segment: the sync is 'sent' only if every segment was.
    const segments = queue.takeAll();
    const outcomes = segments.map(
      (segment) => new Promise<UpdateOutcome>((resolve, reject) => segment.waiters.push({ resolve, reject })),
    );
    queue.putBack(segments);
    void flush();
    const results = await Promise.all(outcomes);
    return results.includes('queued') ? 'queued' : 'sent';
  };

  const onOnline = (): void => {
    syncPendingUpdates().catch((error: unknown) => options.onSyncError?.(error));
  };
  browser.addEventListener?.('online', onOnline);

  // ---- sessions ------------------------------------------------------------------------------

  const loadSession = async (): Promise<AnonymousSession> => {
    await settleUpdates();
    let recovered = false;
    for (;;) {
      let sessionToken = await readSessionToken();
      if (mode === 'token' && sessionToken === undefined) {
        sessionToken = (await requestTokens({ audience: defaultAudience, scope: defaultScope })).session_token;
      }
      try {
        return await fetchSession(sessionToken);
      } catch (error) {
        if (recovered || !isSessionEndedError(error)) throw error;
        recovered = true;
        await forgetSession();
        // Cookie mode: the server ignores the dead cookie (and has just cleared it) and starts anew.
        if (mode === 'cookie') await requestTokens({ audience: defaultAudience, scope: defaultScope });
      }
    }
  };

  const accessTokenTarget = (request: AccessTokenOptions): { audience: string | undefined; scope: string | undefined } => {
    const audience = request.audience ?? defaultAudience;
    return { audience, scope: request.scope ?? (audience === defaultAudience ? defaultScope : undefined) };
  };

  const getAccessToken = async (request: AccessTokenOptions = {}): Promise<string> => {
    const { audience, scope } = accessTokenTarget(request);
    const key = accessTokenCacheKey(audience, scope);
    const cached = request.forceRefresh === true ? undefined : accessTokens.get(key);
    if (cached !== undefined) return cached;
    return accessTokenFlights.run(key, async () => (await requestTokens({ audience, scope })).access_token);
  };

  return {
    mode,

    getSession: () => sessionFlight.run(0, loadSession),

    async createSession(request = {}) {
      await ready;
      const response = await requestTokens({
        audience: defaultAudience,
        scope: defaultScope,
        metadata: request.metadata === undefined ? undefined : cloneJson(request.metadata),
        userId: request.userId,
        fresh: true,
      });
      return fetchSession(mode === 'token' ? response.session_token : undefined);
    },

    async updateSession(request) {
      if (!isJsonObject(request?.metadata)) throw new TypeError('updateSession: metadata must be a JSON object.');
      const patch = cloneJson(request.metadata);
      await ready;
      return new Promise<UpdateOutcome>((resolve, reject) => {
        queue.append(patch, [{ resolve, reject }]);
        batchTimer ??= setTimeout(() => void flush(), batchWindowMs);
      });
    },

    syncPendingUpdates,

    hasPendingUpdates: () => queue.size > 0 || batchTimer !== undefined,

    async logout() {
      await ready;
      await flushing; // let a send under way finish; what is still pending belongs to the ended session
      await tokenLane.run(async () => {
        const sessionToken = await readSessionToken();
        if (mode === 'cookie' || sessionToken !== undefined) {
          try {
            await post(LOGOUT_PATH, { client_id: clientId, session_token: sessionToken });
          } catch (error) {
            // Already ended; or, in cookie mode, there was no cookie to end (400 invalid_request).
            const nothingToEnd = mode === 'cookie' && error instanceof AnonymousSessionClientError && error.code === 'invalid_request';
            if (!isSessionEndedError(error) && !nothingToEnd) throw error;
          }
        }
        await forgetSession();
      });
      if (batchTimer !== undefined) clearTimeout(batchTimer);
      batchTimer = undefined;
      const dropped = queue.takeAll();
      for (const segment of dropped) {
        const error = new AnonymousSessionClientError('logged_out', 0, 'The session ended before this update was sent.');
        for (const waiter of segment.waiters) waiter.reject(error);
      }
      await persistQueue();
    },

    getAccessToken,

    async refreshIfNeeded(request = {}) {
      const { audience, scope } = accessTokenTarget(request);
      if (request.forceRefresh !== true && accessTokens.get(accessTokenCacheKey(audience, scope)) !== undefined) return false;
      await getAccessToken({ ...request, forceRefresh: true });
      return true;
    },

    dispose() {
      browser.removeEventListener?.('online', onOnline);
    },
  };
}
