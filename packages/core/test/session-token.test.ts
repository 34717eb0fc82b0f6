import {
  CompactEncrypt,
  SignJWT,
  base64url,
  decodeProtectedHeader,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type CryptoKey,
} from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateKeySet, type AnonymousSessions, type PrivateJwkSet } from '@anonymous-sessions/core';
import {
  AUDIENCE,
  CLIENT_ID,
  ISSUER,
  T0,
  T0_SECONDS,
  buildEngine,
  encodeSegment,
  encryptionJwk,
  encryptionSecret,
  expectAnonymousError,
  openSessionToken,
  readJws,
  sealJwe,
  signingJwk,
  tamper,
} from './fixtures.js';

const LIFETIME = 3600;
const FORMATS = ['jwe', 'jwt'] as const;
type Format = (typeof FORMATS)[number];

let rsa: PrivateJwkSet;
let other: PrivateJwkSet;
let ec: PrivateJwkSet;
const engines = {} as Record<Format, AnonymousSessions>;
let privateKey: CryptoKey;

beforeAll(async () => {
  [rsa, other, ec] = await Promise.all([generateKeySet(), generateKeySet({ algorithm: 'ES256' }), generateKeySet({ algorithm: 'ES256' })]);
  for (const format of FORMATS) {
    engines[format] = (await buildEngine({ keys: rsa, sessionLifetime: LIFETIME, sessionTokenFormat: format })).anon;
  }
  privateKey = (await importJWK(signingJwk(rsa), 'RS256')) as CryptoKey;
});

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});

afterEach(() => {
  vi.useRealTimers();
});

const advance = (milliseconds: number): void => {
  vi.setSystemTime(new Date(Date.now() + milliseconds));
};

/** Claims that would pass every check: only the thing under test is wrong. */
const validClaims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  iss: ISSUER,
  iat: T0_SECONDS,
  exp: T0_SECONDS + LIFETIME,
  user_id: 'anon|forged-user-1',
  session_id: 'sess_AAAAAAAAAAAAAAAAAAAAAA',
  created_at: T0.toISOString(),
  metadata: {},
  ...overrides,
});

const signSession = (claims: Record<string, unknown>, header: Record<string, unknown>, key: CryptoKey | Uint8Array = privateKey) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: signingJwk(rsa).kid, typ: 'anon-session+jwt', ...header }).sign(key);

const expectInvalid = (format: Format, token: string) =>
  expectAnonymousError(engines[format].verifySessionToken(token), 'invalid_session_token', 401);

describe.each(FORMATS)('%s session tokens: claims', (format) => {
  it('a new session carries iss, iat, exp, user_id, session_id, created_at and empty metadata', async () => {
    const anon = engines[format];
    const { response, session } = await anon.issueToken({ client_id: CLIENT_ID });
    const { header, payload } =
      format === 'jwe' ? await openSessionToken(response.session_token, rsa) : readJws(response.session_token);
    expect(header).toEqual(
      format === 'jwe'
        ? { alg: 'dir', enc: 'A256GCM', kid: encryptionJwk(rsa).kid }
        : { alg: 'RS256', kid: signingJwk(rsa).kid, typ: 'anon-session+jwt' },
    );
    expect(payload).toEqual({
      iss: ISSUER,
      iat: T0_SECONDS,
      exp: T0_SECONDS + LIFETIME,
      user_id: session.user_id,
      session_id: session.session_id,
      created_at: T0.toISOString(),
      metadata: {},
      // The store's epoch marker (memoryStore: `mem.` + random), to notice a store that lost its data.
      store_epoch: expect.stringMatching(/^mem\.[A-Za-z0-9_-]{22}$/),
    });
    expect(session.user_id).toMatch(/^anon\|[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(session.session_id).toMatch(/^sess_[A-Za-z0-9_-]{22}$/);
    expect(session.expires_at).toBe(new Date((T0_SECONDS + LIFETIME) * 1000).toISOString());
    await expect(anon.verifySessionToken(response.session_token)).resolves.toEqual(session);
  });

  it('a continued session keeps its identity and exp, with a new iat and the merged metadata', async () => {
    const anon = engines[format];
    const first = await anon.issueToken({ client_id: CLIENT_ID });
    advance(600_000);
    const second = await anon.issueToken({
      client_id: CLIENT_ID,
      session_token: first.response.session_token,
      metadata: { language: 'en' },
    });
    const { payload } =
      format === 'jwe' ? await openSessionToken(second.response.session_token, rsa) : readJws(second.response.session_token);
    expect(payload).toEqual({
      iss: ISSUER,
      iat: T0_SECONDS + 600,
      exp: T0_SECONDS + LIFETIME,
      user_id: first.session.user_id,
      session_id: first.session.session_id,
      created_at: first.session.created_at,
      metadata: { language: 'en' },
      store_epoch: (format === 'jwe' ? await openSessionToken(first.response.session_token, rsa) : readJws(first.response.session_token))
        .payload.store_epoch,
    });
    expect(second.response.session_token).not.toBe(first.response.session_token);
  });

  it('two sessions never share an id', async () => {
    const anon = engines[format];
    const sessions = await Promise.all(Array.from({ length: 10 }, () => anon.issueToken({ client_id: CLIENT_ID })));
    expect(new Set(sessions.map(({ session }) => session.session_id)).size).toBe(10);
    expect(new Set(sessions.map(({ session }) => session.user_id)).size).toBe(10);
  });
});

describe.each(FORMATS)('%s session tokens: expiry', (format) => {
  it('is accepted until exp + clockTolerance and session_expired from that second on', async () => {
    const anon = engines[format];
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    vi.setSystemTime(new Date((T0_SECONDS + LIFETIME + 15) * 1000 - 1));
    await expect(anon.verifySessionToken(response.session_token)).resolves.toMatchObject({ metadata: {} });
    vi.setSystemTime(new Date((T0_SECONDS + LIFETIME + 15) * 1000));
    const error = await expectAnonymousError(anon.verifySessionToken(response.session_token), 'session_expired', 401);
    expect(error.description).toBe('The anonymous session has expired.');
  });

  it('honours a configured clockTolerance of 0', async () => {
    const { anon } = await buildEngine({ keys: rsa, sessionLifetime: LIFETIME, sessionTokenFormat: format, clockTolerance: 0 });
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    vi.setSystemTime(new Date((T0_SECONDS + LIFETIME) * 1000 - 1));
    await expect(anon.verifySessionToken(response.session_token)).resolves.toBeDefined();
    vi.setSystemTime(new Date((T0_SECONDS + LIFETIME) * 1000));
    await expectAnonymousError(anon.verifySessionToken(response.session_token), 'session_expired', 401);
  });

  it('cannot be continued once expired', async () => {
    const anon = engines[format];
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    advance((LIFETIME + 60) * 1000);
    await expectAnonymousError(
      anon.issueToken({ client_id: CLIENT_ID, session_token: response.session_token }),
      'session_expired',
      401,
    );
  });

  it('never expires with sessionLifetime 0', async () => {
    const { anon } = await buildEngine({ keys: rsa, sessionLifetime: 0, sessionTokenFormat: format });
    const { response, session } = await anon.issueToken({ client_id: CLIENT_ID });
    expect(session.expires_at).toBeNull();
    advance(10 * 365 * 86_400 * 1000);
    await expect(anon.verifySessionToken(response.session_token)).resolves.toMatchObject({ expires_at: null });
  });
});

describe.each(FORMATS)('%s session tokens: rejected as invalid_session_token', (format) => {
  it.each(format === 'jwe' ? [0, 1, 2, 3, 4] : [0, 1, 2])('when segment %i is tampered with', async (segment) => {
    const { response } = await engines[format].issueToken({ client_id: CLIENT_ID });
    if (format === 'jwe' && segment === 1) {
      // dir has an empty encrypted-key segment; putting bytes there must not be accepted either.
      const parts = response.session_token.split('.');
      parts[1] = 'AAAA';
      await expectInvalid(format, parts.join('.'));
      return;
    }
    await expectInvalid(format, tamper(response.session_token, segment));
  });

  it.each(['', 'abc', 'a.b.c', 'a.b.c.d.e', '....'])('for the garbage %j', async (garbage) => {
    await expectInvalid(format, garbage);
  });

  it('when another engine (other keys) made it', async () => {
    const { anon } = await buildEngine({ keys: other, sessionLifetime: LIFETIME, sessionTokenFormat: format });
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    await expectInvalid(format, response.session_token);
  });

  it('when other keys made it under our kids', async () => {
    const impostor = {
      keys: [
        { ...signingJwk(other), kid: signingJwk(rsa).kid, alg: 'ES256' },
        { ...encryptionJwk(other), kid: encryptionJwk(rsa).kid },
      ],
    };
    const { anon } = await buildEngine({ keys: impostor, sessionLifetime: LIFETIME, sessionTokenFormat: format });
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    expect(decodeProtectedHeader(response.session_token).kid).toBe(
      format === 'jwe' ? encryptionJwk(rsa).kid : signingJwk(rsa).kid,
    );
    await expectInvalid(format, response.session_token);
  });

  it('when another issuer made it with the same keys', async () => {
    const { anon } = await buildEngine({
      keys: rsa,
      issuer: 'https://other.example.com/',
      sessionLifetime: LIFETIME,
      sessionTokenFormat: format,
    });
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    await expect(anon.verifySessionToken(response.session_token)).resolves.toBeDefined();
    await expectInvalid(format, response.session_token);
  });

  it('when it is an access token', async () => {
    const anon = engines[format];
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    await expectInvalid(format, response.access_token);
    await expectAnonymousError(
      anon.issueToken({ client_id: CLIENT_ID, session_token: response.access_token }),
      'invalid_session_token',
      401,
    );
  });

  it('and the session token is refused as an access token (invalid_token)', async () => {
    const anon = engines[format];
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    await expectAnonymousError(anon.verifyAccessToken(response.session_token, { audience: AUDIENCE }), 'invalid_token', 401);
    await expectAnonymousError(
      anon.verifyAccessToken(response.session_token, { audience: [AUDIENCE, ISSUER] }),
      'invalid_token',
      401,
    );
  });

  it('for an unsigned alg "none" token', async () => {
    const header = { alg: 'none', typ: 'anon-session+jwt', kid: signingJwk(rsa).kid };
    await expectInvalid(format, `${encodeSegment(header)}.${encodeSegment(validClaims())}.`);
  });

  it('for HS256 tokens signed with our RSA public key as the HMAC secret', async () => {
    const publicJwk = engines[format].jwks().keys[0]!;
    const publicKey = await importJWK(publicJwk, 'RS256', { extractable: true });
    const secrets = [
      new TextEncoder().encode(await exportSPKI(publicKey as CryptoKey)),
      base64url.decode(publicJwk.n!),
      new TextEncoder().encode(JSON.stringify(publicJwk)),
    ];
    for (const secret of secrets) {
      await expectInvalid(format, await signSession(validClaims(), { alg: 'HS256' }, secret));
    }
  });
});

describe('forged session tokens built with our own key material', () => {
  it('control: a hand-sealed JWE with valid claims is accepted, so the rejections below are meaningful', async () => {
    const token = await sealJwe(validClaims(), { kid: encryptionJwk(rsa).kid }, encryptionSecret(rsa));
    await expect(engines.jwe.verifySessionToken(token)).resolves.toMatchObject({ user_id: 'anon|forged-user-1' });
    const signed = await signSession(validClaims(), {});
    await expect(engines.jwt.verifySessionToken(signed)).resolves.toMatchObject({ user_id: 'anon|forged-user-1' });
  });

  it('refuses a JWE with a zip header', async () => {
    const token = await sealJwe(validClaims(), { kid: encryptionJwk(rsa).kid, zip: 'DEF' }, encryptionSecret(rsa));
    expect(decodeProtectedHeader(token).zip).toBe('DEF');
    await expectInvalid('jwe', token);
  });

  it('refuses a JWE with a crit header', async () => {
    const token = await sealJwe(
      validClaims(),
      { kid: encryptionJwk(rsa).kid, crit: ['urn:example:ext'], 'urn:example:ext': true },
      encryptionSecret(rsa),
      { 'urn:example:ext': true },
    );
    expect(decodeProtectedHeader(token).crit).toEqual(['urn:example:ext']);
    await expectInvalid('jwe', token);
  });

  it('refuses a JWE with a key-wrapping alg or another enc, even under our secret', async () => {
    const secret = encryptionSecret(rsa);
    const wrapped = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(validClaims())))
      .setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid: encryptionJwk(rsa).kid })
      .encrypt(secret);
    await expectInvalid('jwe', wrapped);
    const weaker = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(validClaims())))
      .setProtectedHeader({ alg: 'dir', enc: 'A128GCM', kid: encryptionJwk(rsa).kid })
      .encrypt(secret.slice(0, 16));
    await expectInvalid('jwe', weaker);
  });

  it('refuses a JWE under an unknown kid or no kid', async () => {
    await expectInvalid('jwe', await sealJwe(validClaims(), { kid: 'unknown' }, encryptionSecret(rsa)));
    await expectInvalid('jwe', await sealJwe(validClaims(), {}, encryptionSecret(rsa)));
  });

  it('refuses a signed session token under an unknown kid, no kid, or another typ', async () => {
    await expectInvalid('jwt', await signSession(validClaims(), { kid: 'unknown' }));
    await expectInvalid('jwt', await new SignJWT(validClaims()).setProtectedHeader({ alg: 'RS256', typ: 'anon-session+jwt' }).sign(privateKey));
    await expectInvalid('jwt', await signSession(validClaims(), { typ: 'JWT' }));
    await expectInvalid('jwt', await signSession(validClaims(), { typ: 'at+jwt' }));
  });

  it('ignores an embedded jwk or jku header: the key comes from our ring only', async () => {
    const { anon } = await buildEngine({ keys: ec, sessionLifetime: LIFETIME, sessionTokenFormat: 'jwt' });
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const attackerJwk = await exportJWK(attacker.publicKey);
    for (const header of [
      { kid: signingJwk(ec).kid, jwk: attackerJwk },
      { jwk: attackerJwk },
      { kid: signingJwk(ec).kid, jku: 'https://attacker.example/jwks.json' },
    ]) {
      const token = await new SignJWT(validClaims())
        .setProtectedHeader({ alg: 'ES256', typ: 'anon-session+jwt', ...header })
        .sign(attacker.privateKey);
      await expectAnonymousError(anon.verifySessionToken(token), 'invalid_session_token', 401);
    }
  });

  it.each([
    ['a user_id that is not anon|…', { user_id: 'auth0|abcdefgh' }],
    ['a malformed session_id', { session_id: 'session-1' }],
    ['a created_at that is not a date', { created_at: 'yesterday' }],
    ['metadata that is not an object', { metadata: ['cart'] }],
    ['no exp although sessions expire', { exp: undefined }],
    ['no iss', { iss: undefined }],
    ['a string iat', { iat: String(T0_SECONDS) }],
  ])('refuses a well-sealed token with %s', async (_label, overrides) => {
    await expectInvalid('jwe', await sealJwe(validClaims(overrides), { kid: encryptionJwk(rsa).kid }, encryptionSecret(rsa)));
    await expectInvalid('jwt', await signSession(validClaims(overrides), {}));
  });

  it('answers every kind of invalid token with the same description', async () => {
    const { response } = await engines.jwe.issueToken({ client_id: CLIENT_ID });
    const tokens = [
      tamper(response.session_token, 3),
      await sealJwe(validClaims(), { kid: 'unknown' }, encryptionSecret(rsa)),
      await sealJwe(validClaims({ user_id: 'x' }), { kid: encryptionJwk(rsa).kid }, encryptionSecret(rsa)),
      response.access_token,
      'garbage',
    ];
    const descriptions = new Set<string>();
    for (const token of tokens) {
      const error = await expectInvalid('jwe', token);
      descriptions.add(`${error.description}|${error.message}`);
      expect(error.cause).toBeDefined();
    }
    expect([...descriptions]).toEqual(['The session token is invalid.|The session token is invalid.']);
  });
});
