/**
 * Cookie settings in one place (issue 11, item 1): the engine's `cookie` option is the cookie of
 * every middleware — the token router writes it, the cookie extractor and the login binding read
 * it, the transfer clears it — so renaming it, or turning `Secure` off for local http, reaches them
 * all. `secure: 'auto'` follows the request's protocol as the framework reports it under its proxy
 * trust; `partitioned` (CHIPS) needs `Secure` and `SameSite=None`.
 */
import type { RequestListener } from 'node:http';
import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, createAnonymousSessions, type TransferResult, type UsersAdapter } from '@anonymous-sessions/core';
import { CLIENT_ID, expectTokens, parseSetCookie, quickStartEngineOptions, setCookies, silentLogger, TOKEN_PATH, tokenRequest } from '../assertions.js';
import { BINDINGS, buildApp, type CallbackBody, type ContractAppOptions, type Framework, type LoginDescription, type PageBody } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function cookieSettingsCases(framework: Framework): void {
  /** A login description whose sign-up creates any account and whose store keeps what transfers. */
  function shopLogin(): LoginDescription & { updates: UsersAdapter['update'] } {
    const users = new Map<string, { user_id: string; app_metadata: Record<string, never>; user_metadata: Record<string, never> }>();
    const update = vi.fn(() => undefined);
    return {
      users: { get: (userId) => users.get(userId), update },
      updates: update,
      onPreRegistration: (event, api) => api.user.setAppMetadata('migrated_cart', event.anonymous_session.metadata.cart ?? []),
      signUp: (email) => {
        const userId = `local|${String(email)}`;
        users.set(userId, { user_id: userId, app_metadata: {}, user_metadata: {} });
        return { userId, isNewUser: true };
      },
      logIn: () => 401,
    };
  }

  const shop = (options: ContractAppOptions) => buildApp(framework, { login: shopLogin(), ...options });

  /** The one `Set-Cookie` named `name`, parsed. */
  function cookieNamed(res: request.Response, name: string) {
    const found = setCookies(res).filter((value) => value.startsWith(`${name}=`));
    expect(found, `${name} in ${JSON.stringify(setCookies(res))}`).toHaveLength(1);
    return parseSetCookie(found[0]!);
  }

  /** A guest gets a session, starts a login and signs up; every response along the way is returned. */
  async function guestSignsUp(app: RequestListener, cookieName: string, headers: Record<string, string> = {}) {
    const created = await request(app).post(TOKEN_PATH).set(headers).send(tokenRequest({ metadata: { cart: ['mug'] } }));
    const session = cookieNamed(created, cookieName);
    expect(session.value).toBe(expectTokens(created).session_token);
    const page = await request(app).get('/page').set(headers).set('Cookie', `${cookieName}=${session.value}`);
    const start = await request(app).get('/login/start').set(headers).set('Cookie', `${cookieName}=${session.value}`);
    const binding = setCookies(start).find((value) => value.startsWith('anon_login='));
    const cookies = [`${cookieName}=${session.value}`, ...(binding ? [binding.split(';')[0]!] : [])].join('; ');
    const callback = await request(app).post('/signup').set(headers).set('Cookie', cookies).send({ email: `${cookieName}@example.com` });
    return { created, session, page, start, callback };
  }

  describe('the engine’s cookie reaches every middleware', () => {
    it('a renamed cookie (engine only) is written by the router, found by the extractor, bound at login start and transferred', async () => {
      const { app } = await shop({ engine: { cookie: { name: 'shop_guest', secure: false } } });
      const { session, page, start, callback } = await guestSignsUp(app, 'shop_guest');
      expect((page.body as PageBody).session).not.toBeNull();
      expect((start.body as { session_id: string | null }).session_id).toEqual(expect.any(String));
      const transfer = (callback.body as CallbackBody).transfer as TransferResult;
      expect(transfer).toMatchObject({ transferred: true, app_metadata: { migrated_cart: ['mug'] } });
      expect(session.attributes.secure).toBeUndefined();
      // Nothing answers to the old default name any more.
      const stale = await request(app).get('/page').set('Cookie', `anon=${session.value}`);
      expect((stale.body as PageBody).session).toBeNull();
    });

    it('secure: false on the engine leaves no Secure cookie anywhere: session, moved, binding, cleared', async () => {
      const { app, anon } = await shop({ engine: { cookie: { secure: false, sameSite: 'strict' } } });
      const { session, start, callback } = await guestSignsUp(app, 'anon');
      const binding = cookieNamed(start, 'anon_login');
      const cleared = cookieNamed(callback, 'anon_login');
      for (const cookie of [session, binding, cleared]) {
        expect(cookie.attributes.secure, cookie.name).toBeUndefined();
        expect(cookie.attributes.samesite, cookie.name).toBe('Strict');
        expect(cookie.attributes.httponly, cookie.name).toBe(true);
      }
      const other = (await anon.issueToken(tokenRequest())).response.session_token;
      const moved = cookieNamed(await request(app).get('/page').query({ anonymous_session_token: other }), 'anon');
      expect(moved.attributes.secure).toBeUndefined();
      expect(moved.attributes.samesite).toBe('Strict');
    });

    it('the default is Secure for every cookie, the binding cookie included', async () => {
      const { app } = await shop({ engine: { cookie: {} } });
      const created = await request(app).post(TOKEN_PATH).send(tokenRequest());
      const session = cookieNamed(created, 'anon');
      expect(session.attributes).toMatchObject({ secure: true, httponly: true, samesite: 'Lax', path: '/' });
      const start = await request(app).get('/login/start').set('Cookie', `anon=${session.value}`);
      expect(cookieNamed(start, 'anon_login').attributes).toMatchObject({ secure: true, httponly: true, samesite: 'Lax' });
    });

    it('domain and path reach the binding cookie and the clearing of both cookies', async () => {
      const { app } = await shop({ engine: { cookie: { secure: false, domain: 'shop.test', path: '/' } } });
      const { session, start } = await guestSignsUp(app, 'anon');
      expect(session.attributes).toMatchObject({ domain: 'shop.test', path: '/' });
      expect(cookieNamed(start, 'anon_login').attributes).toMatchObject({ domain: 'shop.test', path: '/' });
      const logout = await request(app).post('/anonymous/logout').set('Cookie', `anon=${session.value}`).send({ client_id: CLIENT_ID });
      expect(logout.status).toBe(204);
      expect(cookieNamed(logout, 'anon').attributes).toMatchObject({ domain: 'shop.test', 'max-age': '0' });
    });

    it('a middleware’s own cookie options still override the engine’s for that middleware (one more release)', async () => {
      const { app } = await buildApp(framework, { engine: { cookie: { secure: false } }, router: { cookie: { name: 'legacy', secure: false } } });
      const res = await request(app).post(TOKEN_PATH).send(tokenRequest());
      expect(cookieNamed(res, 'legacy').value).toBe(expectTokens(res).session_token);
    });
  });

  describe("secure: 'auto'", () => {
    /** What a TLS-terminating proxy in front of the app sends. */
    const viaTlsProxy = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'shop.example.com', 'X-Forwarded-For': '203.0.113.7' };

    it('plain http: no Secure on any cookie', async () => {
      const { app } = await shop({ engine: { cookie: { secure: 'auto' } } });
      const { session, start, callback } = await guestSignsUp(app, 'anon');
      expect(session.attributes.secure).toBeUndefined();
      expect(cookieNamed(start, 'anon_login').attributes.secure).toBeUndefined();
      expect(cookieNamed(callback, 'anon_login').attributes.secure).toBeUndefined();
    });

    it('HTTPS as the framework sees it behind a trusted proxy: Secure on every cookie', async () => {
      const { app, anon } = await shop({ engine: { cookie: { secure: 'auto' } }, trustProxy: 1 });
      const { session, start, callback } = await guestSignsUp(app, 'anon', viaTlsProxy);
      expect(session.attributes.secure).toBe(true);
      expect(cookieNamed(start, 'anon_login').attributes.secure).toBe(true);
      expect(cookieNamed(callback, 'anon_login').attributes.secure).toBe(true);
      expect(((callback.body as CallbackBody).transfer as TransferResult).transferred).toBe(true);
      const other = (await anon.issueToken(tokenRequest())).response.session_token;
      const moved = await request(app).get('/page').set(viaTlsProxy).query({ anonymous_session_token: other });
      expect(cookieNamed(moved, 'anon').attributes.secure).toBe(true);
      const logout = await request(app).post('/anonymous/logout').set(viaTlsProxy).set('Cookie', `anon=${session.value}`).send({ client_id: CLIENT_ID });
      expect(cookieNamed(logout, 'anon').attributes.secure).toBe(true);
    });

    it('X-Forwarded-Proto from a peer the app does not trust changes nothing', async () => {
      const { app } = await shop({ engine: { cookie: { secure: 'auto' } } });
      const res = await request(app).post(TOKEN_PATH).set('X-Forwarded-Proto', 'https').send(tokenRequest());
      expect(cookieNamed(res, 'anon').attributes.secure).toBeUndefined();
    });
  });

  describe('partitioned (CHIPS)', () => {
    it('Partitioned; Secure; SameSite=None on the session and binding cookies', async () => {
      const { app } = await shop({ engine: { cookie: { partitioned: true, secure: true, sameSite: 'none' } } });
      const created = await request(app).post(TOKEN_PATH).send(tokenRequest());
      const session = cookieNamed(created, 'anon');
      expect(session.attributes).toMatchObject({ partitioned: true, secure: true, samesite: 'None', httponly: true });
      const start = await request(app).get('/login/start').set('Cookie', `anon=${session.value}`);
      expect(cookieNamed(start, 'anon_login').attributes).toMatchObject({ partitioned: true, secure: true, samesite: 'None' });
    });

    it('not partitioned by default', async () => {
      const { app } = await shop({});
      expect(cookieNamed(await request(app).post(TOKEN_PATH).send(tokenRequest()), 'anon').attributes.partitioned).toBeUndefined();
    });
  });

  describe('invalid cookie settings are a ConfigError at start-up, naming the field', () => {
    const engineWith = async (cookie: unknown) =>
      createAnonymousSessions(await quickStartEngineOptions(silentLogger(), { cookie: cookie as never })).then(
        () => undefined,
        (error: unknown) => error,
      );

    it.each([
      [{ partitioned: true }, 'cookie.partitioned'],
      [{ partitioned: true, secure: true, sameSite: 'lax' }, 'cookie.partitioned'],
      [{ partitioned: true, secure: 'auto', sameSite: 'none' }, 'cookie.sameSite'],
      [{ sameSite: 'none', secure: 'auto' }, 'cookie.sameSite'],
      [{ sameSite: 'none', secure: false }, 'cookie.sameSite'],
      [{ name: '__Host-anon', domain: 'shop.test' }, 'cookie.name'],
      [{ name: '__Host-anon', secure: 'auto' }, 'cookie.name'],
      [{ name: '__Secure-anon', secure: false }, 'cookie.name'],
      [{ secure: 'yes' }, 'cookie.secure'],
      [{ name: 'a b' }, 'cookie.name'],
      [{ maxAge: 10 }, 'cookie.maxAge'],
    ])('%j → %s', async (cookie, path) => {
      const error = await engineWith(cookie);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).issues.map((issue) => issue.path)).toContain(path);
    });

    it('a middleware override that breaks the engine’s cookie is a ConfigError too', async () => {
      const anon = await createAnonymousSessions(await quickStartEngineOptions(silentLogger(), { cookie: { secure: true, sameSite: 'none' } }));
      expect(() => BINDINGS[framework].anonymousTokenRouter(anon, { cookie: { secure: false } })).toThrow(ConfigError);
    });
  });
}
