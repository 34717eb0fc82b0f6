import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ACCOUNT } from '../../examples/express-oidc/src/shop.js';
import { startWorld, STACKS, type Shop, type World } from '../login-stacks/stacks.js';
import { freshEmail } from '../login-stacks/world.js';

// The guest shop logging in through a real OpenID provider on another origin, in a real headless
// Chromium (Debian's package) driven by playwright-core, once per login stack.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const ARTIFACTS = fileURLToPath(new URL('../../test-results/', import.meta.url));

if (!available) {
  console.warn(`\n!!! ${CHROMIUM} is missing: the login-stack browser tests are SKIPPED. Install it with \`apt-get install -y chromium\`. !!!\n`);
}

describe('browser: Chromium is there for the login stacks', () => {
  it.runIf(process.env.CI === 'true')('is installed under CI (a missing browser is a failure, not a skip)', () => {
    expect(existsSync(CHROMIUM)).toBe(true);
  });
});

describe.skipIf(!available)('browser: guest shop through a real OpenID provider', () => {
  let world: World;
  let browser: Browser;

  beforeAll(async () => {
    world = await startWorld(STACKS.map((kind) => ({ kind })));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    await mkdir(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await world?.close();
  });

  // Callbacks below run in the page; they are typed structurally (this project has no DOM lib).
  type CartLine = { dataset: Record<string, string | undefined> };
  const cartLines = (page: Page): Promise<string[]> =>
    page.$$eval('#cart li', (items) => (items as unknown as CartLine[]).map((li) => `${li.dataset.sku}×${li.dataset.qty}`));
  const cartHas = (count: number): string => `document.querySelectorAll('#cart li').length === ${count}`;

  async function openShop(context: BrowserContext, shop: Shop): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${shop.origin}/`);
    await page.waitForSelector('body[data-ready="true"]');
    return page;
  }

  async function addToCart(page: Page, sku: string, lines: number): Promise<void> {
    await page.click(`#products button[data-sku="${sku}"]`);
    await page.waitForFunction(cartHas(lines));
  }

  /** On the provider's page (another origin): signs in or up, allows the shop when asked. */
  async function atProvider(page: Page, shop: Shop, credentials: { email: string; password: string }, action: 'sign-in' | 'sign-up'): Promise<void> {
    await page.waitForURL((url) => url.origin === world.idp.issuer);
    await page.waitForSelector(`#${action}`);
    await page.fill('#email', credentials.email);
    await page.fill('#password', credentials.password);
    await Promise.all([page.waitForURL((url) => url.origin === shop.origin || url.pathname.includes('/interaction/')), page.click(`#${action}`)]);
    if (new URL(page.url()).origin === world.idp.issuer) {
      await page.waitForSelector('#allow');
      await Promise.all([page.waitForURL((url) => url.origin === shop.origin), page.click('#allow')]);
    }
    await page.waitForSelector('body[data-ready="true"] #who-user:not([hidden])');
  }

  describe.each(STACKS.map((kind, index) => ({ kind, index })))('$kind', ({ kind, index }) => {
    const shop = (): Shop => world.shops[index]!;

    it('a guest adds two items, logs in at the provider, sees the merged cart; a second login changes nothing', { timeout: 90_000 }, async () => {
      const context = await browser.newContext();
      try {
        const page = await openShop(context, shop());
        const guestId = await page.textContent('#guest-id');
        expect(guestId).toMatch(/^anon\|/);
        await addToCart(page, 'tea-green', 1);
        await addToCart(page, 'kettle', 2);

        await page.click('#login');
        await atProvider(page, shop(), DEMO_ACCOUNT, 'sign-in');
        expect(new URL(page.url()).origin).toBe(shop().origin);
        expect(await page.textContent('#user-email')).toBe(DEMO_ACCOUNT.email);
        expect(await cartLines(page)).toEqual(['mug×1', 'tea-green×1', 'kettle×1']);
        expect(await page.getAttribute('#transfer', 'data-result')).toBe('transferred');
        await page.screenshot({ path: `${ARTIFACTS}login-stacks-${kind}-login-merge.png`, fullPage: true });

        // log out of the shop: the same guest session is back; log in again (single sign-on at the provider)
        await page.click('#logout');
        await page.waitForSelector('body[data-ready="true"] #who-guest:not([hidden])'); // the new page, rendered
        expect(await page.textContent('#guest-id')).toBe(guestId);
        await page.click('#login');
        await page.waitForSelector('body[data-ready="true"] #who-user:not([hidden])');
        expect(await cartLines(page)).toEqual(['mug×1', 'tea-green×1', 'kettle×1']);
        expect(await page.getAttribute('#transfer', 'data-result')).toBe('already_transferred');
        await page.screenshot({ path: `${ARTIFACTS}login-stacks-${kind}-second-login.png`, fullPage: true });
      } finally {
        await context.close();
      }
    });

    it('a guest signs up at the provider and finds the cart in the new account', { timeout: 90_000 }, async () => {
      const context = await browser.newContext();
      try {
        const page = await openShop(context, shop());
        await addToCart(page, 'tea-black', 1);
        await addToCart(page, 'mug', 2);
        await page.click('#signup');
        const email = freshEmail(kind.replace(/\W/g, ''));
        await atProvider(page, shop(), { email, password: 'a-long-password' }, 'sign-up');
        expect(await page.textContent('#user-email')).toBe(email);
        expect(await cartLines(page)).toEqual(['tea-black×1', 'mug×1']);
        expect(await page.getAttribute('#transfer', 'data-result')).toBe('transferred');
        await page.screenshot({ path: `${ARTIFACTS}login-stacks-${kind}-signup.png`, fullPage: true });
      } finally {
        await context.close();
      }
    });
  });
});
