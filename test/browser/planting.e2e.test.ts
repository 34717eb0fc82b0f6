import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { chromium, type Browser, type BrowserContext, type Page, type Response } from 'playwright-core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { anonCookieExtractor, anonymousErrorHandler } from '@anonymous-sessions/express';
import { createShopApp, DEMO_ACCOUNT, SHOP_API, type Shop } from '../../examples/express-shop/src/app.js';

// Session planting in a real headless Chromium (Debian's package): an attacker's page on another
// site (localhost:<port> against the shop on 127.0.0.1:<other port>) tries to put its own guest
// session into a visitor's browser before the visitor logs in — with a link carrying
// ?anonymous_session_token= and with auto-submitted cross-site forms — and the visitor's cookie
// session must come out unchanged.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const ARTIFACTS = fileURLToPath(new URL('../../test-results/', import.meta.url));

if (!available) {
  console.warn(
    `\n!!! ${CHROMIUM} is missing: the session-planting browser tests are SKIPPED. Install it with \`apt-get install -y chromium\`. !!!\n`,
  );
}

const listen = (): Promise<Server> =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
const portOf = (server: Server): number => (server.address() as AddressInfo).port;
const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

describe.skipIf(!available)('browser: a page on another site cannot plant its guest session', () => {
  let victimServer: Server;
  let attackerServer: Server;
  let shopBase: string;
  let attackerBase: string;
  let shop: Shop;
  let browser: Browser;
  /** The attacker's own guest session, with a cart of its own. */
  let attackerToken: string;
  let attackerUserId: string;

  beforeAll(async () => {
    victimServer = await listen();
    attackerServer = await listen();
    shopBase = `http://127.0.0.1:${portOf(victimServer)}/`;
    attackerBase = `http://localhost:${portOf(attackerServer)}/`;
    shop = await createShopApp({ issuer: shopBase, logger: { warn: vi.fn(), error: vi.fn() } });
    // The demo, plus what a shop with "continue your cart" links has on its landing page: the cookie
    // extractor honouring ?anonymous_session_token=. (The demo's own POST /auth/start has it too.)
    const app = express();
    app.get('/', anonCookieExtractor(shop.anon, { cookie: { secure: false } }));
    app.use(shop.app);
    app.use(anonymousErrorHandler({ logger: { warn: vi.fn(), error: vi.fn() } }));
    victimServer.on('request', app);

    const created = await request(app)
      .post('/anonymous/token')
      .send({ client_id: 'shop-web', audience: SHOP_API, metadata: { cart: [{ sku: 'kettle', qty: 5 }] } });
    expect(created.status).toBe(200);
    attackerToken = (created.body as { session_token: string }).session_token;
    attackerUserId = (await shop.anon.verifySessionToken(attackerToken)).user_id;

    // The attacker's site: one page per vector, each aimed at the shop.
    const field = (name: string, value: string): string => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`;
    const autoForm = (action: string, fields: string, enctype = 'application/x-www-form-urlencoded'): string =>
      `<form id="f" method="POST" action="${escape(action)}" enctype="${enctype}">${fields}</form><script>document.getElementById('f').submit()</script>`;
    const pages: Record<string, string> = {
      '/link': `<a id="go" href="${escape(`${shopBase}?anonymous_session_token=${attackerToken}`)}">Today's deals</a>`,
      '/form-token': autoForm(`${shopBase}anonymous/token`, field('client_id', 'shop-web') + field('session_token', attackerToken)),
      '/form-token-plain': autoForm(
        `${shopBase}anonymous/token`,
        field(`{"client_id":"shop-web","session_token":"${attackerToken}","x":"`, '"}'),
        'text/plain',
      ),
      '/form-logout': autoForm(`${shopBase}anonymous/logout`, field('client_id', 'shop-web') + field('session_token', attackerToken)),
      '/form-login-start': autoForm(`${shopBase}auth/start?anonymous_session_token=${attackerToken}`, field('x', '1')),
    };
    attackerServer.on('request', (req, res) => {
      const page = pages[req.url ?? ''];
      res.writeHead(page === undefined ? 404 : 200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><title>Totally legit</title><body>${page ?? ''}</body>`);
    });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    await mkdir(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    for (const server of [victimServer, attackerServer]) {
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
    }
  });

  type CartLine = { dataset: Record<string, string | undefined> };
  const cartLines = (page: Page): Promise<string[]> =>
    page.$$eval('#cart li', (items) => (items as unknown as CartLine[]).map((li) => `${li.dataset.sku}×${li.dataset.qty}`));
  const cartHas = (count: number): string => `document.querySelectorAll('#cart li').length === ${count}`;
  const sessionCookie = async (context: BrowserContext): Promise<string | undefined> =>
    (await context.cookies(shopBase)).find((cookie) => cookie.name === 'anon')?.value;

  /** Opens the shop and waits for the guest session the page loads (or creates). */
  async function openShop(page: Page): Promise<string> {
    await page.goto(shopBase);
    await page.waitForSelector('#products button[data-sku="mug"]');
    return (await page.textContent('#guest-id'))!;
  }

  /**
   * The visitor follows the attacker's link to the shop; returns the status of the shop's first
   * answer (the redirect that drops the token, or the refusal).
   */
  async function followLink(page: Page): Promise<number> {
    await page.goto(`${attackerBase}link`);
    const [first] = await Promise.all([
      page.waitForResponse((response) => response.url().includes('anonymous_session_token=')),
      page.waitForURL((url) => url.href.startsWith(shopBase)),
      page.click('#go'),
    ]);
    return first.status();
  }

  /**
   * The visitor opens an attacker page (in a new tab) whose form submits itself to `path` on the
   * shop; returns the shop's status once its answer is in.
   */
  async function autoSubmitted(context: BrowserContext, attack: string, path: string): Promise<number> {
    const page = await context.newPage();
    try {
      const answered = new Promise<Response>((resolve) => {
        const seen = (response: Response): void => {
          if (!response.url().startsWith(`${shopBase}${path}`) || response.request().method() !== 'POST') return;
          page.off('response', seen);
          resolve(response);
        };
        page.on('response', seen);
      });
      // The form submits while the page loads: wait for the shop's answer, not for the attacker page.
      await page.goto(`${attackerBase}${attack}`, { waitUntil: 'commit' });
      const response = await answered;
      // Playwright reports a redirect's raw headers only once its chain ends: for those the jar speaks.
      if (response.status() < 300 || response.status() >= 400) {
        expect(await response.headerValue('set-cookie')).toBeNull();
        expect(await response.text()).toContain('access_denied');
      }
      return response.status();
    } finally {
      await page.close();
    }
  }

  it('a guest with a cart keeps their session through the link and every form, and logs in with their own cart only', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const guestId = await openShop(page);
    await page.click('#products button[data-sku="tea-green"]');
    await page.waitForFunction(cartHas(1));
    const before = await sessionCookie(context);
    expect(before).toBeDefined();

    // The visitor already has a live session and the link names another: refused, nothing written.
    expect(await followLink(page)).toBe(400);
    expect(await page.textContent('body')).toContain('invalid_request');
    await page.screenshot({ path: `${ARTIFACTS}planting-link-refused.png` });
    expect(await sessionCookie(context)).toBe(before);

    expect(await autoSubmitted(context, 'form-token', 'anonymous/token')).toBe(403);
    expect(await sessionCookie(context)).toBe(before);
    expect(await autoSubmitted(context, 'form-token-plain', 'anonymous/token')).toBe(403);
    expect(await sessionCookie(context)).toBe(before);
    expect(await autoSubmitted(context, 'form-logout', 'anonymous/logout')).toBe(403);
    expect(await sessionCookie(context)).toBe(before);
    expect(await autoSubmitted(context, 'form-login-start', 'auth/start')).toBe(307);
    expect(await sessionCookie(context)).toBe(before);
    expect((await context.cookies(shopBase)).map((cookie) => cookie.name)).not.toContain('anon_login');

    // Back in the shop: the same guest, the same cart; logging in merges only the visitor's own cart.
    expect(await openShop(page)).toBe(guestId);
    await page.waitForFunction(cartHas(1));
    expect(await cartLines(page)).toEqual(['tea-green×1']);
    await page.fill('#email', DEMO_ACCOUNT.email);
    await page.fill('#password', DEMO_ACCOUNT.password);
    await page.click('#login');
    await page.waitForSelector('#who-user:not([hidden])');
    expect(await page.textContent('#linked-session')).toContain(guestId);
    expect(await cartLines(page)).toEqual(['mug×1', 'tea-green×1']);
    await page.screenshot({ path: `${ARTIFACTS}planting-login-own-cart.png`, fullPage: true });
    await context.close();
  }, 60_000);

  it('a first-time visitor gets no planted cookie from the forms or the link, and the shop gives them a session of their own', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    expect(await autoSubmitted(context, 'form-token', 'anonymous/token')).toBe(403);
    expect(await autoSubmitted(context, 'form-token-plain', 'anonymous/token')).toBe(403);
    expect(await autoSubmitted(context, 'form-login-start', 'auth/start')).toBe(307);
    expect(await sessionCookie(context)).toBeUndefined();

    // No session yet: the link is redirected to the shop without the token, and nothing is written.
    expect(await followLink(page)).toBe(303);
    await page.waitForSelector('#products button[data-sku="mug"]');
    expect(page.url()).toBe(shopBase);
    const guestId = (await page.textContent('#guest-id'))!;
    expect(guestId).toMatch(/^anon\|/);
    expect(guestId).not.toBe(attackerUserId);
    expect(await sessionCookie(context)).not.toBe(attackerToken);
    expect(await cartLines(page)).toEqual([]);
    await context.close();
  }, 60_000);
});
