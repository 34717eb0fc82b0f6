/**
 * `anonymousLoginBinding` + `sessionTransfer` over HTTP (docs/login-flow.md): a shop with the token router, a
 * login-start route that binds the guest session to the login, and sign-up / login routes that
 * authenticate a (fake) user and then transfer. Browsers are supertest agents with cookie jars; an
 * attacker is another agent.
 */
import type { Server } from 'node:http';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi, type Mock } from 'vitest';
import {
  createAnonymousSessions,
  memoryStore,
  mergeCart,
  type AnonymousSessions,
  type JsonObject,
  type TransferHook,
  type TransferResult,
  type TransferUser,
  type UsersAdapter,
} from '@anonymous-sessions/core';
import {
  advanceDate,
  AUDIENCE,
  CLIENT_ID,
  expectError,
  freezeDate,
  expectTokens,
  parseSetCookie,
  setCookies,
  silentLogger,
  testKeys,
  type TokenBody,
} from '../assertions.js';
import { close, listen } from '../guard-helpers.js';
import { buildApp, TEST_COOKIE, type CallbackBody, type Framework, type HostErrorBody } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function sessionTransferCases(framework: Framework): void {

  const cart = [
    { sku: 'mug', qty: 2 },
    { sku: 'tee', qty: 1 },
  ];

  /** The host's user store: `update` merges top-level keys (`null` deletes), as Auth0's PATCH does. */
  interface Users {
    adapter: UsersAdapter & {
      get: Mock<(userId: string) => Promise<TransferUser | undefined>>;
      update: Mock<(userId: string, changes: { app_metadata?: JsonObject; user_metadata?: JsonObject }) => Promise<void>>;
    };
    create(user: TransferUser): void;
    record(userId: string): TransferUser | undefined;
  }

  function memoryUsers(): Users {
    const users = new Map<string, TransferUser>();
    const mergeInto = (target: JsonObject | undefined, changes: JsonObject | undefined): JsonObject => {
      const merged: JsonObject = { ...target };
      for (const [key, value] of Object.entries(changes ?? {})) {
        if (value === null) delete merged[key];
        else merged[key] = value;
      }
      return merged;
    };
    return {
      adapter: {
        get: vi.fn(async (userId: string) => structuredClone(users.get(userId))),
        update: vi.fn(async (userId: string, changes: { app_metadata?: JsonObject; user_metadata?: JsonObject }) => {
          const user = users.get(userId)!;
          users.set(userId, {
            ...user,
            app_metadata: mergeInto(user.app_metadata, changes.app_metadata),
            user_metadata: mergeInto(user.user_metadata, changes.user_metadata),
          });
        }),
      },
      create: (user) => users.set(user.user_id, structuredClone(user)),
      record: (userId) => structuredClone(users.get(userId)),
    };
  }

  /** The sign-up hook: keep the guest's cart as `app_metadata.migrated_cart`. */
  const migrateCart: TransferHook = (event, api) => {
    if (event.anonymous_session.metadata.cart !== undefined) api.user.setAppMetadata('migrated_cart', event.anonymous_session.metadata.cart);
  };

  let anon: AnonymousSessions;
  let users: Users;
  let server: Server;
  let origin: string;
  const userIdFor = (email: unknown): string => `local|${String(email)}`;

  /** Fake sign-up: creates the account from `{ email }`; 409 when it exists. */
  const signUp = (email: unknown) => {
    const userId = userIdFor(email);
    if (users.record(userId) !== undefined) return 409;
    users.create({ user_id: userId, app_metadata: {}, user_metadata: {} });
    return { userId, isNewUser: true };
  };

  /** Fake login: `{ email }` of an existing account; 401 when unknown. */
  const logIn = (email: unknown) => {
    const userId = userIdFor(email);
    return users.record(userId) === undefined ? 401 : { userId, isNewUser: false };
  };

  beforeAll(async () => {
    const logger = silentLogger();
    anon = await createAnonymousSessions({
      issuer: 'http://localhost:3000/',
      keys: await testKeys(),
      clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
      resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: ['anon', 'write:cart'] }],
      store: memoryStore(),
      rateLimit: false,
      logger,
      cookie: TEST_COOKIE,
    });
    users = memoryUsers();

    const { app } = await buildApp(framework, {
      anon,
      login: { users: users.adapter, onPreRegistration: migrateCart, onPostLogin: mergeCart(), signUp, logIn },
    });
    ({ server, origin } = await listen(app));
  });

  afterAll(async () => {
    if (server) await close(server);
  });

  /** A browser: a cookie jar against the shop. */
  const browser = () => request.agent(origin);
  type Browser = ReturnType<typeof browser>;

  /** The guest gets a session (with a cart) through the token endpoint; the cookie lands in the jar. */
  async function guestWithCart(agent: Browser, metadata: JsonObject = { cart }): Promise<TokenBody> {
    return expectTokens(await agent.post('/anonymous/token').send({ client_id: CLIENT_ID, audience: AUDIENCE, metadata }));
  }

  /** GET /login/start; returns the binding cookie's `name=value`. */
  async function startLogin(agent: Browser, expectedSessionId?: string): Promise<string> {
    const res = await agent.get('/login/start');
    expect(res.status, res.text).toBe(200);
    if (expectedSessionId !== undefined) expect((res.body as { session_id: string }).session_id).toBe(expectedSessionId);
    const bindingCookie = setCookies(res).find((value) => value.startsWith('anon_login='));
    expect(bindingCookie).toBeDefined();
    return bindingCookie!.split(';')[0]!;
  }

  const sessionIdOf = async (token: string): Promise<string> => (await anon.verifySessionToken(token)).session_id;

  const transferOf = (res: request.Response): TransferResult => {
    expect(res.status, res.text).toBe(200);
    const body = res.body as CallbackBody;
    expect(body.transfer).not.toBeNull();
    return body.transfer!;
  };

  describe('login start', () => {
    it('binds the current guest session in a short-lived HttpOnly cookie and on req.anonymousLoginBinding', async () => {
      const agent = browser();
      const tokens = await guestWithCart(agent);
      const res = await agent.get('/login/start');
      const body = res.body as { session_id: string; binding: string };
      expect(body.session_id).toBe(await sessionIdOf(tokens.session_token));
      expect(await anon.verifyLoginBinding(body.binding)).toBe(body.session_id);

      const cookie = parseSetCookie(setCookies(res).find((value) => value.startsWith('anon_login='))!);
      expect(cookie).toEqual({
        name: 'anon_login',
        value: body.binding,
        attributes: { 'max-age': '600', path: '/', httponly: true, samesite: 'Lax' },
      });
    });

    it('without a guest session there is nothing to bind: no cookie', async () => {
      const res = await browser().get('/login/start');
      expect(res.body).toEqual({ session_id: null, binding: null });
      expect(setCookies(res)).toEqual([]);
    });

    it('a session token kept in ?anonymous_session_token= is moved into the cookie and bound', async () => {
      const tokens = await guestWithCart(browser());
      const agent = browser();
      // The token is moved into the cookie on a redirect to the URL without it; the login starts there.
      const moved = await agent.get('/login/start').query({ anonymous_session_token: tokens.session_token });
      expect(moved.status).toBe(303);
      expect(setCookies(moved).map((value) => value.split('=')[0])).toEqual(['anon']);
      const res = await agent.get(moved.headers.location!);
      expect((res.body as { session_id: string }).session_id).toBe(await sessionIdOf(tokens.session_token));
      expect(setCookies(res).map((value) => value.split('=')[0])).toEqual(['anon_login']);
      const signup = transferOf(await agent.post('/signup').send({ email: 'query@example.com' }));
      expect(signup.transferred).toBe(true);
      expect(users.record(userIdFor('query@example.com'))?.app_metadata).toEqual({ migrated_cart: cart });
    });
  });

  describe('sign-up and login callbacks', () => {
    it('guest with a cart starts login and signs up: transferred, the cart is in the user store, the binding cookie cleared', async () => {
      const agent = browser();
      const tokens = await guestWithCart(agent);
      await startLogin(agent, await sessionIdOf(tokens.session_token));

      const res = await agent.post('/signup').query({ returnTo: '/cart?step=2' }).send({ email: 'ada@example.com' });
      const result = transferOf(res);
      expect(result).toMatchObject({ transferred: true, app_metadata: { migrated_cart: cart }, ended_anonymous_session: false });
      expect(result.anonymous_session?.session_id).toBe(await sessionIdOf(tokens.session_token));
      expect((res.body as CallbackBody).redirect).toBe('/cart?step=2');
      expect(users.record(userIdFor('ada@example.com'))?.app_metadata).toEqual({ migrated_cart: cart });

      // The binding cookie is cleared; the session cookie is not (the guest session stays valid).
      const cleared = setCookies(res);
      expect(cleared).toHaveLength(1);
      expect(parseSetCookie(cleared[0]!)).toMatchObject({ name: 'anon_login', value: '', attributes: { 'max-age': '0', path: '/' } });
      const session = await agent.get('/anonymous/session');
      expect(session.status).toBe(200);

      // So a later callback from this browser has no binding any more.
      const again = transferOf(await agent.post('/login').send({ email: 'ada@example.com' }));
      expect(again).toMatchObject({ transferred: false, reason: 'not_bound' });
    });

    it('login into an account with its own cart merges the carts (mergeCart)', async () => {
      users.create({ user_id: userIdFor('grace@example.com'), app_metadata: {}, user_metadata: { cart: [{ sku: 'mug', qty: 1 }, { sku: 'cap', qty: 1 }] } });
      const agent = browser();
      await guestWithCart(agent);
      await startLogin(agent);
      const result = transferOf(await agent.post('/login').send({ email: 'grace@example.com' }));
      expect(result.transferred).toBe(true);
      expect(users.record(userIdFor('grace@example.com'))?.user_metadata).toEqual({
        cart: [
          { sku: 'mug', qty: 3 },
          { sku: 'cap', qty: 1 },
          { sku: 'tee', qty: 1 },
        ],
      });
    });

    it('a replayed callback (same cookies sent twice) transfers once: the binding is used up (not_bound)', async () => {
      users.create({ user_id: userIdFor('replay@example.com'), app_metadata: {}, user_metadata: { cart: [{ sku: 'mug', qty: 1 }] } });
      const agent = browser();
      const tokens = await guestWithCart(agent);
      const binding = await startLogin(agent);
      const cookies = `anon=${tokens.session_token}; ${binding}`;
      const callback = () => request(origin).post('/login').set('Cookie', cookies).send({ email: 'replay@example.com' });

      expect(transferOf(await callback()).transferred).toBe(true);
      expect(transferOf(await callback())).toMatchObject({ transferred: false, reason: 'not_bound', user_metadata: {} });
      expect((users.record(userIdFor('replay@example.com'))?.user_metadata?.cart as JsonObject[])[0]).toEqual({ sku: 'mug', qty: 3 });

      // A new login of the same session (a fresh binding) into the same account: already_transferred.
      const again = await startLogin(agent);
      expect(transferOf(await request(origin).post('/login').set('Cookie', `anon=${tokens.session_token}; ${again}`).send({ email: 'replay@example.com' })))
        .toMatchObject({ transferred: false, reason: 'already_transferred' });
      expect((users.record(userIdFor('replay@example.com'))?.user_metadata?.cart as JsonObject[])[0]).toEqual({ sku: 'mug', qty: 3 });
    });

    it('parallel callbacks with the same cookies transfer once', async () => {
      users.create({ user_id: userIdFor('parallel@example.com'), app_metadata: {}, user_metadata: {} });
      const agent = browser();
      const tokens = await guestWithCart(agent);
      const binding = await startLogin(agent);
      const updatesBefore = users.adapter.update.mock.calls.length;
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          request(origin).post('/login').set('Cookie', `anon=${tokens.session_token}; ${binding}`).send({ email: 'parallel@example.com' }),
        ),
      );
      expect(results.map(transferOf).filter((result) => result.transferred)).toHaveLength(1);
      expect(users.adapter.update.mock.calls.length - updatesBefore).toBe(1);
      expect(users.record(userIdFor('parallel@example.com'))?.user_metadata).toEqual({ cart });
    });

    it('the binding can come back in an OAuth state instead of the cookie (getLoginBinding)', async () => {
      users.create({ user_id: userIdFor('state@example.com'), app_metadata: {}, user_metadata: {} });
      const agent = browser();
      const tokens = await guestWithCart(agent);
      const { binding } = (await agent.get('/login/start')).body as { binding: string };
      const result = transferOf(
        await request(origin).post('/login/state').query({ state: binding }).set('Cookie', `anon=${tokens.session_token}`).send({ email: 'state@example.com' }),
      );
      expect(result.transferred).toBe(true);
    });

    it('redirect targets after login are same-origin only', async () => {
      users.create({ user_id: userIdFor('redirect@example.com'), app_metadata: {}, user_metadata: {} });
      const res = await browser().post('/login').query({ returnTo: '//evil.example/phish' }).send({ email: 'redirect@example.com' });
      expect((res.body as CallbackBody).redirect).toBe('/');
    });
  });

  describe('session fixation and replay from another browser', () => {
    it('an attacker replaying the victim’s anon cookie without the binding cookie: not_bound, nothing moves', async () => {
      users.create({ user_id: userIdFor('mallory@example.com'), app_metadata: {}, user_metadata: {} });
      const victim = browser();
      const victimTokens = await guestWithCart(victim);
      await startLogin(victim);

      const attacker = browser();
      attacker.jar.setCookie(`anon=${victimTokens.session_token}; Path=/`, '127.0.0.1', '/');
      const result = transferOf(await attacker.post('/login').send({ email: 'mallory@example.com' }));
      expect(result).toMatchObject({ transferred: false, reason: 'not_bound', app_metadata: {}, user_metadata: {} });
      expect(users.record(userIdFor('mallory@example.com'))).toEqual({ user_id: userIdFor('mallory@example.com'), app_metadata: {}, user_metadata: {} });

      // The victim's own login, with the binding, still transfers.
      const own = transferOf(await victim.post('/signup').send({ email: 'victim@example.com' }));
      expect(own.transferred).toBe(true);
    });

    it('a token planted after login start (the binding names session A, the anon cookie now holds B): not_bound', async () => {
      const victim = browser();
      const sessionA = await guestWithCart(victim);
      await startLogin(victim, await sessionIdOf(sessionA.session_token));

      const attacker = browser();
      const sessionB = await guestWithCart(attacker, { cart: [{ sku: 'spam', qty: 99 }] });
      victim.jar.setCookie(`anon=${sessionB.session_token}; Path=/`, '127.0.0.1', '/');

      const result = transferOf(await victim.post('/signup').send({ email: 'fixated@example.com' }));
      expect(result).toMatchObject({ transferred: false, reason: 'not_bound' });
      expect(result.anonymous_session?.session_id).toBe(await sessionIdOf(sessionB.session_token));
      expect(users.record(userIdFor('fixated@example.com'))?.app_metadata).toEqual({});
    });
  });

  describe('the login binding is single-use: one login, one callback', () => {
    const account = (email: string, cartLines: JsonObject[] = []) => {
      users.create({ user_id: userIdFor(email), app_metadata: {}, user_metadata: { cart: cartLines } });
      return email;
    };

    it('binding cookie + guest token replayed into a second account’s callback: not_bound, that account unchanged', async () => {
      const victimEmail = account('owner@example.com');
      const attackerEmail = account('taker@example.com', [{ sku: 'pen', qty: 1 }]);
      const victim = browser();
      const tokens = await guestWithCart(victim);
      const binding = await startLogin(victim);
      const stolen = `anon=${tokens.session_token}; ${binding}`;
      expect(transferOf(await request(origin).post('/login').set('Cookie', stolen).send({ email: victimEmail })).transferred).toBe(true);

      const updatesBefore = users.adapter.update.mock.calls.length;
      const replay = transferOf(await request(origin).post('/login').set('Cookie', stolen).send({ email: attackerEmail }));
      expect(replay).toMatchObject({ transferred: false, reason: 'not_bound', app_metadata: {}, user_metadata: {} });
      expect(users.adapter.update.mock.calls.length).toBe(updatesBefore);
      expect(users.record(userIdFor(attackerEmail))).toEqual({ user_id: userIdFor(attackerEmail), app_metadata: {}, user_metadata: { cart: [{ sku: 'pen', qty: 1 }] } });
      expect(users.record(userIdFor(victimEmail))?.user_metadata).toEqual({ cart });
    });

    it('one binding raced into two accounts’ callbacks at once: exactly one account gets the cart', async () => {
      const emails = [account('race-a@example.com'), account('race-b@example.com')];
      const agent = browser();
      const tokens = await guestWithCart(agent);
      const cookies = `anon=${tokens.session_token}; ${await startLogin(agent)}`;
      const results = (await Promise.all(emails.map((email) => request(origin).post('/login').set('Cookie', cookies).send({ email })))).map(transferOf);
      expect(results.map((result) => result.transferred).sort()).toEqual([false, true]);
      expect(results.find((result) => !result.transferred)?.reason).toBe('not_bound');
      expect(emails.filter((email) => (users.record(userIdFor(email))?.user_metadata?.cart as JsonObject[]).length > 0)).toHaveLength(1);
    });

    it('an OAuth state replayed, into another account or the same one: not_bound', async () => {
      const ownerEmail = account('state-owner@example.com');
      const otherEmail = account('state-other@example.com');
      const agent = browser();
      const tokens = await guestWithCart(agent);
      const { binding } = (await agent.get('/login/start')).body as { binding: string };
      const callback = (email: string) =>
        request(origin).post('/login/state').query({ state: binding }).set('Cookie', `anon=${tokens.session_token}`).send({ email });

      expect(transferOf(await callback(ownerEmail)).transferred).toBe(true);
      expect(transferOf(await callback(otherEmail))).toMatchObject({ transferred: false, reason: 'not_bound' });
      expect(transferOf(await callback(ownerEmail))).toMatchObject({ transferred: false, reason: 'not_bound' });
      expect(users.record(userIdFor(otherEmail))?.user_metadata).toEqual({ cart: [] });
      expect(users.record(userIdFor(ownerEmail))?.user_metadata).toEqual({ cart });
    });

    it('the user store fails once: the host’s error handler answers 500, the same login retries and transfers once; then the binding is spent', async () => {
      const ownerEmail = account('flaky-owner@example.com');
      const otherEmail = account('flaky-other@example.com');
      const agent = browser();
      const tokens = await guestWithCart(agent);
      const cookies = `anon=${tokens.session_token}; ${await startLogin(agent)}`;
      const callback = (email: string) => request(origin).post('/login').set('Cookie', cookies).send({ email });

      users.adapter.update.mockRejectedValueOnce(new Error('users database: connection reset'));
      const failed = await callback(ownerEmail);
      // The user store's error is the host's: passed on untouched to the host's error handler.
      expect(failed.status).toBe(500);
      expect(failed.body).toEqual({ handled_by: 'host' } satisfies HostErrorBody);
      expect(failed.text).not.toContain('connection reset');
      expect(setCookies(failed)).toEqual([]); // the binding cookie is kept for the retry
      expect(users.record(userIdFor(ownerEmail))?.user_metadata).toEqual({ cart: [] });

      expect(transferOf(await callback(ownerEmail)).transferred).toBe(true);
      expect(transferOf(await callback(otherEmail))).toMatchObject({ transferred: false, reason: 'not_bound' });
      expect(users.record(userIdFor(ownerEmail))?.user_metadata).toEqual({ cart });
      expect(users.record(userIdFor(otherEmail))?.user_metadata).toEqual({ cart: [] });
    });
  });

  describe('"once" in every lifetime mode: slidingExpiration', () => {
    const LIFETIME = 3600;
    const TOLERANCE = 15;

    /** A shop whose sessions slide (1 hour) and one returning account with an empty cart. */
    async function slidingShop() {
      const shopUsers = memoryUsers();
      shopUsers.create({ user_id: 'local|slider', app_metadata: {}, user_metadata: { cart: [] } });
      const { app } = await buildApp(framework, {
        engine: { sessionLifetime: LIFETIME, slidingExpiration: true, clockTolerance: TOLERANCE, rateLimit: false },
        login: {
          users: shopUsers.adapter,
          onPreRegistration: migrateCart,
          onPostLogin: mergeCart(),
          signUp: () => 409,
          logIn: () => ({ userId: 'local|slider', isNewUser: false }),
        },
      });
      const token = async (fields: JsonObject): Promise<string> =>
        expectTokens(await request(app).post('/anonymous/token').send({ client_id: CLIENT_ID, audience: AUDIENCE, ...fields })).session_token;
      /** Login start then the callback, with the guest's `token` in the cookie. */
      const login = async (sessionToken: string, path = '/login') => {
        const start = await request(app).get('/login/start').set('Cookie', `anon=${sessionToken}`);
        const { binding } = start.body as { binding: string | null };
        expect(binding).not.toBeNull();
        return request(app).post(path).set('Cookie', `anon=${sessionToken}; anon_login=${binding}`).send({ email: 'slider@example.com' });
      };
      return { app, users: shopUsers, token, login };
    }

    it('a session continued past its first token’s exp, then a second login into the same account: the cart stays 2, not 4', async () => {
      freezeDate();
      const shop = await slidingShop();
      let sessionToken = await shop.token({ metadata: { cart: [{ sku: 'mug', qty: 2 }] } });
      expect(transferOf(await shop.login(sessionToken)).transferred).toBe(true);
      expect(shop.users.record('local|slider')?.user_metadata).toEqual({ cart: [{ sku: 'mug', qty: 2 }] });

      for (let step = 0; step < 6; step += 1) {
        advanceDate(3000); // continue before each token expires: 18,000 s later the session still lives
        sessionToken = await shop.token({ session_token: sessionToken });
      }
      expect(transferOf(await shop.login(sessionToken))).toMatchObject({ transferred: false, reason: 'already_transferred' });
      expect(shop.users.record('local|slider')?.user_metadata).toEqual({ cart: [{ sku: 'mug', qty: 2 }] });
    });

    it('endAnonymousSession, then continuing with a newer token of the session once the older one expired: refused', async () => {
      freezeDate();
      const shop = await slidingShop();
      const older = await shop.token({ metadata: { cart } });
      const sessionIdOfToken = async (sessionToken: string): Promise<string> =>
        ((await request(shop.app).get('/anonymous/session').set('Authorization', `Bearer ${sessionToken}`)).body as { session_id: string }).session_id;
      const endedSessionId = await sessionIdOfToken(older);
      advanceDate(1800);
      const newer = await shop.token({ session_token: older }); // expires 1,800 s after the older one
      const ended = await shop.login(older, '/login/end-guest');
      expect(transferOf(ended)).toMatchObject({ transferred: true, ended_anonymous_session: true });

      advanceDate(LIFETIME - 1800 + TOLERANCE + 1); // the older token is dead, the newer one is not
      expectError(await request(shop.app).post('/anonymous/token').send({ client_id: CLIENT_ID, audience: AUDIENCE, session_token: newer }), 401, 'invalid_session_token');
      expectError(await request(shop.app).get('/anonymous/session').set('Authorization', `Bearer ${newer}`), 401, 'invalid_session_token');
      // Through the cookie, the dead session is ignored and a new one begins: never the old one.
      const fresh = await request(shop.app).post('/anonymous/token').set('Cookie', `anon=${newer}`).send({ client_id: CLIENT_ID, audience: AUDIENCE });
      const replacement = await sessionIdOfToken(expectTokens(fresh).session_token);
      expect(replacement).toMatch(/^sess_/);
      expect(replacement).not.toBe(endedSessionId);
    });
  });

  describe('endAnonymousSession and flows', () => {
    it('endAnonymousSession: true clears the anon cookie (Max-Age=0) and revokes the session', async () => {
      users.create({ user_id: userIdFor('ender@example.com'), app_metadata: {}, user_metadata: {} });
      const agent = browser();
      const tokens = await guestWithCart(agent);
      await startLogin(agent);
      const res = await agent.post('/login/end-guest').send({ email: 'ender@example.com' });
      expect(transferOf(res)).toMatchObject({ transferred: true, ended_anonymous_session: true });

      const cookies = setCookies(res);
      expect(cookies.find((value) => value.startsWith('anon=; Max-Age=0'))).toBeDefined();
      expect(cookies.find((value) => value.startsWith('anon_login=; Max-Age=0'))).toBeDefined();
      expect(parseSetCookie(cookies.find((value) => value.startsWith('anon='))!)).toMatchObject({ value: '', attributes: { 'max-age': '0', path: '/' } });

      const revoked = await request(origin).get('/anonymous/session').set('Authorization', `Bearer ${tokens.session_token}`);
      expectError(revoked, 401, 'invalid_session_token');
      expect((await agent.get('/anonymous/session')).status).toBe(401);
    });

    it('flow refresh_token: nothing transfers, nothing is updated, the session is not ended', async () => {
      users.create({ user_id: userIdFor('refresh@example.com'), app_metadata: {}, user_metadata: {} });
      const agent = browser();
      const tokens = await guestWithCart(agent);
      await startLogin(agent);
      const updatesBefore = users.adapter.update.mock.calls.length;
      const res = await agent.post('/oauth/token').send({ email: 'refresh@example.com' });
      expect(transferOf(res)).toEqual({
        transferred: false,
        reason: 'unsupported_flow',
        app_metadata: {},
        user_metadata: {},
        custom_claims: {},
        ended_anonymous_session: false,
      });
      expect(users.adapter.update.mock.calls.length).toBe(updatesBefore);
      expect(users.record(userIdFor('refresh@example.com'))?.user_metadata).toEqual({});
      expect(setCookies(res).some((value) => value.startsWith('anon='))).toBe(false);
      expect((await anon.verifySessionToken(tokens.session_token)).metadata).toEqual({ cart });
    });

    it('nobody authenticated on the request: no transfer, no cookie touched', async () => {
      const agent = browser();
      await guestWithCart(agent);
      await startLogin(agent);
      const res = await agent.post('/maybe').send({});
      expect(res.body).toEqual({ transfer: null, redirect: '/' });
      expect(setCookies(res)).toEqual([]);
    });
  });

  describe('failures', () => {
    it('a store outage during the transfer is a 503 temporarily_unavailable through the error handler', async () => {
      const logger = silentLogger();
      const working = memoryStore();
      const outage = await createAnonymousSessions({
        issuer: 'http://localhost:3000/',
        keys: await testKeys(),
        clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
        resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true }],
        store: { ...working, markOnce: () => Promise.reject(new Error('ECONNREFUSED')) },
        rateLimit: false,
        logger,
        cookie: TEST_COOKIE,
      });
      const shopUsers = memoryUsers();
      shopUsers.create({ user_id: 'local|down', app_metadata: {}, user_metadata: {} });
      const { app, logger: handlerLogger } = await buildApp(framework, {
        anon: outage,
        login: { users: shopUsers.adapter, onPostLogin: mergeCart(), signUp: () => 409, logIn: () => ({ userId: 'local|down', isNewUser: false }) },
      });
      const agent = request.agent(app);
      expectTokens(await agent.post('/anonymous/token').send({ client_id: CLIENT_ID, metadata: { cart } }));
      expect((await agent.get('/login/start')).status).toBe(200);
      const res = await agent.post('/login').send({ email: 'down@example.com' });
      expectError(res, 503, 'temporarily_unavailable');
      expect(shopUsers.adapter.update).not.toHaveBeenCalled();
      // The JSON error handler logs the outage (a 503), with its cause.
      expect(handlerLogger.error).toHaveBeenCalledWith(expect.stringContaining('temporarily_unavailable'), expect.anything());
    });
  });

  describe('anonymousLoginBinding when the store is down', () => {
    it('answers 503 temporarily_unavailable instead of silently binding nothing', async () => {
      const working = memoryStore();
      let down = false;
      const flaky = {
        ...working,
        isSessionRevoked: (sessionId: string) => (down ? Promise.reject(new Error('connection refused')) : working.isSessionRevoked(sessionId)),
      };
      const engine = await createAnonymousSessions({
        issuer: 'http://localhost:3000/',
        keys: await testKeys(),
        clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
        resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true }],
        store: flaky,
        rateLimit: false,
        logger: silentLogger(),
        cookie: TEST_COOKIE,
      });
      const { app } = await buildApp(framework, {
        anon: engine,
        login: { users: memoryUsers().adapter, signUp: () => 409, logIn: () => 401 },
      });
      const agent = request.agent(app);
      expect((await agent.post('/anonymous/token').send({ client_id: CLIENT_ID })).status).toBe(200);
      // The binder alone (no anonCookieExtractor before it) reads the session cookie itself.
      const bound = await agent.get('/login/bind');
      expect(bound.status).toBe(200);
      expect(setCookies(bound).filter((value) => value.startsWith('anon_login='))).toHaveLength(1);
      down = true;
      expectError(await agent.get('/login/bind'), 503, 'temporarily_unavailable');
      expectError(await agent.get('/login/start'), 503, 'temporarily_unavailable');
    });
  });
}
