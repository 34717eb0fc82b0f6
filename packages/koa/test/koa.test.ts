/**
 * What only Koa has: mounting inside `@koa/router`, the `prefix` option, Koa's own `ctx.onerror`
 * rendering without the JSON error handler, typed `ctx.state`, named async middleware, and Koa 2.
 * Everything both frameworks share is in the contract suite (test/contract).
 */
import { createRequire } from 'node:module';
import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import Koa2 from 'koa2';
import request from 'supertest';
import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  createAnonymousSessions,
  type AnonymousSession,
  type AnonymousSessions,
  type TransferResult,
} from '@anonymous-sessions/core';
import { type AuthResult } from '@anonymous-sessions/core/http';
import {
  anonCookieExtractor,
  anonymousErrorHandler,
  anonymousLoginBinding,
  anonymousTokenRouter,
  isAnonymous,
  requireAnonymousOrUser,
  requireScopes,
  claimCheck,
  claimEquals,
  claimIncludes,
  requireUser,
  sessionTransfer,
  type AnonymousSessionsState,
} from '@anonymous-sessions/koa';
import {
  AUDIENCE,
  CLIENT_ID,
  expectError,
  expectTokens,
  quickStartEngineOptions,
  sessionSetCookie,
  silentLogger,
  TOKEN_PATH,
  tokenRequest,
} from '../../../test/contract/assertions.js';

const MISSING = 'Bearer realm="api"';
const NOT_A_USER = 'Bearer realm="api", error="insufficient_user_authentication", error_description="A signed-in user is required."';

let anon: AnonymousSessions;

beforeAll(async () => {
  anon = await createAnonymousSessions(await quickStartEngineOptions(silentLogger()));
});

const echo = (ctx: Context): void => {
  ctx.body = { guest: isAnonymous(ctx), sub: ctx.state.auth?.payload.sub };
};

describe('inside @koa/router', () => {
  it('serves the endpoints from router.all(…), with and without a prefix', async () => {
    const app = new Koa();
    const root = new Router();
    root.all(/^\/(anonymous|\.well-known)\//, anonymousTokenRouter(anon, { cookie: false }));
    root.get('/api', requireAnonymousOrUser({ anonymous: anon, audience: AUDIENCE }), echo);
    const nested = new Router({ prefix: '/auth' });
    nested.all('/{*rest}', anonymousTokenRouter(anon, { cookie: false, prefix: '/auth' }));
    app.use(anonymousErrorHandler({ logger: silentLogger() }));
    app.use(root.routes());
    app.use(nested.routes());

    const tokens = expectTokens(await request(app.callback()).post(TOKEN_PATH).send(tokenRequest()));
    const prefixed = expectTokens(await request(app.callback()).post(`/auth${TOKEN_PATH}`).send(tokenRequest()));
    expect((await request(app.callback()).get('/auth/.well-known/jwks.json')).status).toBe(200);
    const api = await request(app.callback()).get('/api').set('Authorization', `Bearer ${prefixed.access_token}`);
    expect(api.status, api.text).toBe(200);
    expect(api.body).toEqual({ guest: true, sub: (await anon.verifySessionToken(prefixed.session_token)).user_id });
    expect((await anon.verifySessionToken(tokens.session_token)).session_id).not.toBe((await anon.verifySessionToken(prefixed.session_token)).session_id);
    expect((await request(app.callback()).get('/api')).headers['www-authenticate']).toBe(MISSING);
  });

  it('calls next() for anything it does not serve, so later middleware still runs', async () => {
    const app = new Koa();
    const after: string[] = [];
    app.use(anonymousTokenRouter(anon, { cookie: false, prefix: '/auth/' }));
    app.use((ctx) => {
      after.push(`${ctx.method} ${ctx.path}`);
      ctx.body = 'host';
    });
    expect((await request(app.callback()).post(TOKEN_PATH).send(tokenRequest())).text).toBe('host');
    expect((await request(app.callback()).get('/auth/anonymous/token')).text).toBe('host');
    expectTokens(await request(app.callback()).post(`/auth${TOKEN_PATH}`).send(tokenRequest()));
    expect(after).toEqual([`POST ${TOKEN_PATH}`, 'GET /auth/anonymous/token']);
  });
});

describe('the realm of the guards', () => {
  it('requireUser challenges with the realm of the last guard the request went through (the default one included)', async () => {
    const shop = requireAnonymousOrUser({ anonymous: anon, audience: AUDIENCE, realm: 'shop' });
    const plain = requireAnonymousOrUser({ anonymous: anon, audience: AUDIENCE });
    const router = new Router();
    const ok = (ctx: Context): void => {
      ctx.body = { ok: true };
    };
    router.get('/shop', shop, requireUser(), ok);
    router.get('/plain', plain, requireUser(), ok);
    router.get('/both', shop, plain, requireUser(), ok);
    const app = new Koa();
    app.use(anonymousErrorHandler({ logger: silentLogger() }));
    app.use(anonymousTokenRouter(anon));
    app.use(router.routes());
    const server = app.callback();
    const { access_token } = expectTokens(await request(server).post(TOKEN_PATH).send(tokenRequest()));
    const realmOf = async (path: string) => (await request(server).get(path).set('Authorization', `Bearer ${access_token}`)).headers['www-authenticate'];
    expect(await realmOf('/shop')).toMatch(/^Bearer realm="shop"/);
    expect(await realmOf('/plain')).toMatch(/^Bearer realm="api"/);
    expect(await realmOf('/both')).toMatch(/^Bearer realm="api"/);
  });
});

describe('without anonymousErrorHandler, Koa’s own ctx.onerror renders the errors', () => {
  it('keeps status, WWW-Authenticate and Retry-After, with the safe message as text', async () => {
    const app = new Koa();
    app.silent = true;
    const guard = requireAnonymousOrUser({ anonymous: anon, audience: AUDIENCE });
    const router = new Router();
    router.get('/api', guard, echo);
    router.get('/checkout', guard, requireUser(), echo);
    router.get('/admin', guard, requireScopes('admin'), echo);
    app.use(router.routes());
    const guest = (await anon.issueToken(tokenRequest())).response.access_token;

    const missing = await request(app.callback()).get('/api');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe(MISSING);
    expect(missing.headers['content-type']).toMatch(/^text\/plain/);
    expect(missing.text).toBe('An access token is required.');

    const checkout = await request(app.callback()).get('/checkout').set('Authorization', `Bearer ${guest}`);
    expect(checkout.status).toBe(403);
    expect(checkout.headers['www-authenticate']).toBe(NOT_A_USER);

    const admin = await request(app.callback()).get('/admin').set('Authorization', `Bearer ${guest}`);
    expect(admin.status).toBe(403);
    expect(admin.headers['www-authenticate']).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="Missing scope: admin.", scope="admin"',
    );
  });

  it('a store outage in the cookie extractor is a 503 with Retry-After', async () => {
    const down = await createAnonymousSessions(
      await quickStartEngineOptions(silentLogger(), {
        rateLimit: false,
        storeTimeoutMs: 100,
        store: {
          revokeSession: () => Promise.reject(new Error('down')),
          isSessionRevoked: () => Promise.reject(new Error('down')),
          markOnce: () => Promise.reject(new Error('down')),
          increment: () => Promise.reject(new Error('down')),
        },
      }),
    );
    const app = new Koa();
    app.silent = true;
    app.use(anonCookieExtractor(down));
    app.use((ctx) => {
      ctx.body = 'page';
    });
    const { session_token } = (await down.issueToken(tokenRequest())).response;
    const res = await request(app.callback()).get('/').set('Cookie', `anon=${session_token}`);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.text).toBe('The session service is temporarily unavailable.');
  });
});

describe('typed ctx.state and named async middleware', () => {
  it('augments Koa’s DefaultState with what the middlewares set', () => {
    expectTypeOf<Koa.DefaultState['auth']>().toEqualTypeOf<AuthResult | undefined>();
    expectTypeOf<Koa.DefaultState['anonymousSession']>().toEqualTypeOf<AnonymousSession | undefined>();
    expectTypeOf<Koa.DefaultState['anonymousSessionToken']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Koa.DefaultState['anonymousTransfer']>().toEqualTypeOf<TransferResult | undefined>();
    expectTypeOf<Koa.DefaultState['anonymousLoginBinding']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<AnonymousSessionsState>().toMatchTypeOf<Koa.DefaultState>();
  });

  it('every factory returns a named async function', () => {
    const middlewares = {
      anonymousTokenRouter: anonymousTokenRouter(anon),
      anonCookieExtractor: anonCookieExtractor(anon),
      requireAnonymousOrUser: requireAnonymousOrUser({ anonymous: anon, audience: AUDIENCE }),
      requireUser: requireUser(),
      requireScopes: requireScopes('anon'),
      claimEquals: claimEquals('client_id', 'shop-web'),
      claimIncludes: claimIncludes('scope', 'anon'),
      claimCheck: claimCheck(() => true),
      anonymousLoginBinding: anonymousLoginBinding(anon),
      sessionTransfer: sessionTransfer(anon, { getUser: () => undefined, users: { get: () => undefined, update: () => undefined } }),
      anonymousErrorHandler: anonymousErrorHandler(),
    };
    for (const [name, middleware] of Object.entries(middlewares)) {
      expect(middleware.name).toBe(name);
      expect(middleware.constructor.name).toBe('AsyncFunction');
    }
  });
});

describe('Koa 2', () => {
  it('runs the same middlewares: token router, extractor, guard, error handler', async () => {
    expect(Koa2).not.toBe(Koa);
    expect((createRequire(import.meta.url)('koa2/package.json') as { version: string }).version).toMatch(/^2\./);
    const app = new Koa2();
    const router = new Router();
    router.get('/page', anonCookieExtractor(anon, { cookie: { secure: false } }), (ctx) => {
      ctx.body = { session_id: ctx.state.anonymousSession?.session_id ?? null };
    });
    router.get('/checkout', requireAnonymousOrUser({ anonymous: anon, audience: AUDIENCE }), requireUser(), echo);
    app.use(anonymousErrorHandler({ logger: silentLogger() }));
    app.use(anonymousTokenRouter(anon, { cookie: { secure: false } }));
    app.use(router.routes());

    const created = await request(app.callback()).post(TOKEN_PATH).send({ client_id: CLIENT_ID, metadata: { cart: ['mug'] } });
    const tokens = expectTokens(created);
    const cookie = sessionSetCookie(created).split(';')[0]!;
    const page = await request(app.callback()).get('/page').set('Cookie', cookie);
    expect(page.body).toEqual({ session_id: (await anon.verifySessionToken(tokens.session_token)).session_id });
    const checkout = await request(app.callback()).get('/checkout').set('Authorization', `Bearer ${tokens.access_token}`);
    expectError(checkout, 403, 'insufficient_user_authentication');
    expect(checkout.headers['www-authenticate']).toBe(NOT_A_USER);
    expectError(await request(app.callback()).post(TOKEN_PATH).send({ client_id: 'nobody' }), 401, 'invalid_client');
  });
});
