import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBearerGuard, type AnonymousSessions } from '@anonymous-sessions/core';
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

  it('answers from the cache synchronously once a token was verified, without verifying again', async () => {
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE });
    const verify = vi.spyOn(anon, 'verifyAccessToken');
    expect(guard.authenticateCached(bearer(accessToken))).toBeUndefined();
    const first = await guard.authenticate(bearer(accessToken));
    const second = guard.authenticateCached(bearer(accessToken));
    expect(second).toEqual(first);
    expect(second?.isAnonymous).toBe(true);
    expect(verify).toHaveBeenCalledTimes(1);
    verify.mockRestore();
  });

  it('gives each request its own top-level header and payload over frozen cached values', async () => {
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE });
    const first = await guard.authenticate(bearer(accessToken));
    first.payload.scope = 'admin';
    first.header.kid = 'other';
    const second = guard.authenticateCached(bearer(accessToken))!;
    expect(second.payload.scope).toBe('anon read:products write:cart');
    expect(second.header.kid).not.toBe('other');
    expect(second.payload).not.toBe(first.payload);
  });

  it('has no fast path with checkRevocation (the store is asked every time) or with the cache off', async () => {
    const revocationGuard = createBearerGuard({ anonymous: anon, audience: AUDIENCE, checkRevocation: true });
    await revocationGuard.authenticate(bearer(accessToken));
    expect(revocationGuard.authenticateCached(bearer(accessToken))).toBeUndefined();
    const uncached = createBearerGuard({ anonymous: anon, audience: AUDIENCE, cache: false });
    await uncached.authenticate(bearer(accessToken));
    expect(uncached.authenticateCached(bearer(accessToken))).toBeUndefined();
  });

  it('never serves a cached token past its exp', async () => {
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE });
    const auth = await guard.authenticate(bearer(accessToken));
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(((auth.payload.exp as number) + 1) * 1000);
    expect(guard.authenticateCached(bearer(accessToken))).toBeUndefined();
    vi.setSystemTime(((auth.payload.exp as number) + 16) * 1000); // past the 15 s clock tolerance
    await expect(guard.authenticate(bearer(accessToken))).rejects.toMatchObject({ code: 'invalid_token', status: 401 });
  });

  it('throws the RFC 6750 errors synchronously on the fast path too', () => {
    const guard = createBearerGuard({ anonymous: anon, audience: AUDIENCE });
    expect(() => guard.authenticateCached({ headers: {} })).toThrowError(expect.objectContaining({ code: 'invalid_token', status: 401 }));
    expect(() => guard.authenticateCached({ headers: { authorization: 'Bearer a' }, queryToken: 'b' })).toThrowError(
      expect.objectContaining({ code: 'invalid_request', status: 400 }),
    );
  });
});
