/**
 * The guest shop logging in through an OpenID Connect provider with `express-openid-connect`
 * (Auth0's Express SDK): authorization code + PKCE, and the guest's cart moving into the account in
 * the SDK's own `afterCallback` — the one option `openIdConnectTransfer` adds.
 */
import { existsSync } from 'node:fs';
import express, { type Request, type RequestHandler, type Response } from 'express';
import { auth } from 'express-openid-connect';
import {
  InvalidRequestError,
  loginCallbackError,
  type AnonymousSessions,
  type AnonymousSessionsOptions,
} from '@anonymous-sessions/core';
import { anonymousErrorHandler, anonymousTokenRouter, openIdConnectTransfer } from '@anonymous-sessions/express';
import type { ShopUsers } from './shop-users.js';
import {
  CLIENT_BUNDLE,
  createShopEngine,
  createShopUsers,
  meBody,
  PRODUCTS,
  PUBLIC_DIR,
  SHOP_OIDC_CLIENT,
  summarizeTransfer,
  TRANSFER_HOOKS,
  type TransferSummary,
} from './shop.js';

/** Options of the shop. */
export interface OidcShopOptions {
  /** Where the shop is reached, e.g. `http://localhost:3002` (the anonymous issuer is `<baseURL>/`). */
  baseURL: string;
  /** The identity provider's issuer. */
  issuerBaseURL: string;
  /** express-openid-connect's cookie secret (at least 8 characters). */
  secret: string;
  /** A private JWK Set for the guest sessions; development keys when absent. */
  keys?: AnonymousSessionsOptions['keys'];
  /** Where warnings go. */
  logger?: AnonymousSessionsOptions['logger'];
  /** Revoke the guest session once its cart moved into an account. Default false. */
  endAnonymousSession?: boolean;
}

/** The shop, for its server and its tests. */
export interface OidcShop {
  app: express.Express;
  anon: AnonymousSessions;
  users: ShopUsers;
}

/** The session express-openid-connect keeps, with the last login's transfer summary. */
type ShopSession = { anonymous_transfer?: TransferSummary | null };

/** Serves the page and the client SDK's browser build. */
export function servePage(app: express.Express): void {
  app.use(express.static(PUBLIC_DIR));
  app.get('/vendor/anonymous-sessions-client.js', (_req, res) => {
    if (!existsSync(CLIENT_BUNDLE)) {
      res.status(503).type('text/plain').send('Build the client first: npm run build -w packages/client');
      return;
    }
    res.type('text/javascript').sendFile(CLIENT_BUNDLE);
  });
  app.get('/api/products', (_req, res) => {
    res.json({ products: PRODUCTS });
  });
}

const asyncRoute =
  (handler: (req: Request, res: Response) => Promise<void>): RequestHandler =>
  (req, res, next) => {
    handler(req, res).catch(next);
  };

/** Builds the shop: token router, page, express-openid-connect with session transfer. */
export async function createOidcShopApp(options: OidcShopOptions): Promise<OidcShop> {
  const baseURL = options.baseURL.replace(/\/+$/, '');
  const anon = await createShopEngine({
    issuer: `${baseURL}/`,
    ...(options.keys === undefined ? {} : { keys: options.keys }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const users = createShopUsers();
  const cookie = { secure: baseURL.startsWith('https:') };

  const transfer = openIdConnectTransfer(anon, {
    cookie,
    users,
    // Just-in-time provisioning: a `sub` the shop has never seen is a sign-up.
    getUser: (claims) => {
      const { created } = users.provision(claims);
      return { userId: claims.sub, isNewUser: created };
    },
    ...TRANSFER_HOOKS,
    endAnonymousSession: options.endAnonymousSession === true,
  });

  const app = express();
  app.disable('x-powered-by');
  app.use(anonymousTokenRouter(anon, { cookie }));
  servePage(app);

  app.use(
    auth({
      issuerBaseURL: options.issuerBaseURL,
      baseURL,
      clientID: SHOP_OIDC_CLIENT.clientId,
      clientSecret: SHOP_OIDC_CLIENT.clientSecret,
      secret: options.secret,
      authRequired: false,
      idpLogout: false,
      enableTelemetry: false,
      routes: { login: false },
      authorizationParams: { response_type: 'code', scope: 'openid email' },
      getLoginState: transfer.getLoginState,
      // The transfer, then the page's summary of it in the SDK's session.
      afterCallback: async (req, res, session, state) => ({
        ...(await transfer.afterCallback(req, res, session, state)),
        anonymous_transfer: summarizeTransfer(req.anonymousTransfer),
      }),
    }),
  );

  // The login and sign-up starts: the SDK redirects to the provider (`screen_hint` opens its sign-up page).
  app.get('/login', (req, res) => res.oidc.login({ returnTo: typeof req.query.returnTo === 'string' ? req.query.returnTo : '/' }));
  app.get('/signup', (req, res) => res.oidc.login({ returnTo: '/', authorizationParams: { screen_hint: 'signup' } }));

  app.get(
    '/auth/me',
    asyncRoute(async (req, res) => {
      res.setHeader('Cache-Control', 'no-store');
      const sub = req.oidc.isAuthenticated() ? req.oidc.user?.sub : undefined;
      const session = (req as Request & { appSession?: ShopSession }).appSession;
      res.json(meBody(typeof sub === 'string' ? await users.get(sub) : undefined, session?.anonymous_transfer));
    }),
  );

  // A callback the SDK refuses (started in another browser, a swapped or replayed state, a used
  // code, a refusal at the provider) is a failed login for the user to start again: 400/403, not a 500.
  app.use('/callback', (error: unknown, _req: Request, _res: Response, next: (error: unknown) => void) => {
    const missingTransaction = error instanceof Error && /cookie not found/.test(error.message);
    next(missingTransaction ? new InvalidRequestError('The login expired or was not started in this browser: start it again.') : loginCallbackError(error));
  });
  app.use(anonymousErrorHandler(options.logger === undefined ? {} : { logger: options.logger }));
  return { app, anon, users };
}
