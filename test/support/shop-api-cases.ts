/**
 * The shop API examples' shared cases (`examples/koa-api`, `examples/hono-api`): the same API on two frameworks answers alike.
 */
import type { RequestListener } from 'node:http';
import { generateKeyPair, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import request from 'supertest';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateKeySet, type PrivateJwkSet } from '@anonymous-sessions/core';

const USER_ISSUER = 'https://login.shop.example/';

/** The host's identity provider, as the API's `user.verify` sees it: its own key and issuer. */
let userKeys: { privateKey: CryptoKey; publicKey: CryptoKey };

const userToken = (audience: string, claims: Record<string, unknown> = {}): Promise<string> =>
  new SignJWT({ scope: 'read:products checkout', ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
    .setIssuer(USER_ISSUER)
    .setSubject('user-42')
    .setAudience(audience)
    .setExpirationTime('5m')
    .sign(userKeys.privateKey);

const SHOP_CHALLENGE = 'Bearer realm="shop"';

/** What the shop's API examples (`examples/koa-api`, `examples/hono-api`) export, as the cases use it. */
export interface ShopApiExample {
  /** The example's `SHOP_API`. */
  audience: string;
  /** The example's `CATALOGUE`. */
  catalogue: unknown;
  /** Builds the example's app (`createApiApp`) as a Node request listener. */
  build(options: { issuer: string; keys: PrivateJwkSet; logger: { warn: () => void; error: () => void }; user: { verify: (token: string) => Promise<Record<string, unknown>> } }): Promise<RequestListener>;
}

/**
 * The shop API examples' cases, one description for every framework's example: guarded products,
 * a checkout for users only, revocation, and the documents other services read.
 */
export function shopApiCases(name: string, example: ShopApiExample): void {
  const SHOP_API = example.audience;
  const CATALOGUE = example.catalogue;
  describe(name, () => {
    let listener: RequestListener;
    const server = () => listener;

    let keys: PrivateJwkSet;

    beforeAll(async () => {
      [userKeys, keys] = await Promise.all([generateKeyPair('ES256'), generateKeySet()]);
    });

    beforeEach(async () => {
      listener = await example.build({
        issuer: 'http://localhost:3001/',
        keys,
        logger: { warn: vi.fn(), error: vi.fn() },
        user: {
          verify: async (token: string) => (await jwtVerify(token, userKeys.publicKey, { issuer: USER_ISSUER, audience: SHOP_API })).payload,
        },
      });
    });

    const guestTokens = async (fields: Record<string, unknown> = {}) => {
      const res = await request(server()).post('/anonymous/token').send({ client_id: 'shop-web', ...fields });
      expect(res.status, res.text).toBe(200);
      return res.body as { access_token: string; session_token: string; scope: string };
    };

    it('guards the products: nobody without a token, guests and users with one', async () => {
      const missing = await request(server()).get('/api/products');
      expect(missing.status).toBe(401);
      expect(missing.body).toEqual({ error: 'invalid_token', error_description: 'An access token is required.' });
      expect(missing.headers['www-authenticate']).toBe(SHOP_CHALLENGE);

      const { access_token } = await guestTokens();
      const asGuest = await request(server()).get('/api/products').set('Authorization', `Bearer ${access_token}`);
      expect(asGuest.status).toBe(200);
      expect(asGuest.body).toEqual({ products: CATALOGUE, guest: true });

      const asUser = await request(server()).get('/api/products').set('Authorization', `Bearer ${await userToken(SHOP_API)}`);
      expect(asUser.status).toBe(200);
      expect(asUser.body).toEqual({ products: CATALOGUE, guest: false });
    });

    it('refuses a guest token without read:products with 403 insufficient_scope', async () => {
      const { access_token, scope } = await guestTokens({ scope: 'anon' });
      expect(scope).toBe('anon');
      const res = await request(server()).get('/api/products').set('Authorization', `Bearer ${access_token}`);
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('insufficient_scope');
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="shop", error="insufficient_scope", error_description="Missing scope: read:products.", scope="read:products"',
      );
    });

    it('lets only signed-in users check out', async () => {
      const { access_token } = await guestTokens();
      const guest = await request(server()).post('/api/checkout').set('Authorization', `Bearer ${access_token}`);
      expect(guest.status).toBe(403);
      expect(guest.body.error).toBe('insufficient_user_authentication');
      expect(guest.headers['www-authenticate']).toBe(
        'Bearer realm="shop", error="insufficient_user_authentication", error_description="A signed-in user is required."',
      );

      const user = await request(server()).post('/api/checkout').set('Authorization', `Bearer ${await userToken(SHOP_API)}`);
      expect(user.status).toBe(200);
      expect(user.body).toEqual({ ordered: true, user_id: 'user-42' });
    });

    it('refuses a guest’s access token once the guest session is logged out (checkRevocation)', async () => {
      const { access_token, session_token } = await guestTokens();
      const logout = await request(server()).post('/anonymous/logout').send({ client_id: 'shop-web', session_token });
      expect(logout.status).toBe(204);
      const res = await request(server()).get('/api/products').set('Authorization', `Bearer ${access_token}`);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="shop", error="invalid_token", error_description="The session behind this access token has ended."',
      );
    });

    it('serves the session, the JWKS and discovery for other services', async () => {
      const { session_token } = await guestTokens({ metadata: { cart: [{ sku: 'mug', qty: 1 }] } });
      const session = await request(server()).get('/anonymous/session').set('Authorization', `Bearer ${session_token}`);
      expect(session.status).toBe(200);
      expect(session.body.metadata).toEqual({ cart: [{ sku: 'mug', qty: 1 }] });
      const discovery = await request(server()).get('/.well-known/openid-configuration');
      expect(discovery.body).toMatchObject({ issuer: 'http://localhost:3001/', jwks_uri: 'http://localhost:3001/.well-known/jwks.json' });
      expect((await request(server()).get('/.well-known/jwks.json')).body.keys).toHaveLength(1);
    });
  });
}
