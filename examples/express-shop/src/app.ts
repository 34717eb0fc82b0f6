import express, { type NextFunction, type Request, type Response } from 'express';
import { fileURLToPath } from 'node:url';
import {
  bearerToken,
  createAnonymousSessions,
  InvalidTokenError,
  memoryStore,
  type AccessTokenClaims,
  type AnonymousSessions,
  type AnonymousSessionsOptions,
} from '@anonymous-sessions/core';
import { anonCookieExtractor, anonymousErrorHandler, anonymousTokenRouter } from '@anonymous-sessions/express';

/** The API every guest token is for. */
export const SHOP_API = 'https://api.shop.example';

/** The catalogue the demo sells. */
export const PRODUCTS = [
  { sku: 'tea-green', name: 'Green tea', price: 4.5 },
  { sku: 'tea-black', name: 'Black tea', price: 3.9 },
  { sku: 'mug', name: 'Stoneware mug', price: 12 },
  { sku: 'kettle', name: 'Kettle', price: 39 },
] as const;

/** Options of the demo app. */
export interface ShopOptions {
  /** Where the app is reached; the tokens' issuer. */
  issuer: string;
  /** A private JWK Set (JSON text or object); development keys when absent. */
  keys?: AnonymousSessionsOptions['keys'];
  /** Set the cookie's Secure flag (true behind HTTPS). */
  secureCookie?: boolean;
  /** Where warnings go. */
  logger?: AnonymousSessionsOptions['logger'];
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified access-token claims (set by the demo's minimal bearer check). */
      accessClaims?: AccessTokenClaims;
    }
  }
}

/**
 * A minimal bearer check for the demo's API. The full guard (`requireAnonymousOrUser`, accepting
 * guests and real users) arrives in `@anonymous-sessions/express` with the guards issue.
 */
function requireAccessToken(anon: AnonymousSessions) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const token = bearerToken(req.headers);
    if (token === undefined) {
      next(new InvalidTokenError('An access token is required.', { headers: { 'WWW-Authenticate': 'Bearer realm="shop"' } }));
      return;
    }
    anon.verifyAccessToken(token, { audience: SHOP_API }).then((claims) => {
      req.accessClaims = claims;
      next();
    }, (error: unknown) => next(error instanceof InvalidTokenError
      ? new InvalidTokenError(error.description, { headers: { 'WWW-Authenticate': `Bearer realm="shop", error="invalid_token"` } })
      : error));
  };
}

/** Builds the demo: the token router, the shop page, and a guarded products API. */
export async function createShopApp(options: ShopOptions): Promise<{ app: express.Express; anon: AnonymousSessions }> {
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
  });

  const app = express();
  app.disable('x-powered-by');
  app.use(anonymousTokenRouter(anon, { cookie: { secure: options.secureCookie ?? false } }));
  app.use(express.static(fileURLToPath(new URL('../public', import.meta.url))));

  app.get('/api/products', requireAccessToken(anon), (_req, res) => {
    res.json({ products: PRODUCTS });
  });

  app.get('/api/me', anonCookieExtractor(anon), (req, res) => {
    res.json({ guest: req.anonymousSession ?? null });
  });

  app.use(anonymousErrorHandler());
  return { app, anon };
}
