/**
 * Session transfer through real login dances (authorization code + PKCE, a real provider on
 * another origin), on each stack: express-openid-connect, Passport + openid-client/passport, and
 * Koa + openid-client and Hono + openid-client with the fetch binding (binding in the OAuth `state`,
 * or in its cookie). The browser is scripted
 * (`user-agent.ts`), so the attacks can cut, swap or replay any step of the dance;
 * `test/browser/login-stacks.e2e.test.ts` drives the happy paths in Chromium.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { MeBody } from '../../examples/express-oidc/src/shop.js';
import { SHOP_API, SHOP_WEB_CLIENT } from '../../examples/express-oidc/src/shop.js';
import { guestWithCart, logIn, logOut, me, returnToShop, signInAtProvider, startLogin, stateSent, type Dance } from './dance.js';
import { startWorld, type Shop, type StackSpec, type World } from './stacks.js';
import { formAction, UserAgent, type Hop, type Landing } from './user-agent.js';
import { newCustomer, returningCustomer } from './world.js';

const GUEST_CART = [
  { sku: 'tea-green', qty: 1 },
  { sku: 'kettle', qty: 1 },
];
const ATTACKER_CART = [{ sku: 'kettle', qty: 99 }];
const ACCOUNT_CART = [{ sku: 'mug', qty: 1 }];

const SPECS: StackSpec[] = [
  { kind: 'express-openid-connect' },
  { kind: 'passport' },
  { kind: 'koa-openid-client' },
  { kind: 'koa-openid-client', bindingIn: 'cookie' },
  { kind: 'express-openid-connect', endAnonymousSession: true },
  { kind: 'passport', endAnonymousSession: true },
  { kind: 'koa-openid-client', endAnonymousSession: true },
  { kind: 'hono-openid-client' },
  { kind: 'hono-openid-client', bindingIn: 'cookie' },
  { kind: 'hono-openid-client', endAnonymousSession: true },
];
const MAIN = SPECS.filter((spec) => spec.endAnonymousSession !== true);

const label = (spec: StackSpec): string =>
  `${spec.kind}${spec.bindingIn === 'cookie' ? ' (binding cookie)' : ''}${spec.endAnonymousSession ? ' (endAnonymousSession)' : ''}`;

let world: World;

beforeAll(async () => {
  world = await startWorld(SPECS);
}, 60_000);

afterAll(async () => {
  await world?.close();
});

/** A guest session created by a native app (token mode: no cookie anywhere), with `cart`. */
async function nativeAppGuest(shop: Shop, cart: unknown): Promise<{ token: string; sessionId: string }> {
  const response = await fetch(`${shop.origin}/anonymous/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: SHOP_WEB_CLIENT, audience: SHOP_API, metadata: { cart } }),
  });
  expect(response.status).toBe(200);
  const token = ((await response.json()) as { session_token: string }).session_token;
  return { token, sessionId: (await shop.anon.verifySessionToken(token)).session_id };
}

/** The callback's answer when the stack refused it: a 4xx or a redirect to a failure page, never a 5xx. */
function expectRefusedCallback(landing: Landing): void {
  const callbackHop = landing.hops.find((hop) => new URL(hop.url).pathname === '/callback')!;
  expect(callbackHop, JSON.stringify(landing.hops)).toBeDefined();
  expect(callbackHop.status).toBeLessThan(500);
  if (callbackHop.status >= 400) {
    expect(JSON.parse(landing.body)).toEqual({ error: expect.stringMatching(/^(invalid_request|access_denied)$/), error_description: expect.any(String) });
  } else {
    expect(callbackHop.status).toBeGreaterThanOrEqual(300);
  }
}

/** Everything a token could leak through in a dance: redirects, the OAuth state, cookies, bodies. */
function visibleText(hops: readonly Hop[], bodies: readonly string[]): { locations: string; cookies: string; bodies: string } {
  return {
    locations: hops.map((hop) => `${hop.url} ${hop.location ?? ''} ${decodeURIComponent(hop.location ?? '')}`).join('\n'),
    cookies: hops.flatMap((hop) => hop.setCookies.filter((header) => !header.startsWith('anon_login_seed='))).join('\n'),
    bodies: bodies.join('\n'),
  };
}

const stateOf = (callbackUrl: string): string | undefined => new URL(callbackUrl).searchParams.get('state') ?? undefined;
const withState = (callbackUrl: string, state: string): string => {
  const url = new URL(callbackUrl);
  url.searchParams.set('state', state);
  return url.href;
};

describe.each(MAIN.map((spec) => ({ name: label(spec), spec })))('$name', ({ spec }) => {
  const shop = (): Shop => world.shops[SPECS.indexOf(spec)]!;

  describe('the dance', () => {
    it('a guest with a cart logs in through the provider and finds the carts merged in the account, once', async () => {
      const customer = await returningCustomer(world, shop(), [
        { sku: 'mug', qty: 1 },
        { sku: 'kettle', qty: 2 },
      ]);
      const browser = new UserAgent('customer');
      const guest = await guestWithCart(browser, shop(), GUEST_CART);

      const dance = await logIn(browser, shop(), customer);
      expect(new URL(dance.start.url).origin).toBe(world.idp.issuer); // really through the other origin
      expect(dance.end.status).toBe(200);
      expect(dance.end.url).toBe(`${shop().origin}/`);
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

      // the same guest session, a second login of the same user (single sign-on at the provider): nothing changes
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
        const dance = await logIn(browser, shop(), customer, { signup: true });
        expect(dance.end.url).toBe(`${shop().origin}/`);
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
      expect(account.user?.cart).toEqual(ACCOUNT_CART);
      expect(account.transfer).toEqual({ transferred: false, reason: 'no_session' });
    });

    it('returnTo stays on the shop: a path is kept, another site or a protocol-relative URL is refused', async () => {
      const customer = await returningCustomer(world, shop());
      const browser = new UserAgent('returnTo');
      const kept = await logIn(browser, shop(), customer, { path: `/login?returnTo=${encodeURIComponent('/cart?step=2')}` });
      expect(kept.end.hops.at(-1)!.url).toBe(`${shop().origin}/cart?step=2`);
      for (const target of ['https://evil.example/phish', '//evil.example/phish', '/\\evil.example', 'javascript:alert(1)']) {
        await logOut(browser, shop());
        const refused = await logIn(browser, shop(), customer, { path: `/login?returnTo=${encodeURIComponent(target)}` });
        expect(refused.end.url, target).toBe(`${shop().origin}/`);
        expect(JSON.stringify(refused.hops.map((hop) => hop.location ?? ''))).not.toContain('evil.example');
      }
    });
  });

  describe('attacks through the dance', () => {
    it('a login started in one browser and completed in another transfers nothing; the real login still works', async () => {
      const customer = await returningCustomer(world, shop());
      const victim = new UserAgent('victim');
      const attacker = new UserAgent('attacker');
      await guestWithCart(victim, shop(), GUEST_CART);
      await guestWithCart(attacker, shop(), ATTACKER_CART);
      const victimStart = await startLogin(victim, shop());
      await startLogin(attacker, shop()); // the attacker's browser has a login of its own going

      const callback = await signInAtProvider(victim, shop(), victimStart, customer);
      for (const browser of [attacker, new UserAgent('a third browser, no login going')]) {
        const landing = await browser.navigate(callback, { from: world.idp.issuer });
        expectRefusedCallback(landing);
        expect((await me(browser, shop())).user).toBeNull();
      }
      expect(await shop().users.get(customer.sub)).toMatchObject({ user_metadata: { cart: ACCOUNT_CART }, app_metadata: {} });

      // the victim's own login still completes (a fresh start) and transfers the victim's cart
      await logIn(victim, shop(), customer);
      const account = await me(victim, shop());
      expect(account.transfer).toEqual({ transferred: true, reason: null });
      expect(account.user?.cart).toEqual([...ACCOUNT_CART, ...GUEST_CART]);
    });

    it("a callback with a swapped state is refused, in the victim's browser and in the attacker's", async () => {
      const customer = await returningCustomer(world, shop());
      const victim = new UserAgent('victim');
      const attacker = new UserAgent('attacker');
      await guestWithCart(victim, shop(), GUEST_CART);
      await guestWithCart(attacker, shop(), ATTACKER_CART);
      const victimStart = await startLogin(victim, shop());
      const attackerStart = await startLogin(attacker, shop());
      // (Passport's openid-client strategy sends no state, PKCE alone: a state added to its callback is refused too.)
      const attackerState = stateSent(attackerStart) ?? 'a-state-the-attacker-chose';
      const callback = await signInAtProvider(victim, shop(), victimStart, customer);
      expect(stateOf(callback)).toBe(stateSent(victimStart));

      // the victim's browser gets the attacker's state (and with it, in the state-carrying stacks, the attacker's binding)
      expectRefusedCallback(await victim.navigate(withState(callback, attackerState), { from: world.idp.issuer }));
      // the attacker's browser gets the victim's code with its own, matching state: PKCE refuses the code
      expectRefusedCallback(await attacker.navigate(withState(callback, attackerState), { from: world.idp.issuer }));
      for (const browser of [victim, attacker]) expect((await me(browser, shop())).user).toBeNull();
      expect(await shop().users.get(customer.sub)).toMatchObject({ user_metadata: { cart: ACCOUNT_CART }, app_metadata: {} });
    });

    it('a user who denies the shop at the provider is not logged in; nothing transfers, the guest stays', async () => {
      const customer = await returningCustomer(world, shop());
      const browser = new UserAgent('denies');
      const guest = await guestWithCart(browser, shop(), GUEST_CART);
      const start = await startLogin(browser, shop());
      const consent = await browser.navigate(formAction(start.body, 'sign-in'), { form: { email: customer.email, password: customer.password }, stopAt: shop().origin });
      expect(consent.body).toContain('id="deny"');
      const denied = await browser.navigate(formAction(consent.body, 'deny'), { form: {}, stopAt: shop().origin });
      expect(denied.stopped).toBe(true);
      expect(new URL(denied.url).searchParams.get('error')).toBe('access_denied');
      expectRefusedCallback(await returnToShop(browser, denied.url));
      expect((await me(browser, shop())).user).toBeNull();
      expect(browser.cookie(shop().origin, 'anon')).toBe(guest.token);
      expect(await shop().users.get(customer.sub)).toMatchObject({ user_metadata: { cart: ACCOUNT_CART }, app_metadata: {} });
    });

    it('a replayed callback transfers nothing more, leaves the user signed in, and signs nobody else in', async () => {
      const customer = await returningCustomer(world, shop());
      const victim = new UserAgent('victim');
      await guestWithCart(victim, shop(), GUEST_CART);
      const dance = await logIn(victim, shop(), customer);
      const first = await me(victim, shop());
      expect(first.transfer).toEqual({ transferred: true, reason: null });

      const transfer = vi.spyOn(shop().anon, 'transfer');
      try {
        const replay = await victim.navigate(dance.callback, { from: world.idp.issuer });
        expect(replay.hops[0]!.status).toBeLessThan(500);
        const after = await me(victim, shop());
        expect(after.user?.email).toBe(customer.email); // still signed in
        expect(after.user?.cart).toEqual(first.user?.cart);

        const attacker = new UserAgent('attacker');
        await guestWithCart(attacker, shop(), ATTACKER_CART);
        expectRefusedCallback(await attacker.navigate(dance.callback, { from: world.idp.issuer }));
        expect((await me(attacker, shop())).user).toBeNull();
        for (const result of transfer.mock.results) expect(await (result.value as Promise<{ transferred: boolean }>)).toMatchObject({ transferred: false });
        expect((await shop().users.get(customer.sub))?.user_metadata.cart).toEqual(first.user?.cart);
      } finally {
        transfer.mockRestore();
      }
    });

    it("a guest session planted between the redirect out and the callback transfers nothing; the login goes on", async () => {
      const customer = await returningCustomer(world, shop());
      const victim = new UserAgent('victim');
      const attacker = new UserAgent('attacker');
      await guestWithCart(victim, shop(), GUEST_CART);
      const planted = await guestWithCart(attacker, shop(), ATTACKER_CART);
      const start = await startLogin(victim, shop());
      victim.setCookie(shop().origin, 'anon', planted.token); // e.g. a cross-site link that wrote the cookie
      const end = await returnToShop(victim, await signInAtProvider(victim, shop(), start, customer));
      expect(end.url).toBe(`${shop().origin}/`);
      const account = await me(victim, shop());
      expect(account.user?.email).toBe(customer.email);
      expect(account.transfer).toEqual({ transferred: false, reason: 'not_bound' });
      expect(account.user?.cart).toEqual(ACCOUNT_CART);
      expect(account.user?.linked_sessions).toEqual([]);
    });

    it('a guest session planted into a login that started without one transfers nothing', async () => {
      const customer = await returningCustomer(world, shop());
      const victim = new UserAgent('victim, no guest');
      const planted = await guestWithCart(new UserAgent('attacker'), shop(), ATTACKER_CART);
      const start = await startLogin(victim, shop());
      victim.setCookie(shop().origin, 'anon', planted.token);
      if (spec.kind !== 'passport' && spec.bindingIn !== 'cookie') {
        // where the binding rides in the state, even a valid binding cookie planted with it is ignored
        victim.setCookie(shop().origin, 'anon_login', await shop().anon.createLoginBinding(planted.sessionId));
      }
      await returnToShop(victim, await signInAtProvider(victim, shop(), start, customer));
      const account = await me(victim, shop());
      expect(account.user?.email).toBe(customer.email);
      expect(account.transfer).toEqual({ transferred: false, reason: 'not_bound' });
      expect(account.user?.cart).toEqual(ACCOUNT_CART);
    });
  });

  describe('the seed in the login start: anonymous_session_token', () => {
    const withToken = (token: string, path = '/login'): string => `${path}?anonymous_session_token=${encodeURIComponent(token)}`;

    /** Asserts that `token` appears nowhere but in its own cookie, in any exchange, page or log. */
    async function expectNeverEchoed(token: string, dance: Dance, browser: UserAgent): Promise<void> {
      const pages = [dance.start.body, dance.end.body, JSON.stringify(await me(browser, shop()))];
      const seen = visibleText(dance.hops.slice(1), pages);
      expect(seen.locations).not.toContain(token);
      expect(seen.cookies).not.toContain(token);
      expect(seen.bodies).not.toContain(token);
      const state = stateSent(dance.start) ?? '';
      expect(decodeURIComponent(state)).not.toContain(token);
      expect(Buffer.from(state, 'base64url').toString('latin1')).not.toContain(token);
      expect(shop().logged()).not.toContain(token);
      const seedCookie = dance.hops[0]!.setCookies.find((header) => header.startsWith('anon_login_seed='));
      expect(seedCookie).toMatch(/HttpOnly/i);
      expect(seedCookie).toMatch(/SameSite=Lax/i);
      expect(seedCookie).toMatch(/Max-Age=\d{1,3};/);
    }

    it('a guest from a native app passes its token to the login start: bound, transferred once, never echoed or logged', async () => {
      const customer = await returningCustomer(world, shop());
      const appGuest = await nativeAppGuest(shop(), GUEST_CART);
      const browser = new UserAgent('system browser opened by the app');
      const dance = await logIn(browser, shop(), customer, { path: withToken(appGuest.token), from: 'none' });
      expect(dance.hops[0]!.headers['referrer-policy']).toBe('no-referrer');
      expect(dance.hops[0]!.headers['cache-control']).toContain('no-store');
      const account = await me(browser, shop());
      expect(account.transfer).toEqual({ transferred: true, reason: null });
      expect(account.user?.cart).toEqual([...ACCOUNT_CART, ...GUEST_CART]);
      expect(account.user?.linked_sessions).toEqual([expect.objectContaining({ session_id: appGuest.sessionId })]);
      await expectNeverEchoed(appGuest.token, dance, browser);
      // the token lived only for the login: never in the browser's own session cookie, and gone now
      expect(browser.cookie(shop().origin, 'anon')).toBeUndefined();
      expect(browser.cookie(shop().origin, 'anon_login_seed')).toBeUndefined();

      // the same app session, the same user again: once per (session, user)
      await logOut(browser, shop());
      await logIn(browser, shop(), customer, { path: withToken(appGuest.token), from: 'none' });
      expect((await me(browser, shop())).transfer).toEqual({ transferred: false, reason: 'already_transferred' });
    });

    it('a guest on another subdomain (a same-site link) passes its token too, and a sign-up migrates it', async () => {
      const appGuest = await nativeAppGuest(shop(), GUEST_CART);
      const browser = new UserAgent('from a sibling site');
      const sibling = `http://localhost:1/`; // same site (host), another origin
      const dance = await logIn(browser, shop(), newCustomer(), { path: withToken(appGuest.token, '/signup'), from: sibling, signup: true });
      const account = await me(browser, shop());
      expect(account.transfer).toEqual({ transferred: true, reason: null });
      expect(account.user?.cart).toEqual(GUEST_CART);
      await expectNeverEchoed(appGuest.token, dance, browser);
    });

    it("a token in a cross-site link is refused: the login goes on with the browser's own guest", async () => {
      const customer = await returningCustomer(world, shop());
      const victim = new UserAgent('victim');
      const own = await guestWithCart(victim, shop(), GUEST_CART);
      const attacker = await nativeAppGuest(shop(), ATTACKER_CART);
      await logIn(victim, shop(), customer, { path: withToken(attacker.token), from: 'https://evil.example/' });
      const account = await me(victim, shop());
      expect(account.transfer).toEqual({ transferred: true, reason: null });
      expect(account.user?.cart).toEqual([...ACCOUNT_CART, ...GUEST_CART]);
      expect(account.user?.linked_sessions).toEqual([expect.objectContaining({ session_id: own.sessionId })]);
      expect(victim.cookie(shop().origin, 'anon')).toBe(own.token);
    });

    it('without Fetch Metadata, or with a bad, expired or logged-out token, the query token is ignored', async () => {
      const attacker = await nativeAppGuest(shop(), ATTACKER_CART);
      const loggedOut = await nativeAppGuest(shop(), ATTACKER_CART);
      const logout = await fetch(`${shop().origin}/anonymous/logout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: SHOP_WEB_CLIENT, session_token: loggedOut.token }),
      });
      expect(logout.status).toBeLessThan(300);
      const cases: Array<{ token: string; fetchMetadata: boolean }> = [
        { token: attacker.token, fetchMetadata: false },
        { token: 'not-a-token', fetchMetadata: true },
        { token: `${attacker.token.slice(0, -4)}AAAA`, fetchMetadata: true },
        { token: loggedOut.token, fetchMetadata: true },
      ];
      for (const { token, fetchMetadata } of cases) {
        const customer = await returningCustomer(world, shop());
        const browser = new UserAgent('ignored token');
        const dance = await logIn(browser, shop(), customer, { path: withToken(token), from: 'none', fetchMetadata });
        expect(dance.end.url).toBe(`${shop().origin}/`);
        const account = await me(browser, shop());
        expect(account.transfer).toEqual({ transferred: false, reason: 'no_session' });
        expect(account.user?.cart).toEqual(ACCOUNT_CART);
        expect(browser.cookie(shop().origin, 'anon_login_seed')).toBeUndefined();
      }
    });
  });
});

describe.each(SPECS.filter((spec) => spec.endAnonymousSession).map((spec) => ({ name: label(spec), spec })))('$name', ({ spec }) => {
  const shop = (): Shop => world.shops[SPECS.indexOf(spec)]!;

  it('ends the guest session after its transfer and clears its cookie', async () => {
    const customer = await returningCustomer(world, shop());
    const browser = new UserAgent('ending');
    const guest = await guestWithCart(browser, shop(), GUEST_CART);
    await logIn(browser, shop(), customer);
    const account: MeBody = await me(browser, shop());
    expect(account.transfer).toEqual({ transferred: true, reason: null });
    expect(browser.cookie(shop().origin, 'anon')).toBeUndefined();
    await expect(shop().anon.verifySessionToken(guest.token)).rejects.toMatchObject({ status: 401 });
  });

  it("ends a query-given session without touching the browser's own guest cookie", async () => {
    const customer = await returningCustomer(world, shop());
    const browser = new UserAgent('own guest');
    const own = await guestWithCart(browser, shop(), [{ sku: 'tea-black', qty: 1 }]);
    const appGuest = await nativeAppGuest(shop(), GUEST_CART);
    await logIn(browser, shop(), customer, { path: `/login?anonymous_session_token=${encodeURIComponent(appGuest.token)}`, from: 'none' });
    expect((await me(browser, shop())).user?.cart).toEqual([...ACCOUNT_CART, ...GUEST_CART]);
    await expect(shop().anon.verifySessionToken(appGuest.token)).rejects.toMatchObject({ status: 401 });
    expect(browser.cookie(shop().origin, 'anon')).toBe(own.token);
    await expect(shop().anon.verifySessionToken(own.token)).resolves.toMatchObject({ session_id: own.sessionId });
  });
});
