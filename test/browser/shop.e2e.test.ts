import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createShopApp, DEMO_ACCOUNT } from '../../examples/express-shop/src/app.js';

// The demo page in a real headless Chromium (Debian's package), driven by playwright-core.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const ARTIFACTS = fileURLToPath(new URL('../../test-results/', import.meta.url));

if (!available) {
  console.warn(
    `\n!!! ${CHROMIUM} is missing: the browser tests are SKIPPED. Install it with \`apt-get install -y chromium\`. !!!\n`,
  );
}

describe('browser: Chromium is there', () => {
  it.runIf(process.env.CI === 'true')('is installed under CI (a missing browser is a failure, not a skip)', () => {
    expect(existsSync(CHROMIUM)).toBe(true);
  });
});

describe.skipIf(!available)('browser: the guest shop', () => {
  let server: Server;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    server = await new Promise<Server>((resolve) => {
      const listening = createServer();
      listening.listen(0, '127.0.0.1', () => resolve(listening));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const { app } = await createShopApp({ issuer: base, logger: { warn: vi.fn(), error: vi.fn() } });
    server.on('request', app);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    await mkdir(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  // Callbacks below run in the page; they are typed structurally (this project has no DOM lib).
  type CartLine = { dataset: Record<string, string | undefined> };
  const cartLines = (page: Page): Promise<string[]> =>
    page.$$eval('#cart li', (items) => (items as unknown as CartLine[]).map((li) => `${li.dataset.sku}×${li.dataset.qty}`));
  const cartHas = (count: number): string => `document.querySelectorAll('#cart li').length === ${count}`;

  const add = async (page: Page, sku: string, expectedLines: number): Promise<void> => {
    await page.click(`#products button[data-sku="${sku}"]`);
    await page.waitForFunction(cartHas(expectedLines));
  };

  it('a guest adds two items, reloads, signs up, and finds both in the account cart', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(base);
    await page.waitForSelector('#products button[data-sku="tea-green"]');
    const guestId = await page.textContent('#guest-id');
    expect(guestId).toMatch(/^anon\|/);

    await add(page, 'tea-green', 1);
    await add(page, 'kettle', 2);
    await page.reload();
    await page.waitForFunction(cartHas(2));
    expect(await cartLines(page)).toEqual(['tea-green×1', 'kettle×1']);
    expect(await page.textContent('#guest-id')).toBe(guestId);

    // a guest cannot check out: the API answers 403 insufficient_user_authentication
    await page.click('#checkout');
    await page.waitForFunction(`document.querySelector('#checkout-result').textContent.includes('Sign up')`);

    await page.fill('#email', 'new.customer@shop.example');
    await page.fill('#password', 'a-long-password');
    await page.click('#signup');
    await page.waitForSelector('#who-user:not([hidden])');
    expect(await page.textContent('#user-email')).toBe('new.customer@shop.example');
    expect(await page.textContent('#linked-session')).toContain(guestId!);
    expect(await cartLines(page)).toEqual(['tea-green×1', 'kettle×1']);
    await page.screenshot({ path: `${ARTIFACTS}express-shop-signup.png`, fullPage: true });

    // signed in, checkout works
    await page.click('#checkout');
    await page.waitForFunction(`document.querySelector('#checkout-result').textContent.startsWith('Ordered 2')`);
    await context.close();
  });

  it('a guest who logs into an account with its own cart gets the carts merged', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(base);
    await page.waitForSelector('#products button[data-sku="mug"]');
    await add(page, 'mug', 1);
    await add(page, 'tea-black', 2);
    await page.fill('#email', DEMO_ACCOUNT.email);
    await page.fill('#password', DEMO_ACCOUNT.password);
    await page.click('#login');
    await page.waitForSelector('#who-user:not([hidden])');
    expect(await cartLines(page)).toEqual(['mug×2', 'tea-black×1']);
    await page.screenshot({ path: `${ARTIFACTS}express-shop-login-merge.png`, fullPage: true });
    await context.close();
  });
});

