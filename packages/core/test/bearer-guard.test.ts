import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, memoryStore, type AnonymousSessions } from '@anonymous-sessions/core';
import { type BearerGuardOptions, createBearerGuard } from '@anonymous-sessions/core/http';
import { AUDIENCE, buildEngine, CLIENT_ID } from './fixtures.js';

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe('createBearerGuard: the verified-token cache and its synchronous fast path', () => {
  let anon: AnonymousSessions;
  let accessToken: string;
  beforeAll(async () => {
    ({ anon } = await buildEngine());
    accessToken = (await anon.issueToken({ client_id: CLIENT_ID, metadata: { nested: { a: 1 } } })).response.access_token;
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers from the cache synchronously once a token was verified, without verifying again (checkRevocation: false)', async () => {
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE, checkRevocation: false });
    const verify = vi.spyOn(anon, 'verifyAccessToken');
    expect(guard.authenticateCached(bearer(accessToken))).toBeUndefined();
    const first = (await guard.authenticate(bearer(accessToken)))!;
    const second = guard.authenticateCached(bearer(accessToken));
    expect(second).toEqual(first);
    expect(second?.isAnonymous).toBe(true);
    expect(verify).toHaveBeenCalledTimes(1);
    verify.mockRestore();
  });

  it('authenticateRequest: the result itself on a cache hit, a promise on a miss, a malformed request thrown at once', async () => {
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE, checkRevocation: false });
    const verify = vi.spyOn(anon, 'verifyAccessToken');
    const miss = guard.authenticateRequest(bearer(accessToken));
    expect(miss).toBeInstanceOf(Promise);
    const first = (await miss)!;
    const hit = guard.authenticateRequest(bearer(accessToken));
    expect(hit).not.toBeInstanceOf(Promise);
    expect(hit).toEqual(first);
    expect(verify).toHaveBeenCalledTimes(1);
    verify.mockRestore();
    expect(() => guard.authenticateRequest({ headers: { authorization: 'Bearer a b' } })).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    expect(() => guard.authenticateRequest({ headers: {} })).toThrow(expect.objectContaining({ code: 'invalid_token' }));
    await expect(guard.authenticateRequest(bearer('not.a.token'))).rejects.toMatchObject({ code: 'invalid_token', status: 401 });
    const optional = createBearerGuard({ anonymous: anon, audience: AUDIENCE, checkRevocation: false, authRequired: false });
    expect(optional.authenticateRequest({ headers: {} })).toBeUndefined();
    // With checkRevocation every request is a promise: the store is asked each time.
    const revoking = createBearerGuard({ anonymous: anon, audience: AUDIENCE });
    await revoking.authenticateRequest(bearer(accessToken));
    expect(revoking.authenticateRequest(bearer(accessToken))).toBeInstanceOf(Promise);
  });

  it('gives each request its own top-level header and payload over frozen cached values', async () => {
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE, checkRevocation: false });
    const first = (await guard.authenticate(bearer(accessToken)))!;
    first.payload.scope = 'admin';
    first.header.kid = 'other';
    const second = guard.authenticateCached(bearer(accessToken))!;
    expect(second.payload.scope).toBe('anon read:products write:cart');
    expect(second.header.kid).not.toBe('other');
    expect(second.payload).not.toBe(first.payload);
  });

  it('shares the nested claims of a cached token frozen, and gives every request top-level objects it may edit', async () => {
    const { SignJWT, decodeJwt, generateKeyPair } = await import('jose');
    const { privateKey } = await generateKeyPair('RS256');
    const now = Math.floor(Date.now() / 1000);
    const userToken = await new SignJWT({ sub: 'auth0|42', aud: AUDIENCE, iat: now, exp: now + 600, roles: ['buyer'], address: { city: 'Lyon' } })
      .setProtectedHeader({ alg: 'RS256', kid: 'idp-key' })
      .setIssuer('https://idp.example/')
      .sign(privateKey);
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE, checkRevocation: false, user: { verify: (token: string) => decodeJwt(token) } });
    const first = (await guard.authenticate(bearer(userToken)))!;
    const second = guard.authenticateCached(bearer(userToken))!;
    expect(second.payload).toEqual(first.payload);
    for (const auth of [first, second]) {
      expect(Object.isFrozen(auth.payload.roles)).toBe(true);
      expect(Object.isFrozen(auth.payload.address)).toBe(true);
      expect(() => (auth.payload.roles as string[]).push('admin')).toThrow(TypeError);
      expect(Object.isFrozen(auth.payload)).toBe(false);
      expect(Object.isFrozen(auth.header)).toBe(false);
    }
    second.payload.roles = ['admin'];
    second.payload.sub = 'someone else';
    second.header.kid = 'edited';
    const third = guard.authenticateCached(bearer(userToken))!;
    expect(third.payload).toMatchObject({ sub: 'auth0|42', roles: ['buyer'], address: { city: 'Lyon' } });
    expect(third.header.kid).toBe('idp-key');
    expect(third.payload).not.toBe(second.payload);
  });

  it('has no fast path with checkRevocation (the default: the store is asked every time) or with the cache off', async () => {
    for (const revocationGuard of [
      createBearerGuard({ anonymous: anon, audience: AUDIENCE }),
      createBearerGuard({ anonymous: anon, audience: AUDIENCE, checkRevocation: true }),
    ]) {
      // The guard asks the engine (which asks its store, and notices a store that lost its data).
      const isSessionEnded = vi.spyOn(anon, 'isSessionEnded');
      await revocationGuard.authenticate(bearer(accessToken));
      expect(revocationGuard.authenticateCached(bearer(accessToken))).toBeUndefined();
      await revocationGuard.authenticate(bearer(accessToken));
      expect(isSessionEnded).toHaveBeenCalledTimes(2);
      isSessionEnded.mockRestore();
    }
    const uncached = createBearerGuard({ anonymous: anon, audience: AUDIENCE, cache: false });
    await uncached.authenticate(bearer(accessToken));
    expect(uncached.authenticateCached(bearer(accessToken))).toBeUndefined();
  });

  it('never serves a cached token past its exp', async () => {
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE, checkRevocation: false });
    const auth = (await guard.authenticate(bearer(accessToken)))!;
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(((auth.payload.exp as number) + 1) * 1000);
    expect(guard.authenticateCached(bearer(accessToken))).toBeUndefined();
    vi.setSystemTime(((auth.payload.exp as number) + 16) * 1000); // past the 15 s clock tolerance
    await expect(guard.authenticate(bearer(accessToken))).rejects.toMatchObject({ code: 'invalid_token', status: 401 });
  });

  it('the header shortcut on a cache hit answers exactly what reading the request in full would', async () => {
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE, checkRevocation: false });
    const first = (await guard.authenticateRequest(bearer(accessToken)))!;
    // Any case of the scheme, any number of spaces around the token: the same cached result, at once.
    for (const authorization of [`bearer ${accessToken}`, `BEARER   ${accessToken}  `, `BeArEr ${accessToken}`]) {
      expect(guard.authenticateRequest({ headers: { authorization } })).toEqual(first);
    }
    // The cached token in a second place, or in a header that is not exactly `Bearer <token>`:
    // refused as the full reading refuses it, though the token itself is in the cache.
    const FORM = 'application/x-www-form-urlencoded';
    const refusals: [string, Parameters<typeof guard.authenticateRequest>[0], string][] = [
      ['also in the query', { headers: { authorization: `Bearer ${accessToken}` }, queryToken: accessToken }, 'invalid_request'],
      ['also in a form body', { headers: { authorization: `Bearer ${accessToken}`, 'content-type': FORM }, method: 'POST', bodyToken: accessToken }, 'invalid_request'],
      ['twice in the query', { headers: { authorization: `Bearer ${accessToken}` }, queryToken: [accessToken, accessToken] }, 'invalid_request'],
      ['after a tab', { headers: { authorization: `Bearer\t${accessToken}` } }, 'invalid_request'],
      ['with a second word', { headers: { authorization: `Bearer ${accessToken} x` } }, 'invalid_request'],
      ['glued to the scheme', { headers: { authorization: `Bearer${accessToken}` } }, 'invalid_token'],
      ['under another scheme', { headers: { authorization: `Basic ${accessToken}` } }, 'invalid_token'],
      ['under a longer scheme', { headers: { authorization: `Bearers ${accessToken}` } }, 'invalid_token'],
    ];
    for (const [name, request, code] of refusals) {
      expect(() => guard.authenticateRequest(request), name).toThrow(expect.objectContaining({ code }));
    }
  });

  it('caches only a token that is one whole b64token, so no other string can reach the header shortcut', async () => {
    // A host verifier that accepts anything its issuer signs, here a token a header could not carry.
    const foreign = 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLyIsImV4cCI6OTk5OTk5OTk5OX0.';
    const spaced = `${foreign.slice(0, 30)} ${foreign.slice(30)}`;
    const verify = vi.fn(async () => ({ iss: 'https://idp.example/', sub: 'user-1', exp: 9_999_999_999 }));
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE, user: { verify } });
    await expect(guard.authenticateRequest({ headers: {}, queryToken: spaced })).resolves.toMatchObject({ isAnonymous: false, token: spaced });
    await expect(guard.authenticateRequest({ headers: {}, queryToken: spaced })).resolves.toMatchObject({ isAnonymous: false });
    expect(verify).toHaveBeenCalledTimes(2); // never cached
    expect(() => guard.authenticateRequest({ headers: { authorization: `Bearer ${spaced}` } })).toThrow(expect.objectContaining({ code: 'invalid_request', status: 400 }));
    // The same issuer's well-formed token is cached as before.
    await guard.authenticateRequest(bearer(foreign));
    expect(guard.authenticateRequest(bearer(foreign))).toMatchObject({ isAnonymous: false, token: foreign });
    expect(verify).toHaveBeenCalledTimes(3);
  });

  it('throws the RFC 6750 errors synchronously on the fast path too', () => {
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE });
    expect(() => guard.authenticateCached({ headers: {} })).toThrowError(expect.objectContaining({ code: 'invalid_token', status: 401 }));
    expect(() => guard.authenticateCached({ headers: { authorization: 'Bearer a' }, queryToken: 'b' })).toThrowError(
      expect.objectContaining({ code: 'invalid_request', status: 400 }),
    );
  });
});

describe('createBearerGuard: where a token is read (RFC 6750 §2)', () => {
  let anon: AnonymousSessions;
  let token: string;
  beforeAll(async () => {
    ({ anon } = await buildEngine());
    token = (await anon.issueToken({ client_id: CLIENT_ID })).response.access_token;
  });
  const FORM = 'application/x-www-form-urlencoded';

  it.each([['POST'], ['PUT'], ['PATCH'], ['DELETE'], ['post']])('a form-encoded %s body', async (method) => {
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE });
    await expect(guard.authenticate({ headers: { 'content-type': `${FORM}; charset=utf-8` }, method, bodyToken: token })).resolves.toMatchObject({ isAnonymous: true });
  });

  it.each<[string, { method?: string; contentType?: string }]>([
    ['a GET body', { method: 'GET', contentType: FORM }],
    ['a HEAD body', { method: 'HEAD', contentType: FORM }],
    ['a JSON body', { method: 'POST', contentType: 'application/json' }],
    ['a multipart body', { method: 'POST', contentType: 'multipart/form-data; boundary=x' }],
    ['a body with no content type', { method: 'POST' }],
    ['a body when the binding did not say the method', { contentType: FORM }],
    ['a form type only as a parameter', { method: 'POST', contentType: `text/plain; x=${FORM}` }],
  ])('is not read from %s: the token is missing (bare challenge), and beside a header it is no second place', async (_name, { method, contentType }) => {
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE });
    const headers = contentType === undefined ? {} : { 'content-type': contentType };
    await expect(guard.authenticate({ headers, method, bodyToken: token })).rejects.toMatchObject({
      code: 'invalid_token',
      status: 401,
      headers: { 'WWW-Authenticate': 'Bearer realm="api"' },
    });
    await expect(guard.authenticate({ headers: { ...headers, authorization: `Bearer ${token}` }, method, bodyToken: [token, token] })).resolves.toMatchObject({
      isAnonymous: true,
    });
  });
});

describe('createBearerGuard: a token is verified under the issuer it names', () => {
  it('a user token whose kid is also one of the engine’s goes to the identity provider’s verifier, not refused by our key', async () => {
    const { anon } = await buildEngine();
    const { generateKeyPair, SignJWT, decodeJwt } = await import('jose');
    const ourKid = anon.keys.signingKeys[0]!.kid;
    const { privateKey } = await generateKeyPair('RS256');
    const now = Math.floor(Date.now() / 1000);
    const userToken = await new SignJWT({ sub: 'auth0|42', aud: AUDIENCE, iat: now, exp: now + 600 })
      .setProtectedHeader({ alg: 'RS256', kid: ourKid })
      .setIssuer('https://idp.example/')
      .sign(privateKey);
    const verify = vi.fn((token: string) => decodeJwt(token));
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE, checkRevocation: false, cache: false, user: { verify } });
    const auth = await guard.authenticate(bearer(userToken));
    expect(auth).toMatchObject({ isAnonymous: false, payload: { sub: 'auth0|42' } });
    expect(verify).toHaveBeenCalledTimes(1);
    // The same foreign key claiming our issuer is refused: our issuer's tokens are verified under our keys only.
    const forged = await new SignJWT({ sub: 'anon|0f8fad5b-d9cb-469f-a165-70867728950e', aud: AUDIENCE, iat: now, exp: now + 600, jti: 'j', client_id: CLIENT_ID, scope: 'anon', sid: 'sess_x' })
      .setProtectedHeader({ alg: 'RS256', kid: ourKid, typ: 'at+jwt' })
      .setIssuer(anon.config.issuer)
      .sign(privateKey);
    await expect(guard.authenticate(bearer(forged))).rejects.toMatchObject({ code: 'invalid_token', status: 401 });
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it('each token gets its own header, though the verifier decodes each header of ours once (cache off)', async () => {
    const { anon } = await buildEngine();
    const { SignJWT, decodeProtectedHeader, generateKeyPair } = await import('jose');
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE, checkRevocation: false, cache: false });
    const issued = (await anon.issueToken({ client_id: CLIENT_ID })).response.access_token;
    const first = (await guard.authenticate(bearer(issued)))!;
    expect(first.header).toEqual(decodeProtectedHeader(issued));
    first.header.kid = 'edited by a route';
    const second = (await guard.authenticate(bearer(issued)))!;
    expect(second.header).toEqual(decodeProtectedHeader(issued));
    expect(Object.isFrozen(second.header)).toBe(false);
    // Signed by our key under another header (an extra parameter): its own header, not the one known.
    const key = anon.keys.signingKeys[0]!;
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: 'anon|0f8fad5b-d9cb-469f-a165-70867728950e', aud: AUDIENCE, iat: now, exp: now + 600, jti: 'j', client_id: CLIENT_ID, scope: 'anon', sid: 'sess_x' };
    const sign = (header: Record<string, unknown>, privateKey = key.privateKey) =>
      new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header }).setIssuer(anon.config.issuer).sign(privateKey);
    const other = await sign({ x: 'own header' });
    expect((await guard.authenticate(bearer(other)))!.header).toMatchObject({ kid: key.kid, x: 'own header' });
    // Many headers naming our key, signed by another: every one refused, ours still verified after them.
    const { privateKey: foreign } = await generateKeyPair('RS256');
    for (let index = 0; index < 40; index += 1) {
      await expect(guard.authenticate(bearer(await sign({ n: index }, foreign)))).rejects.toMatchObject({ code: 'invalid_token', status: 401 });
    }
    expect((await guard.authenticate(bearer(issued)))!.header).toEqual(decodeProtectedHeader(issued));
    await expect(guard.authenticate(bearer(await sign({}, foreign)))).rejects.toMatchObject({ code: 'invalid_token' });
  });
});

describe('createBearerGuard: options', () => {
  let anon: AnonymousSessions;
  beforeAll(async () => {
    ({ anon } = await buildEngine());
  });
  const remote = { issuer: 'https://anon.example/', jwksUri: 'https://anon.example/.well-known/jwks.json' };
  const issuesOf = (options: unknown): string[] => {
    try {
      createBearerGuard(options as BearerGuardOptions);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).issues.map((issue) => issue.path);
    }
    return [];
  };

  it('names every unknown or ill-typed option', () => {
    expect(issuesOf({ anonymous: anon, audience: AUDIENCE, checkRevokation: true, cach: false })).toEqual(['checkRevokation', 'cach']);
    expect(issuesOf({ anonymous: { ...remote, stor: memoryStore() }, audience: AUDIENCE })).toEqual(['anonymous.stor']);
    expect(issuesOf({ anonymous: { ...remote, store: { isSessionRevoked: true } }, audience: AUDIENCE })).toEqual(['anonymous.store']);
    expect(issuesOf({ anonymous: { issuer: '', jwksUri: 'file:///etc/passwd' }, audience: AUDIENCE })).toEqual(['anonymous.issuer', 'anonymous.jwksUri']);
    expect(issuesOf({ anonymous: anon, audience: AUDIENCE, user: { issuerBaseURL: 'not a url', allowIdToken: true } })).toEqual([
      'user.allowIdToken',
      'user.issuerBaseURL',
    ]);
    expect(issuesOf({ anonymous: anon, audience: AUDIENCE, user: { verify: () => ({}), allowIdTokens: 'yes' } })).toEqual(['user.allowIdTokens']);
    expect(
      issuesOf({ anonymous: anon, audience: AUDIENCE, timeoutDuration: 0, cooldownDuration: -1, cacheMaxAge: Number.NaN, clockTolerance: '5' }),
    ).toEqual(['timeoutDuration', 'cooldownDuration', 'cacheMaxAge', 'clockTolerance']);
    expect(issuesOf({ anonymous: anon, audience: AUDIENCE, checkRevocation: 'yes', logger: { warn() {} } })).toEqual(['checkRevocation', 'logger']);
    expect(issuesOf({ anonymous: anon, audience: '' })).toEqual(['audience']);
  });

  it('checkRevocation defaults to true with the engine or a remote store, false without one; true without a store is refused', () => {
    expect(issuesOf({ anonymous: remote, audience: AUDIENCE })).toEqual([]);
    expect(issuesOf({ anonymous: remote, audience: AUDIENCE, checkRevocation: true })).toEqual(['checkRevocation']);
    expect(issuesOf({ anonymous: { ...remote, store: memoryStore() }, audience: AUDIENCE, checkRevocation: true })).toEqual([]);
    expect(issuesOf({ anonymous: anon, audience: AUDIENCE, checkRevocation: false })).toEqual([]);
  });

  it('a host verifier’s own 503 passes through; its other errors are 401', async () => {
    const { TemporarilyUnavailableError } = await import('@anonymous-sessions/core');
    const foreign = 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlLyJ9.';
    const down = createBearerGuard({ anonymous: anon, audience: AUDIENCE, user: { verify: () => Promise.reject(new TemporarilyUnavailableError()) } });
    await expect(down.authenticate(bearer(foreign))).rejects.toMatchObject({ code: 'temporarily_unavailable', status: 503 });
    const refusing = createBearerGuard({ anonymous: anon, audience: AUDIENCE, user: { verify: () => Promise.reject(new Error('nope')) } });
    await expect(refusing.authenticate(bearer(foreign))).rejects.toMatchObject({ code: 'invalid_token', status: 401 });
  });
});
