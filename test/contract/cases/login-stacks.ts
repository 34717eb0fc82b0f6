/**
 * `loginTransfer` (the login-stack pair behind `passportTransfer` and any hand-written OAuth
 * client) over HTTP, on Express, Koa and the fetch binding (Hono middleware; route handlers) alike: the login start binds the guest session — from the
 * cookie or, only on a navigation the user or a same-site page started, from
 * `?anonymous_session_token=` — keeps a same-origin `returnTo`, and the callback transfers once
 * and clears the login's cookies. The real identity provider dances are in `test/login-stacks`.
 */
import type { RequestListener, Server } from 'node:http';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import { getRequestListener } from '@hono/node-server';
import express from 'express';
import { Hono, type Context } from 'hono';
import Koa from 'koa';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  createAnonymousSessions,
  mergeCart,
  type AnonymousSessions,
  type JsonObject,
  type TransferResult,
  type TransferUser,
  type UsersAdapter,
} from '@anonymous-sessions/core';
import { TemporarilyUnavailableError, type AuthenticatedUser } from '@anonymous-sessions/core/http';
import { expectError, expectNoLeak, expectTokens, parseSetCookie, quickStartEngineOptions, setCookies, silentLogger, tokenRequest } from '../assertions.js';
import { close, listen } from '../guard-helpers.js';
import { BINDINGS, type Framework } from '../apps.js';

/** What the test app's routes answer. */
interface StartBody {
  binding: string | null;
  returnTo: string | null;
}
interface FinishBody {
  transfer: TransferResult | null;
  returnTo: string | null;
}

const COOKIE = { secure: false };

type StackOptions = Record<string, unknown> & { users: UsersAdapter };

/** The same app on Hono with `@anonymous-sessions/fetch/hono`. */
function honoApp(engine: AnonymousSessions, options: StackOptions, userFor: (email: unknown) => AuthenticatedUser | undefined): RequestListener {
  const b = BINDINGS.fetch;
  const login = b.loginTransfer(engine, { ...options, getUser: (c) => userFor(c.req.query('email')) });
  const app = new Hono();
  app.onError(b.anonymousErrorHandler({ logger: silentLogger() }));
  app.use(b.anonymousTokenRouter(engine, { cookie: COOKIE }));
  const started = (c: Context): Response => c.json({ binding: c.get('anonymousLoginBinding') ?? null, returnTo: c.get('anonymousReturnTo') ?? null } satisfies StartBody);
  app.get('/login', login.start, started);
  app.get('/page', b.anonCookieExtractor(engine, { cookie: COOKIE }), login.start, started);
  app.get('/callback', login.finish, (c) => c.json({ transfer: c.get('anonymousTransfer') ?? null, returnTo: c.get('anonymousReturnTo') ?? null } satisfies FinishBody));
  return getRequestListener(app.fetch) as RequestListener;
}

/** The same app as Next.js route handlers calling `@anonymous-sessions/fetch` with `Request` objects. */
function nextApp(engine: AnonymousSessions, options: StackOptions, userFor: (email: unknown) => AuthenticatedUser | undefined): RequestListener {
  const f = BINDINGS.next;
  const login = f.loginTransfer(engine, { ...options, getUser: (request) => userFor(new URL(request.url).searchParams.get('email') ?? undefined) });
  const tokens = f.anonymousTokenHandler(engine, { cookie: COOKIE });
  const extract = f.anonCookieExtractor(engine, { cookie: COOKIE });
  const withCookies = (response: Response, setCookies: readonly string[], headers: Record<string, string> = {}): Response => {
    for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
    for (const header of setCookies) response.headers.append('Set-Cookie', header);
    return response;
  };
  const start = async (request: Request, withExtractor: boolean): Promise<Response> => {
    const found = withExtractor ? await extract(request) : {};
    if (found.response !== undefined) return found.response;
    const outcome = await login.start(request, found.session);
    return withCookies(Response.json({ binding: outcome.binding ?? null, returnTo: outcome.returnTo } satisfies StartBody), outcome.setCookies, outcome.headers);
  };
  const routes: Record<string, (request: Request) => Promise<Response>> = {
    '/login': (request) => start(request, false),
    '/page': (request) => start(request, true),
    '/callback': async (request) => {
      const outcome = await login.finish(request);
      return withCookies(Response.json({ transfer: outcome.transfer ?? null, returnTo: outcome.returnTo } satisfies FinishBody), outcome.setCookies);
    },
  };
  return getRequestListener(async (request: Request) => {
    try {
      const route = routes[new URL(request.url).pathname];
      return (await tokens(request)) ?? (route === undefined ? new Response('Not Found', { status: 404 }) : await route(request));
    } catch (error) {
      return f.anonymousErrorResponse(error, { logger: silentLogger() }) ?? new Response('Internal Server Error', { status: 500 });
    }
  }) as RequestListener;
}

/** The contract cases of this area, against `framework`. */
export function loginStackCases(framework: Framework): void {
  let anon: AnonymousSessions;
  let server: Server;
  let origin: string;
  const records = new Map<string, TransferUser>();
  const users: UsersAdapter = {
    get: async (userId) => structuredClone(records.get(userId)),
    update: async (userId, changes: { app_metadata?: JsonObject; user_metadata?: JsonObject }) => {
      const user = records.get(userId)!;
      records.set(userId, { ...user, user_metadata: { ...user.user_metadata, ...changes.user_metadata } });
    },
  };
  const cart = [{ sku: 'tee', qty: 2 }];

  /** `/login` = start (answers what it bound), `/callback` = fake authentication by `?email=` then finish. */
  function buildApp(engine: AnonymousSessions, extra: Record<string, unknown> = {}): RequestListener {
    const userFor = (email: unknown): AuthenticatedUser | undefined => {
      if (typeof email !== 'string') return undefined;
      const userId = `local|${email}`;
      const isNewUser = !records.has(userId);
      if (isNewUser) records.set(userId, { user_id: userId, app_metadata: {}, user_metadata: {} });
      return { userId, isNewUser };
    };
    const options = { cookie: COOKIE, users, onPostLogin: mergeCart(), onPreRegistration: mergeCart(), ...extra };
    if (framework === 'express') {
      const b = BINDINGS.express;
      const login = b.loginTransfer(engine, { ...options, getUser: (req) => userFor(req.query.email) });
      const app = express();
      app.use(b.anonymousTokenRouter(engine, { cookie: COOKIE }));
      app.get('/login', login.start, (req, res) => {
        res.json({ binding: req.anonymousLoginBinding ?? null, returnTo: req.anonymousReturnTo ?? null } satisfies StartBody);
      });
      app.get('/page', b.anonCookieExtractor(engine, { cookie: COOKIE }), login.start, (req, res) => {
        res.json({ binding: req.anonymousLoginBinding ?? null, returnTo: req.anonymousReturnTo ?? null } satisfies StartBody);
      });
      app.get('/callback', express.json(), login.finish, (req, res) => {
        res.json({ transfer: req.anonymousTransfer ?? null, returnTo: req.anonymousReturnTo ?? null } satisfies FinishBody);
      });
      app.use(b.anonymousErrorHandler({ logger: silentLogger() }));
      return app;
    }
    if (framework === 'fetch') return honoApp(engine, options, userFor);
    if (framework === 'next') return nextApp(engine, options, userFor);
    const b = BINDINGS.koa;
    const login = b.loginTransfer(engine, { ...options, getUser: (ctx) => userFor(ctx.query.email) });
    const app = new Koa();
    app.on('error', () => undefined);
    app.use(b.anonymousErrorHandler({ logger: silentLogger() }));
    app.use(b.anonymousTokenRouter(engine, { cookie: COOKIE }));
    const router = new Router();
    router.get('/login', login.start, (ctx) => {
      ctx.body = { binding: ctx.state.anonymousLoginBinding ?? null, returnTo: ctx.state.anonymousReturnTo ?? null } satisfies StartBody;
    });
    router.get('/page', b.anonCookieExtractor(engine, { cookie: COOKIE }), login.start, (ctx) => {
      ctx.body = { binding: ctx.state.anonymousLoginBinding ?? null, returnTo: ctx.state.anonymousReturnTo ?? null } satisfies StartBody;
    });
    router.get('/callback', bodyParser(), login.finish, (ctx) => {
      ctx.body = { transfer: ctx.state.anonymousTransfer ?? null, returnTo: ctx.state.anonymousReturnTo ?? null } satisfies FinishBody;
    });
    app.use(router.routes());
    return app.callback();
  }

  beforeAll(async () => {
    anon = await createAnonymousSessions(await quickStartEngineOptions(silentLogger(), { rateLimit: false }));
    ({ server, origin } = await listen(buildApp(anon)));
  });

  afterAll(async () => {
    if (server) await close(server);
  });

  const browser = () => request.agent(origin);
  type Agent = ReturnType<typeof browser>;
  const guest = async (agent: Agent = browser()) => expectTokens(await agent.post('/anonymous/token').send(tokenRequest({ metadata: { cart } })));
  /** A guest made by a native app: a session token and no cookie anywhere. */
  const appGuest = async () => expectTokens(await request(origin).post('/anonymous/token').send(tokenRequest({ metadata: { cart } })));
  const sessionIdOf = async (token: string) => (await anon.verifySessionToken(token)).session_id;
  const cookiesOf = (res: request.Response) => Object.fromEntries(setCookies(res).map((header) => [parseSetCookie(header).name, parseSetCookie(header)]));
  const email = (label: string) => `${label}.${Math.random().toString(36).slice(2, 10)}@example.com`;

  describe('login start', () => {
    it('binds the cookie session in the binding cookie and keeps returnTo in its own short-lived cookie', async () => {
      const agent = browser();
      const tokens = await guest(agent);
      const res = await agent.get('/login').query({ returnTo: '/cart?step=2' });
      expect(res.status, res.text).toBe(200);
      const body = res.body as StartBody;
      expect(await anon.verifyLoginBinding(body.binding!)).toBe(await sessionIdOf(tokens.session_token));
      expect(body.returnTo).toBe('/cart?step=2');
      const cookies = cookiesOf(res);
      expect(Object.keys(cookies).sort()).toEqual(['anon_login', 'anon_login_return']);
      expect(cookies.anon_login_return).toEqual({
        name: 'anon_login_return',
        value: '/cart?step=2',
        attributes: { 'max-age': '600', path: '/', httponly: true, samesite: 'Lax' },
      });
      expect(res.headers['referrer-policy']).toBeUndefined();
    });

    it('keeps returnTo same-origin: another site, a protocol-relative or backslash path, a script URL become /', async () => {
      for (const target of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', '/%2F%2Fevil.example']) {
        const res = await browser().get('/login').query({ returnTo: target });
        expect((res.body as StartBody).returnTo, target).toBe('/');
      }
      const sameOrigin = await browser().get('/login').query({ returnTo: `${origin}/orders?x=1` });
      expect((sameOrigin.body as StartBody).returnTo).toBe('/orders?x=1');
    });

    it('a session token in the query, on a navigation the user started, binds that session: its own cookie, never the session cookie', async () => {
      const tokens = await appGuest();
      const res = await browser()
        .get('/login')
        .set('Sec-Fetch-Site', 'none')
        .query({ anonymous_session_token: tokens.session_token, returnTo: `/cart?anonymous_session_token=${tokens.session_token}&y=1` });
      const body = res.body as StartBody;
      expect(await anon.verifyLoginBinding(body.binding!)).toBe(await sessionIdOf(tokens.session_token));
      expect(body.returnTo).toBe('/cart?y=1'); // never echoed, not even through returnTo
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cache-control']).toBe('no-store');
      const cookies = cookiesOf(res);
      expect(Object.keys(cookies).sort()).toEqual(['anon_login', 'anon_login_return', 'anon_login_seed']);
      expect(cookies.anon_login_seed!.value).toBe(tokens.session_token);
      expect(cookies.anon_login_seed!.attributes).toMatchObject({ path: '/', httponly: true, samesite: 'Lax' });
      expect(Number(cookies.anon_login_seed!.attributes['max-age'])).toBeLessThanOrEqual(600);
      expect(cookies.anon_login_return!.value).toBe('/cart?y=1');
    });

    it('a same-site page may pass the token too; a cross-site page, a client without Fetch Metadata or a repeated parameter may not', async () => {
      const tokens = await appGuest();
      const accepted = await browser().get('/login').set('Sec-Fetch-Site', 'same-site').query({ anonymous_session_token: tokens.session_token });
      expect(cookiesOf(accepted).anon_login_seed).toBeDefined();
      for (const site of ['cross-site', undefined, 'garbage']) {
        const req = browser().get('/login').query({ anonymous_session_token: tokens.session_token });
        const res = await (site === undefined ? req : req.set('Sec-Fetch-Site', site));
        expect(res.body, String(site)).toEqual({ binding: null, returnTo: '/' });
        expect(setCookies(res), String(site)).toEqual([]);
        expect(res.headers['referrer-policy']).toBe('no-referrer'); // the URL held a token all the same
      }
      const repeated = await browser().get(`/login?anonymous_session_token=${tokens.session_token}&anonymous_session_token=x`).set('Sec-Fetch-Site', 'none');
      expect(repeated.body).toEqual({ binding: null, returnTo: '/' });
    });

    it("a refused query token leaves the browser's own guest bound", async () => {
      const agent = browser();
      const own = await guest(agent);
      const attacker = await appGuest();
      const res = await agent.get('/login').set('Sec-Fetch-Site', 'cross-site').query({ anonymous_session_token: attacker.session_token });
      expect(await anon.verifyLoginBinding((res.body as StartBody).binding!)).toBe(await sessionIdOf(own.session_token));
      expect(cookiesOf(res).anon_login_seed).toBeUndefined();
    });

    it('a bad or expired query token is ignored, never an error page', async () => {
      for (const token of ['not-a-token', 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln', 'x'.repeat(5000)]) {
        const res = await browser().get('/login').set('Sec-Fetch-Site', 'none').query({ anonymous_session_token: token });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ binding: null, returnTo: '/' });
        expectNoLeak(JSON.stringify(res.headers));
      }
    });

    it('runs after anonCookieExtractor too, and a stale seed or binding cookie of an earlier login is cleared', async () => {
      const agent = browser();
      const tokens = await appGuest();
      await agent.get('/login').set('Sec-Fetch-Site', 'none').query({ anonymous_session_token: tokens.session_token });
      const again = await agent.get('/page');
      const cleared = cookiesOf(again);
      expect(cleared.anon_login_seed).toMatchObject({ value: '', attributes: { 'max-age': '0' } });
      expect(cleared.anon_login).toMatchObject({ value: '', attributes: { 'max-age': '0' } });
    });

    it('a store outage while reading the query token is a 503, never a silent unbound login', async () => {
      const outage = await createAnonymousSessions(await quickStartEngineOptions(silentLogger()));
      vi.spyOn(outage, 'verifySessionToken').mockRejectedValue(new TemporarilyUnavailableError());
      const listening = await listen(buildApp(outage));
      try {
        const res = await request(listening.origin).get('/login').set('Sec-Fetch-Site', 'none').query({ anonymous_session_token: 'whatever' });
        expectError(res, 503, 'temporarily_unavailable');
      } finally {
        await close(listening.server);
      }
    });
  });

  describe('callback', () => {
    it('transfers the bound cookie session once, clears the login cookies and answers the kept returnTo', async () => {
      const agent = browser();
      await guest(agent);
      await agent.get('/login').query({ returnTo: '/orders' });
      const user = email('ada');
      const res = await agent.get('/callback').query({ email: user });
      const body = res.body as FinishBody;
      expect(body.transfer).toMatchObject({ transferred: true, user_metadata: { cart } });
      expect(body.returnTo).toBe('/orders');
      const cookies = cookiesOf(res);
      expect(Object.keys(cookies).sort()).toEqual(['anon_login', 'anon_login_return']);
      for (const cookie of Object.values(cookies)) expect(cookie).toMatchObject({ value: '', attributes: { 'max-age': '0' } });

      await agent.get('/login');
      expect(((await agent.get('/callback').query({ email: user })).body as FinishBody).transfer).toMatchObject({
        transferred: false,
        reason: 'already_transferred',
      });
    });

    it("transfers a query-given session, never the browser's own cookie session, and clears only the seed", async () => {
      const agent = browser();
      const own = await guest(agent);
      const tokens = await appGuest();
      await agent.get('/login').set('Sec-Fetch-Site', 'none').query({ anonymous_session_token: tokens.session_token });
      const res = await agent.get('/callback').query({ email: email('seed') });
      const body = res.body as FinishBody;
      expect(body.transfer).toMatchObject({ transferred: true });
      expect(body.transfer!.anonymous_session!.session_id).toBe(await sessionIdOf(tokens.session_token));
      expect(res.text).not.toContain(tokens.session_token.slice(20, 80));
      const cookies = cookiesOf(res);
      expect(cookies.anon_login_seed).toMatchObject({ value: '', attributes: { 'max-age': '0' } });
      expect(cookies.anon).toBeUndefined();
      expect((await agent.get('/anonymous/session')).status).toBe(200);
      expect(own.session_token).not.toBe(tokens.session_token);
    });

    it('a session planted after the start is not the bound one: not_bound', async () => {
      const agent = browser();
      await guest(agent);
      const binding = cookiesOf(await agent.get('/login')).anon_login!.value;
      const attacker = await appGuest();
      const res = await request(origin)
        .get('/callback')
        .set('Cookie', `anon=${attacker.session_token}; anon_login=${binding}`)
        .query({ email: email('planted') });
      expect((res.body as FinishBody).transfer).toMatchObject({ transferred: false, reason: 'not_bound' });
    });

    it('a planted returnTo cookie cannot redirect off-site', async () => {
      const res = await request(origin).get('/callback').set('Cookie', `anon_login_return=${encodeURIComponent('//evil.example/')}`).query({ email: email('return') });
      expect((res.body as FinishBody).returnTo).toBe('/');
    });

    it('nobody authenticated: nothing transfers, the login cookies are still cleared', async () => {
      const agent = browser();
      await guest(agent);
      await agent.get('/login').query({ returnTo: '/x' });
      const res = await agent.get('/callback');
      expect(res.body).toEqual({ transfer: null, returnTo: '/x' });
      expect(Object.keys(cookiesOf(res)).sort()).toEqual(['anon_login', 'anon_login_return']);
    });

    it('skips unsupported flows (a string or a function of the request)', async () => {
      for (const flow of ['refresh_token', () => 'password_reset']) {
        const listening = await listen(buildApp(anon, { flow }));
        try {
          const agent = request.agent(listening.origin);
          await agent.post('/anonymous/token').send(tokenRequest({ metadata: { cart } }));
          await agent.get('/login');
          const res = await agent.get('/callback').query({ email: email('flow') });
          expect((res.body as FinishBody).transfer).toMatchObject({ transferred: false, reason: 'unsupported_flow' });
        } finally {
          await close(listening.server);
        }
      }
    });
  });

  describe('options', () => {
    it('an unknown, misspelt or ill-typed option is a ConfigError naming it', () => {
      const binding = BINDINGS[framework];
      const base = { users, getUser: () => undefined };
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ ...base, onPostlogin: mergeCart() }, 'onPostlogin'],
        [{ users }, 'getUser'],
        [{ ...base, users: {} }, 'users'],
        [{ ...base, queryParam: 'a b' }, 'queryParam'],
        [{ ...base, endAnonymousSession: 'yes' }, 'endAnonymousSession'],
        [{ ...base, flow: 42 }, 'flow'],
        [{ ...base, seedCookieName: 'bad name' }, 'name'],
      ];
      for (const [options, key] of cases) {
        let thrown: unknown;
        try {
          (binding.loginTransfer as (engine: AnonymousSessions, options: unknown) => unknown)(anon, options);
        } catch (error) {
          thrown = error;
        }
        expect(thrown, key).toBeInstanceOf(ConfigError);
        expect((thrown as ConfigError).issues.map((issue) => issue.path).join(' '), key).toContain(key);
      }
    });

    it('queryParam: false turns the query token off; another name is honoured', async () => {
      const tokens = await appGuest();
      for (const [queryParam, name, expected] of [
        [false, 'anonymous_session_token', false],
        ['guest_token', 'guest_token', true],
        ['guest_token', 'anonymous_session_token', false],
      ] as const) {
        const listening = await listen(buildApp(anon, { queryParam }));
        try {
          const res = await request(listening.origin).get('/login').set('Sec-Fetch-Site', 'none').query({ [name]: tokens.session_token });
          expect((res.body as StartBody).binding !== null, `${String(queryParam)} ${name}`).toBe(expected);
        } finally {
          await close(listening.server);
        }
      }
    });
  });
}
