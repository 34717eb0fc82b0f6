import express, { type Request, type RequestHandler, type Response } from 'express';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import {
  createAnonymousSessions,
  InvalidRequestError,
  memoryStore,
  sumCartsBySku,
  type AnonymousSessions,
  type AnonymousSessionsOptions,
  type JsonValue,
} from '@anonymous-sessions/core';
import {
  anonCookieExtractor,
  anonymousErrorHandler,
  anonymousLoginBinding,
  anonymousTokenRouter,
  composeHooks,
  linkSessions,
  mergeCart,
  copyPreferences,
  isAnonymous,
  requireAnonymousOrUser,
  requireScopes,
  requireUser,
  sessionTransfer,
  type AuthenticatedUser,
} from '@anonymous-sessions/express';
import { Accounts, type Account } from './accounts.js';
import { UserTokens } from './user-tokens.js';

/** The API every token is for. */
export const SHOP_API = 'https://api.shop.example';

/** The catalogue the demo sells. */
export const PRODUCTS = [
  { sku: 'tea-green', name: 'Green tea', price: 4.5 },
  { sku: 'tea-black', name: 'Black tea', price: 3.9 },
  { sku: 'mug', name: 'Stoneware mug', price: 12 },
  { sku: 'kettle', name: 'Kettle', price: 39 },
] as const;

/** The account that exists from the start, with a cart of its own (to show a merge on login). */
export const DEMO_ACCOUNT = { email: 'demo@shop.example', password: 'demo-password', cart: [{ sku: 'mug', qty: 1 }] };

/** The browser build of the client SDK, served to the page. */
const CLIENT_BUNDLE = createRequire(import.meta.url).resolve('@anonymous-sessions/client/package.json').replace(/package\.json$/, 'dist/browser.js');

/** The cookie holding a signed-in user's token (the demo's own login session). */
const USER_COOKIE = 'shop_user';

/** Options of the demo app. */
export interface ShopOptions {
  /** Where the app is reached; the anonymous tokens' issuer. */
  issuer: string;
  /** A private JWK Set (JSON text or object); development keys when absent. */
  keys?: AnonymousSessionsOptions['keys'];
  /** Set the cookies' Secure flag (true behind HTTPS). */
  secureCookie?: boolean;
  /** Where warnings go. */
  logger?: AnonymousSessionsOptions['logger'];
}

/** What the demo app exposes to its tests. */
export interface Shop {
  app: express.Express;
  anon: AnonymousSessions;
  accounts: Accounts;
}

const asyncRoute =
  (handler: (req: Request, res: Response) => Promise<void>): RequestHandler =>
  (req, res, next) => {
    handler(req, res).catch(next);
  };

/** Builds the demo: token router, guest shop page, local accounts with transfer, guarded API. */
export async function createShopApp(options: ShopOptions): Promise<Shop> {
  const secure = options.secureCookie ?? false;
  const anon = await createAnonymousSessions({
    issuer: options.issuer,
    ...(options.keys === undefined ? {} : { keys: options.keys }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    clients: [{ clientId: 'shop-web', canCreateAnonymousSessions: true }],
    resourceServers: [
      {
        audience: SHOP_API,
        allowAnonymousAccess: true,
        anonymousScopes: ['anon', 'read:products', 'write:cart'],
        claimsMapping: { 'https://shop.example/cart_size': 'anonymous_session.metadata.cart_size' },
      },
    ],
    store: memoryStore(),
    cookie: { secure },   // the one session cookie every middleware below uses
  });
  const accounts = new Accounts();
  await accounts.create(DEMO_ACCOUNT.email, DEMO_ACCOUNT.password, { user_metadata: { cart: DEMO_ACCOUNT.cart } });
  const userTokens = await UserTokens.create(new URL('/users/', options.issuer).href);

  const guard = requireAnonymousOrUser({
    anonymous: anon,
    audience: SHOP_API,
    user: { verify: (token) => userTokens.verify(token, SHOP_API) },
    realm: 'shop',
    checkRevocation: true,
  });

  // Who the sign-up / login handler just authenticated, for sessionTransfer's getUser.
  const authenticated = new WeakMap<Request, AuthenticatedUser>();
  const transfer = sessionTransfer(anon, {
    users: accounts,
    getUser: (req) => authenticated.get(req),
    onPreRegistration: composeHooks(mergeCart(), copyPreferences(), linkSessions()),
    onPostLogin: composeHooks(mergeCart(), copyPreferences(), linkSessions()),
  });

  const signIn = async (req: Request, res: Response, account: Account): Promise<void> => {
    const fresh = (await accounts.get(account.user_id))!;
    const token = await userTokens.issue(fresh.user_id, SHOP_API, req.anonymousTransfer?.custom_claims);
    res.append('Set-Cookie', serializeCookie(USER_COOKIE, token, { httpOnly: true, secure, sameSite: 'lax', path: '/', maxAge: 3600 }));
    res.json({ user: fresh, access_token: token, transfer: req.anonymousTransfer ?? null });
  };

  const credentials = (req: Request): { email: string; password: string } => {
    const { email, password } = (req.body ?? {}) as { email?: unknown; password?: unknown };
    if (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(email) || typeof password !== 'string' || password.length < 8) {
      throw new InvalidRequestError('Give an email address and a password of at least 8 characters.');
    }
    return { email, password };
  };

  const signedInUser = async (req: Request): Promise<{ account: Account; token: string } | undefined> => {
    const token = parseCookies(req.headers.cookie ?? '')[USER_COOKIE];
    if (!token) return undefined;
    const payload = await userTokens.verify(token, SHOP_API).catch(() => undefined);
    const account = payload?.sub === undefined ? undefined : await accounts.get(payload.sub);
    return account && { account, token };
  };

  const app = express();
  app.disable('x-powered-by');
  app.use(anonymousTokenRouter(anon));
  app.use(express.static(fileURLToPath(new URL('../public', import.meta.url))));
  // The page uses the browser build of @anonymous-sessions/client (built by `npm start`/`npm test`).
  app.get('/vendor/anonymous-sessions-client.js', (_req, res) => {
    if (!existsSync(CLIENT_BUNDLE)) {
      res.status(503).type('text/plain').send('Build the client first: npm run build -w packages/client');
      return;
    }
    res.type('text/javascript').sendFile(CLIENT_BUNDLE);
  });

  app.get('/api/products', guard, requireScopes('read:products'), (req, res) => {
    res.json({ products: PRODUCTS, guest: isAnonymous(req) });
  });

  // Login start: bind the guest session to this login (session fixation defence).
  app.post('/auth/start', anonCookieExtractor(anon), anonymousLoginBinding(anon), (_req, res) => {
    res.status(204).end();
  });

  const authenticate =
    (find: (req: Request) => Promise<AuthenticatedUser>): RequestHandler =>
    (req, _res, next) => {
      find(req).then((user) => {
        authenticated.set(req, user);
        next();
      }, next);
    };
  const finishSignIn = asyncRoute(async (req, res) => {
    await signIn(req, res, (await accounts.get(authenticated.get(req)!.userId))!);
  });

  app.post(
    '/auth/signup',
    express.json({ limit: '4kb' }),
    authenticate(async (req) => {
      const { email, password } = credentials(req);
      const account = await accounts.create(email, password);
      if (account === undefined) throw new InvalidRequestError('That email already has an account: log in instead.');
      return { userId: account.user_id, isNewUser: true };
    }),
    transfer,
    finishSignIn,
  );
  app.post(
    '/auth/login',
    express.json({ limit: '4kb' }),
    authenticate(async (req) => {
      const { email, password } = credentials(req);
      const account = await accounts.authenticate(email, password);
      if (account === undefined) throw new InvalidRequestError('Wrong email or password.');
      return { userId: account.user_id, isNewUser: false };
    }),
    transfer,
    finishSignIn,
  );

  app.get(
    '/auth/me',
    asyncRoute(async (req, res) => {
      const found = await signedInUser(req);
      res.setHeader('Cache-Control', 'no-store');
      res.json(found ? { user: found.account, access_token: found.token } : { user: null });
    }),
  );

  app.post('/auth/logout', (_req, res) => {
    res.append('Set-Cookie', serializeCookie(USER_COOKIE, '', { httpOnly: true, secure, sameSite: 'lax', path: '/', maxAge: 0 }));
    res.status(204).end();
  });

  // Signed-in users keep their cart on the account.
  app.post(
    '/api/cart',
    guard,
    requireUser(),
    express.json({ limit: '8kb' }),
    asyncRoute(async (req, res) => {
      const cart = sumCartsBySku([], (req.body as { cart?: unknown } | undefined)?.cart);
      await accounts.update(req.auth!.payload.sub!, { user_metadata: { cart: cart as JsonValue } });
      res.json({ cart });
    }),
  );

  // Checkout needs a real user: a guest gets 403 insufficient_user_authentication.
  app.post(
    '/api/checkout',
    guard,
    requireUser(),
    asyncRoute(async (req, res) => {
      const account = (await accounts.get(req.auth!.payload.sub!))!;
      const cart = sumCartsBySku([], account.user_metadata.cart);
      await accounts.update(account.user_id, { user_metadata: { cart: null } });
      res.json({ ordered: cart });
    }),
  );

  app.use(anonymousErrorHandler(options.logger === undefined ? {} : { logger: options.logger }));
  return { app, anon, accounts };
}
