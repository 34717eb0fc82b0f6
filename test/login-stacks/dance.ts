/**
 * The steps of the login dance, for the scripted browser: become a guest with a cart, start the
 * login at the shop, sign in (or up) at the provider on its own origin, come back to the callback.
 * Each step can be cut, replayed or done in another browser by the attack tests.
 */
import { expect } from 'vitest';
import type { JsonValue } from '@anonymous-sessions/core';
import { SHOP_API, SHOP_WEB_CLIENT, type MeBody } from '../../examples/express-oidc/src/shop.js';
import type { Shop } from './stacks.js';
import { formAction, type Hop, type Landing, type UserAgent } from './user-agent.js';

/** Credentials at the provider. */
export interface Credentials {
  email: string;
  password: string;
}

/** Opens the shop and becomes a guest with `cart` (as the page's script does); returns the session token and id. */
export async function guestWithCart(ua: UserAgent, shop: Shop, cart: JsonValue): Promise<{ token: string; sessionId: string }> {
  await ua.navigate(`${shop.origin}/`, { from: 'none' });
  const response = await ua.fetch('/anonymous/token', { json: { client_id: SHOP_WEB_CLIENT, audience: SHOP_API, metadata: { cart } } });
  expect(response.status, await response.clone().text()).toBe(200);
  await response.arrayBuffer();
  const token = ua.cookie(shop.origin, 'anon');
  expect(token).toBeDefined();
  return { token: token!, sessionId: (await shop.anon.verifySessionToken(token!)).session_id };
}

/**
 * Clicks "Log in" (or another login-start path): lands on the provider's page — or, when the
 * provider still has a session for this browser (single sign-on), stops before its redirect back
 * to the callback (`stopped`, `url` = the callback URL).
 */
export async function startLogin(
  ua: UserAgent,
  shop: Shop,
  path = '/login',
  options: { from?: 'none' | string; fetchMetadata?: boolean } = {},
): Promise<Landing> {
  const landing = await ua.navigate(new URL(path, shop.origin).href, {
    from: options.from ?? `${shop.origin}/`,
    stopAt: shop.origin,
    ...(options.fetchMetadata === undefined ? {} : { fetchMetadata: options.fetchMetadata }),
  });
  expect(new URL(landing.url).origin === shop.origin ? landing.stopped : true, landing.body.slice(0, 300)).toBe(true);
  expect(landing.status).toBeLessThan(400);
  return landing;
}

/**
 * Signs in (or up) on the provider's page and gives consent when asked; stops before the redirect
 * back to the shop and returns the callback URL (code, state, iss).
 */
export async function signInAtProvider(ua: UserAgent, shop: Shop, page: Landing, credentials: Credentials, options: { signup?: boolean } = {}): Promise<string> {
  if (page.stopped) return page.url; // single sign-on: the provider sent the browser straight back
  let landing = page;
  if (options.signup === true && !landing.body.includes('id="sign-up"')) {
    landing = await ua.navigate(formActionLink(landing.body, 'to-signup'));
  }
  landing = await ua.navigate(formAction(landing.body, options.signup ? 'sign-up' : 'sign-in'), {
    form: { email: credentials.email, password: credentials.password },
    stopAt: shop.origin,
  });
  if (!landing.stopped && landing.body.includes('id="allow"')) {
    landing = await ua.navigate(formAction(landing.body, 'allow'), { form: {}, stopAt: shop.origin });
  }
  expect(landing.stopped, `${landing.status} ${landing.url}\n${landing.body.slice(0, 400)}`).toBe(true);
  expect(new URL(landing.url).pathname).toBe('/callback');
  return landing.url;
}

function formActionLink(html: string, id: string): string {
  const match = new RegExp(`<a id="${id}" href="([^"]+)"`).exec(html);
  if (!match) throw new Error(`no link #${id}`);
  return match[1]!.replace(/&amp;/g, '&');
}

/** Follows the provider's redirect into the shop's callback, and the shop's redirect after it. */
export function returnToShop(ua: UserAgent, callbackUrl: string): Promise<Landing> {
  return ua.navigate(callbackUrl);
}

/** A whole dance: every exchange, the callback URL, and where it ended. */
export interface Dance {
  start: Landing;
  callback: string;
  end: Landing;
  /** Every exchange of the dance, in order. */
  hops: Hop[];
}

/** The whole dance: start, sign in at the provider, come back. */
export async function logIn(
  ua: UserAgent,
  shop: Shop,
  credentials: Credentials,
  options: { signup?: boolean; path?: string; from?: 'none' | string; fetchMetadata?: boolean } = {},
): Promise<Dance> {
  const mark = ua.log.length;
  const start = await startLogin(ua, shop, options.path ?? (options.signup ? '/signup' : '/login'), options);
  const callback = await signInAtProvider(ua, shop, start, credentials, options);
  const end = await returnToShop(ua, callback);
  return { start, callback, end, hops: ua.log.slice(mark) };
}

/**
 * The OAuth `state` the shop sent the browser to the provider with (`undefined` for a stack that
 * sends none: `openid-client/passport` relies on PKCE alone).
 */
export function stateSent(start: Landing): string | undefined {
  const toProvider = start.hops.find((hop) => hop.location !== undefined && new URL(hop.location, hop.url).pathname === '/auth');
  if (toProvider === undefined) throw new Error('no authorization request in the login start');
  return new URL(toProvider.location!, toProvider.url).searchParams.get('state') ?? undefined;
}

/** What the page's `GET /auth/me` says. */
export async function me(ua: UserAgent, shop: Shop): Promise<MeBody> {
  const response = await ua.fetch(`${shop.origin}/auth/me`);
  expect(response.status).toBe(200);
  return (await response.json()) as MeBody;
}

/** Logs out of the shop (its own session; the guest session stays). */
export async function logOut(ua: UserAgent, shop: Shop): Promise<void> {
  await ua.navigate(`${shop.origin}/logout`, { stopAt: 'http://never.invalid' });
}
