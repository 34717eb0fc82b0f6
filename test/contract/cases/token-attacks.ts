/**
 * Negative tokens: tampered, expired, other issuer, other audience, the wrong type, `alg: none`,
 * HS256 signed with our public key, unknown `kid`, a key embedded in the header. Session tokens are
 * tried over HTTP on GET /anonymous/session; access tokens on `anon.verifyAccessToken` and over HTTP
 * on a route behind `requireAnonymousOrUser`.
 */
import { createPublicKey } from 'node:crypto';
import type { RequestListener } from 'node:http';
import {
  base64url,
  decodeJwt,
  decodeProtectedHeader,
  EncryptJWT,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAnonymousSessions, type AnonymousSessions } from '@anonymous-sessions/core';
import {
  advanceDate,
  AUDIENCE,
  expectError,
  expectTokens,
  freezeDate,
  quickStartEngineOptions,
  SESSION_PATH,
  silentLogger,
  testKeys,
  TOKEN_PATH,
  tokenRequest,
  type TokenBody,
} from '../assertions.js';
import { buildApp, type ContractApp, type ContractAppOptions, type Framework } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function tokenAttackCases(framework: Framework): void {
  const quickStart = (options?: ContractAppOptions): Promise<ContractApp> => buildApp(framework, options);

  const OTHER_AUDIENCE = 'https://api.other.example';

  /** The API route: `GET /api` behind `requireAnonymousOrUser` for AUDIENCE, verifying every request. */
  const productsRoute: ContractAppOptions['guard'] = { audience: AUDIENCE, cache: false };

  function engineOptions() {
    return {
      resourceServers: [
        { audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: ['anon'] },
        { audience: OTHER_AUDIENCE, allowAnonymousAccess: true, anonymousScopes: ['anon'] },
      ],
    };
  }

  let app: RequestListener;
  let anon: AnonymousSessions;
  let tokens: TokenBody;

  beforeAll(async () => {
    ({ app, anon } = await quickStart({ engine: engineOptions(), guard: productsRoute }));
    tokens = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest()));
  });

  async function expectSessionRefused(token: string, code = 'invalid_session_token'): Promise<string> {
    const res = await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${token}`);
    expectError(res, 401, code);
    return (res.body as { error_description: string }).error_description;
  }

  async function expectAccessRefused(token: string, engine: AnonymousSessions = anon, host: RequestListener = app): Promise<void> {
    await expect(engine.verifyAccessToken(token, { audience: AUDIENCE })).rejects.toMatchObject({
      code: 'invalid_token',
      status: 401,
    });
    const res = await request(host).get('/api').set('Authorization', `Bearer ${token}`);
    expectError(res, 401, 'invalid_token');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="api", error="invalid_token", error_description="The access token (is invalid|is malformed|expired)\."$/);
  }

  /** Re-encodes a JWS with a new header and/or payload, keeping the original signature. */
  function reencode(token: string, change: { header?: Record<string, unknown>; payload?: Record<string, unknown> }): string {
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const json = (part: string) => JSON.parse(new TextDecoder().decode(base64url.decode(part))) as Record<string, unknown>;
    const encode = (value: Record<string, unknown>) => base64url.encode(JSON.stringify(value));
    return [
      change.header ? encode({ ...json(header), ...change.header }) : header,
      change.payload ? encode({ ...json(payload), ...change.payload }) : payload,
      signature,
    ].join('.');
  }

  /** An unsecured JWT (`alg: none`) with the given header fields and claims. */
  function unsecured(header: Record<string, unknown>, claims: JWTPayload): string {
    return `${base64url.encode(JSON.stringify({ ...header, alg: 'none' }))}.${base64url.encode(JSON.stringify(claims))}.`;
  }

  describe('baseline: the genuine tokens work', () => {
    it('session token on /anonymous/session, access token on the API', async () => {
      expect((await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${tokens.session_token}`)).status).toBe(200);
      await expect(anon.verifyAccessToken(tokens.access_token, { audience: AUDIENCE })).resolves.toMatchObject({
        sub: decodeJwt(tokens.access_token).sub,
      });
      const res = await request(app).get('/api').set('Authorization', `Bearer ${tokens.access_token}`);
      expect(res.status).toBe(200);
    });

    it('the API refuses a request without a token', async () => {
      expectError(await request(app).get('/api'), 401, 'invalid_token');
    });
  });

  describe('tampered', () => {
    it('access token: a changed claim with the original signature', async () => {
      await expectAccessRefused(reencode(tokens.access_token, { payload: { sub: 'anon|someone-else' } }));
      await expectAccessRefused(reencode(tokens.access_token, { payload: { scope: 'anon admin' } }));
    });

    it('access token: a flipped signature bit', async () => {
      const [header, payload, signature] = tokens.access_token.split('.') as [string, string, string];
      const bytes = base64url.decode(signature);
      bytes[0] = bytes[0]! ^ 1;
      await expectAccessRefused([header, payload, base64url.encode(bytes)].join('.'));
    });

    it('session token: every JWE part altered', async () => {
      const parts = tokens.session_token.split('.');
      const descriptions = new Set<string>();
      for (const index of [0, 2, 3, 4]) {
        const altered = [...parts];
        const part = altered[index]!;
        altered[index] = (part[0] === 'A' ? 'B' : 'A') + part.slice(1);
        descriptions.add(await expectSessionRefused(altered.join('.')));
      }
      // The same description whatever failed.
      expect(descriptions.size).toBe(1);
    });
  });

  describe('expired', () => {
    it('access token past exp (+ clock tolerance)', async () => {
      freezeDate();
      const built = await quickStart({
        engine: { resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, tokenLifetimeForAnonymousAccess: 60 }] },
        guard: productsRoute,
      });
      const fresh = expectTokens(await request(built.app).post(TOKEN_PATH).send(tokenRequest()));
      advanceDate(60 + 16);
      await expectAccessRefused(fresh.access_token, built.anon, built.app);
    });

    it('session token past exp: session_expired', async () => {
      freezeDate();
      const built = await quickStart({ engine: { sessionLifetime: 600 } });
      const fresh = expectTokens(await request(built.app).post(TOKEN_PATH).send(tokenRequest()));
      advanceDate(600 + 16);
      expectError(
        await request(built.app).get(SESSION_PATH).set('Authorization', `Bearer ${fresh.session_token}`),
        401,
        'session_expired',
      );
    });

    it('the access token never outlives the session', async () => {
      const built = await quickStart({ engine: { sessionLifetime: 120 } });
      const fresh = expectTokens(await request(built.app).post(TOKEN_PATH).send(tokenRequest()));
      expect(fresh.expires_in).toBeLessThanOrEqual(120);
      const claims = decodeJwt(fresh.access_token);
      const session = await built.anon.verifySessionToken(fresh.session_token);
      expect(claims.exp! * 1000).toBeLessThanOrEqual(Date.parse(session.expires_at!));
    });
  });

  describe('other issuer', () => {
    let foreign: TokenBody;

    beforeAll(async () => {
      // The same keys, another issuer: signatures and decryption succeed, only `iss` differs.
      const other = await createAnonymousSessions(
        await quickStartEngineOptions(silentLogger(), { ...engineOptions(), issuer: 'https://other-tenant.example/' }),
      );
      foreign = (await other.issueToken(tokenRequest())).response;
    });

    it('access token', async () => {
      expect(decodeProtectedHeader(foreign.access_token).kid).toBe(decodeProtectedHeader(tokens.access_token).kid);
      await expectAccessRefused(foreign.access_token);
    });

    it('session token', async () => {
      await expectSessionRefused(foreign.session_token);
    });

    it('a forged session token that re-encrypts our own claims under another issuer', async () => {
      const keys = await testKeys();
      const secret = keys.keys.find((key) => key.use === 'enc')!;
      const session = await anon.verifySessionToken(tokens.session_token);
      const forged = await new EncryptJWT({
        user_id: session.user_id,
        session_id: session.session_id,
        created_at: session.created_at,
        metadata: {},
      })
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: secret.kid })
        .setIssuer('https://evil.example/')
        .setIssuedAt()
        .setExpirationTime('1h')
        .encrypt(await importJWK(secret as JWK, 'A256GCM'));
      await expectSessionRefused(forged);
    });
  });

  describe('other audience', () => {
    it('an access token for another API of the same server', async () => {
      const other = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest({ audience: OTHER_AUDIENCE })));
      expect(decodeJwt(other.access_token).aud).toBe(OTHER_AUDIENCE);
      await expectAccessRefused(other.access_token);
      await expect(anon.verifyAccessToken(other.access_token, { audience: OTHER_AUDIENCE })).resolves.toMatchObject({
        aud: OTHER_AUDIENCE,
      });
    });
  });

  describe('wrong token type', () => {
    it('a JWE session token as an access token', async () => {
      await expectAccessRefused(tokens.session_token);
    });

    it('an access token as a session token', async () => {
      await expectSessionRefused(tokens.access_token);
      expectError(
        await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: tokens.access_token })),
        401,
        'invalid_session_token',
      );
    });

    it('signed (jwt) session tokens, made with the same key as access tokens, still never cross over', async () => {
      const built = await quickStart({ engine: { ...engineOptions(), sessionTokenFormat: 'jwt' }, guard: productsRoute });
      const signed = expectTokens(await request(built.app).post(TOKEN_PATH).send(tokenRequest()));
      expect(decodeProtectedHeader(signed.session_token)).toMatchObject({ typ: 'anon-session+jwt' });
      expect(decodeProtectedHeader(signed.session_token).kid).toBe(decodeProtectedHeader(signed.access_token).kid);

      // Each is accepted where it belongs…
      expect((await request(built.app).get(SESSION_PATH).set('Authorization', `Bearer ${signed.session_token}`)).status).toBe(200);
      expect((await request(built.app).get('/api').set('Authorization', `Bearer ${signed.access_token}`)).status).toBe(200);
      // …and refused where it does not.
      await expectAccessRefused(signed.session_token, built.anon, built.app);
      expectError(
        await request(built.app).get(SESSION_PATH).set('Authorization', `Bearer ${signed.access_token}`),
        401,
        'invalid_session_token',
      );
      // Nor does relabelling the type help: the signature covers the header.
      await expectAccessRefused(reencode(signed.session_token, { header: { typ: 'at+jwt' } }), built.anon, built.app);
    });
  });

  describe('alg: none', () => {
    it('an unsecured access token with otherwise perfect claims', async () => {
      const header = decodeProtectedHeader(tokens.access_token);
      await expectAccessRefused(unsecured({ typ: header.typ, kid: header.kid }, decodeJwt(tokens.access_token)));
      await expectAccessRefused(unsecured({ typ: 'at+jwt' }, decodeJwt(tokens.access_token)));
    });

    it('an unsecured session token (signed-format server)', async () => {
      const built = await quickStart({ engine: { sessionTokenFormat: 'jwt' } });
      const signed = expectTokens(await request(built.app).post(TOKEN_PATH).send(tokenRequest()));
      const header = decodeProtectedHeader(signed.session_token);
      const forged = unsecured({ typ: header.typ, kid: header.kid }, decodeJwt(signed.session_token));
      expectError(
        await request(built.app).get(SESSION_PATH).set('Authorization', `Bearer ${forged}`),
        401,
        'invalid_session_token',
      );
      await expectSessionRefused(forged);
    });
  });

  describe('HS256 signed with our public key (algorithm confusion)', () => {
    async function confused(secret: Uint8Array, kid: string | undefined, claims: JWTPayload): Promise<string> {
      return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', ...(kid ? { kid } : {}) }).sign(secret);
    }

    it('with the PEM, the JWK JSON and the raw modulus as the HMAC secret', async () => {
      const { keys } = anon.jwks();
      const publicJwk = keys[0]! as JWK;
      const pem = createPublicKey({ key: { ...publicJwk }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
      const claims = decodeJwt(tokens.access_token);
      for (const secret of [
        new TextEncoder().encode(pem),
        new TextEncoder().encode(JSON.stringify(publicJwk)),
        base64url.decode(String(publicJwk.n)),
      ]) {
        await expectAccessRefused(await confused(secret, publicJwk.kid, claims));
        await expectAccessRefused(await confused(secret, undefined, claims));
      }
    });

    it('against signed session tokens too', async () => {
      const built = await quickStart({ engine: { sessionTokenFormat: 'jwt' } });
      const signed = expectTokens(await request(built.app).post(TOKEN_PATH).send(tokenRequest()));
      const publicJwk = built.anon.jwks().keys[0]! as JWK;
      const forged = await new SignJWT(decodeJwt(signed.session_token))
        .setProtectedHeader({ alg: 'HS256', typ: 'anon-session+jwt', kid: publicJwk.kid! })
        .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
      expectError(
        await request(built.app).get(SESSION_PATH).set('Authorization', `Bearer ${forged}`),
        401,
        'invalid_session_token',
      );
    });
  });

  describe('unknown or attacker-supplied keys', () => {
    let attacker: { privateKey: CryptoKey; publicJwk: JWK };

    beforeAll(async () => {
      const pair = await generateKeyPair('RS256', { extractable: true });
      attacker = { privateKey: pair.privateKey, publicJwk: await exportJWK(pair.publicKey) };
    });

    const sign = (header: Record<string, unknown>) =>
      new SignJWT(decodeJwt(tokens.access_token))
        .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', ...header })
        .sign(attacker.privateKey);

    it('an unknown kid', async () => {
      await expectAccessRefused(await sign({ kid: 'unknown-kid' }));
    });

    it('no kid at all', async () => {
      await expectAccessRefused(await sign({}));
    });

    it('our kid on a signature by another key', async () => {
      await expectAccessRefused(await sign({ kid: decodeProtectedHeader(tokens.access_token).kid }));
    });

    it('the attacker key embedded as jwk, or pointed to by jku/x5u', async () => {
      await expectAccessRefused(await sign({ kid: 'attacker', jwk: attacker.publicJwk }));
      await expectAccessRefused(await sign({ kid: 'attacker', jku: 'https://evil.example/jwks.json' }));
      await expectAccessRefused(await sign({ jwk: { ...attacker.publicJwk, kid: decodeProtectedHeader(tokens.access_token).kid } }));
    });
  });

}
