import request from 'supertest';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Express } from 'express';
import { createShopApp, PRODUCTS } from '../src/app.js';

describe('express-shop demo', () => {
  let app: Express;
  beforeAll(async () => {
    ({ app } = await createShopApp({ issuer: 'http://localhost:3000/', logger: { warn: vi.fn(), error: vi.fn() } }));
  });

  it('serves the shop page', async () => {
    const page = await request(app).get('/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Guest shop');
  });

  it('guards the products API with the guest access token', async () => {
    const missing = await request(app).get('/api/products');
    expect(missing.status).toBe(401);
    expect(missing.body.error).toBe('invalid_token');
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="shop"');

    const forged = await request(app).get('/api/products').set('Authorization', 'Bearer abc.def.ghi');
    expect(forged.status).toBe(401);
    expect(forged.headers['www-authenticate']).toBe('Bearer realm="shop", error="invalid_token"');

    const tokens = await request(app).post('/anonymous/token').send({ client_id: 'shop-web' });
    expect(tokens.status).toBe(200);
    const products = await request(app).get('/api/products').set('Authorization', `Bearer ${tokens.body.access_token}`);
    expect(products.status).toBe(200);
    expect(products.body.products).toEqual(PRODUCTS);

    // a session token is not an access token
    const wrongType = await request(app).get('/api/products').set('Authorization', `Bearer ${tokens.body.session_token}`);
    expect(wrongType.status).toBe(401);
  });

  it('keeps the cart in session metadata across requests through the cookie', async () => {
    const agent = request.agent(app);
    const created = await agent.post('/anonymous/token').send({ client_id: 'shop-web' });
    expect(created.status).toBe(200);
    const cart = [{ sku: 'mug', qty: 2 }];
    const updated = await agent.post('/anonymous/token').send({ client_id: 'shop-web', metadata: { cart, cart_size: 2 } });
    expect(updated.status).toBe(200);
    const claims = JSON.parse(Buffer.from(updated.body.access_token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
    expect(claims['https://shop.example/cart_size']).toBe(2);

    const me = await agent.get('/api/me');
    expect(me.body.guest).toMatchObject({ metadata: { cart } });
    expect(me.body.guest.user_id).toMatch(/^anon\|/);
  });
});
