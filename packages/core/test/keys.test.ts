import { generateKeyPairSync } from 'node:crypto';
import { base64url, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createAnonymousSessions,
  generateKeySet,
  rotateKeySet,
  type AnonymousSessions,
  type PrivateJwk,
  type PrivateJwkSet,
  type SigningAlgorithm,
} from '@anonymous-sessions/core';
import { importKeyRing } from '../src/keys/keys.js';
import {
  AUDIENCE,
  CLIENT_ID,
  ISSUER,
  buildEngine,
  encryptionJwk,
  expectAnonymousError,
  expectConfigError,
  issuePaths,
  readJws,
  signingJwk,
} from './fixtures.js';

const ALGORITHMS: readonly SigningAlgorithm[] = ['RS256', 'ES256', 'EdDSA', 'PS256'];
const PRIVATE_PARAMETERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'] as const;

const keySets = new Map<SigningAlgorithm, PrivateJwkSet>();
const engines = new Map<SigningAlgorithm, AnonymousSessions>();
let rsa: PrivateJwkSet;
let ec: PrivateJwkSet;

beforeAll(async () => {
  await Promise.all(
    ALGORITHMS.map(async (algorithm) => {
      const set = await generateKeySet(algorithm === 'RS256' ? {} : { algorithm });
      keySets.set(algorithm, set);
      engines.set(algorithm, (await buildEngine({ keys: set })).anon);
    }),
  );
  rsa = keySets.get('RS256')!;
  ec = keySets.get('ES256')!;
});

/** A copy of the JWK without one parameter. */
const without = (jwk: PrivateJwk, parameter: string): PrivateJwk => {
  const copy = { ...jwk };
  delete copy[parameter];
  return copy;
};
const randomSecret = (bits: number): string => base64url.encode(crypto.getRandomValues(new Uint8Array(bits / 8)));
const withKeys = (...keys: PrivateJwk[]) => createAnonymousSessions({ issuer: ISSUER, clients: [], resourceServers: [{ audience: AUDIENCE }], keys: { keys } });

describe('generateKeySet', () => {
  it('makes an RS256 signing key and a 256-bit dir secret by default, each with a kid', () => {
    const [signing, secret] = rsa.keys;
    expect(signing).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256' });
    expect(signing?.kid).toMatch(/^sig-\d{4}-\d{2}-\d{2}-[A-Za-z0-9_-]{8}$/);
    expect(base64url.decode(signing?.n as string).byteLength).toBe(256);
    expect(typeof signing?.d).toBe('string');
    expect(secret).toMatchObject({ kty: 'oct', use: 'enc', alg: 'dir' });
    expect(secret?.kid).toMatch(/^enc-/);
    expect(base64url.decode(secret?.k as string).byteLength).toBe(32);
  });

  it.each([
    ['ES256', { kty: 'EC', crv: 'P-256' }],
    ['EdDSA', { kty: 'OKP', crv: 'Ed25519' }],
    ['PS256', { kty: 'RSA' }],
  ] as const)('makes a %s key of the right shape', (algorithm, shape) => {
    expect(signingJwk(keySets.get(algorithm)!)).toMatchObject({ ...shape, alg: algorithm, use: 'sig' });
  });
});

describe('signing algorithms', () => {
  it.each(ALGORITHMS)('%s signs access tokens that verify, with the kid and typ in the header', async (algorithm) => {
    const anon = engines.get(algorithm)!;
    const set = keySets.get(algorithm)!;
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    const { header } = readJws(response.access_token);
    expect(header).toEqual({ alg: algorithm, kid: signingJwk(set).kid, typ: 'at+jwt' });
    await expect(anon.verifyAccessToken(response.access_token, { audience: AUDIENCE })).resolves.toMatchObject({
      iss: ISSUER,
      aud: AUDIENCE,
    });
    // Independently of our verifier: jose with nothing but the public JWKS.
    const { payload } = await jwtVerify(response.access_token, createLocalJWKSet({ keys: [...anon.jwks().keys] }), {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: 'at+jwt',
      algorithms: [algorithm],
    });
    expect(payload.sub).toMatch(/^anon\|/);
    expect(anon.metadataDocument().id_token_signing_alg_values_supported).toEqual([algorithm]);
  });

  it.each(ALGORITHMS)('%s signs jwt-format session tokens that verify', async (algorithm) => {
    const { anon } = await buildEngine({ keys: keySets.get(algorithm)!, sessionTokenFormat: 'jwt' });
    const { response, session } = await anon.issueToken({ client_id: CLIENT_ID });
    expect(readJws(response.session_token).header).toMatchObject({ alg: algorithm, typ: 'anon-session+jwt' });
    await expect(anon.verifySessionToken(response.session_token)).resolves.toEqual(session);
  });

  it('imports private keys as non-extractable', async () => {
    const ring = await importKeyRing(rsa, { requireEncryptionKey: true });
    expect(ring.signingKeys[0]?.privateKey.extractable).toBe(false);
    expect(ring.encryptionKeys[0]?.key.extractable).toBe(false);
  });
});

describe('key set validation', () => {
  it('refuses a duplicate kid', async () => {
    const second = { ...signingJwk(ec), kid: signingJwk(rsa).kid };
    const issues = await expectConfigError(withKeys(signingJwk(rsa), second, encryptionJwk(rsa)));
    expect(issues).toEqual([{ path: 'keys.keys[1]', message: `duplicate kid "${signingJwk(rsa).kid}"` }]);
  });

  it('refuses a duplicate kid across uses', async () => {
    const secret = { ...encryptionJwk(rsa), kid: signingJwk(rsa).kid };
    const issues = await expectConfigError(withKeys(signingJwk(rsa), secret));
    expect(issuePaths(issues)).toContain('keys.keys[1]');
    expect(issues[0]?.message).toMatch(/duplicate kid/);
  });

  it('refuses an RSA key under 2048 bits', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const weak = { ...(privateKey.export({ format: 'jwk' }) as PrivateJwk), kid: 'weak', use: 'sig', alg: 'RS256' };
    const issues = await expectConfigError(withKeys(weak, encryptionJwk(rsa)));
    expect(issues).toEqual([{ path: 'keys.keys[0]', message: 'RSA keys must be at least 2048 bits (this one is 1024)' }]);
  });

  it.each([128, 512])('refuses a %i-bit encryption secret', async (bits) => {
    const issues = await expectConfigError(
      withKeys(signingJwk(ec), { kty: 'oct', kid: 'enc-weak', use: 'enc', alg: 'dir', k: randomSecret(bits) }),
    );
    expect(issuePaths(issues)).toEqual(['keys.keys[1]']);
    expect(issues[0]?.message).toMatch(new RegExp(`exactly 256 bits for A256GCM \\(got ${bits}\\)`));
  });

  it('refuses a symmetric signing key', async () => {
    const issues = await expectConfigError(
      withKeys({ kty: 'oct', kid: 'hs', use: 'sig', alg: 'HS256', k: randomSecret(256) }, encryptionJwk(ec)),
    );
    expect(issues).toEqual([
      {
        path: 'keys.keys[0]',
        message: 'symmetric signing keys are not allowed: access tokens must be verifiable from the public JWKS',
      },
    ]);
  });

  it('refuses an HS256 secret given without a use (it is not a dir secret)', async () => {
    const issues = await expectConfigError(
      withKeys(signingJwk(ec), { kty: 'oct', kid: 'hs', alg: 'HS256', k: randomSecret(256) }),
    );
    expect(issues).toEqual([{ path: 'keys.keys[1]', message: 'encryption "alg" must be "dir" (got "HS256")' }]);
  });

  it('refuses a public-only signing key', async () => {
    const publicOnly = without(signingJwk(ec), 'd');
    const issues = await expectConfigError(withKeys(publicOnly, encryptionJwk(ec)));
    expect(issues).toEqual([
      { path: 'keys.keys[0]', message: 'signing keys must be private keys (the "d" parameter is missing)' },
    ]);
  });

  it('refuses a key without a kid', async () => {
    const anonymousKey = without(signingJwk(ec), 'kid');
    const issues = await expectConfigError(withKeys(anonymousKey, encryptionJwk(ec)));
    expect(issues).toEqual([{ path: 'keys.keys[0]', message: 'every key needs a "kid"' }]);
  });

  it('refuses an algorithm outside RS256, PS256, ES256, EdDSA, and a key of the wrong shape for its alg', async () => {
    const issues = await expectConfigError(
      withKeys({ ...signingJwk(rsa), alg: 'RS512' }, { ...signingJwk(ec), kid: 'ec-as-rsa', alg: 'RS256' }, encryptionJwk(ec)),
    );
    expect(issues).toEqual([
      { path: 'keys.keys[0]', message: 'signing "alg" must be one of RS256, PS256, ES256, EdDSA (got "RS512")' },
      { path: 'keys.keys[1]', message: 'RS256 and PS256 need an RSA key' },
    ]);
  });

  it('refuses an unknown use', async () => {
    const issues = await expectConfigError(withKeys({ ...signingJwk(ec), use: 'wrap' }, encryptionJwk(ec)));
    expect(issues[0]).toEqual({ path: 'keys.keys[0]', message: '"use" must be "sig" or "enc" (got "wrap")' });
  });

  it('needs a signing key, and an encryption secret for jwe session tokens', async () => {
    const noSigning = await expectConfigError(withKeys(encryptionJwk(ec)));
    expect(noSigning).toEqual([{ path: 'keys', message: 'needs at least one signing key (use "sig")' }]);
    const noSecret = await expectConfigError(withKeys(signingJwk(ec)));
    expect(noSecret).toEqual([
      {
        path: 'keys',
        message: 'needs at least one encryption secret (kty "oct", use "enc", alg "dir") for JWE session tokens',
      },
    ]);
    // jwt session tokens need no secret.
    const anon = await createAnonymousSessions({
      issuer: ISSUER,
      clients: [],
      resourceServers: [{ audience: AUDIENCE }],
      sessionTokenFormat: 'jwt',
      keys: { keys: [signingJwk(ec)] },
    });
    expect(anon.keys.encryptionKeys).toHaveLength(0);
  });

  it('lists every key problem at once', async () => {
    const publicOnly = without(signingJwk(rsa), 'd');
    const issues = await expectConfigError(
      withKeys(
        publicOnly,
        { ...signingJwk(ec), kid: publicOnly.kid },
        { kty: 'oct', kid: 'short', use: 'enc', alg: 'dir', k: randomSecret(128) },
      ),
    );
    expect(issuePaths(issues)).toEqual(['keys.keys[0]', 'keys.keys[1]', 'keys.keys[2]']);
  });

  it('lists a missing encryption secret together with a bad signing key', async () => {
    const publicOnly = without(signingJwk(ec), 'd');
    const issues = await expectConfigError(withKeys(publicOnly));
    expect(issuePaths(issues)).toEqual(['keys.keys[0]', 'keys']);
    expect(issues[1]?.message).toMatch(/encryption secret/);
  });

  it('refuses key text that is not a JWK Set, without echoing it', async () => {
    const secretText = `{"keys": [{"kty":"oct","k":"${randomSecret(256)}"`; // truncated JSON
    const issues = await expectConfigError(
      createAnonymousSessions({ issuer: ISSUER, clients: [], resourceServers: [{ audience: AUDIENCE }], keys: secretText }),
    );
    expect(issues).toEqual([{ path: 'keys', message: 'must be a JWK Set: {"keys": [ … ]} as an object or JSON text' }]);
    expect(JSON.stringify(issues)).not.toContain(secretText.slice(30, 60));
  });
});

describe('JWKS', () => {
  const assertPublicOnly = (anon: AnonymousSessions, set: PrivateJwkSet): void => {
    const jwks = anon.jwks();
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      for (const parameter of PRIVATE_PARAMETERS) expect(key).not.toHaveProperty(parameter);
      expect(key.kty).not.toBe('oct');
      expect(key.use).toBe('sig');
      expect(typeof key.kid).toBe('string');
      expect(typeof key.alg).toBe('string');
    }
    const text = JSON.stringify(jwks);
    for (const jwk of set.keys) {
      for (const parameter of PRIVATE_PARAMETERS) {
        const value = jwk[parameter];
        if (typeof value === 'string') expect(text).not.toContain(value);
      }
    }
  };

  it.each(ALGORITHMS)('holds only public %s signing material', (algorithm) => {
    assertPublicOnly(engines.get(algorithm)!, keySets.get(algorithm)!);
    expect(engines.get(algorithm)!.jwks().keys.map((key) => key.kid)).toEqual([signingJwk(keySets.get(algorithm)!).kid]);
  });

  it('is frozen', () => {
    const jwks = engines.get('RS256')!.jwks();
    expect(Object.isFrozen(jwks)).toBe(true);
    expect(Object.isFrozen(jwks.keys)).toBe(true);
    expect(Object.isFrozen(jwks.keys[0])).toBe(true);
  });

  it('holds every signing key of a rotated set and no secret', async () => {
    const rotated = await rotateKeySet(ec);
    const { anon } = await buildEngine({ keys: rotated });
    assertPublicOnly(anon, rotated);
    expect(anon.jwks().keys.map((key) => key.kid)).toEqual(
      rotated.keys.filter((key) => key.use === 'sig').map((key) => key.kid),
    );
  });
});

describe('rotation', () => {
  it('puts a new key of each use first and keeps the old ones', async () => {
    const rotated = await rotateKeySet(rsa);
    expect(rotated.keys).toHaveLength(4);
    expect(rotated.keys.map((key) => key.use)).toEqual(['sig', 'sig', 'enc', 'enc']);
    expect(rotated.keys[0]?.kid).not.toBe(signingJwk(rsa).kid);
    expect(rotated.keys[0]?.alg).toBe('RS256');
    expect(rotated.keys[1]).toEqual(signingJwk(rsa));
    expect(rotated.keys[2]?.kid).not.toBe(encryptionJwk(rsa).kid);
    expect(rotated.keys[3]).toEqual(encryptionJwk(rsa));
  });

  it('keeps the current algorithm unless told otherwise', async () => {
    const rotated = await rotateKeySet(ec);
    expect(rotated.keys[0]).toMatchObject({ kty: 'EC', alg: 'ES256' });
    const switched = await rotateKeySet(ec, { algorithm: 'EdDSA' });
    expect(switched.keys[0]).toMatchObject({ kty: 'OKP', alg: 'EdDSA' });
  });

  it.each(['jwe', 'jwt'] as const)(
    'old %s tokens still verify after rotation, and new tokens carry the new kids',
    async (sessionTokenFormat) => {
      const before = (await buildEngine({ keys: ec, sessionTokenFormat })).anon;
      const old = await before.issueToken({ client_id: CLIENT_ID, metadata: { cart: 'c1' } });

      const rotated = await rotateKeySet(ec);
      const after = (await buildEngine({ keys: rotated, sessionTokenFormat })).anon;
      await expect(after.verifyAccessToken(old.response.access_token, { audience: AUDIENCE })).resolves.toMatchObject({
        sid: old.session.session_id,
      });
      await expect(after.verifySessionToken(old.response.session_token)).resolves.toEqual(old.session);

      const fresh = await after.issueToken({ client_id: CLIENT_ID, session_token: old.response.session_token });
      expect(fresh.session.session_id).toBe(old.session.session_id);
      expect(fresh.session.metadata).toEqual({ cart: 'c1' });
      expect(readJws(fresh.response.access_token).header.kid).toBe(rotated.keys[0]?.kid);
      const sessionKid = decodeProtectedHeader(fresh.response.session_token).kid;
      expect(sessionKid).toBe(sessionTokenFormat === 'jwe' ? rotated.keys[2]?.kid : rotated.keys[0]?.kid);
      // The engine still on the old set cannot verify what the new key made.
      await expectAnonymousError(before.verifyAccessToken(fresh.response.access_token, { audience: AUDIENCE }), 'invalid_token', 401);
      await expectAnonymousError(before.verifySessionToken(fresh.response.session_token), 'invalid_session_token', 401);
    },
  );

  it('drops the old keys with keep: 1, after which their tokens no longer verify', async () => {
    const before = (await buildEngine({ keys: ec })).anon;
    const old = await before.issueToken({ client_id: CLIENT_ID });
    const rotated = await rotateKeySet(ec, { keep: 1 });
    expect(rotated.keys.map((key) => key.use)).toEqual(['sig', 'enc']);
    expect(rotated.keys.map((key) => key.kid)).not.toContain(signingJwk(ec).kid);
    const after = (await buildEngine({ keys: rotated })).anon;
    await expectAnonymousError(after.verifyAccessToken(old.response.access_token, { audience: AUDIENCE }), 'invalid_token', 401);
    await expectAnonymousError(after.verifySessionToken(old.response.session_token), 'invalid_session_token', 401);
  });
});

describe('keys as JSON text', () => {
  it('loads a key set given as JSON text (from a file or an environment variable)', async () => {
    const { anon } = await buildEngine({ keys: JSON.stringify(rsa) });
    expect(anon.keys.signingKeys.map((key) => key.kid)).toEqual([signingJwk(rsa).kid]);
    expect(anon.keys.encryptionKeys.map((key) => key.kid)).toEqual([encryptionJwk(rsa).kid]);
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    // The object form of the same set verifies what the text form signed.
    const twin = engines.get('RS256')!;
    await expect(twin.verifyAccessToken(response.access_token, { audience: AUDIENCE })).resolves.toMatchObject({
      aud: AUDIENCE,
    });
    await expect(twin.verifySessionToken(response.session_token)).resolves.toMatchObject({ metadata: {} });
  });

  it('refuses an empty key set given as JSON text', async () => {
    const issues = await expectConfigError(
      createAnonymousSessions({ issuer: ISSUER, clients: [], resourceServers: [{ audience: AUDIENCE }], keys: '{"keys": []}' }),
    );
    expect(issues).toEqual([
      { path: 'keys', message: 'needs at least one signing key (use "sig")' },
      {
        path: 'keys',
        message: 'needs at least one encryption secret (kty "oct", use "enc", alg "dir") for JWE session tokens',
      },
    ]);
  });

  it('importKeyRing accepts JSON text too', async () => {
    const ring = await importKeyRing(JSON.stringify(ec), { requireEncryptionKey: true });
    expect(ring.signingAlgorithms).toEqual(['ES256']);
    expect(ring.publicJwks.keys).toHaveLength(1);
  });
});
