/**
 * `UsersAdapter` takes a host's user store as it is usually typed: metadata as ordinary
 * `Record<string, unknown>`, records as interfaces with more fields. The typed assignments below are
 * compiled by `tsc -p tsconfig.json` (part of the typecheck), and the adapter then runs a transfer.
 */
import { describe, expect, it } from 'vitest';
import { mergeCart, type JsonObject, type TransferEvent, type UsersAdapter } from '@anonymous-sessions/core';
import { AUDIENCE, buildEngine, CLIENT_ID } from './fixtures.js';

/** A host's record type: an interface (no index signature), `Record<string, unknown>` metadata. */
interface HostUser {
  user_id: string;
  email: string;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
}

/** A host's user store, typed the way hosts write it. */
interface HostUsers {
  get(id: string): Promise<HostUser | undefined>;
  update(id: string, changes: { app_metadata?: Record<string, unknown>; user_metadata?: Record<string, unknown> }): Promise<void>;
}

function hostUsers(initial: HostUser): HostUsers & { records: Map<string, HostUser> } {
  const records = new Map([[initial.user_id, structuredClone(initial)]]);
  return {
    records,
    get: (id) => Promise.resolve(structuredClone(records.get(id))),
    update: (id, changes) => {
      const user = records.get(id);
      if (user === undefined) return Promise.reject(new Error('no such user'));
      records.set(id, {
        ...user,
        app_metadata: { ...user.app_metadata, ...changes.app_metadata },
        user_metadata: { ...user.user_metadata, ...changes.user_metadata },
      });
      return Promise.resolve();
    },
  };
}

// Compile-time checks (tsc -p tsconfig.json): what must be accepted, and what must still be refused.
const inline: UsersAdapter = {
  get: async (id: string): Promise<{ user_id: string; app_metadata?: Record<string, unknown>; user_metadata?: Record<string, unknown> } | undefined> =>
    Promise.resolve({ user_id: id }),
  update: async (_id: string, _changes: { app_metadata?: Record<string, unknown>; user_metadata?: Record<string, unknown> }): Promise<void> =>
    Promise.resolve(),
};
// @ts-expect-error -- an adapter without `update` cannot apply a transfer.
const withoutUpdate: UsersAdapter = { get: async (id: string) => Promise.resolve({ user_id: id }) };
// @ts-expect-error -- a record without `user_id` is not a user.
const withoutUserId: UsersAdapter = { get: async () => Promise.resolve({ email: 'a@example.com' }), update: async () => Promise.resolve() };
// @ts-expect-error -- metadata must be an object, not a string.
const stringMetadata: UsersAdapter = { get: async (id: string) => Promise.resolve({ user_id: id, app_metadata: 'admin' }), update: async () => Promise.resolve() };

describe('UsersAdapter with Record<string, unknown> metadata', () => {
  it('type-checks (see the assignments above) and the refused shapes are still refused', () => {
    expect(typeof inline.update).toBe('function');
    expect([withoutUpdate, withoutUserId, stringMetadata]).toHaveLength(3);
  });

  it('a host-typed adapter runs a transfer: the hook sees a copy of the record, update receives the changes', async () => {
    const { anon } = await buildEngine({ rateLimit: false });
    const users = hostUsers({ user_id: 'auth0|typed', email: 'typed@example.com', user_metadata: { cart: [{ sku: 'mug', qty: 1 }], theme: 'dark' } });
    const adapter: UsersAdapter = users; // the assignment this item is about
    const issued = await anon.issueToken({ client_id: CLIENT_ID, audience: AUDIENCE, metadata: { cart: [{ sku: 'mug', qty: 2 }] } }, { ip: '203.0.113.9' });
    const seen: TransferEvent['user'][] = [];
    const merge = mergeCart();
    const result = await anon.transfer({
      sessionToken: issued.response.session_token,
      requireLoginBinding: false,
      userId: 'auth0|typed',
      isNewUser: false,
      users: adapter,
      onPostLogin: async (event, api) => {
        seen.push(event.user);
        // A hook cannot change the host's record behind its back: it holds a copy.
        (event.user.user_metadata as JsonObject).theme = 'light';
        await merge(event, api);
      },
    });
    expect(result.transferred).toBe(true);
    expect(seen[0]).toMatchObject({ user_id: 'auth0|typed', email: 'typed@example.com' });
    expect(result.user_metadata).toEqual({ cart: [{ sku: 'mug', qty: 3 }] });
    expect(users.records.get('auth0|typed')).toEqual({
      user_id: 'auth0|typed',
      email: 'typed@example.com',
      app_metadata: {},
      user_metadata: { cart: [{ sku: 'mug', qty: 3 }], theme: 'dark' },
    });
  });
});
