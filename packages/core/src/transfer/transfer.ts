/**
 * Session transfer (docs/login-flow.md): when a guest signs up or logs in, the host's Auth0-style hooks
 * (`onPreRegistration` for new users, `onPostLogin` for returning ones) read
 * `event.anonymous_session` and say what to keep through `api.user.setAppMetadata`,
 * `api.user.setUserMetadata` and `api.accessToken.setCustomClaim`. What they set is applied in one
 * `users.update` call, at most once per (session, user), even under parallel or replayed callbacks,
 * and for as long as the session can still produce a token (in every lifetime mode).
 *
 * The session must be bound to the login when it starts (a login binding, see `login-binding.ts`):
 * a token planted after the login began, or replayed from another browser, transfers nothing. A
 * binding serves one callback: replayed into another account's callback (or the same one again) it
 * transfers nothing.
 *
 * @packageDocumentation
 */
import type { JsonObject, JsonValue } from '../metadata/metadata.js';
import { epochSeconds } from '../internal/epoch-seconds.js';
import { liveSessionMarkExpiresAt, revocationExpiresAt, type LifetimeSettings, type SessionTimes } from '../internal/session-retention.js';
import type { Logger } from '../internal/logger.js';
import type { TransferLogEntry } from '../store/store.js';
import type { LoginBindingClaims } from '../tokens/login-binding.js';
import { sessionExpiresAt, type AnonymousSession } from '../tokens/session-token.js';

/** Flows in which no transfer ever happens (as in Auth0). */
export const UNSUPPORTED_TRANSFER_FLOWS: readonly string[] = Object.freeze([
  'device_code',
  'ciba',
  'custom_token_exchange',
  'token_exchange',
  'refresh_token',
  'password_reset',
]);

/** The account as the hooks see it. */
export interface TransferUser {
  /** The account's id. */
  user_id: string;
  /** Data only the app writes (roles, plans, migrated carts). */
  app_metadata?: JsonObject;
  /** Data the user may edit (preferences). */
  user_metadata?: JsonObject;
  /** Whatever else the host's user record holds (email, name…). */
  [field: string]: unknown;
}

/**
 * A user record as the host's store returns it from {@link UsersAdapter.get}: ordinary
 * `Record<string, unknown>` metadata is accepted, and any other fields (email, name…) may come
 * along. The hooks see a structured clone of it as a {@link TransferUser}; values that are not JSON
 * are not converted (a `Date` stays a `Date`, a function makes the transfer fail before anything
 * is applied), so keep the metadata JSON as Auth0 does.
 */
export interface StoredUser {
  /** The account's id. */
  user_id: string;
  /** Data only the app writes (roles, plans, migrated carts). */
  app_metadata?: Record<string, unknown> | undefined;
  /** Data the user may edit (preferences). */
  user_metadata?: Record<string, unknown> | undefined;
}

/** The host's user store, as transfer needs it. */
export interface UsersAdapter {
  /** The user, or `undefined` when unknown. */
  get(userId: string): Promise<StoredUser | undefined> | StoredUser | undefined;
  /**
   * Applies one update: each object holds only the top-level keys the hooks set; merge them into
   * the stored metadata (a `null` value deletes the key), as Auth0's PATCH /users does. Reject only
   * when nothing was applied: a rejection hands the transfer (and its login binding) back for a retry.
   */
  update(userId: string, changes: { app_metadata?: JsonObject; user_metadata?: JsonObject }): Promise<void> | void;
}

/** The `event` a hook receives. */
export interface TransferEvent {
  /** The guest session being transferred. */
  anonymous_session: AnonymousSession;
  /** The account it is moving to. */
  user: TransferUser;
  /** The login request. */
  request: { ip?: string | undefined; user_agent?: string | undefined };
  /** The flow the login happened in. */
  transaction: { flow: string };
}

/** The `api` a hook receives. */
export interface TransferApi {
  /** Changes to the account, applied together after the hook. */
  user: {
    /** Sets one top-level key of `app_metadata` (`null` deletes it). */
    setAppMetadata(key: string, value: JsonValue): void;
    /** Sets one top-level key of `user_metadata` (`null` deletes it). */
    setUserMetadata(key: string, value: JsonValue): void;
  };
  /** Claims for the access token the host issues after login. */
  accessToken: {
    /** Adds a custom claim (put it in your own token; it is on `req.anonymousTransfer.custom_claims`). */
    setCustomClaim(name: string, value: unknown): void;
  };
}

/** A host hook: Auth0's `onExecutePreUserRegistration` / `onExecutePostLogin`, for guest data. */
export type TransferHook = (event: TransferEvent, api: TransferApi) => void | Promise<void>;

/**
 * Why a transfer did not happen:
 *
 * - `no_session`: no session token came with the callback;
 * - `invalid_session`: the session token is invalid, expired or ended (logout);
 * - `not_bound`: no valid login binding names this session, or the binding was already used by
 *   another callback (a binding serves one login, into one account);
 * - `unsupported_flow`: the flow is one of {@link UNSUPPORTED_TRANSFER_FLOWS};
 * - `already_transferred`: this session was already transferred into this account (by an earlier
 *   login, or a parallel callback that won).
 */
export type TransferSkipReason =
  | 'no_session'
  | 'invalid_session'
  | 'not_bound'
  | 'unsupported_flow'
  | 'already_transferred';

/** The outcome of a transfer: what was applied, or why nothing was. */
export interface TransferResult {
  /** Whether the hooks' changes were applied to the account. */
  transferred: boolean;
  /** Why not, when `transferred` is false. */
  reason?: TransferSkipReason;
  /** The guest session, when one was found valid. */
  anonymous_session?: AnonymousSession;
  /** The `app_metadata` keys applied. */
  app_metadata: JsonObject;
  /** The `user_metadata` keys applied. */
  user_metadata: JsonObject;
  /** Custom claims the hooks set, for the host's own token. */
  custom_claims: Record<string, unknown>;
  /** Whether the anonymous session was ended (revoked). */
  ended_anonymous_session: boolean;
}

/** The parameters of `anon.transfer(...)`. */
export interface TransferParameters {
  /** The guest's session token (from the `anon` cookie or the login's `anonymous_session_token`). */
  sessionToken: string | undefined;
  /**
   * The login binding created when the login started (cookie or `state`). Required unless
   * `requireLoginBinding` is false. Single-use: the first callback that transfers with it uses it
   * up, whatever the account; it is handed back only when that transfer fails before anything was
   * applied (so the same login can be retried).
   */
  loginBinding?: string | undefined;
  /** Default true: without a binding that names this session, nothing transfers (session fixation). */
  requireLoginBinding?: boolean;
  /** The account the guest signed up or logged in as (already authenticated by the host). */
  userId: string;
  /** True on sign-up (runs `onPreRegistration`), false on login (runs `onPostLogin`). */
  isNewUser: boolean;
  /** The flow; see {@link UNSUPPORTED_TRANSFER_FLOWS}. Default `'login'` or `'signup'`. */
  flow?: string;
  /** The login request's address and user agent. */
  request?: { ip?: string | undefined; user_agent?: string | undefined };
  /** The host's user store. */
  users: UsersAdapter;
  /** Runs for new users. */
  onPreRegistration?: TransferHook | undefined;
  /** Runs for returning users. */
  onPostLogin?: TransferHook | undefined;
  /**
   * Default false: revoke the anonymous session after a successful transfer. The revocation lasts
   * as long as any token of the session is still accepted (`exp` + `clockTolerance`; with
   * `slidingExpiration`, `sessionLifetime` from now + `clockTolerance`; forever when sessions never
   * expire), so no older or newer token of it can continue the session.
   */
  endAnonymousSession?: boolean;
}

/** Creates the `api` object a hook writes to, and the changes it collected. */
export function createTransferApi(): {
  api: TransferApi;
  changes: { app_metadata: JsonObject; user_metadata: JsonObject; custom_claims: Record<string, unknown> };
} {
  const changes = { app_metadata: {} as JsonObject, user_metadata: {} as JsonObject, custom_claims: {} as Record<string, unknown> };
  const checkKey = (key: string): void => {
    if (typeof key !== 'string' || key.length === 0 || key === '__proto__' || key === 'constructor' || key === 'prototype') {
      throw new TypeError(`invalid metadata key ${JSON.stringify(key)}`);
    }
  };
  return {
    changes,
    api: {
      user: {
        setAppMetadata(key, value) {
          checkKey(key);
          changes.app_metadata[key] = value;
        },
        setUserMetadata(key, value) {
          checkKey(key);
          changes.user_metadata[key] = value;
        },
      },
      accessToken: {
        setCustomClaim(name, value) {
          checkKey(name);
          changes.custom_claims[name] = value;
        },
      },
    },
  };
}

/** A result for a transfer that did not happen. */
export function skippedTransfer(reason: TransferSkipReason, session?: AnonymousSession): TransferResult {
  return {
    transferred: false,
    reason,
    ...(session === undefined ? {} : { anonymous_session: session }),
    app_metadata: {},
    user_metadata: {},
    custom_claims: {},
    ended_anonymous_session: false,
  };
}

/** What {@link runTransfer} needs from the engine. */
export interface TransferEngine {
  /** Verifies a session token (signature, expiry, revocation). */
  verifySessionToken(token: string): Promise<AnonymousSession>;
  /** Opens a login binding: its claims, or `undefined` when invalid or expired. */
  openLoginBinding(token: string): Promise<LoginBindingClaims | undefined>;
  /** The lifetime configuration: how long marks and revocations must last. */
  readonly lifetime: LifetimeSettings;
  readonly store: {
    markOnce(key: string, expiresAt: number | undefined): Promise<boolean>;
    releaseMark?(key: string): Promise<void>;
    revokeSession(sessionId: string, expiresAt: number | undefined): Promise<void>;
  };
  /**
   * Where a successful transfer records itself; `undefined` when nothing is recorded (the store
   * keeps no transfer log, or `linkedSessionRetention` is false). Chosen once, by the engine.
   */
  readonly transferLog?: TransferLogWriter | undefined;
  /** Told when a transfer that was applied could not be recorded. */
  readonly logger: Pick<Logger, 'error'>;
}

/** The transfer log as a transfer writes to it (the store's `recordLink`). */
export interface TransferLogWriter {
  /** Seconds each entry is kept (`linkedSessionRetention`). */
  readonly retention: number;
  /** Records one entry until `expiresAt` (epoch seconds); the same (user, session) pair replaces its entry. */
  record(entry: TransferLogEntry, expiresAt: number): Promise<void>;
}

/**
 * Runs a transfer: checks the flow, the session and its login binding; uses the binding up (one
 * login, one callback); runs the hook; marks the (session, user) pair atomically so only one
 * callback applies; applies the changes in one update. Store failures propagate (503): a transfer
 * is never applied unchecked.
 *
 * Two once-marks, both atomic set-if-absent in the store:
 *
 * - the binding's (`login-binding:<jti>`), until the binding's `exp` + `clockTolerance`: the first
 *   callback that gets past the session check takes it; any other callback with the same binding,
 *   into this account or another, is `not_bound`;
 * - the pair's (`transfer:<session_id>:<user_id>`), for as long as the session can still produce a
 *   token (see `internal/session-retention.ts`): a session moves into an account at most once, even
 *   through several logins.
 *
 * If the transfer then fails before anything was applied (the user store, the hook or the store
 * throws), both marks are released, so the same login can simply be retried: the binding is back
 * exactly where it was before that callback, and it still yields at most one applied transfer.
 */
export async function runTransfer(engine: TransferEngine, parameters: TransferParameters): Promise<TransferResult> {
  const flow = parameters.flow ?? (parameters.isNewUser ? 'signup' : 'login');
  if (UNSUPPORTED_TRANSFER_FLOWS.includes(flow)) return skippedTransfer('unsupported_flow');
  if (!parameters.sessionToken) return skippedTransfer('no_session');

  let session: AnonymousSession;
  try {
    session = await engine.verifySessionToken(parameters.sessionToken);
  } catch (error) {
    if ((error as { status?: number }).status === 401) return skippedTransfer('invalid_session');
    throw error;
  }
  let bindingMark: string | undefined;
  if (parameters.requireLoginBinding !== false) {
    const binding = parameters.loginBinding ? await engine.openLoginBinding(parameters.loginBinding) : undefined;
    // A binding for another session is refused without using it up: its own session may still come.
    if (binding === undefined || binding.sid !== session.session_id) return skippedTransfer('not_bound', session);
    bindingMark = `login-binding:${binding.jti}`;
    if (!(await engine.store.markOnce(bindingMark, binding.exp + engine.lifetime.clockTolerance))) {
      return skippedTransfer('not_bound', session);
    }
  }

  let result: TransferResult;
  try {
    result = await applyTransfer(engine, parameters, session, flow);
  } catch (error) {
    // Nothing was applied: give the binding back so this login can be retried (best effort).
    if (bindingMark !== undefined) await engine.store.releaseMark?.(bindingMark).catch(() => undefined);
    throw error;
  }
  if (result.transferred && parameters.endAnonymousSession) {
    await engine.store.revokeSession(session.session_id, revocationExpiresAt(sessionTimes(session), engine.lifetime, epochSeconds()));
    result.ended_anonymous_session = true;
  }
  if (result.transferred) await recordTransfer(engine, parameters, session);
  return result;
}

/**
 * Records an applied transfer in the transfer log (session id, guest user id, account, time, user
 * agent), kept `retention` seconds. A failure is logged, not thrown: the transfer is already
 * applied to the account, and answering 503 now would only make the host retry into
 * `already_transferred`. The log misses this one entry.
 */
async function recordTransfer(engine: TransferEngine, parameters: TransferParameters, session: AnonymousSession): Promise<void> {
  const log = engine.transferLog;
  if (log === undefined) return;
  const now = epochSeconds();
  try {
    await log.record(
      {
        session_id: session.session_id,
        anonymous_user_id: session.user_id,
        user_id: parameters.userId,
        linked_at: new Date(now * 1000).toISOString(),
        user_agent: parameters.request?.user_agent ?? null,
      },
      now + log.retention,
    );
  } catch (error) {
    engine.logger.error('Could not record the transfer in the transfer log (the transfer itself was applied).', error);
  }
}

/** The session's creation and its token's `exp`, in epoch seconds. */
function sessionTimes(session: AnonymousSession): SessionTimes {
  return { createdAt: Math.floor(Date.parse(session.created_at) / 1000), exp: sessionExpiresAt(session) ?? undefined };
}

/**
 * The part of a transfer that changes the account: the hook, the (session, user) mark, one
 * `users.update`. Throws only when nothing was applied (the mark is then released).
 */
async function applyTransfer(engine: TransferEngine, parameters: TransferParameters, session: AnonymousSession, flow: string): Promise<TransferResult> {
  const user = await parameters.users.get(parameters.userId);
  if (user === undefined) throw new Error(`users.get(${JSON.stringify(parameters.userId)}) found no user to transfer into`);
  const { api, changes } = createTransferApi();
  const hook = parameters.isNewUser ? parameters.onPreRegistration : parameters.onPostLogin;
  const event: TransferEvent = {
    anonymous_session: session,
    // A copy, so a hook cannot change the host's record; typed as the hooks' JSON view of it.
    user: structuredClone(user) as TransferUser,
    request: parameters.request ?? {},
    transaction: { flow },
  };
  await hook?.(event, api);

  const markKey = `transfer:${session.session_id}:${parameters.userId}`;
  if (!(await engine.store.markOnce(markKey, liveSessionMarkExpiresAt(sessionTimes(session), engine.lifetime)))) {
    return skippedTransfer('already_transferred', session);
  }
  const update: { app_metadata?: JsonObject; user_metadata?: JsonObject } = {};
  if (Object.keys(changes.app_metadata).length > 0) update.app_metadata = changes.app_metadata;
  if (Object.keys(changes.user_metadata).length > 0) update.user_metadata = changes.user_metadata;
  if (update.app_metadata !== undefined || update.user_metadata !== undefined) {
    try {
      await parameters.users.update(parameters.userId, update);
    } catch (error) {
      // Nothing was applied: release the mark so the next login transfers (best effort).
      await engine.store.releaseMark?.(markKey).catch(() => undefined);
      throw error;
    }
  }
  return {
    transferred: true,
    anonymous_session: session,
    app_metadata: changes.app_metadata,
    user_metadata: changes.user_metadata,
    custom_claims: changes.custom_claims,
    ended_anonymous_session: false,
  };
}
