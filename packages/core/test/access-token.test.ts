import { SignJWT, base64url, createLocalJWKSet, exportSPKI, importJWK, jwtVerify, type CryptoKey } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateKeySet, type AnonymousSessions, type PrivateJwkSet } from '@anonymous-sessions/core';
import { ACCESS_TOKEN_TYPE } from '@anonymous-sessions/core/http';
import {
  ANONYMOUS_SCOPES,
  AUDIENCE,
  CLIENT_ID,
  ISSUER,
  T0,
  T0_SECONDS,
  buildEngine,
  encodeSegment,
  expectAnonymousError,
  readJws,
  signingJwk,
  tamper,
} from './fixtures.js';

let rsa: PrivateJwkSet;
let other: PrivateJwkSet;
let anon: AnonymousSessions;
let privateKey: CryptoKey;

beforeAll(async () => {
  [rsa, other] = await Promise.all([generateKeySet(), generateKeySet({ algorithm: 'ES256' })]);
  anon = (await buildEngine({ keys: rsa })).anon;
  privateKey = (await importJWK(signingJwk(rsa), 'RS256')) as CryptoKey;
});

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});

afterEach(() => {
  vi.useRealTimers();
});

const validClaims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  iss: ISSUER,
  sub: 'anon|forged-user-1',
  aud: AUDIENCE,
  iat: T0_SECONDS,
  exp: T0_SECONDS + 600,
  jti: 'jti-1',
  client_id: CLIENT_ID,
  scope: 'anon',
  sid: 'sess_AAAAAAAAAAAAAAAAAAAAAA',
  ...overrides,
});

const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = {}, key: CryptoKey | Uint8Array = privateKey) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: signingJwk(rsa).kid, typ: ACCESS_TOKEN_TYPE, ...header }).sign(key);

const expectInvalidToken = (token: string, audience: string | readonly string[] = AUDIENCE) =>
  expectAnonymousError(anon.verifyAccessToken(token, { audience }), 'invalid_token', 401);

describe('issued access tokens', () => {
  it('are RFC 9068 JWTs with every contract claim', async () => {
    const { response, session } = await anon.issueToken({ client_id: CLIENT_ID });
    const { header, payload } = readJws(response.access_token);
    expect(header).toEqual({ alg: 'RS256', kid: signingJwk(rsa).kid, typ: 'at+jwt' });
    expect(payload).toEqual({
      iss: ISSUER,
      sub: session.user_id,
      aud: AUDIENCE,
      iat: T0_SECONDS,
      exp: T0_SECONDS + 86_400,
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      client_id: CLIENT_ID,
      scope: ANONYMOUS_SCOPES.join(' '),
      sid: session.session_id,
      store_epoch: expect.stringMatching(/^mem\.[A-Za-z0-9_-]{22}$/),
    });
    expect(response).toMatchObject({ token_type: 'Bearer', expires_in: 86_400, scope: ANONYMOUS_SCOPES.join(' ') });
  });

  it('get a fresh jti each time', async () => {
    const tokens = await Promise.all(Array.from({ length: 5 }, () => anon.issueToken({ client_id: CLIENT_ID })));
    expect(new Set(tokens.map(({ response }) => readJws(response.access_token).payload.jti)).size).toBe(5);
  });

  it('verify with our verifier and with jose over the public JWKS', async () => {
    const { response, session } = await anon.issueToken({ client_id: CLIENT_ID });
    await expect(anon.verifyAccessToken(response.access_token, { audience: AUDIENCE })).resolves.toMatchObject({
      sub: session.user_id,
      sid: session.session_id,
    });
    await expect(
      anon.verifyAccessToken(response.access_token, { audience: ['https://other.api', AUDIENCE] }),
    ).resolves.toMatchObject({ aud: AUDIENCE });
    const { payload } = await jwtVerify(response.access_token, createLocalJWKSet({ keys: [...anon.jwks().keys] }), {
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    expect(payload.sub).toBe(session.user_id);
  });
});

describe('verifyAccessToken rejects with invalid_token', () => {
  it('a token for another audience', async () => {
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    await expectInvalidToken(response.access_token, 'https://other.api');
    await expectInvalidToken(response.access_token, []);
  });

  it('an expired token, from exp + clockTolerance on', async () => {
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    vi.setSystemTime(new Date((T0_SECONDS + 86_400 + 15) * 1000 - 1));
    await expect(anon.verifyAccessToken(response.access_token, { audience: AUDIENCE })).resolves.toBeDefined();
    vi.setSystemTime(new Date((T0_SECONDS + 86_400 + 15) * 1000));
    const error = await expectInvalidToken(response.access_token);
    expect(error.description).toBe('The access token expired.');
  });

  it('a tampered payload or signature', async () => {
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    await expectInvalidToken(tamper(response.access_token, 1));
    await expectInvalidToken(tamper(response.access_token, 2));
    const [header, , signature] = response.access_token.split('.');
    const elevated = encodeSegment({ ...readJws(response.access_token).payload, scope: 'admin' });
    await expectInvalidToken(`${header}.${elevated}.${signature}`);
  });

  it('a token from another engine', async () => {
    const { anon: stranger } = await buildEngine({ keys: other });
    const { response } = await stranger.issueToken({ client_id: CLIENT_ID });
    await expectInvalidToken(response.access_token);
  });

  it('a token from another issuer with the same keys', async () => {
    const { anon: twin } = await buildEngine({ keys: rsa, issuer: 'https://other.example.com/' });
    const { response } = await twin.issueToken({ client_id: CLIENT_ID });
    await expect(twin.verifyAccessToken(response.access_token, { audience: AUDIENCE })).resolves.toBeDefined();
    await expectInvalidToken(response.access_token);
  });

  it('control: a token signed with our key and valid claims is accepted', async () => {
    await expect(anon.verifyAccessToken(await sign(validClaims()), { audience: AUDIENCE })).resolves.toMatchObject({
      sub: 'anon|forged-user-1',
    });
  });

  it('an unknown or missing kid', async () => {
    await expectInvalidToken(await sign(validClaims(), { kid: 'unknown' }));
    await expectInvalidToken(await new SignJWT(validClaims()).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt' }).sign(privateKey));
  });

  it('a typ other than at+jwt', async () => {
    await expectInvalidToken(await sign(validClaims(), { typ: 'JWT' }));
    await expectInvalidToken(await sign(validClaims(), { typ: 'anon-session+jwt' }));
    await expectInvalidToken(await new SignJWT(validClaims()).setProtectedHeader({ alg: 'RS256', kid: signingJwk(rsa).kid }).sign(privateKey));
  });

  it.each(['sub', 'exp', 'iat', 'jti', 'client_id', 'sid'])('a token without %s', async (claim) => {
    await expectInvalidToken(await sign(validClaims({ [claim]: undefined })));
  });

  it('a PS256 signature made with the RS256 key (alg must match the key)', async () => {
    const ps = (await importJWK({ ...signingJwk(rsa), alg: 'PS256' }, 'PS256')) as CryptoKey;
    await expectInvalidToken(await sign(validClaims(), { alg: 'PS256' }, ps));
  });

  it('an unsigned alg "none" token', async () => {
    const header = { alg: 'none', typ: 'at+jwt', kid: signingJwk(rsa).kid };
    await expectInvalidToken(`${encodeSegment(header)}.${encodeSegment(validClaims())}.`);
  });

  it('HS256 tokens whose HMAC secret is our RSA public key (SPKI PEM, n bytes, or the JWK text)', async () => {
    const publicJwk = anon.jwks().keys[0]!;
    const publicKey = (await importJWK(publicJwk, 'RS256', { extractable: true })) as CryptoKey;
    const secrets = [
      new TextEncoder().encode(await exportSPKI(publicKey)),
      base64url.decode(publicJwk.n!),
      new TextEncoder().encode(JSON.stringify(publicJwk)),
    ];
    for (const secret of secrets) await expectInvalidToken(await sign(validClaims(), { alg: 'HS256' }, secret));
  });
});

describe('verifyAccessToken: strict claims (a token from our issuer is a well-formed guest token or invalid)', () => {
  it.each<[string, Record<string, unknown>]>([
    ['a sub that is not an anon| id', { sub: 'auth0|5f7c8ec7c33c6c004bbafe82' }],
    ['a sub of "anon|" with too short an id', { sub: 'anon|short' }],
    ['a sub with characters an anonymous id never has', { sub: 'anon|abc def ghi' }],
    ['a numeric sub', { sub: 12345678 }],
    ['a numeric sid', { sid: 1 }],
    ['an empty sid', { sid: '' }],
    ['an object jti', { jti: { a: 1 } }],
    ['an array client_id', { client_id: [CLIENT_ID] }],
    ['an array scope', { scope: ['anon'] }],
    ['no scope', { scope: undefined }],
    ['a string iat', { iat: String(T0_SECONDS) }],
    ['an iat 16 s in the future (clockTolerance is 15)', { iat: T0_SECONDS + 16 }],
  ])('%s', async (_name, overrides) => {
    const error = await expectInvalidToken(await sign(validClaims(overrides)));
    expect(error.description).toBe('The access token is invalid.');
    expect(String((error.cause as Error).message)).toMatch(/"(sub|sid|jti|client_id|scope|iat)"/);
  });

  it('accepts an iat within the clock tolerance, and an empty scope string', async () => {
    await expect(anon.verifyAccessToken(await sign(validClaims({ iat: T0_SECONDS + 15 })), { audience: AUDIENCE })).resolves.toBeDefined();
    await expect(anon.verifyAccessToken(await sign(validClaims({ scope: '' })), { audience: AUDIENCE })).resolves.toBeDefined();
  });
});
