/**
 * Session transfer through real login dances (authorization code + PKCE, a real provider on
 * another origin), on each stack: express-openid-connect, Passport + openid-client/passport, and
 * Koa + openid-client. The browser is scripted (`user-agent.ts`), so the attacks can cut, swap or
 * replay any step; `test/browser/login-stacks.e2e.test.ts` drives the same flows in Chromium.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { logIn, logOut, me, guestWithCart, returnToShop, signInAtProvider, startLogin } from './dance.js';
import { STACKS, startWorld, type Shop, type StackSpec, type World } from './stacks.js';
import { UserAgent } from './user-agent.js';
import { newCustomer, returningCustomer } from './world.js';

const GUEST_CART = [
  { sku: 'tea-green', qty: 1 },
  { sku: 'kettle', qty: 1 },
];

const SPECS: StackSpec[] = [
  { kind: 'express-openid-connect' },
  { kind: 'passport' },
  { kind: 'koa-openid-client' },
  { kind: 'koa-openid-client', bindingIn: 'cookie' },
];

const label = (spec: StackSpec): string => (spec.bindingIn === 'cookie' ? `${spec.kind} (binding cookie)` : spec.kind);

let world: World;

beforeAll(async () => {
  world = await startWorld(SPECS);
}, 60_000);

afterAll(async () => {
  await world?.close();
});

describe.each(SPECS.map((spec, index) => ({ name: label(spec), index })))('$name', ({ index }) => {
  const shop = (): Shop => world.shops[index]!;

  it('a guest with a cart logs in through the provider and finds the carts merged in the account, once', async () => {
    const customer = await returningCustomer(world, shop(), [{ sku: 'mug', qty: 1 }, { sku: 'kettle', qty: 2 }]);
    const browser = new UserAgent('customer');
    const guest = await guestWithCart(browser, shop(), GUEST_CART);

    const landing = await logIn(browser, shop(), customer);
    expect(landing.status).toBe(200);
    expect(landing.url).toBe(`${shop().origin}/`);
    const account = await me(browser, shop());
    expect(account.user?.email).toBe(customer.email);
    expect(account.user?.cart).toEqual([
      { sku: 'mug', qty: 1 },
      { sku: 'kettle', qty: 3 },
      { sku: 'tea-green', qty: 1 },
    ]);
    expect(account.transfer).toEqual({ transferred: true, reason: null });
    expect(account.user?.linked_sessions).toEqual([expect.objectContaining({ session_id: guest.sessionId })]);
    // the login's own cookies are gone; the guest session stays (endAnonymousSession is off)
    expect(browser.cookieNames(shop().origin).filter((name) => name.startsWith('anon_'))).toEqual([]);
    expect(browser.cookie(shop().origin, 'anon')).toBe(guest.token);

    // the same guest session, a second login of the same user: nothing changes
    await logOut(browser, shop());
    expect((await me(browser, shop())).user).toBeNull();
    await logIn(browser, shop(), customer);
    const again = await me(browser, shop());
    expect(again.user?.cart).toEqual(account.user?.cart);
    expect(again.transfer).toEqual({ transferred: false, reason: 'already_transferred' });
  });

  it('a guest who signs up at the provider gets the cart migrated (onPreRegistration)', async () => {
    const transfer = vi.spyOn(shop().anon, 'transfer');
    try {
      const browser = new UserAgent('new customer');
      await guestWithCart(browser, shop(), GUEST_CART);
      const customer = newCustomer();
      await logIn(browser, shop(), customer, { signup: true });
      const account = await me(browser, shop());
      expect(account.user?.email).toBe(customer.email);
      expect(account.user?.cart).toEqual(GUEST_CART);
      expect(account.transfer).toEqual({ transferred: true, reason: null });
      expect(transfer).toHaveBeenCalledTimes(1);
      expect(transfer.mock.calls[0]![0]).toMatchObject({ isNewUser: true });
    } finally {
      transfer.mockRestore();
    }
  });

  it('a login without a guest session transfers nothing and logs in', async () => {
    const customer = await returningCustomer(world, shop());
    const browser = new UserAgent('no guest');
    await logIn(browser, shop(), customer);
    const account = await me(browser, shop());
    expect(account.user?.cart).toEqual([{ sku: 'mug', qty: 1 }]);
    expect(account.transfer).toEqual({ transferred: false, reason: 'no_session' });
  });

  void startLogin;
  void signInAtProvider;
  void returnToShop;
});

void STACKS;
