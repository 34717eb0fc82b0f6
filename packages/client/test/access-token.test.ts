import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ACCESS_TOKEN_EXPIRY_LEEWAY_MS, createAnonymousClient, type AnonymousClientOptions } from '@anonymous-sessions/client';
import { advanceDate, AUDIENCE, CLIENT_ID, freezeDate, OTHER_AUDIENCE, SCOPES, startServer, type TestServer } from './helpers.js';

/** Access tokens for AUDIENCE live 10 minutes on this server. */
const TOKEN_LIFETIME = 600;

let server: TestServer;

beforeAll(async () => {
  server = await startServer({
    resourceServers: [
      { audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: [...SCOPES], tokenLifetimeForAnonymousAccess: TOKEN_LIFETIME },
      { audience: OTHER_AUDIENCE, allowAnonymousAccess: true, anonymousScopes: ['anon', 'write:reviews'] },
    ],
  });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

const client = (overrides: Partial<AnonymousClientOptions> = {}) =>
  createAnonymousClient({ baseUrl: server.baseUrl, clientId: CLIENT_ID, audience: AUDIENCE, mode: 'token', ...overrides });

describe('getAccessToken', () => {
  it('returns an access token the server accepts, for the current session', async () => {
    const anon = client();
    const session = await anon.getSession();
    server.reset();

    const token = await anon.getAccessToken();
    // The token came with the session's creation: no further request.
    expect(server.requests).toEqual([]);
    const claims = await server.anon.verifyAccessToken(token, { audience: AUDIENCE });
    expect(claims).toMatchObject({ sub: session.user_id, sid: session.session_id, aud: AUDIENCE, client_id: CLIENT_ID });
  });

  it('shares ONE request between 10 concurrent callers (single flight)', async () => {
    const anon = client();
    const tokens = await Promise.all(Array.from({ length: 10 }, () => anon.getAccessToken()));
    expect(server.tokenRequests()).toHaveLength(1);
    expect(server.requests).toHaveLength(1);
    expect(new Set(tokens).size).toBe(1);
  });

  it('shares one request between concurrent forced refreshes too', async () => {
    const anon = client();
    const first = await anon.getAccessToken();
    server.reset();
    const tokens = await Promise.all(Array.from({ length: 10 }, () => anon.getAccessToken({ forceRefresh: true })));
    expect(server.tokenRequests()).toHaveLength(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(first);
  });

  it('serves the cached token until one minute before it expires, then fetches a new one', async () => {
    expect(ACCESS_TOKEN_EXPIRY_LEEWAY_MS).toBe(60_000);
    freezeDate();
    const anon = client();
    const first = await anon.getAccessToken();
    expect(decodeJwt(first).exp! - decodeJwt(first).iat!).toBe(TOKEN_LIFETIME);
    server.reset();

    advanceDate(TOKEN_LIFETIME - 61); // 61 s left: still cached
    expect(await anon.getAccessToken()).toBe(first);
    expect(server.requests).toEqual([]);

    advanceDate(2); // 59 s left: inside the minute
    const second = await anon.getAccessToken();
    expect(second).not.toBe(first);
    expect(server.tokenRequests()).toHaveLength(1);
    // The refresh continued the same session rather than starting a new one.
    expect(server.tokenRequests()[0]!.body).toHaveProperty('session_token');
    expect(decodeJwt(second).sid).toBe(decodeJwt(first).sid);
  });

  it('caches per audience (and scope)', async () => {
    const anon = client();
    const shop = await anon.getAccessToken();
    const reviews = await anon.getAccessToken({ audience: OTHER_AUDIENCE });
    const narrow = await anon.getAccessToken({ scope: 'anon' });
    expect(server.tokenRequests().map((request) => [request.body?.audience, request.body?.scope])).toEqual([
      [AUDIENCE, undefined],
      [OTHER_AUDIENCE, undefined],
      [AUDIENCE, 'anon'],
    ]);
    expect(decodeJwt(shop)).toMatchObject({ aud: AUDIENCE, scope: SCOPES.join(' ') });
    expect(decodeJwt(reviews)).toMatchObject({ aud: OTHER_AUDIENCE, scope: 'anon write:reviews' });
    expect(decodeJwt(narrow)).toMatchObject({ aud: AUDIENCE, scope: 'anon' });
    // All three belong to the same session.
    expect(new Set([shop, reviews, narrow].map((token) => decodeJwt(token).sid)).size).toBe(1);

    server.reset();
    expect(await anon.getAccessToken({ audience: OTHER_AUDIENCE })).toBe(reviews);
    expect(await anon.getAccessToken()).toBe(shop);
    expect(await anon.getAccessToken({ scope: 'anon' })).toBe(narrow);
    expect(server.requests).toEqual([]);
  });

  it('uses the client\'s scope for its own audience', async () => {
    const anon = client({ scope: 'anon read:products' });
    expect(decodeJwt(await anon.getAccessToken()).scope).toBe('anon read:products');
    expect(decodeJwt(await anon.getAccessToken({ audience: OTHER_AUDIENCE })).scope).toBe('anon write:reviews');
  });

  it('after the session expired, transparently gets a token for a new session', async () => {
    const short = await startServer({ sessionLifetime: 3600 });
    try {
      freezeDate();
      const anon = createAnonymousClient({ baseUrl: short.baseUrl, clientId: CLIENT_ID, audience: AUDIENCE, mode: 'token' });
      const old = await anon.getAccessToken(); // capped at the session's end: one hour
      short.reset();
      advanceDate(3600 + 16);

      const fresh = await anon.getAccessToken();
      expect(short.summary()).toEqual(['POST /anonymous/token 401', 'POST /anonymous/token 200']);
      expect(decodeJwt(fresh).sid).not.toBe(decodeJwt(old).sid);
    } finally {
      await short.close();
    }
  });
});

describe('refreshIfNeeded', () => {
  it('asks the server only when the token is missing or inside the last minute', async () => {
    freezeDate();
    const anon = client();
    expect(await anon.refreshIfNeeded()).toBe(true);
    expect(server.tokenRequests()).toHaveLength(1);
    const cached = await anon.getAccessToken();

    expect(await anon.refreshIfNeeded()).toBe(false);
    expect(server.tokenRequests()).toHaveLength(1);

    advanceDate(TOKEN_LIFETIME - 30);
    expect(await anon.refreshIfNeeded()).toBe(true);
    expect(server.tokenRequests()).toHaveLength(2);
    expect(await anon.getAccessToken()).not.toBe(cached);
    expect(server.tokenRequests()).toHaveLength(2);
  });

  it('refreshes another audience on its own', async () => {
    const anon = client();
    await anon.getAccessToken();
    server.reset();
    expect(await anon.refreshIfNeeded({ audience: OTHER_AUDIENCE })).toBe(true);
    expect(await anon.refreshIfNeeded({ audience: OTHER_AUDIENCE })).toBe(false);
    expect(server.tokenRequests().map((request) => request.body?.audience)).toEqual([OTHER_AUDIENCE]);
  });
});
