/**
 * Session transfer (DESIGN §6): when a guest signs up or logs in, the host's Auth0-style hooks
 * (`onPreRegistration` for new users, `onPostLogin` for returning ones) read
 * `event.anonymous_session` and say what to keep through `api.user.setAppMetadata`,
 * `api.user.setUserMetadata` and `api.accessToken.setCustomClaim`. What they set is applied in one
 * `users.update` call, at most once per (session, user), even under parallel or replayed callbacks.
 *
 * The session must be bound to the login when it starts ({@link LoginBinding}): a token planted
 * after the login began, or replayed from another browser, transfers nothing.
 *
 * @packageDocumentation
 */
import type { JsonObject, JsonValue } from './metadata.js';
import { sessionExpiresAt, type AnonymousSession } from './session-token.js';

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

/** The host's user store, as transfer needs it. */
export interface UsersAdapter {
  /** The user, or `undefined` when unknown. */
  get(userId: string): Promise<TransferUser | undefined> | TransferUser | undefined;
  /**
   * Applies one update: each object holds only the top-level keys the hooks set; merge them into
   * the stored metadata (a `null` value deletes the key), as Auth0's PATCH /users does.
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

/** Why a transfer did not happen. */
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
   * `requireLoginBinding` is false.
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
  /** Default false: revoke the anonymous session after a successful transfer. */
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
  verifySessionToken(token: string): Promise<AnonymousSession>;
  verifyLoginBinding(token: string): Promise<string | undefined>;
  readonly store: {
    markOnce(key: string, expiresAt: number | undefined): Promise<boolean>;
    releaseMark?(key: string): Promise<void>;
    revokeSession(sessionId: string, expiresAt: number | undefined): Promise<void>;
  };
}

/**
 * Runs a transfer: checks the flow, the session and its login binding; runs the hook; marks the
 * (session, user) pair atomically so only one callback applies; applies the changes in one update.
 * Store failures propagate (503): a transfer is never applied unchecked.
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
  if (parameters.requireLoginBinding !== false) {
    const bound = parameters.loginBinding ? await engine.verifyLoginBinding(parameters.loginBinding) : undefined;
    if (bound !== session.session_id) return skippedTransfer('not_bound', session);
  }

  const user = await parameters.users.get(parameters.userId);
  if (user === undefined) throw new Error(`users.get(${JSON.stringify(parameters.userId)}) found no user to transfer into`);
  const { api, changes } = createTransferApi();
  const hook = parameters.isNewUser ? parameters.onPreRegistration : parameters.onPostLogin;
  const event: TransferEvent = {
    anonymous_session: session,
    user: structuredClone(user),
    request: parameters.request ?? {},
    transaction: { flow },
  };
  await hook?.(event, api);

  const expiresAt = sessionExpiresAt(session) ?? undefined;
  const markKey = `transfer:${session.session_id}:${parameters.userId}`;
  if (!(await engine.store.markOnce(markKey, expiresAt))) {
    return skippedTransfer('already_transferred', session);
  }
  const update: { app_metadata?: JsonObject; user_metadata?: JsonObject } = {};
  if (Object.keys(changes.app_metadata).length > 0) update.app_metadata = changes.app_metadata;
  if (Object.keys(changes.user_metadata).length > 0) update.user_metadata = changes.user_metadata;
  if (update.app_metadata !== undefined || update.user_metadata !== undefined) {
    try {
      await parameters.users.update(parameters.userId, update);
    } catch (error) {
      // Nothing was applied: release the mark so the next login transfers (best effort; the mark
      // expires with the session anyway).
      await engine.store.releaseMark?.(markKey).catch(() => undefined);
      throw error;
    }
  }
  if (parameters.endAnonymousSession) await engine.store.revokeSession(session.session_id, expiresAt);
  return {
    transferred: true,
    anonymous_session: session,
    app_metadata: changes.app_metadata,
    user_metadata: changes.user_metadata,
    custom_claims: changes.custom_claims,
    ended_anonymous_session: parameters.endAnonymousSession === true,
  };
}
