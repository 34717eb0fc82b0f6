/**
 * Cookie mode in Node: fetch has no cookie jar, so the client gets one through its `fetch` option,
 * as a browser would give it. Every request must ask for credentials ('include'), and the session
 * token must never be kept by the client.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAnonymousClient, type AnonymousClientStorage } from '@anonymous-sessions/client';
import {
  advanceDate,
  AUDIENCE,
  CLIENT_ID,
  cookieJarFetch,
  freezeDate,
  sentPatches,
  startServer,
  type CookieJarFetch,
  type TestServer,
} from './helpers.js';

let server: TestServer;
let jar: CookieJarFetch;
let written: string[];

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
  jar = cookieJarFetch();
  written = [];
});
afterEach(() => {
  vi.useRealTimers();
});

/** A storage that records every key written to it. */
function recordingStorage(): AnonymousClientStorage {
  const entries = new Map<string, string>();
  return {
    getItem: (key) => entries.get(key),
    setItem: (key, value) => {
      written.push(key);
      entries.set(key, value);
    },
    removeItem: (key) => void entries.delete(key),
  };
}

const cookieClient = (baseUrl = server.baseUrl) =>
  createAnonymousClient({ baseUrl, clientId: CLIENT_ID, audience: AUDIENCE, mode: 'cookie', fetch: jar.fetch, storage: recordingStorage() });

describe("cookie mode ('cookie')", () => {
  it('creates the session through the HttpOnly cookie and never keeps the token itself', async () => {
    const anon = cookieClient();
    const session = await anon.getSession();

    expect(server.summary()).toEqual(['GET /anonymous/session 401', 'POST /anonymous/token 200', 'GET /anonymous/session 200']);
    expect(jar.inits.map((init) => init.credentials)).toEqual(['include', 'include', 'include']);
    expect(jar.inits.every((init) => init.headers.Authorization === undefined)).toBe(true);
    expect(server.tokenRequests()[0]!.body).toEqual({ client_id: CLIENT_ID, audience: AUDIENCE });
    expect(server.requests[2]!.cookie).toBe(true);

    const cookie = jar.cookies.get('anon');
    expect(cookie).toEqual(expect.any(String));
    expect((await server.anon.verifySessionToken(decodeURIComponent(cookie!))).session_id).toBe(session.session_id);
    expect(written).toEqual([]); // nothing stored: the token lives only in the cookie
  });

  it('updates, batches and caches access tokens over the cookie', async () => {
    const anon = cookieClient();
    const session = await anon.getSession();
    server.reset();

    await Promise.all([anon.updateSession({ metadata: { a: 1 } }), anon.updateSession({ metadata: { b: 2 } })]);
    expect(sentPatches(server)).toEqual([{ a: 1, b: 2 }]);
    expect(server.tokenRequests()[0]!.cookie).toBe(true);
    expect(server.tokenRequests()[0]!.body).not.toHaveProperty('session_token');

    const tokens = await Promise.all(Array.from({ length: 10 }, () => anon.getAccessToken({ forceRefresh: true })));
    expect(new Set(tokens).size).toBe(1);
    expect(server.tokenRequests()).toHaveLength(2);
    expect((await server.anon.verifyAccessToken(tokens[0]!, { audience: AUDIENCE })).sid).toBe(session.session_id);

    const current = await anon.getSession();
    expect(current).toMatchObject({ session_id: session.session_id, metadata: { a: 1, b: 2 } });
  });

  it('logout ends the session and the server clears the cookie; the next call starts anew', async () => {
    const anon = cookieClient();
    const first = await anon.getSession();
    const cookie = decodeURIComponent(jar.cookies.get('anon')!);
    server.reset();

    await anon.logout();
    expect(server.summary()).toEqual(['POST /anonymous/logout 204']);
    expect(server.requests[0]!.body).toEqual({ client_id: CLIENT_ID });
    expect(jar.cookies.has('anon')).toBe(false);
    await expect(server.anon.verifySessionToken(cookie)).rejects.toMatchObject({ code: 'invalid_session_token' });

    expect((await anon.getSession()).session_id).not.toBe(first.session_id);
  });

  it('logout without a cookie is not an error', async () => {
    const anon = cookieClient();
    await anon.logout();
    expect(server.summary()).toEqual(['POST /anonymous/logout 400']);
  });

  it('starts a new session when the cookie\'s session expired', async () => {
    const short = await startServer({ sessionLifetime: 3600 });
    try {
      freezeDate();
      const anon = cookieClient(short.baseUrl);
      const first = await anon.getSession();
      short.reset();
      advanceDate(1800);
      await anon.updateSession({ metadata: { a: 1 } }); // continued through the cookie
      // This jar keeps cookies past their Max-Age, as a browser whose clock is behind would: the
      // expired session token still arrives at the server.
      advanceDate(1800 + 16);
      expect(jar.cookies.has('anon')).toBe(true);

      const second = await anon.getSession();
      expect(second.session_id).not.toBe(first.session_id);
      expect(second.metadata).toEqual({});
      expect(short.summary().slice(1)).toEqual(['GET /anonymous/session 401', 'POST /anonymous/token 200', 'GET /anonymous/session 200']);
    } finally {
      await short.close();
    }
  });
});
