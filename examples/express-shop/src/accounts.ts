import { randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { JsonObject, TransferUser, UsersAdapter } from '@anonymous-sessions/core';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

/** A local account of the demo. */
export interface Account extends TransferUser {
  user_id: string;
  email: string;
  app_metadata: JsonObject;
  user_metadata: JsonObject;
}

interface StoredAccount extends Account {
  passwordHash: Buffer;
  salt: Buffer;
}

/**
 * The demo's host-supplied user store: in memory, passwords hashed with scrypt. It is also the
 * `users` adapter that session transfer writes through.
 */
export class Accounts implements UsersAdapter {
  readonly #byId = new Map<string, StoredAccount>();
  readonly #byEmail = new Map<string, StoredAccount>();

  /** Creates an account; `undefined` when the email is taken. */
  async create(email: string, password: string, metadata: Partial<Pick<Account, 'app_metadata' | 'user_metadata'>> = {}): Promise<Account | undefined> {
    const key = email.trim().toLowerCase();
    if (this.#byEmail.has(key)) return undefined;
    const salt = randomBytes(16);
    const account: StoredAccount = {
      user_id: `shop|${randomUUID()}`,
      email: key,
      app_metadata: metadata.app_metadata ?? {},
      user_metadata: metadata.user_metadata ?? {},
      salt,
      passwordHash: await scryptAsync(password, salt, 32),
    };
    this.#byId.set(account.user_id, account);
    this.#byEmail.set(key, account);
    return publicView(account);
  }

  /** The account for these credentials, or `undefined`. Constant-time comparison. */
  async authenticate(email: string, password: string): Promise<Account | undefined> {
    const account = this.#byEmail.get(email.trim().toLowerCase());
    const salt = account?.salt ?? randomBytes(16);
    const hash = await scryptAsync(password, salt, 32);
    return account && timingSafeEqual(hash, account.passwordHash) ? publicView(account) : undefined;
  }

  async get(userId: string): Promise<Account | undefined> {
    const account = this.#byId.get(userId);
    return account && publicView(account);
  }

  async update(userId: string, changes: { app_metadata?: JsonObject; user_metadata?: JsonObject }): Promise<void> {
    const account = this.#byId.get(userId);
    if (account === undefined) throw new Error('no such account');
    account.app_metadata = applyTopLevel(account.app_metadata, changes.app_metadata);
    account.user_metadata = applyTopLevel(account.user_metadata, changes.user_metadata);
  }
}

function applyTopLevel(current: JsonObject, changes: JsonObject | undefined): JsonObject {
  if (changes === undefined) return current;
  const next = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return next;
}

function publicView(account: StoredAccount): Account {
  return structuredClone({
    user_id: account.user_id,
    email: account.email,
    app_metadata: account.app_metadata,
    user_metadata: account.user_metadata,
  });
}
