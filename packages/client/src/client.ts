/**
 * `createAnonymousClient(options)`: the guest-session client for browsers and Node. It creates and
 * recovers sessions, caches access tokens per audience with single flight, batches metadata
 * updates into one request, and keeps updates made offline until the network is back.
 *
 * @packageDocumentation
 */
import { accessTokenCacheKey } from './access-token-cache.js';
import { AnonymousSessionClientError, isSessionEndedError } from './errors.js';
import {
  PendingUpdates,
  type SyncOutcome as PendingSyncOutcome,
  type UpdateOutcome as PendingUpdateOutcome,
} from './internal/pending-updates.js';
import { TokenChannel } from './internal/token-channel.js';
import type { FetchFunction } from './internal/transport.js';
import { isJsonObject } from './merge-patch.js';
import { singleFlight } from './single-flight.js';
import { memoryStorage, type AnonymousClientStorage } from './storage.js';
import type { AnonymousSession, JsonObject } from './types.js';

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
export type UpdateOutcome = PendingUpdateOutcome;

/** What {@link AnonymousClient.syncPendingUpdates} did: `'empty'` when nothing was pending. */
export type SyncOutcome = PendingSyncOutcome;

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
  const { clientId, mode } = options;
  const storage = options.storage ?? memoryStorage();
  const prefix = options.storageKeyPrefix ?? `anonymous-sessions:${clientId}:`;
  const browser = globalThis as BrowserGlobals;
  const defaults = { audience: options.audience, scope: options.scope };
  const channel = new TokenChannel({
    clientId,
    mode,
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    fetchFunction: options.fetch ?? ((url, init) => globalThis.fetch(url, init)),
    storage,
    tokenKey: `${prefix}session_token`,
  });
  const updates = new PendingUpdates({
    storage,
    pendingKey: `${prefix}pending_metadata`,
    batchWindowMs: options.batchWindowMs ?? 0,
    send: (patch) => channel.requestTokens({ ...defaults, metadata: patch }),
    isOffline: () => browser.navigator?.onLine === false,
  });
  const sessionFlight = singleFlight<0, AnonymousSession>();
  const accessTokenFlights = singleFlight<string, string>();

  const onOnline = (): void => {
    updates.sync().catch((error: unknown) => options.onSyncError?.(error));
  };
  browser.addEventListener?.('online', onOnline);

  const getAccessToken = async (request: AccessTokenOptions = {}): Promise<string> => {
    const { audience, scope } = accessTokenTarget(defaults, request);
    const key = accessTokenCacheKey(audience, scope);
    const cached = request.forceRefresh === true ? undefined : channel.accessTokens.get(key);
    if (cached !== undefined) return cached;
    return accessTokenFlights.run(key, async () => (await channel.requestTokens({ audience, scope })).access_token);
  };

  return {
    mode,

    getSession: () => sessionFlight.run(0, () => loadSession(channel, updates, mode, defaults)),

    async createSession(request = {}) {
      await updates.ready;
      const response = await channel.requestTokens({
        ...defaults,
        metadata: request.metadata === undefined ? undefined : cloneJson(request.metadata),
        userId: request.userId,
        fresh: true,
      });
      return channel.fetchSession(mode === 'token' ? response.session_token : undefined);
    },

    async updateSession(request) {
      if (!isJsonObject(request?.metadata)) throw new TypeError('updateSession: metadata must be a JSON object.');
      const patch = cloneJson(request.metadata);
      await updates.ready;
      return updates.add(patch);
    },

    syncPendingUpdates: () => updates.sync(),

    hasPendingUpdates: () => updates.hasPending(),

    async logout() {
      await updates.ready;
      await updates.idle(); // let a send under way finish; what is still pending belongs to the ended session
      await channel.logout();
      await updates.dropAll(() => new AnonymousSessionClientError('logged_out', 0, 'The session ended before this update was sent.'));
    },

    getAccessToken,

    async refreshIfNeeded(request = {}) {
      const { audience, scope } = accessTokenTarget(defaults, request);
      if (request.forceRefresh !== true && channel.accessTokens.get(accessTokenCacheKey(audience, scope)) !== undefined) return false;
      await getAccessToken({ ...request, forceRefresh: true });
      return true;
    },

    dispose() {
      browser.removeEventListener?.('online', onOnline);
    },
  };
}

/** The client's default audience and scope. */
interface TokenDefaults {
  audience: string | undefined;
  scope: string | undefined;
}

/** The audience and scope of an access-token request: the client's scope only for its own audience. */
function accessTokenTarget(defaults: TokenDefaults, request: AccessTokenOptions): TokenDefaults {
  const audience = request.audience ?? defaults.audience;
  return { audience, scope: request.scope ?? (audience === defaults.audience ? defaults.scope : undefined) };
}

/**
 * The current session, read from the server after the pending updates went out; creates one when
 * there is none. When the server says the session ended, a new one is started, once.
 */
async function loadSession(channel: TokenChannel, updates: PendingUpdates, mode: AnonymousClientMode, defaults: TokenDefaults): Promise<AnonymousSession> {
  await updates.settle();
  let recovered = false;
  for (;;) {
    let sessionToken = await channel.readSessionToken();
    if (mode === 'token' && sessionToken === undefined) {
      sessionToken = (await channel.requestTokens(defaults)).session_token;
    }
    try {
      return await channel.fetchSession(sessionToken);
    } catch (error) {
      if (recovered || !isSessionEndedError(error)) throw error;
      recovered = true;
      await channel.forgetSession();
      // Cookie mode: the server ignores the dead cookie (and has just cleared it) and starts anew.
      if (mode === 'cookie') await channel.requestTokens(defaults);
    }
  }
}
