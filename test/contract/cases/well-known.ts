import { importJWK, jwtVerify, decodeProtectedHeader, type JWK } from 'jose';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { generateKeySet, rotateKeySet } from '@anonymous-sessions/core';
import { AUDIENCE, expectTokens, ISSUER, TOKEN_PATH, tokenRequest } from '../assertions.js';
import { buildApp, type ContractApp, type ContractAppOptions, type Framework } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function wellKnownCases(framework: Framework): void {
  const quickStart = (options?: ContractAppOptions): Promise<ContractApp> => buildApp(framework, options);

  const PRIVATE_OR_SECRET = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

  function expectPublicOnly(keys: readonly JWK[]): void {
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      for (const parameter of PRIVATE_OR_SECRET) expect(key).not.toHaveProperty(parameter);
      expect(key.kty).not.toBe('oct');
      expect(key.kid).toEqual(expect.any(String));
      expect(key.alg).toEqual(expect.any(String));
    }
  }

  describe('GET /.well-known/jwks.json', () => {
    it('serves only public signing keys, cacheable', async () => {
      const { app } = await quickStart();
      const res = await request(app).get('/.well-known/jwks.json');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['cache-control']).toBe('public, max-age=300');
      const { keys } = res.body as { keys: JWK[] };
      expect(keys).toHaveLength(1);
      expectPublicOnly(keys);
      expect(keys[0]).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256', n: expect.any(String), e: 'AQAB' });
    });

    it('honours jwksMaxAge', async () => {
      const { app } = await quickStart({ router: { cookie: { secure: false }, jwksMaxAge: 60 } });
      expect((await request(app).get('/.well-known/jwks.json')).headers['cache-control']).toBe('public, max-age=60');
      expect((await request(app).get('/.well-known/openid-configuration')).headers['cache-control']).toBe('public, max-age=60');
    });

    it('holds the key that signed our access tokens, and that key verifies them', async () => {
      const { app } = await quickStart();
      const tokens = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest()));
      const { keys } = (await request(app).get('/.well-known/jwks.json')).body as { keys: JWK[] };
      const { kid } = decodeProtectedHeader(tokens.access_token);
      const jwk = keys.find((key) => key.kid === kid);
      expect(jwk).toBeDefined();
      const { payload } = await jwtVerify(tokens.access_token, await importJWK(jwk!, jwk!.alg), {
        issuer: ISSUER,
        audience: AUDIENCE,
        typ: 'at+jwt',
      });
      expect(payload.scope).toBe('anon read:products write:cart');
    });

    it('lists every signing key during a rotation, public parts only', async () => {
      const rotated = await rotateKeySet(await generateKeySet({ algorithm: 'ES256' }), { algorithm: 'EdDSA' });
      const { app } = await quickStart({ engine: { keys: rotated } });
      const { keys } = (await request(app).get('/.well-known/jwks.json')).body as { keys: JWK[] };
      expectPublicOnly(keys);
      expect(keys.map((key) => key.alg)).toEqual(['EdDSA', 'ES256']);
      expect(new Set(keys.map((key) => key.kid)).size).toBe(2);
    });
  });

  describe('discovery documents', () => {
    it.each([['/.well-known/oauth-authorization-server'], ['/.well-known/openid-configuration']])('%s', async (path) => {
      const { app } = await quickStart();
      const res = await request(app).get(path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
      expect(res.body).toMatchObject({
        issuer: ISSUER,
        jwks_uri: `${ISSUER}.well-known/jwks.json`,
        anonymous_token_endpoint: `${ISSUER}anonymous/token`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    });

    it('serves the same document at both addresses', async () => {
      const { app } = await quickStart();
      const a = await request(app).get('/.well-known/oauth-authorization-server');
      const b = await request(app).get('/.well-known/openid-configuration');
      expect(a.body).toEqual(b.body);
    });
  });

}
