/**
 * Session transfer (docs/login-flow.md) through `anon.transfer(...)`: the Auth0-style hooks, one
 * `users.update`, at most once per (session, user) under replayed and parallel callbacks, the login
 * binding against session fixation, unsupported flows, `endAnonymousSession`, and failing closed
 * when the store is down. The account-already-exists case has its own block.
 */
import { afterEach, beforeAll, describe, expect, it, vi, type Mock } from 'vitest';
import {
  createAnonymousSessions,
  memoryStore,
  mergeCart,
  mergeMetadata,
  type AnonymousSession,
  type AnonymousSessions,
  type JsonObject,
  type JsonValue,
  type SessionStore,
  type TransferEvent,
  type TransferHook,
  type TransferUser,
  type UsersAdapter,
} from '@anonymous-sessions/core';
import {
  TemporarilyUnavailableError,
  UNSUPPORTED_TRANSFER_FLOWS,
  type CounterState,
  type TransferParameters,
} from '@anonymous-sessions/core/http';
import { AUDIENCE, buildEngine, CLIENT_ID, expectAnonymousError, quickStartOptions, T0, T0_SECONDS } from './fixtures.js';

/** An in-memory user store the way a host writes one: `update` merges top-level keys, `null` deletes. */
interface MemoryUsers {
  adapter: UsersAdapter & {
    get: Mock<(userId: string) => Promise<TransferUser | undefined>>;
    update: Mock<(userId: string, changes: { app_metadata?: JsonObject; user_metadata?: JsonObject }) => Promise<void>>;
  };
  /** The stored record (a copy). */
  record(userId: string): TransferUser | undefined;
}

function memoryUsers(...initial: TransferUser[]): MemoryUsers {
  const users = new Map(initial.map((user) => [user.user_id, structuredClone(user)]));
  const mergeInto = (target: JsonObject | undefined, changes: JsonObject | undefined): JsonObject => {
    const merged: JsonObject = { ...target };
    for (const [key, value] of Object.entries(changes ?? {})) {
      if (value === null) delete merged[key];
      else merged[key] = value;
    }
    return merged;
  };
  const adapter = {
    get: vi.fn(async (userId: string): Promise<TransferUser | undefined> => {
      await new Promise((resolve) => setImmediate(resolve)); // a real store answers later
      const user = users.get(userId);
      return user === undefined ? undefined : structuredClone(user);
    }),
    update: vi.fn(async (userId: string, changes: { app_metadata?: JsonObject; user_metadata?: JsonObject }): Promise<void> => {
      await new Promise((resolve) => setImmediate(resolve));
      const user = users.get(userId);
      if (user === undefined) throw new Error(`no user ${userId}`);
      users.set(userId, {
        ...user,
        app_metadata: mergeInto(user.app_metadata, changes.app_metadata),
        user_metadata: mergeInto(user.user_metadata, changes.user_metadata),
      });
    }),
  };
  return { adapter, record: (userId) => structuredClone(users.get(userId)) };
}

const cart: JsonValue[] = [
  { sku: 'mug', qty: 2 },
  { sku: 'tee', qty: 1, size: 'M' },
];

/** The sign-up hook of the README: keep the guest's cart as `migrated_cart`. */
const migrateCart: TransferHook = (event, api) => {
  const guestCart = event.anonymous_session.metadata.cart;
  if (guestCart !== undefined) api.user.setAppMetadata('migrated_cart', guestCart);
};

let anon: AnonymousSessions;

beforeAll(async () => {
  ({ anon } = await buildEngine({ rateLimit: false }));
});

afterEach(() => {
  vi.useRealTimers();
});

/** A guest session with this metadata, as the token endpoint creates it. */
async function guestSession(metadata: JsonObject = {}, engine: AnonymousSessions = anon): Promise<{ token: string; session: AnonymousSession }> {
  const issued = await engine.issueToken({ client_id: CLIENT_ID, audience: AUDIENCE, metadata }, { ip: '203.0.113.9' });
  return { token: issued.response.session_token, session: issued.session };
}

/** A guest session with a login binding made for it, as the login-start route does. */
async function boundGuest(metadata: JsonObject = {}, engine: AnonymousSessions = anon): Promise<{ token: string; session: AnonymousSession; binding: string }> {
  const guest = await guestSession(metadata, engine);
  return { ...guest, binding: await engine.createLoginBinding(guest.session.session_id) };
}

const newUser = (userId: string): TransferUser => ({ user_id: userId, email: `${userId}@example.com`, app_metadata: {}, user_metadata: {} });

describe('sign-up and login', () => {
  it('sign-up migrates the cart: onPreRegistration sets app_metadata.migrated_cart, applied in one update', async () => {
    const users = memoryUsers(newUser('auth0|new'));
    const guest = await boundGuest({ cart });
    const onPostLogin = vi.fn<TransferHook>();
    const onPreRegistration = vi.fn<TransferHook>(migrateCart);

    const result = await anon.transfer({
      sessionToken: guest.token,
      loginBinding: guest.binding,
      userId: 'auth0|new',
      isNewUser: true,
      request: { ip: '203.0.113.9', user_agent: 'vitest' },
      users: users.adapter,
      onPreRegistration,
      onPostLogin,
    });

    expect(result).toEqual({
      transferred: true,
      anonymous_session: guest.session,
      app_metadata: { migrated_cart: cart },
      user_metadata: {},
      custom_claims: {},
      ended_anonymous_session: false,
    });
    expect(users.adapter.update).toHaveBeenCalledTimes(1);
    expect(users.adapter.update).toHaveBeenCalledWith('auth0|new', { app_metadata: { migrated_cart: cart } });
    expect(users.record('auth0|new')?.app_metadata).toEqual({ migrated_cart: cart });
    expect(onPostLogin).not.toHaveBeenCalled();

    const [event] = onPreRegistration.mock.calls[0]!;
    expect(event).toEqual<TransferEvent>({
      anonymous_session: {
        user_id: guest.session.user_id,
        session_id: guest.session.session_id,
        created_at: guest.session.created_at,
        expires_at: guest.session.expires_at,
        metadata: { cart },
      },
      user: newUser('auth0|new'),
      request: { ip: '203.0.113.9', user_agent: 'vitest' },
      transaction: { flow: 'signup' },
    });
  });

  it('login merges carts with mergeCart: sums qty by sku, drops malformed lines; onPreRegistration does not run', async () => {
    const users = memoryUsers({
      ...newUser('auth0|returning'),
      user_metadata: { cart: [{ sku: 'mug', qty: 1 }, { sku: 'cap', qty: 3 }] },
    });
    const guest = await boundGuest({
      cart: [
        { sku: 'mug', qty: 2 },
        { sku: 'tee', qty: 1, size: 'M' },
        { sku: 42, qty: 1 },
        { sku: 'ghost', qty: 0 },
        { sku: 'half', qty: 0.5 },
        { qty: 3 },
        'junk',
      ],
    });
    const onPreRegistration = vi.fn<TransferHook>();

    const result = await anon.transfer({
      sessionToken: guest.token,
      loginBinding: guest.binding,
      userId: 'auth0|returning',
      isNewUser: false,
      users: users.adapter,
      onPreRegistration,
      onPostLogin: mergeCart(),
    });

    const merged = [
      { sku: 'mug', qty: 3 },
      { sku: 'cap', qty: 3 },
      { sku: 'tee', qty: 1, size: 'M' },
    ];
    expect(result).toMatchObject({ transferred: true, user_metadata: { cart: merged } });
    expect(users.record('auth0|returning')?.user_metadata).toEqual({ cart: merged });
    expect(users.adapter.update).toHaveBeenCalledTimes(1);
    expect(onPreRegistration).not.toHaveBeenCalled();
  });

  it('the flow defaults to signup / login and an explicit supported flow is passed to the hook', async () => {
    const users = memoryUsers(newUser('auth0|flow'));
    const flows: string[] = [];
    const record: TransferHook = (event) => {
      flows.push(event.transaction.flow);
    };
    for (const [isNewUser, flow] of [[true, undefined], [false, undefined], [false, 'passwordless']] as const) {
      const guest = await boundGuest();
      await anon.transfer({
        sessionToken: guest.token,
        loginBinding: guest.binding,
        userId: 'auth0|flow',
        isNewUser,
        ...(flow === undefined ? {} : { flow }),
        users: users.adapter,
        onPreRegistration: record,
        onPostLogin: record,
      });
    }
    expect(flows).toEqual(['signup', 'login', 'passwordless']);
  });

  it('custom claims set by the hook come back on the result; nothing else changes the account', async () => {
    const users = memoryUsers(newUser('auth0|claims'));
    const guest = await boundGuest({ cart });
    const result = await anon.transfer({
      sessionToken: guest.token,
      loginBinding: guest.binding,
      userId: 'auth0|claims',
      isNewUser: false,
      users: users.adapter,
      onPostLogin: (event, api) => {
        api.accessToken.setCustomClaim('https://shop.example/guest_session', event.anonymous_session.session_id);
        api.accessToken.setCustomClaim('https://shop.example/cart_lines', 2);
      },
    });
    expect(result).toMatchObject({
      transferred: true,
      custom_claims: { 'https://shop.example/guest_session': guest.session.session_id, 'https://shop.example/cart_lines': 2 },
      app_metadata: {},
      user_metadata: {},
    });
    expect(users.adapter.update).not.toHaveBeenCalled();
  });

  it('the hook gets a copy of the user: mutating event.user changes nothing', async () => {
    const users = memoryUsers(newUser('auth0|copy'));
    const guest = await boundGuest();
    await anon.transfer({
      sessionToken: guest.token,
      loginBinding: guest.binding,
      userId: 'auth0|copy',
      isNewUser: false,
      users: users.adapter,
      onPostLogin: (event) => {
        event.user.app_metadata!.role = 'admin';
      },
    });
    expect(users.record('auth0|copy')).toEqual(newUser('auth0|copy'));
    expect(users.adapter.update).not.toHaveBeenCalled();
  });

  it('a hook cannot set a forbidden metadata key; a failing hook applies nothing and does not use up the transfer', async () => {
    const users = memoryUsers(newUser('auth0|hook'));
    const guest = await boundGuest({ cart });
    const parameters: TransferParameters = {
      sessionToken: guest.token,
      loginBinding: guest.binding,
      userId: 'auth0|hook',
      isNewUser: true,
      users: users.adapter,
      onPreRegistration: (_event, api) => {
        api.user.setAppMetadata('migrated_cart', cart);
        api.user.setAppMetadata('__proto__', { polluted: true });
      },
    };
    await expect(anon.transfer(parameters)).rejects.toThrow(TypeError);
    expect(users.adapter.update).not.toHaveBeenCalled();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const retried = await anon.transfer({ ...parameters, onPreRegistration: migrateCart });
    expect(retried.transferred).toBe(true);
    expect(users.record('auth0|hook')?.app_metadata).toEqual({ migrated_cart: cart });
  });

  it('an unknown user id is an error of the host, not a silent skip', async () => {
    const users = memoryUsers();
    const guest = await boundGuest({ cart });
    await expect(
      anon.transfer({ sessionToken: guest.token, loginBinding: guest.binding, userId: 'auth0|nobody', isNewUser: true, users: users.adapter }),
    ).rejects.toThrow(/auth0\|nobody/);
  });
});

describe('the account already exists (guest logs into an account with its own data)', () => {
  const account = (): TransferUser => ({
    user_id: 'auth0|existing',
    email: 'existing@example.com',
    app_metadata: { plan: 'pro', roles: ['customer'] },
    user_metadata: {
      cart: [
        { sku: 'mug', qty: 1 },
        { sku: 'cap', qty: 2, color: 'red' },
      ],
      preferences: { theme: 'light', currency: 'EUR' },
      recentlyViewed: ['p1', 'p2'],
      consents: { marketing: true, analytics: true },
      nickname: 'ex',
    },
  });
  const spec = { cart: 'sumBySku', preferences: 'keepUser', recentlyViewed: 'union', consents: 'keepGuest' } as const;
  const guestData: JsonObject = {
    cart: [
      { sku: 'mug', qty: 2 },
      { sku: 'tee', qty: 1 },
      { sku: 'cap', qty: 1, color: 'blue' },
    ],
    preferences: { theme: 'dark', language: 'fr' },
    recentlyViewed: ['p2', 'p3'],
    consents: { marketing: false },
    unrelated: 'left alone',
  };

  async function loginWith(users: MemoryUsers, metadata: JsonObject, hook: TransferHook = mergeMetadata(spec)) {
    const guest = await boundGuest(metadata);
    return anon.transfer({
      sessionToken: guest.token,
      loginBinding: guest.binding,
      userId: 'auth0|existing',
      isNewUser: false,
      users: users.adapter,
      onPostLogin: hook,
    });
  }

  it('mergeMetadata({ cart: sumBySku, preferences: keepUser, recentlyViewed: union, consents: keepGuest }) gives exactly this', async () => {
    const users = memoryUsers(account());
    const result = await loginWith(users, guestData);

    const expected = {
      cart: [
        { sku: 'mug', qty: 3 },
        { sku: 'cap', qty: 3, color: 'red' },
        { sku: 'tee', qty: 1 },
      ],
      preferences: { theme: 'light', language: 'fr', currency: 'EUR' },
      recentlyViewed: ['p1', 'p2', 'p3'],
      consents: { marketing: false, analytics: true },
    };
    expect(result).toMatchObject({ transferred: true, user_metadata: expected, app_metadata: {} });
    expect(users.adapter.update).toHaveBeenCalledTimes(1);
    expect(users.adapter.update).toHaveBeenCalledWith('auth0|existing', { user_metadata: expected });
    expect(users.record('auth0|existing')).toEqual({
      ...account(),
      user_metadata: { ...expected, nickname: 'ex' },
    });
  });

  it('a second guest session into the same account merges again (carts keep summing), each session once', async () => {
    const users = memoryUsers(account());
    await loginWith(users, { cart: [{ sku: 'mug', qty: 1 }] });
    await loginWith(users, { cart: [{ sku: 'mug', qty: 1 }, { sku: 'pen', qty: 5 }] });
    expect(users.record('auth0|existing')?.user_metadata?.cart).toEqual([
      { sku: 'mug', qty: 3 },
      { sku: 'cap', qty: 2, color: 'red' },
      { sku: 'pen', qty: 5 },
    ]);
    expect(users.adapter.update).toHaveBeenCalledTimes(2);
  });

  it.each<[string, JsonObject]>([
    ['no guest metadata at all', {}],
    ['empty guest values', { cart: [], preferences: {}, recentlyViewed: [], consents: {} }],
    ['malformed guest values', { cart: [{ sku: 7, qty: 'many' }, { sku: '', qty: 1 }], preferences: 'dark', recentlyViewed: 'p9', consents: {} }],
    ['guest values the account already has', { cart: [], preferences: { theme: 'light' }, recentlyViewed: ['p2'], consents: { analytics: true } }],
  ])('%s: the account is left untouched and users.update is not called', async (_label, metadata) => {
    const users = memoryUsers(account());
    const result = await loginWith(users, metadata);
    expect(result).toMatchObject({ transferred: true, user_metadata: {}, app_metadata: {} });
    expect(users.adapter.update).not.toHaveBeenCalled();
    expect(users.record('auth0|existing')).toEqual(account());
  });

  it('mergeCart alone leaves everything but the cart alone, and caps the merged cart at 100 lines', async () => {
    const users = memoryUsers({
      ...account(),
      user_metadata: { ...account().user_metadata, cart: Array.from({ length: 98 }, (_, i) => ({ sku: `own-${i}`, qty: 1 })) },
    });
    const result = await loginWith(users, { cart: [{ sku: 'own-0', qty: 4 }, ...Array.from({ length: 5 }, (_, i) => ({ sku: `new-${i}`, qty: 1 }))], preferences: { theme: 'dark' } }, mergeCart());
    const merged = users.record('auth0|existing')?.user_metadata?.cart as { sku: string; qty: number }[];
    expect(merged).toHaveLength(100);
    expect(merged[0]).toEqual({ sku: 'own-0', qty: 5 });
    expect(merged.slice(-2).map((line) => line.sku)).toEqual(['new-0', 'new-1']);
    expect(Object.keys(result.user_metadata)).toEqual(['cart']);
    expect(users.record('auth0|existing')?.user_metadata?.preferences).toEqual({ theme: 'light', currency: 'EUR' });
  });

  it('a replayed login, or a second login of the same session, does not double the merged cart', async () => {
    const users = memoryUsers(account());
    const guest = await boundGuest({ cart: [{ sku: 'mug', qty: 2 }] });
    const parameters: TransferParameters = {
      sessionToken: guest.token,
      loginBinding: guest.binding,
      userId: 'auth0|existing',
      isNewUser: false,
      users: users.adapter,
      onPostLogin: mergeMetadata(spec),
    };
    expect((await anon.transfer(parameters)).transferred).toBe(true);
    // The replay's binding is used up; a new login (a fresh binding) hits the (session, user) mark.
    expect(await anon.transfer(parameters)).toMatchObject({ transferred: false, reason: 'not_bound' });
    const loginBinding = await anon.createLoginBinding(guest.session.session_id);
    expect(await anon.transfer({ ...parameters, loginBinding })).toMatchObject({ transferred: false, reason: 'already_transferred' });
    expect((users.record('auth0|existing')?.user_metadata?.cart as JsonObject[])[0]).toEqual({ sku: 'mug', qty: 3 });
    expect(users.adapter.update).toHaveBeenCalledTimes(1);
  });
});

describe('at most once per (session, user)', () => {
  it('a replayed callback transfers once', async () => {
    const users = memoryUsers(newUser('auth0|replay'));
    const guest = await boundGuest({ cart });
    const parameters: TransferParameters = {
      sessionToken: guest.token,
      loginBinding: guest.binding,
      userId: 'auth0|replay',
      isNewUser: false,
      users: users.adapter,
      onPostLogin: mergeCart(),
    };
    expect((await anon.transfer(parameters)).transferred).toBe(true);
    const replay = await anon.transfer(parameters);
    expect(replay).toEqual({
      transferred: false,
      reason: 'not_bound', // the binding was used up by the first callback
      anonymous_session: guest.session,
      app_metadata: {},
      user_metadata: {},
      custom_claims: {},
      ended_anonymous_session: false,
    });
    const secondLogin = await anon.transfer({ ...parameters, loginBinding: await anon.createLoginBinding(guest.session.session_id) });
    expect(secondLogin).toEqual({ ...replay, reason: 'already_transferred' });
    expect(users.adapter.update).toHaveBeenCalledTimes(1);
    expect(users.record('auth0|replay')?.user_metadata?.cart).toEqual(cart);
  });

  it.each([
    ['one binding (a replayed callback)', 'not_bound', true],
    ['20 bindings (20 logins of the session)', 'already_transferred', false],
  ] as const)('20 parallel transfers of the same (session, user) with %s: exactly one applies, the others are %s', async (_label, reason, shared) => {
    const users = memoryUsers({ ...newUser('auth0|parallel'), user_metadata: { cart: [{ sku: 'mug', qty: 1 }] } });
    const guest = await boundGuest({ cart });
    const bindings = shared
      ? Array.from({ length: 20 }, () => guest.binding)
      : await Promise.all(Array.from({ length: 20 }, () => anon.createLoginBinding(guest.session.session_id)));
    const results = await Promise.all(
      bindings.map((loginBinding) =>
        anon.transfer({
          sessionToken: guest.token,
          loginBinding,
          userId: 'auth0|parallel',
          isNewUser: false,
          users: users.adapter,
          onPostLogin: mergeCart(),
        }),
      ),
    );
    expect(results.filter((result) => result.transferred)).toHaveLength(1);
    expect(results.filter((result) => result.reason === reason)).toHaveLength(19);
    expect(users.adapter.update).toHaveBeenCalledTimes(1);
    expect(users.record('auth0|parallel')?.user_metadata?.cart).toEqual([
      { sku: 'mug', qty: 3 },
      { sku: 'tee', qty: 1, size: 'M' },
    ]);
  });

  it('a user store that fails mid-transfer releases the mark: the retried login transfers once', async () => {
    const users = memoryUsers({ ...newUser('auth0|flaky'), user_metadata: { cart: [{ sku: 'mug', qty: 1 }] } });
    const guest = await boundGuest({ cart });
    const attempt = () =>
      anon.transfer({
        sessionToken: guest.token,
        loginBinding: guest.binding,
        userId: 'auth0|flaky',
        isNewUser: false,
        users: users.adapter,
        onPostLogin: mergeCart(),
      });
    users.adapter.update.mockRejectedValueOnce(new Error('database is down'));
    await expect(attempt()).rejects.toThrow('database is down');
    expect(users.record('auth0|flaky')?.user_metadata?.cart).toEqual([{ sku: 'mug', qty: 1 }]);
    expect((await attempt()).transferred).toBe(true);
    expect((await attempt()).reason).toBe('not_bound'); // that login's binding is used up now
    expect(users.record('auth0|flaky')?.user_metadata?.cart).toEqual([
      { sku: 'mug', qty: 3 },
      { sku: 'tee', qty: 1, size: 'M' },
    ]);
  });

  it('the same session into two different users, through two logins: each gets it once', async () => {
    const users = memoryUsers(newUser('auth0|alice'), newUser('auth0|bob'));
    const guest = await boundGuest({ cart });
    // Each login has its own binding (a binding serves one callback).
    const into = async (userId: string) =>
      anon.transfer({
        sessionToken: guest.token,
        loginBinding: await anon.createLoginBinding(guest.session.session_id),
        userId,
        isNewUser: true,
        users: users.adapter,
        onPreRegistration: migrateCart,
      });
    const [alice, bob] = await Promise.all([into('auth0|alice'), into('auth0|bob')]);
    expect([alice.transferred, bob.transferred]).toEqual([true, true]);
    expect((await into('auth0|alice')).reason).toBe('already_transferred');
    expect((await into('auth0|bob')).reason).toBe('already_transferred');
    expect(users.record('auth0|alice')?.app_metadata).toEqual({ migrated_cart: cart });
    expect(users.record('auth0|bob')?.app_metadata).toEqual({ migrated_cart: cart });
    expect(users.adapter.update).toHaveBeenCalledTimes(2);
  });
});

describe('the login binding (session fixation)', () => {
  it('a session token planted after the binding was made for another session: not_bound, nothing applied', async () => {
    const users = memoryUsers(newUser('auth0|victim'));
    const victim = await boundGuest({ cart });
    const attacker = await guestSession({ cart: [{ sku: 'spam', qty: 99 }] });
    const hook = vi.fn<TransferHook>(migrateCart);

    const result = await anon.transfer({
      sessionToken: attacker.token,
      loginBinding: victim.binding,
      userId: 'auth0|victim',
      isNewUser: true,
      users: users.adapter,
      onPreRegistration: hook,
    });
    expect(result).toEqual({
      transferred: false,
      reason: 'not_bound',
      anonymous_session: attacker.session,
      app_metadata: {},
      user_metadata: {},
      custom_claims: {},
      ended_anonymous_session: false,
    });
    expect(hook).not.toHaveBeenCalled();
    expect(users.adapter.update).not.toHaveBeenCalled();
    expect(users.record('auth0|victim')).toEqual(newUser('auth0|victim'));

    // The refused attempt used nothing up: the victim's own session still transfers.
    const own = await anon.transfer({
      sessionToken: victim.token,
      loginBinding: victim.binding,
      userId: 'auth0|victim',
      isNewUser: true,
      users: users.adapter,
      onPreRegistration: hook,
    });
    expect(own.transferred).toBe(true);
    expect(users.record('auth0|victim')?.app_metadata).toEqual({ migrated_cart: cart });
  });

  it('a missing binding, or anything that is not a valid binding, is not_bound', async () => {
    const users = memoryUsers(newUser('auth0|binding'));
    const guest = await guestSession({ cart });
    const { anon: otherEngine } = await buildEngine({ rateLimit: false });
    const issued = await anon.issueToken({ client_id: CLIENT_ID, audience: AUDIENCE, session_token: guest.token });
    const candidates: (string | undefined)[] = [
      undefined,
      '',
      'garbage',
      await otherEngine.createLoginBinding(guest.session.session_id), // another engine's keys
      issued.response.access_token, // an access token naming the same sid
      guest.token, // the session token itself
    ];
    for (const loginBinding of candidates) {
      const result = await anon.transfer({
        sessionToken: guest.token,
        loginBinding,
        userId: 'auth0|binding',
        isNewUser: true,
        users: users.adapter,
        onPreRegistration: migrateCart,
      });
      expect(result.reason, String(loginBinding)).toBe('not_bound');
    }
    expect(users.adapter.get).not.toHaveBeenCalled();
    expect(users.adapter.update).not.toHaveBeenCalled();
  });

  it('requireLoginBinding: false transfers without a binding (for hosts that bind some other way)', async () => {
    const users = memoryUsers(newUser('auth0|unbound'));
    const guest = await guestSession({ cart });
    const result = await anon.transfer({
      sessionToken: guest.token,
      requireLoginBinding: false,
      userId: 'auth0|unbound',
      isNewUser: true,
      users: users.adapter,
      onPreRegistration: migrateCart,
    });
    expect(result.transferred).toBe(true);
    expect(users.record('auth0|unbound')?.app_metadata).toEqual({ migrated_cart: cart });
  });

  it('a binding expires with the login: 9 minutes later it still works, 11 minutes later it is not_bound', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
    const users = memoryUsers(newUser('auth0|slow'));
    const early = await boundGuest({ cart });
    const late = await boundGuest({ cart });
    const transfer = (guest: { token: string; binding: string }) =>
      anon.transfer({ sessionToken: guest.token, loginBinding: guest.binding, userId: 'auth0|slow', isNewUser: true, users: users.adapter, onPreRegistration: migrateCart });

    vi.setSystemTime(T0.getTime() + 9 * 60_000);
    expect((await transfer(early)).transferred).toBe(true);
    vi.setSystemTime(T0.getTime() + 11 * 60_000);
    expect(await transfer(late)).toMatchObject({ transferred: false, reason: 'not_bound' });
    expect(users.adapter.update).toHaveBeenCalledTimes(1);
  });
});

describe('when nothing transfers', () => {
  it.each([...UNSUPPORTED_TRANSFER_FLOWS])('flow %s: unsupported_flow, no hook, no user or store call', async (flow) => {
    const users = memoryUsers(newUser('auth0|flows'));
    const guest = await boundGuest({ cart });
    const hook = vi.fn<TransferHook>(migrateCart);
    const result = await anon.transfer({
      sessionToken: guest.token,
      loginBinding: guest.binding,
      userId: 'auth0|flows',
      isNewUser: false,
      flow,
      users: users.adapter,
      onPreRegistration: hook,
      onPostLogin: hook,
    });
    expect(result).toEqual({
      transferred: false,
      reason: 'unsupported_flow',
      app_metadata: {},
      user_metadata: {},
      custom_claims: {},
      ended_anonymous_session: false,
    });
    expect(hook).not.toHaveBeenCalled();
    expect(users.adapter.get).not.toHaveBeenCalled();
    expect(users.adapter.update).not.toHaveBeenCalled();
  });

  it('the flows docs/login-flow.md lists as never transferring are all unsupported', () => {
    expect(UNSUPPORTED_TRANSFER_FLOWS).toEqual(
      expect.arrayContaining(['device_code', 'ciba', 'custom_token_exchange', 'refresh_token', 'password_reset']),
    );
    expect(Object.isFrozen(UNSUPPORTED_TRANSFER_FLOWS)).toBe(true);
  });

  it('no session token: no_session; a bad, foreign or expired one: invalid_session', async () => {
    const users = memoryUsers(newUser('auth0|none'));
    const base = { userId: 'auth0|none', isNewUser: true, users: users.adapter, onPreRegistration: migrateCart, requireLoginBinding: false };
    expect((await anon.transfer({ ...base, sessionToken: undefined })).reason).toBe('no_session');
    expect((await anon.transfer({ ...base, sessionToken: '' })).reason).toBe('no_session');
    expect((await anon.transfer({ ...base, sessionToken: 'not-a-token' })).reason).toBe('invalid_session');

    const { anon: otherEngine } = await buildEngine({ rateLimit: false });
    const foreign = await guestSession({ cart }, otherEngine);
    expect((await anon.transfer({ ...base, sessionToken: foreign.token })).reason).toBe('invalid_session');

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
    const shortLived = await createAnonymousSessions(quickStartOptions({ sessionLifetime: 60, rateLimit: false }));
    const expiring = await guestSession({ cart }, shortLived);
    vi.setSystemTime(T0.getTime() + 120_000);
    expect((await shortLived.transfer({ ...base, sessionToken: expiring.token })).reason).toBe('invalid_session');
    expect(users.adapter.update).not.toHaveBeenCalled();
  });

  it('a session ended by logout transfers nothing', async () => {
    const users = memoryUsers(newUser('auth0|loggedout'));
    const guest = await boundGuest({ cart });
    await anon.logout({ clientId: CLIENT_ID, sessionToken: guest.token });
    const result = await anon.transfer({ sessionToken: guest.token, loginBinding: guest.binding, userId: 'auth0|loggedout', isNewUser: true, users: users.adapter, onPreRegistration: migrateCart });
    expect(result.reason).toBe('invalid_session');
    expect(users.adapter.update).not.toHaveBeenCalled();
  });
});

describe('endAnonymousSession', () => {
  it('revokes the guest session after the transfer: verifySessionToken then fails with invalid_session_token', async () => {
    const users = memoryUsers(newUser('auth0|ender'));
    const guest = await boundGuest({ cart });
    const result = await anon.transfer({
      sessionToken: guest.token,
      loginBinding: guest.binding,
      userId: 'auth0|ender',
      isNewUser: true,
      users: users.adapter,
      onPreRegistration: migrateCart,
      endAnonymousSession: true,
    });
    expect(result).toMatchObject({ transferred: true, ended_anonymous_session: true });
    await expectAnonymousError(anon.verifySessionToken(guest.token), 'invalid_session_token', 401);
    await expectAnonymousError(anon.issueToken({ client_id: CLIENT_ID, session_token: guest.token }), 'invalid_session_token', 401);
  });

  it('by default the guest session stays valid after the transfer', async () => {
    const users = memoryUsers(newUser('auth0|keeper'));
    const guest = await boundGuest({ cart });
    const result = await anon.transfer({ sessionToken: guest.token, loginBinding: guest.binding, userId: 'auth0|keeper', isNewUser: true, users: users.adapter, onPreRegistration: migrateCart });
    expect(result.ended_anonymous_session).toBe(false);
    expect((await anon.verifySessionToken(guest.token)).session_id).toBe(guest.session.session_id);
  });

  it('a refused transfer does not end the session', async () => {
    const users = memoryUsers(newUser('auth0|refused'));
    const guest = await guestSession({ cart });
    const result = await anon.transfer({ sessionToken: guest.token, userId: 'auth0|refused', isNewUser: true, users: users.adapter, endAnonymousSession: true });
    expect(result).toMatchObject({ reason: 'not_bound', ended_anonymous_session: false });
    expect((await anon.verifySessionToken(guest.token)).session_id).toBe(guest.session.session_id);
  });
});

describe('a store that cannot be reached fails closed', () => {
  function brokenStore(failing: keyof SessionStore): SessionStore {
    const working = memoryStore();
    return {
      revokeSession: failing === 'revokeSession' ? () => Promise.reject(new Error('ECONNRESET')) : (id, at) => working.revokeSession(id, at),
      isSessionRevoked: failing === 'isSessionRevoked' ? () => Promise.reject(new Error('ECONNRESET')) : (id) => working.isSessionRevoked(id),
      markOnce: failing === 'markOnce' ? () => Promise.reject(new Error('ECONNRESET')) : (key, at) => working.markOnce(key, at),
      increment: (key, window): Promise<CounterState> => working.increment(key, window),
    };
  }

  it.each(['markOnce', 'isSessionRevoked'] as const)('store.%s rejects: TemporarilyUnavailableError (503), nothing applied', async (failing) => {
    const { anon: engine } = await buildEngine({ rateLimit: false, store: brokenStore(failing) });
    const users = memoryUsers(newUser('auth0|outage'));
    const guest = await boundGuest({ cart }, engine);
    const error = await expectAnonymousError(
      engine.transfer({ sessionToken: guest.token, loginBinding: guest.binding, userId: 'auth0|outage', isNewUser: true, users: users.adapter, onPreRegistration: migrateCart }),
      'temporarily_unavailable',
      503,
    );
    expect(error).toBeInstanceOf(TemporarilyUnavailableError);
    expect(users.adapter.update).not.toHaveBeenCalled();
  });

  it('a store that never answers is cut off after storeTimeoutMs', async () => {
    const hanging: SessionStore = { ...memoryStore(), markOnce: () => new Promise<boolean>(() => {}) };
    const { anon: engine } = await buildEngine({ rateLimit: false, store: hanging, storeTimeoutMs: 50 });
    const users = memoryUsers(newUser('auth0|hang'));
    const guest = await boundGuest({ cart }, engine);
    await expectAnonymousError(
      engine.transfer({ sessionToken: guest.token, loginBinding: guest.binding, userId: 'auth0|hang', isNewUser: true, users: users.adapter, onPreRegistration: migrateCart }),
      'temporarily_unavailable',
      503,
    );
    expect(users.adapter.update).not.toHaveBeenCalled();
  });
});

/** A memory store that records the expiry of every once-mark and revocation the engine asks for. */
function recordingStore(options: { releaseMark?: boolean } = {}) {
  const inner = memoryStore();
  const marks: { key: string; expiresAt: number | undefined; set: boolean }[] = [];
  const revocations: { sessionId: string; expiresAt: number | undefined }[] = [];
  const store: SessionStore = {
    ...inner,
    markOnce: async (key, expiresAt) => {
      const set = await inner.markOnce(key, expiresAt);
      marks.push({ key, expiresAt, set });
      return set;
    },
    revokeSession: async (sessionId, expiresAt) => {
      revocations.push({ sessionId, expiresAt });
      await inner.revokeSession(sessionId, expiresAt);
    },
  };
  if (options.releaseMark === false) delete store.releaseMark;
  return { store, marks, revocations };
}

describe('the login binding is single-use: one login, one callback', () => {
  it('binding + guest token replayed into a second account’s callback: not_bound, that account untouched, its hook never runs', async () => {
    const users = memoryUsers(newUser('auth0|victim2'), newUser('auth0|attacker'));
    const guest = await boundGuest({ cart });
    const victim = await anon.transfer({
      sessionToken: guest.token,
      loginBinding: guest.binding,
      userId: 'auth0|victim2',
      isNewUser: true,
      users: users.adapter,
      onPreRegistration: migrateCart,
    });
    expect(victim.transferred).toBe(true);

    const hook = vi.fn<TransferHook>(migrateCart);
    const replay = await anon.transfer({
      sessionToken: guest.token,
      loginBinding: guest.binding,
      userId: 'auth0|attacker',
      isNewUser: true,
      users: users.adapter,
      onPreRegistration: hook,
      onPostLogin: hook,
    });
    expect(replay).toEqual({
      transferred: false,
      reason: 'not_bound',
      anonymous_session: guest.session,
      app_metadata: {},
      user_metadata: {},
      custom_claims: {},
      ended_anonymous_session: false,
    });
    expect(hook).not.toHaveBeenCalled();
    expect(users.adapter.get).not.toHaveBeenCalledWith('auth0|attacker');
    expect(users.record('auth0|attacker')).toEqual(newUser('auth0|attacker'));
    expect(users.adapter.update).toHaveBeenCalledTimes(1);
  });

  it('the same binding used twice for the same account: the second transfers nothing new', async () => {
    const users = memoryUsers({ ...newUser('auth0|twice'), user_metadata: { cart: [{ sku: 'mug', qty: 1 }] } });
    const guest = await boundGuest({ cart: [{ sku: 'mug', qty: 2 }] });
    const hook = vi.fn<TransferHook>(mergeCart());
    const login = () =>
      anon.transfer({ sessionToken: guest.token, loginBinding: guest.binding, userId: 'auth0|twice', isNewUser: false, users: users.adapter, onPostLogin: hook });
    expect((await login()).transferred).toBe(true);
    expect(await login()).toMatchObject({ transferred: false, reason: 'not_bound', user_metadata: {} });
    expect(hook).toHaveBeenCalledTimes(1);
    expect(users.adapter.update).toHaveBeenCalledTimes(1);
    expect(users.record('auth0|twice')?.user_metadata?.cart).toEqual([{ sku: 'mug', qty: 3 }]);
  });

  it('one binding raced into 10 different accounts in parallel: exactly one account gets the session', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `auth0|race${i}`);
    const users = memoryUsers(...ids.map(newUser));
    const guest = await boundGuest({ cart });
    const results = await Promise.all(
      ids.map((userId) =>
        anon.transfer({ sessionToken: guest.token, loginBinding: guest.binding, userId, isNewUser: true, users: users.adapter, onPreRegistration: migrateCart }),
      ),
    );
    expect(results.filter((result) => result.transferred)).toHaveLength(1);
    expect(results.filter((result) => result.reason === 'not_bound')).toHaveLength(9);
    expect(users.adapter.update).toHaveBeenCalledTimes(1);
    expect(ids.filter((userId) => users.record(userId)?.app_metadata?.migrated_cart !== undefined)).toHaveLength(1);
  });

  it('a second login (a fresh binding) of the same session into the same account: already_transferred', async () => {
    const users = memoryUsers({ ...newUser('auth0|again'), user_metadata: { cart: [] } });
    const guest = await boundGuest({ cart: [{ sku: 'mug', qty: 2 }] });
    const login = (loginBinding: string) =>
      anon.transfer({ sessionToken: guest.token, loginBinding, userId: 'auth0|again', isNewUser: false, users: users.adapter, onPostLogin: mergeCart() });
    expect((await login(guest.binding)).transferred).toBe(true);
    const fresh = await anon.createLoginBinding(guest.session.session_id);
    expect((await login(fresh)).reason).toBe('already_transferred');
    // That second login used its binding up too.
    expect((await login(fresh)).reason).toBe('not_bound');
    expect(users.record('auth0|again')?.user_metadata?.cart).toEqual([{ sku: 'mug', qty: 2 }]);
  });

  it.each([
    ['users.get', 'get'],
    ['users.update', 'update'],
  ] as const)('%s fails transiently: nothing is used up, the same login retries and transfers once; then the binding is spent', async (_label, failing) => {
    const users = memoryUsers({ ...newUser('auth0|retry'), user_metadata: { cart: [{ sku: 'mug', qty: 1 }] } }, newUser('auth0|thief'));
    const guest = await boundGuest({ cart: [{ sku: 'mug', qty: 2 }] });
    const login = (userId: string) =>
      anon.transfer({ sessionToken: guest.token, loginBinding: guest.binding, userId, isNewUser: false, users: users.adapter, onPostLogin: mergeCart() });
    users.adapter[failing].mockRejectedValueOnce(new Error('connection reset'));
    await expect(login('auth0|retry')).rejects.toThrow('connection reset');
    expect(users.record('auth0|retry')?.user_metadata?.cart).toEqual([{ sku: 'mug', qty: 1 }]);

    expect((await login('auth0|retry')).transferred).toBe(true);
    expect((await login('auth0|retry')).reason).toBe('not_bound');
    expect((await login('auth0|thief')).reason).toBe('not_bound');
    expect(users.record('auth0|retry')?.user_metadata?.cart).toEqual([{ sku: 'mug', qty: 3 }]);
    expect(users.record('auth0|thief')).toEqual(newUser('auth0|thief'));
  });

  it('a store without releaseMark: a failed login keeps its binding used (documented), nothing is applied twice', async () => {
    const { store } = recordingStore({ releaseMark: false });
    const { anon: engine } = await buildEngine({ rateLimit: false, store });
    const users = memoryUsers(newUser('auth0|norelease'));
    const guest = await boundGuest({ cart }, engine);
    const login = () =>
      engine.transfer({ sessionToken: guest.token, loginBinding: guest.binding, userId: 'auth0|norelease', isNewUser: true, users: users.adapter, onPreRegistration: migrateCart });
    users.adapter.update.mockRejectedValueOnce(new Error('database is down'));
    await expect(login()).rejects.toThrow('database is down');
    expect((await login()).reason).toBe('not_bound');
    expect(users.record('auth0|norelease')).toEqual(newUser('auth0|norelease'));
  });

  it('the binding’s once-mark is its own (not the transfer mark) and lasts until the binding’s exp + clockTolerance', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
    const { store, marks } = recordingStore();
    const { anon: engine } = await buildEngine({ rateLimit: false, store, sessionLifetime: 3600 });
    const users = memoryUsers(newUser('auth0|marks'));
    const guest = await boundGuest({ cart }, engine);
    vi.setSystemTime(T0.getTime() + 100_000);
    expect(
      (await engine.transfer({ sessionToken: guest.token, loginBinding: guest.binding, userId: 'auth0|marks', isNewUser: true, users: users.adapter, onPreRegistration: migrateCart })).transferred,
    ).toBe(true);
    expect(marks).toHaveLength(2);
    expect(new Set(marks.map((mark) => mark.key)).size).toBe(2);
    expect(marks.map((mark) => mark.expiresAt ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b)).toEqual([T0_SECONDS + 600 + 15, T0_SECONDS + 3600 + 15]);
  });
});

describe('"once" holds in every lifetime mode (frozen time)', () => {
  const LIFETIME = 3600;
  const TOLERANCE = 15;
  const engineFor = async (mode: 'absolute' | 'sliding' | 'never') => {
    const recorded = recordingStore();
    const { anon: engine } = await buildEngine({
      rateLimit: false,
      store: recorded.store,
      sessionLifetime: mode === 'never' ? 0 : LIFETIME,
      slidingExpiration: mode === 'sliding',
      clockTolerance: TOLERANCE,
    });
    return { engine, ...recorded };
  };
  const at = (seconds: number): void => {
    vi.setSystemTime(T0.getTime() + seconds * 1000);
  };
  const continueSession = async (engine: AnonymousSessions, token: string): Promise<string> =>
    (await engine.issueToken({ client_id: CLIENT_ID, audience: AUDIENCE, session_token: token })).response.session_token;

  /** A returning user with an empty cart, and a guest with 2 mugs who logs in once at `loginAt`. */
  async function firstLogin(engine: AnonymousSessions, loginAt: number) {
    const users = memoryUsers({ ...newUser('auth0|shopper'), user_metadata: { cart: [] } });
    const guest = await guestSession({ cart: [{ sku: 'mug', qty: 2 }] }, engine);
    at(loginAt);
    const login = async (sessionToken: string, endAnonymousSession = false) =>
      engine.transfer({
        sessionToken,
        loginBinding: await engine.createLoginBinding(guest.session.session_id),
        userId: 'auth0|shopper',
        isNewUser: false,
        users: users.adapter,
        onPostLogin: mergeCart(),
        endAnonymousSession,
      });
    expect((await login(guest.token)).transferred).toBe(true);
    expect(users.record('auth0|shopper')?.user_metadata?.cart).toEqual([{ sku: 'mug', qty: 2 }]);
    return { users, guest, login };
  }

  it('absolute: a second login with the first token inside clockTolerance after exp transfers nothing (cart stays 2)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(0);
    const { engine, marks } = await engineFor('absolute');
    const { users, guest, login } = await firstLogin(engine, 100);
    expect(marks.find((mark) => mark.key.includes(guest.session.session_id))?.expiresAt).toBe(T0_SECONDS + LIFETIME + TOLERANCE);

    at(LIFETIME + TOLERANCE - 5); // the token is past exp but still accepted
    expect((await engine.verifySessionToken(guest.token)).session_id).toBe(guest.session.session_id);
    expect((await login(guest.token)).reason).toBe('already_transferred');
    expect(users.record('auth0|shopper')?.user_metadata?.cart).toEqual([{ sku: 'mug', qty: 2 }]);
  });

  it('absolute: endAnonymousSession’s revocation outlives the token’s clockTolerance', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(0);
    const { engine, revocations } = await engineFor('absolute');
    const users = memoryUsers(newUser('auth0|ender-abs'));
    const guest = await guestSession({ cart }, engine);
    at(100);
    const result = await engine.transfer({
      sessionToken: guest.token,
      loginBinding: await engine.createLoginBinding(guest.session.session_id),
      userId: 'auth0|ender-abs',
      isNewUser: true,
      users: users.adapter,
      onPreRegistration: migrateCart,
      endAnonymousSession: true,
    });
    expect(result.ended_anonymous_session).toBe(true);
    expect(revocations).toEqual([{ sessionId: guest.session.session_id, expiresAt: T0_SECONDS + LIFETIME + TOLERANCE }]);
    at(LIFETIME + TOLERANCE - 5);
    await expectAnonymousError(engine.verifySessionToken(guest.token), 'invalid_session_token', 401);
  });

  it('sliding: continued past its first token’s exp, then a second login into the same account: cart stays 2, not 4', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(0);
    const { engine, marks } = await engineFor('sliding');
    const { users, guest, login } = await firstLogin(engine, 60);
    // The session can be continued for as long as someone keeps continuing it: the mark has no end.
    expect(marks.find((mark) => mark.key.includes(guest.session.session_id))?.expiresAt).toBeUndefined();

    let token = guest.token;
    for (let step = 1; step <= 8; step += 1) {
      at(step * 3000); // each continue lands before the previous token's exp: 24,000 s ≫ 3,600 s
      token = await continueSession(engine, token);
    }
    expect((await login(token)).reason).toBe('already_transferred');
    expect(users.record('auth0|shopper')?.user_metadata?.cart).toEqual([{ sku: 'mug', qty: 2 }]);
  });

  it('sliding: endAnonymousSession, then continuing with a newer token of the session once the old one expired: refused', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(0);
    const { engine, revocations } = await engineFor('sliding');
    const users = memoryUsers(newUser('auth0|ender-sliding'));
    const first = await guestSession({ cart }, engine);
    at(1800);
    const newer = await continueSession(engine, first.token); // exp 1800 + 3600
    const result = await engine.transfer({
      sessionToken: first.token, // the login carried the older token (exp 3600)
      loginBinding: await engine.createLoginBinding(first.session.session_id),
      userId: 'auth0|ender-sliding',
      isNewUser: true,
      users: users.adapter,
      onPreRegistration: migrateCart,
      endAnonymousSession: true,
    });
    expect(result.ended_anonymous_session).toBe(true);
    expect(revocations).toEqual([{ sessionId: first.session.session_id, expiresAt: T0_SECONDS + 1800 + LIFETIME + TOLERANCE }]);

    for (const seconds of [LIFETIME + TOLERANCE + 1, 1800 + LIFETIME + TOLERANCE - 1]) {
      at(seconds);
      await expectAnonymousError(continueSession(engine, newer), 'invalid_session_token', 401);
      await expectAnonymousError(engine.verifySessionToken(newer), 'invalid_session_token', 401);
    }
  });

  it('never (sessionLifetime 0): the transfer mark and the revocation are kept without expiry; 10 years later both still hold', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    at(0);
    const { engine, marks, revocations } = await engineFor('never');
    const { users, guest, login } = await firstLogin(engine, 60);
    expect(marks.find((mark) => mark.key.includes(guest.session.session_id))?.expiresAt).toBeUndefined();

    at(10 * 365 * 86_400);
    const token = await continueSession(engine, guest.token);
    expect((await login(token)).reason).toBe('already_transferred');
    expect(users.record('auth0|shopper')?.user_metadata?.cart).toEqual([{ sku: 'mug', qty: 2 }]);

    // Another account, ended with the transfer: the session stays ended.
    const other = memoryUsers(newUser('auth0|ender-never'));
    const ended = await engine.transfer({
      sessionToken: token,
      loginBinding: await engine.createLoginBinding(guest.session.session_id),
      userId: 'auth0|ender-never',
      isNewUser: true,
      users: other.adapter,
      onPreRegistration: migrateCart,
      endAnonymousSession: true,
    });
    expect(ended.ended_anonymous_session).toBe(true);
    expect(revocations).toEqual([{ sessionId: guest.session.session_id, expiresAt: undefined }]);
    at(20 * 365 * 86_400);
    await expectAnonymousError(continueSession(engine, token), 'invalid_session_token', 401);
  });
});
