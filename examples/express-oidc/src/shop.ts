/**
 * What the three login stacks of the guest shop share (express-openid-connect here; Passport and
 * Koa + openid-client in the tests): the anonymous-sessions engine, the catalogue, the shop's user
 * records with the demo account, the transfer hooks, and the page.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  composeHooks,
  createAnonymousSessions,
  linkSessions,
  memoryStore,
  mergeCart,
  type AnonymousSessions,
  type AnonymousSessionsOptions,
  type JsonValue,
  type TransferHook,
  type TransferResult,
} from '@anonymous-sessions/core';
import { ShopUsers, type ShopUser } from './shop-users.js';

/** The anonymous-sessions client of the page. */
export const SHOP_WEB_CLIENT = 'shop-web';
/** The API the guest tokens are for. */
export const SHOP_API = 'https://api.shop.example';

/** The catalogue. */
export const PRODUCTS = [
  { sku: 'tea-green', name: 'Green tea', price: 4.5 },
  { sku: 'tea-black', name: 'Black tea', price: 3.9 },
  { sku: 'mug', name: 'Stoneware mug', price: 12 },
  { sku: 'kettle', name: 'Kettle', price: 39 },
] as const;

/** The shop as a client of the identity provider. */
export const SHOP_OIDC_CLIENT = { clientId: 'guest-shop', clientSecret: 'guest-shop-secret-change-me-0123456789' } as const;

/** The account that exists from the start: at the provider (password) and at the shop (a mug in its cart). */
export const DEMO_ACCOUNT = {
  sub: 'demo-user-0001',
  email: 'demo@shop.example',
  password: 'demo-password',
  cart: [{ sku: 'mug', qty: 1 }],
} as const;

/** Where the page lives. */
export const PUBLIC_DIR = fileURLToPath(new URL('../public', import.meta.url));

/** The browser build of the client SDK (built by `npm start` and `npm test`). */
export const CLIENT_BUNDLE = createRequire(import.meta.url)
  .resolve('@anonymous-sessions/client/package.json')
  .replace(/package\.json$/, 'dist/browser.js');

/** The engine of the shop's guest sessions. */
export function createShopEngine(options: { issuer: string; keys?: AnonymousSessionsOptions['keys']; logger?: AnonymousSessionsOptions['logger'] }): Promise<AnonymousSessions> {
  return createAnonymousSessions({
    issuer: options.issuer,
    ...(options.keys === undefined ? {} : { keys: options.keys }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    clients: [{ clientId: SHOP_WEB_CLIENT, canCreateAnonymousSessions: true }],
    resourceServers: [{ audience: SHOP_API, allowAnonymousAccess: true, anonymousScopes: ['anon', 'read:products', 'write:cart'] }],
    store: memoryStore(),
  });
}

/** The shop's user records, with the demo account's own cart. */
export function createShopUsers(): ShopUsers {
  const users = new ShopUsers();
  users.seed({
    user_id: DEMO_ACCOUNT.sub,
    email: DEMO_ACCOUNT.email,
    app_metadata: {},
    user_metadata: { cart: DEMO_ACCOUNT.cart.map((line) => ({ ...line })) },
  });
  return users;
}

/** The transfer hooks: the guest cart moves into the account (summed by SKU), the session is linked. */
export const TRANSFER_HOOKS: { onPreRegistration: TransferHook; onPostLogin: TransferHook } = {
  onPreRegistration: composeHooks(mergeCart(), linkSessions()),
  onPostLogin: composeHooks(mergeCart(), linkSessions()),
};

/** What the page is told about the last login's transfer. */
export interface TransferSummary {
  transferred: boolean;
  reason: string | null;
}

/** The part of a transfer result the page shows (never the session itself). */
export function summarizeTransfer(result: TransferResult | undefined): TransferSummary | null {
  return result === undefined ? null : { transferred: result.transferred, reason: result.reason ?? null };
}

/** What `GET /auth/me` answers. */
export interface MeBody {
  user: { email: string; cart: JsonValue; linked_sessions: JsonValue } | null;
  transfer: TransferSummary | null;
}

/** The page's view of a signed-in user. */
export function meBody(user: ShopUser | undefined, transfer: TransferSummary | null | undefined): MeBody {
  if (user === undefined) return { user: null, transfer: null };
  return {
    user: { email: user.email, cart: user.user_metadata.cart ?? [], linked_sessions: user.app_metadata.linked_sessions ?? [] },
    transfer: transfer ?? null,
  };
}
