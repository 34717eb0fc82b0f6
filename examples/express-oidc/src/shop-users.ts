import type { IdTokenClaims, JsonObject, TransferUser, UsersAdapter } from '@anonymous-sessions/core';

/** A shop account: its id is the identity provider's `sub`. */
export interface ShopUser extends TransferUser {
  user_id: string;
  email: string;
  app_metadata: JsonObject;
  user_metadata: JsonObject;
}

/**
 * The shop's own user records, in memory: created just in time on the first login through the
 * identity provider (that is how the shop knows a sign-up from a login), and the `users` adapter
 * session transfer writes through.
 */
export class ShopUsers implements UsersAdapter {
  readonly #users = new Map<string, ShopUser>();

  /** Seeds a record (the demo account, with a cart of its own). */
  seed(user: ShopUser): void {
    this.#users.set(user.user_id, structuredClone(user));
  }

  /**
   * The record for a verified ID token's claims, created when it does not exist yet; `created`
   * tells a sign-up (run `onPreRegistration`) from a login (`onPostLogin`).
   */
  provision(claims: IdTokenClaims): { user: ShopUser; created: boolean } {
    const existing = this.#users.get(claims.sub);
    if (existing) return { user: structuredClone(existing), created: false };
    const user: ShopUser = {
      user_id: claims.sub,
      email: typeof claims.email === 'string' ? claims.email : '',
      app_metadata: {},
      user_metadata: {},
    };
    this.#users.set(user.user_id, user);
    return { user: structuredClone(user), created: true };
  }

  async get(userId: string): Promise<ShopUser | undefined> {
    const user = this.#users.get(userId);
    return user && structuredClone(user);
  }

  async update(userId: string, changes: { app_metadata?: JsonObject; user_metadata?: JsonObject }): Promise<void> {
    const user = this.#users.get(userId);
    if (user === undefined) throw new Error('no such user');
    user.app_metadata = applyTopLevel(user.app_metadata, changes.app_metadata);
    user.user_metadata = applyTopLevel(user.user_metadata, changes.user_metadata);
  }
}

/** Auth0's PATCH semantics: top-level keys replace, `null` deletes. */
function applyTopLevel(current: JsonObject, changes: JsonObject | undefined): JsonObject {
  if (changes === undefined) return current;
  const next = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}
