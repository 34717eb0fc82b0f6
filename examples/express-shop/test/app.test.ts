import request from 'supertest';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Express } from 'express';
import { createShopApp, DEMO_ACCOUNT, PRODUCTS, type Shop } from '../src/app.js';

const claimsOf = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe('express-shop demo', () => {
  let shop: Shop;
  let app: Express;
  beforeEach(async () => {
    shop = await createShopApp({ issuer: 'http://localhost:3000/', logger: { warn: vi.fn(), error: vi.fn() } });
    app = shop.app;
  });

  it('serves the shop page', async () => {
    const page = await request(app).get('/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Guest shop');
    const client = await request(app).get('/vendor/anonymous-sessions-client.js');
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toMatch(/javascript/);
    expect(client.text).toContain('createAnonymousClient');
  });

  it('guards the products API: guests with their access token, nobody without', async () => {
    const missing = await request(app).get('/api/products');
    expect(missing.status).toBe(401);
    expect(missing.body.error).toBe('invalid_token');
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="shop"');

    const forged = await request(app).get('/api/products').set('Authorization', 'Bearer abc.def.ghi');
    expect(forged.status).toBe(401);
    expect(forged.headers['www-authenticate']).toMatch(/^Bearer realm="shop", error="invalid_token"/);

    const tokens = await request(app).post('/anonymous/token').send({ client_id: 'shop-web' });
    expect(tokens.status).toBe(200);
    const products = await request(app).get('/api/products').set('Authorization', `Bearer ${tokens.body.access_token}`);
    expect(products.status).toBe(200);
    expect(products.body).toEqual({ products: PRODUCTS, guest: true });

    const wrongType = await request(app).get('/api/products').set('Authorization', `Bearer ${tokens.body.session_token}`);
    expect(wrongType.status).toBe(401);
  });

  it('refuses checkout to guests with 403 insufficient_user_authentication', async () => {
    const tokens = await request(app).post('/anonymous/token').send({ client_id: 'shop-web' });
    const checkout = await request(app).post('/api/checkout').set('Authorization', `Bearer ${tokens.body.access_token}`);
    expect(checkout.status).toBe(403);
    expect(checkout.body.error).toBe('insufficient_user_authentication');
    expect(checkout.headers['www-authenticate']).toBe(
      'Bearer realm="shop", error="insufficient_user_authentication", error_description="A signed-in user is required."',
    );
  });

  it('moves the guest cart into a new account on sign-up, once', async () => {
    const guest = request.agent(app);
    const cart = [{ sku: 'mug', qty: 2 }, { sku: 'kettle', qty: 1 }];
    await guest.post('/anonymous/token').send({ client_id: 'shop-web' }).expect(200);
    const updated = await guest.post('/anonymous/token').send({ client_id: 'shop-web', metadata: { cart, cart_size: 3 } }).expect(200);
    expect(claimsOf(updated.body.access_token)['https://shop.example/cart_size']).toBe(3);

    await guest.post('/auth/start').expect(204);
    const signup = await guest.post('/auth/signup').send({ email: 'ada@shop.example', password: 'correct-horse' });
    expect(signup.status).toBe(200);
    expect(signup.body.transfer).toMatchObject({ transferred: true });
    expect(signup.body.user.user_metadata.cart).toEqual(cart);
    expect(signup.body.user.app_metadata.linked_sessions).toHaveLength(1);

    // the account's token opens checkout
    const checkout = await request(app).post('/api/checkout').set('Authorization', `Bearer ${signup.body.access_token}`);
    expect(checkout.status).toBe(200);
    expect(checkout.body.ordered).toEqual(cart);
  });

  it('merges the guest cart with the cart an existing account already has', async () => {
    const guest = request.agent(app);
    await guest.post('/anonymous/token').send({ client_id: 'shop-web', metadata: { cart: [{ sku: 'mug', qty: 1 }, { sku: 'tea-green', qty: 3 }] } }).expect(200);
    await guest.post('/auth/start').expect(204);
    const login = await guest.post('/auth/login').send({ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password });
    expect(login.status).toBe(200);
    expect(login.body.user.user_metadata.cart).toEqual([{ sku: 'mug', qty: 2 }, { sku: 'tea-green', qty: 3 }]);

    // logging in again with the same guest session does not double the cart
    await guest.post('/auth/start').expect(204);
    const again = await guest.post('/auth/login').send({ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password });
    expect(again.body.transfer).toMatchObject({ transferred: false, reason: 'already_transferred' });
    expect(again.body.user.user_metadata.cart).toEqual([{ sku: 'mug', qty: 2 }, { sku: 'tea-green', qty: 3 }]);
  });

  it('answers bad credentials with invalid_request and never transfers', async () => {
    const guest = request.agent(app);
    await guest.post('/anonymous/token').send({ client_id: 'shop-web', metadata: { cart: [{ sku: 'mug', qty: 1 }] } }).expect(200);
    const wrong = await guest.post('/auth/login').send({ email: DEMO_ACCOUNT.email, password: 'not-the-password' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_request');
    expect((await shop.accounts.authenticate(DEMO_ACCOUNT.email, DEMO_ACCOUNT.password))!.user_metadata.cart).toEqual(DEMO_ACCOUNT.cart);
    const short = await guest.post('/auth/signup').send({ email: 'x@shop.example', password: 'short' });
    expect(short.status).toBe(400);
  });
});
