/**
 * The guest shop on three real login stacks, against one real identity provider (`oidc-provider`,
 * on its own origin, `http://127.0.0.1:<port>`), each shop on `http://localhost:<port>`:
 *
 * - `express-openid-connect`: the example app (`examples/express-oidc`), Auth0's Express SDK with
 *   `openIdConnectTransfer` in its `getLoginState` / `afterCallback`;
 * - `passport`: Express + express-session + Passport with `openid-client/passport`'s strategy and
 *   `passportTransfer` around `passport.authenticate`;
 * - `koa-openid-client`: Koa + `openid-client` v6 with `openIdClientLogin`'s routes (the binding
 *   in the OAuth `state`, or in its cookie with `bindingIn: 'cookie'`);
 * - `hono-openid-client`: the same on Hono with the fetch binding's `openIdClientLogin`
 *   (`@anonymous-sessions/fetch/hono`), served by `@hono/node-server`.
 *
 * All three serve the same page (`examples/express-oidc/public`) and the same JSON routes, so the
 * HTTP and Chromium tests drive them alike.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import Router from '@koa/router';
import express, { type ErrorRequestHandler, type Request } from 'express';
import session from 'express-session';
import { Hono, type Context as HonoContext } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import Koa, { type Context } from 'koa';
import * as client from 'openid-client';
import { Strategy, type AuthenticateOptions } from 'openid-client/passport';
import passport from 'passport';
import { loginCallbackError, type AnonymousSessions, type IdTokenClaims } from '@anonymous-sessions/core';
import * as expressBinding from '@anonymous-sessions/express';
import * as honoBinding from '@anonymous-sessions/fetch/hono';
import * as koaBinding from '@anonymous-sessions/koa';
import { createOidcShopApp, servePage } from '../../examples/express-oidc/src/app.js';
import { startIdentityProvider, type IdentityProvider } from '../../examples/express-oidc/src/identity-provider.js';
import type { ShopUsers } from '../../examples/express-oidc/src/shop-users.js';
import {
  CLIENT_BUNDLE,
  createShopEngine,
  createShopUsers,
  DEMO_ACCOUNT,
  meBody,
  PRODUCTS,
  PUBLIC_DIR,
  SHOP_OIDC_CLIENT,
  summarizeTransfer,
  TRANSFER_HOOKS,
  type TransferSummary,
} from '../../examples/express-oidc/src/shop.js';
import { silentLogger, type SilentLogger } from '../contract/assertions.js';

/** The login stacks under test. */
export const STACKS = ['express-openid-connect', 'passport', 'koa-openid-client', 'hono-openid-client'] as const;
/** One of {@link STACKS}. */
export type StackKind = (typeof STACKS)[number];

/** What a shop is built with. */
export interface StackSpec {
  kind: StackKind;
  /** Koa and Hono only: where the binding travels. Default `state`. */
  bindingIn?: 'state' | 'cookie';
  /** Revoke the guest session after its transfer. */
  endAnonymousSession?: boolean;
}

/** A running shop. */
export interface Shop {
  spec: StackSpec;
  /** `http://localhost:<port>`. */
  origin: string;
  anon: AnonymousSessions;
  users: ShopUsers;
  logger: SilentLogger;
  /** Every string the shop's apps wrote to a log (engine logger, Koa's error event). */
  logged(): string;
}

/** The provider and the shops. */
export interface World {
  idp: IdentityProvider;
  shops: Shop[];
  close(): Promise<void>;
}

async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Starts the provider and one shop per spec. */
export async function startWorld(specs: readonly StackSpec[]): Promise<World> {
  const servers = await Promise.all(specs.map(() => listen()));
  const origins = servers.map(({ port }) => `http://localhost:${port}`);
  const idp = await startIdentityProvider({
    clients: [{ ...SHOP_OIDC_CLIENT, redirectUris: origins.map((origin) => `${origin}/callback`), postLogoutRedirectUris: origins.map((o) => `${o}/`) }],
    accounts: [{ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password, sub: DEMO_ACCOUNT.sub }],
  });
  const shops = await Promise.all(
    specs.map(async (spec, index) => {
      const logger = silentLogger();
      const origin = origins[index]!;
      const built = await BUILDERS[spec.kind](spec, origin, idp.issuer, logger);
      servers[index]!.server.on('request', built.listener);
      const shop: Shop = {
        spec,
        origin,
        anon: built.anon,
        users: built.users,
        logger,
        logged: () => JSON.stringify([...logger.warn.mock.calls, ...logger.error.mock.calls.map(([message, error]) => [message, String(error), (error as Error | undefined)?.stack])]),
      };
      return shop;
    }),
  );
  return {
    idp,
    shops,
    async close() {
      await Promise.all(servers.map(({ server }) => close(server)));
      await idp.close();
    },
  };
}

interface Built {
  listener: RequestListener;
  anon: AnonymousSessions;
  users: ShopUsers;
}

type Builder = (spec: StackSpec, origin: string, issuer: string, logger: SilentLogger) => Promise<Built>;

const secret = (): string => randomBytes(32).toString('base64url');

/** Discovery with `openid-client` against the loopback provider (http: allowed here only). */
const discover = (issuer: string): Promise<client.Configuration> =>
  client.discovery(new URL(issuer), SHOP_OIDC_CLIENT.clientId, SHOP_OIDC_CLIENT.clientSecret, undefined, {
    execute: [client.allowInsecureRequests],
  });

/** A refused login callback is a 400/403 (`loginCallbackError`), never a 500. */
const callbackErrors: ErrorRequestHandler = (error, _req, _res, next) => {
  next(loginCallbackError(error));
};

/** The engine, users and `openIdClientLogin` options both openid-client shops (Koa, Hono) share. */
async function openIdClientShop(spec: StackSpec, origin: string, issuer: string, logger: SilentLogger) {
  const anon = await createShopEngine({ issuer: `${origin}/`, logger });
  const users = createShopUsers();
  const cookie = { secure: false };
  const options = {
    client,
    config: await discover(issuer),
    redirectUri: `${origin}/callback`,
    scope: 'openid email',
    cookie,
    users,
    getUser: (claims: IdTokenClaims) => ({ userId: claims.sub, isNewUser: users.provision(claims).created }),
    ...TRANSFER_HOOKS,
    ...(spec.bindingIn === undefined ? {} : { bindingIn: spec.bindingIn }),
    ...(spec.endAnonymousSession === undefined ? {} : { endAnonymousSession: spec.endAnonymousSession }),
  };
  return { anon, users, cookie, options };
}

const BUILDERS: Record<StackKind, Builder> = {
  async 'express-openid-connect'(spec, origin, issuer, logger) {
    const { app, anon, users } = await createOidcShopApp({
      baseURL: origin,
      issuerBaseURL: issuer,
      secret: secret(),
      logger,
      ...(spec.endAnonymousSession === undefined ? {} : { endAnonymousSession: spec.endAnonymousSession }),
    });
    return { listener: app, anon, users };
  },

  async passport(spec, origin, issuer, logger) {
    const anon = await createShopEngine({ issuer: `${origin}/`, logger });
    const users = createShopUsers();
    const cookie = { secure: false };
    const config = await discover(issuer);

    /** What the strategy's verify callback makes of a login: the shop's record, provisioned just in time. */
    interface ShopPassportUser {
      sub: string;
      isNew: boolean;
    }
    // The sign-up route asks the provider for its sign-up page.
    class ShopStrategy extends Strategy {
      override authorizationRequestParams<T extends AuthenticateOptions>(req: Request, options: T): URLSearchParams {
        const params = new URLSearchParams(super.authorizationRequestParams(req, options) ?? {});
        if (req.path === '/signup') params.set('screen_hint', 'signup');
        return params;
      }
    }
    const authenticator = new passport.Passport();
    authenticator.use(
      'oidc',
      new ShopStrategy({ config, scope: 'openid email', callbackURL: `${origin}/callback` }, (tokens, verified) => {
        const claims = tokens.claims();
        if (claims === undefined) {
          verified(new Error('no ID token'));
          return;
        }
        const { created } = users.provision(claims);
        verified(null, { sub: claims.sub, isNew: created } satisfies ShopPassportUser);
      }),
    );
    authenticator.serializeUser((user, done) => done(null, (user as ShopPassportUser).sub));
    authenticator.deserializeUser((sub: string, done) => done(null, { sub, isNew: false }));

    const login = expressBinding.passportTransfer(anon, {
      cookie,
      users,
      getUser: (user: ShopPassportUser) => ({ userId: user.sub, isNewUser: user.isNew }),
      ...TRANSFER_HOOKS,
      ...(spec.endAnonymousSession === undefined ? {} : { endAnonymousSession: spec.endAnonymousSession }),
    });

    const app = express();
    app.disable('x-powered-by');
    app.use(expressBinding.anonymousTokenRouter(anon, { cookie }));
    servePage(app);
    app.use(session({ secret: secret(), resave: false, saveUninitialized: false, cookie: { httpOnly: true, sameSite: 'lax', secure: false } }));
    app.use(authenticator.session());
    app.get('/login', login.start, authenticator.authenticate('oidc'));
    app.get('/signup', login.start, authenticator.authenticate('oidc'));
    app.get('/callback', authenticator.authenticate('oidc', { failureRedirect: '/?login=failed' }), login.finish, (req, res) => {
      (req.session as unknown as { anonymousTransfer?: TransferSummary | null }).anonymousTransfer = summarizeTransfer(req.anonymousTransfer);
      res.redirect(req.anonymousReturnTo ?? '/');
    });
    app.use('/callback', callbackErrors);
    app.get('/auth/me', (req, res, next) => {
      const sub = (req.user as ShopPassportUser | undefined)?.sub;
      const transfer = (req.session as unknown as { anonymousTransfer?: TransferSummary | null }).anonymousTransfer;
      res.setHeader('Cache-Control', 'no-store');
      (sub === undefined ? Promise.resolve(undefined) : users.get(sub)).then((user) => res.json(meBody(user, transfer)), next);
    });
    app.get('/logout', (req, res, next) => {
      req.logout((error) => (error ? next(error) : res.redirect('/')));
    });
    app.use(expressBinding.anonymousErrorHandler({ logger }));
    return { listener: app, anon, users };
  },

  async 'koa-openid-client'(spec, origin, issuer, logger) {
    const { anon, users, cookie, options } = await openIdClientShop(spec, origin, issuer, logger);
    const oidc = koaBinding.openIdClientLogin(anon, {
      ...options,
      authorizationParams: (ctx): Record<string, string> => (ctx.path === '/signup' ? { screen_hint: 'signup' } : {}),
    });

    // The shop's own login session: a signed cookie with the account id and the last transfer.
    const LOGIN_COOKIE = 'shop_login';
    const readLogin = (ctx: Context): { sub: string; transfer: TransferSummary | null } | undefined => {
      const value = ctx.cookies.get(LOGIN_COOKIE, { signed: true });
      if (!value) return undefined;
      try {
        return JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { sub: string; transfer: TransferSummary | null };
      } catch {
        return undefined;
      }
    };

    const app = new Koa();
    app.keys = [secret()];
    app.on('error', (error: unknown) => logger.error('koa app error', error));
    app.use(koaBinding.anonymousErrorHandler({ logger }));
    app.use(koaBinding.anonymousTokenRouter(anon, { cookie }));
    const router = new Router();
    const file = (name: string, type: string) => async (ctx: Context) => {
      ctx.type = type;
      ctx.body = await readFile(name);
    };
    router.get('/', file(join(PUBLIC_DIR, 'index.html'), 'html'));
    router.get('/shop.js', file(join(PUBLIC_DIR, 'shop.js'), 'text/javascript'));
    router.get('/shop.css', file(join(PUBLIC_DIR, 'shop.css'), 'text/css'));
    router.get('/vendor/anonymous-sessions-client.js', file(CLIENT_BUNDLE, 'text/javascript'));
    router.get('/api/products', (ctx) => {
      ctx.body = { products: PRODUCTS };
    });
    router.get('/login', oidc.login);
    router.get('/signup', oidc.login);
    router.get('/callback', oidc.callback, (ctx) => {
      const login = { sub: ctx.state.idTokenClaims!.sub, transfer: summarizeTransfer(ctx.state.anonymousTransfer) };
      ctx.cookies.set(LOGIN_COOKIE, Buffer.from(JSON.stringify(login)).toString('base64url'), { signed: true, httpOnly: true, sameSite: 'lax' });
      ctx.redirect(ctx.state.anonymousReturnTo ?? '/');
    });
    router.get('/auth/me', async (ctx) => {
      const login = readLogin(ctx);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = meBody(login === undefined ? undefined : await users.get(login.sub), login?.transfer);
    });
    router.get('/logout', (ctx) => {
      ctx.cookies.set(LOGIN_COOKIE, null, { signed: true });
      ctx.redirect('/');
    });
    app.use(router.routes());
    return { listener: app.callback(), anon, users };
  },
  async 'hono-openid-client'(spec, origin, issuer, logger) {
    const { anon, users, cookie, options } = await openIdClientShop(spec, origin, issuer, logger);
    const oidc = honoBinding.openIdClientLogin(anon, {
      ...options,
      authorizationParams: (c): Record<string, string> => (c.req.path === '/signup' ? { screen_hint: 'signup' } : {}),
      clientAddress: (c) => getConnInfo(c).remote.address,
    });

    // The shop's own login session: a signed cookie with the account id and the last transfer.
    const LOGIN_COOKIE = 'shop_login';
    const signing = secret();
    const readLogin = async (c: HonoContext): Promise<{ sub: string; transfer: TransferSummary | null } | undefined> => {
      const value = await getSignedCookie(c, signing, LOGIN_COOKIE);
      if (!value) return undefined;
      try {
        return JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { sub: string; transfer: TransferSummary | null };
      } catch {
        return undefined;
      }
    };

    const app = new Hono();
    app.onError(honoBinding.anonymousErrorHandler({ logger, fallback: (error, c) => {
      logger.error('hono app error', error);
      return c.text('Internal Server Error', 500);
    } }));
    app.use(honoBinding.anonymousTokenRouter(anon, { cookie, clientAddress: (c) => getConnInfo(c).remote.address }));
    const file = (name: string, type: string) => async (c: HonoContext) => c.body(await readFile(name), 200, { 'Content-Type': type });
    app.get('/', file(join(PUBLIC_DIR, 'index.html'), 'text/html; charset=utf-8'));
    app.get('/shop.js', file(join(PUBLIC_DIR, 'shop.js'), 'text/javascript'));
    app.get('/shop.css', file(join(PUBLIC_DIR, 'shop.css'), 'text/css'));
    app.get('/vendor/anonymous-sessions-client.js', file(CLIENT_BUNDLE, 'text/javascript'));
    app.get('/api/products', (c) => c.json({ products: PRODUCTS }));
    app.get('/login', oidc.login);
    app.get('/signup', oidc.login);
    app.get('/callback', oidc.callback, async (c) => {
      const login = { sub: c.get('idTokenClaims')!.sub, transfer: summarizeTransfer(c.get('anonymousTransfer')) };
      await setSignedCookie(c, LOGIN_COOKIE, Buffer.from(JSON.stringify(login)).toString('base64url'), signing, { httpOnly: true, sameSite: 'Lax', path: '/' });
      return c.redirect(c.get('anonymousReturnTo') ?? '/');
    });
    app.get('/auth/me', async (c) => {
      const login = await readLogin(c);
      c.header('Cache-Control', 'no-store');
      return c.json(meBody(login === undefined ? undefined : await users.get(login.sub), login?.transfer));
    });
    app.get('/logout', (c) => {
      deleteCookie(c, LOGIN_COOKIE, { path: '/' });
      return c.redirect('/');
    });
    return { listener: getRequestListener(app.fetch) as RequestListener, anon, users };
  },
};
