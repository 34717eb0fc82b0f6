/**
 * One-way request paths in the bearer guard: a cache miss hands the token it extracted on to
 * `authenticate` (the request is parsed once), and every RFC 6750 refusal carries the challenge its
 * error class builds.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type AnonymousSessions } from '@anonymous-sessions/core';
import {
  InsufficientScopeError,
  InsufficientUserAuthenticationError,
  InvalidBearerRequestError,
  InvalidTokenError,
  assertScopes,
  assertUser,
  createBearerGuard,
  type AuthResult,
  type BearerRequest,
} from '@anonymous-sessions/core/http';
import { AUDIENCE, buildEngine, CLIENT_ID } from './fixtures.js';

/** A request that counts how often the guard reads it (`method` is read once per extraction). */
function countingRequest(token: string): { request: BearerRequest; reads: () => number } {
  let reads = 0;
  const request: BearerRequest = {
    headers: { authorization: `Bearer ${token}` },
    get method() {
      reads += 1;
      return 'GET';
    },
  };
  return { request, reads: () => reads };
}

describe('the bearer guard parses a request once', () => {
  let anon: AnonymousSessions;
  let accessToken: string;
  beforeAll(async () => {
    ({ anon } = await buildEngine());
    accessToken = (await anon.issueToken({ client_id: CLIENT_ID })).response.access_token;
  });

  it.each([
    ['a cold cache', { checkRevocation: false }],
    ['a revocation check (no fast path)', { checkRevocation: true }],
    ['the cache off', { cache: false as const }],
  ])('a cache miss does not extract the token again (%s)', async (_name, options) => {
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE, ...options });
    const { request, reads } = countingRequest(accessToken);
    expect(guard.authenticateCached(request)).toBeUndefined();
    expect(reads()).toBe(1);
    const auth = await guard.authenticate(request);
    expect(auth?.isAnonymous).toBe(true);
    expect(reads()).toBe(1);
    // A later request object is parsed afresh (nothing is kept past the request).
    const next = countingRequest(accessToken);
    await guard.authenticate(next.request);
    expect(next.reads()).toBe(1);
  });
});

describe('each RFC 6750 error builds its own challenge', () => {
  it('invalid_token for a refused token, the bare challenge for a missing one', () => {
    expect(InvalidTokenError.forBearer('shop', 'The access token expired.').headers).toEqual({
      'WWW-Authenticate': 'Bearer realm="shop", error="invalid_token", error_description="The access token expired."',
    });
    const missing = InvalidTokenError.missing('shop');
    expect(missing.status).toBe(401);
    expect(missing.headers).toEqual({ 'WWW-Authenticate': 'Bearer realm="shop"' });
  });

  it('invalid_request, insufficient_scope and insufficient_user_authentication from their realm', () => {
    expect(new InvalidBearerRequestError('The Authorization header is malformed.', 'shop').headers).toEqual({
      'WWW-Authenticate': 'Bearer realm="shop", error="invalid_request", error_description="The Authorization header is malformed."',
    });
    expect(new InsufficientScopeError('Missing scope: write:cart.', ['read:products', 'write:cart'], 'shop').headers).toEqual({
      'WWW-Authenticate':
        'Bearer realm="shop", error="insufficient_scope", error_description="Missing scope: write:cart.", scope="read:products write:cart"',
    });
    expect(new InsufficientUserAuthenticationError('shop').headers).toEqual({
      'WWW-Authenticate': 'Bearer realm="shop", error="insufficient_user_authentication", error_description="A signed-in user is required."',
    });
  });

  it('the guard helpers throw them with the route realm', () => {
    const guest = { isAnonymous: true, payload: { scope: 'anon' } } as unknown as AuthResult;
    expect(() => assertScopes(guest, ['write:cart'], 'shop')).toThrow(
      expect.objectContaining({ code: 'insufficient_scope', headers: new InsufficientScopeError('Missing scope: write:cart.', ['write:cart'], 'shop').headers }),
    );
    expect(() => assertUser(guest, 'shop')).toThrow(expect.objectContaining({ headers: new InsufficientUserAuthenticationError('shop').headers }));
    expect(() => assertUser(undefined, 'shop')).toThrow(expect.objectContaining({ headers: { 'WWW-Authenticate': 'Bearer realm="shop"' } }));
  });
});
