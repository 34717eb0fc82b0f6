import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import {
  createAnonymousSessions,
  memoryStore,
  type AnonymousSessions,
  type AnonymousSessionsOptions,
} from '@anonymous-sessions/core';
import {
  anonymousErrorHandler,
  anonymousTokenRouter,
  isAnonymous,
  requireAnonymousOrUser,
  requireScopes,
  requireUser,
  type RequireAnonymousOrUserOptions,
} from '@anonymous-sessions/koa';

/** The API every token is for. */
export const SHOP_API = 'https://api.shop.example';

/** What the shop sells. */
export const CATALOGUE = [
  { sku: 'tea-green', name: 'Green tea', price: 4.5 },
  { sku: 'mug', name: 'Stoneware mug', price: 12 },
  { sku: 'kettle', name: 'Kettle', price: 39 },
] as const;

/** Options of {@link createApiApp}. */
export interface ApiOptions {
  /** Where the API is reached; the anonymous tokens' issuer. */
  issuer: string;
  /** A private JWK Set (JSON text or object); development keys when absent. */
  keys?: AnonymousSessionsOptions['keys'];
  /** The host's identity provider for signed-in users (`{ issuerBaseURL }` or `{ verify }`); guests only without it. */
  user?: RequireAnonymousOrUserOptions['user'];
  /** Set the session cookie's Secure flag (true behind HTTPS). */
  secureCookie?: boolean;
  /** Where warnings and unexpected errors go. */
  logger?: AnonymousSessionsOptions['logger'];
}

/** The built API. */
export interface Api {
  app: Koa;
  anon: AnonymousSessions;
}

/**
 * The shop's API on Koa: the anonymous token endpoints, a product list that guests and users may
 * read (`read:products`), and a checkout that needs a signed-in user. Errors are JSON.
 */
export async function createApiApp(options: ApiOptions): Promise<Api> {
  const anon = await createAnonymousSessions({
    issuer: options.issuer,
    ...(options.keys === undefined ? {} : { keys: options.keys }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    clients: [{ clientId: 'shop-web', canCreateAnonymousSessions: true }],
    resourceServers: [{ audience: SHOP_API, allowAnonymousAccess: true, anonymousScopes: ['anon', 'read:products', 'write:cart'] }],
    store: memoryStore(),
    cookie: { secure: options.secureCookie ?? false },
  });

  const guard = requireAnonymousOrUser({
    anonymous: anon,
    audience: SHOP_API,
    realm: 'shop',
    checkRevocation: true,
    ...(options.user === undefined ? {} : { user: options.user }),
  });

  const api = new Router({ prefix: '/api' });
  api.get('/products', guard, requireScopes('read:products'), (ctx: Context) => {
    ctx.body = { products: CATALOGUE, guest: isAnonymous(ctx) };
  });
  api.post('/checkout', guard, requireUser(), (ctx: Context) => {
    ctx.body = { ordered: true, user_id: ctx.state.auth?.payload.sub };
  });

  const app = new Koa();
  app.use(anonymousErrorHandler(options.logger === undefined ? {} : { logger: options.logger }));
  app.use(anonymousTokenRouter(anon));
  app.use(api.routes());
  return { app, anon };
}
