import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AnonymousSessionClientError,
  createAnonymousClient,
  memoryStorage,
  type AnonymousClientOptions,
  type AnonymousClientStorage,
  type FetchFunction,
} from '@anonymous-sessions/client';
import {
  advanceDate,
  AUDIENCE,
  CLIENT_ID,
  freezeDate,
  rejectionOf,
  startServer,
  switchableFetch,
  TOKEN_KEY,
  type TestServer,
} from './helpers.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function tokenClient(overrides: Partial<AnonymousClientOptions> = {}) {
  const storage = memoryStorage();
  const client = createAnonymousClient({ baseUrl: server.baseUrl, clientId: CLIENT_ID, audience: AUDIENCE, mode: 'token', storage, ...overrides });
  return { client, storage };
}

async function storedToken(storage: AnonymousClientStorage): Promise<string> {
  const token = await storage.getItem(TOKEN_KEY);
  expect(token, 'a session token is stored').toEqual(expect.any(String));
  return token as string;
}

describe('getSession', () => {
  it('creates a session when there is none, stores its token, and reads it back from the server', async () => {
    const { client, storage } = tokenClient();
    expect(await storage.getItem(TOKEN_KEY)).toBeUndefined();

    const session = await client.getSession();
    expect(session).toEqual({
      user_id: expect.stringMatching(/^anon\|[0-9a-f-]{36}$/),
      session_id: expect.stringMatching(/^sess_[A-Za-z0-9_-]{22}$/),
      created_at: expect.any(String),
      expires_at: expect.any(String),
      metadata: {},
    });
    expect(server.summary()).toEqual(['POST /anonymous/token 200', 'GET /anonymous/session 200']);
    expect(server.tokenRequests()[0]!.body).toEqual({ client_id: CLIENT_ID, audience: AUDIENCE });
    expect(server.requests[1]!.authorization).toBe(true);

    // The stored token is the server's, for this very session.
    const verified = await server.anon.verifySessionToken(await storedToken(storage));
    expect(verified.session_id).toBe(session.session_id);

    // Later calls read the same session: one GET each, no new session.
    server.reset();
    expect((await client.getSession()).session_id).toBe(session.session_id);
    expect(server.summary()).toEqual(['GET /anonymous/session 200']);
  });

  it('shares one creation between concurrent callers', async () => {
    const { client } = tokenClient();
    const sessions = await Promise.all(Array.from({ length: 5 }, () => client.getSession()));
    expect(new Set(sessions.map((session) => session.session_id)).size).toBe(1);
    expect(server.tokenRequests()).toHaveLength(1);
  });

  it('sends token mode requests without credentials and the session token as a Bearer header', async () => {
    const inits: Parameters<FetchFunction>[1][] = [];
    const recording: FetchFunction = (url, init) => {
      inits.push(init);
      return fetch(url, init);
    };
    const { client } = tokenClient({ fetch: recording });
    await client.getSession();
    expect(inits.map((init) => init.credentials)).toEqual(['omit', 'omit']);
    expect(inits[1]!.headers.Authorization).toMatch(/^Bearer [A-Za-z0-9_.-]+$/);
    expect(server.requests.every((request) => !request.cookie)).toBe(true);
  });
});

describe('createSession', () => {
  // Choosing the guest id is opt-in per client on the server (clients[].allowUserId).
  let chooserServer: TestServer;
  beforeAll(async () => {
    chooserServer = await startServer({ clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true, allowUserId: true }] });
  });
  afterAll(async () => {
    await chooserServer.close();
  });

  it('starts a new session with metadata and a chosen guest id, replacing the stored one', async () => {
    const { client, storage } = tokenClient({ baseUrl: chooserServer.baseUrl });
    const first = await client.getSession();
    chooserServer.reset();

    const created = await client.createSession({ metadata: { language: 'de' }, userId: 'anon|guest_12345678' });
    expect(created).toMatchObject({ user_id: 'anon|guest_12345678', metadata: { language: 'de' } });
    expect(created.session_id).not.toBe(first.session_id);
    expect(chooserServer.tokenRequests()[0]!.body).toEqual({
      client_id: CLIENT_ID,
      audience: AUDIENCE,
      metadata: { language: 'de' },
      user_id: 'anon|guest_12345678',
    });
    expect((await chooserServer.anon.verifySessionToken(await storedToken(storage))).session_id).toBe(created.session_id);
  });

  it('rejects a bad guest id with the server\'s invalid_request', async () => {
    const { client } = tokenClient({ baseUrl: chooserServer.baseUrl });
    const error = await rejectionOf(client.createSession({ userId: 'not-anonymous' }));
    expect(error).toMatchObject({ code: 'invalid_request', status: 400 });
  });

  it('rejects any guest id with invalid_request when the server does not let this client choose one', async () => {
    const { client } = tokenClient();
    const error = await rejectionOf(client.createSession({ userId: 'anon|guest_12345678' }));
    expect(error).toMatchObject({ code: 'invalid_request', status: 400 });
  });
});

describe('updateSession', () => {
  it('merges metadata on the server and rotates the stored token', async () => {
    const { client, storage } = tokenClient();
    await client.createSession({ metadata: { cart: [{ sku: 'tee', qty: 1 }], language: 'en' } });
    const before = await storedToken(storage);

    expect(await client.updateSession({ metadata: { language: null, consent: { analytics: true } } })).toBe('sent');
    const after = await storedToken(storage);
    expect(after).not.toBe(before);
    expect((await server.anon.verifySessionToken(after)).metadata).toEqual({
      cart: [{ sku: 'tee', qty: 1 }],
      consent: { analytics: true },
    });
    expect((await client.getSession()).metadata).toEqual({ cart: [{ sku: 'tee', qty: 1 }], consent: { analytics: true } });
  });

  it('creates the session with the patch in one request when there is none yet', async () => {
    const { client } = tokenClient();
    expect(await client.updateSession({ metadata: { theme: 'dark' } })).toBe('sent');
    expect(server.summary()).toEqual(['POST /anonymous/token 200']);
    expect(server.tokenRequests()[0]!.body).toEqual({ client_id: CLIENT_ID, audience: AUDIENCE, metadata: { theme: 'dark' } });
    expect((await client.getSession()).metadata).toEqual({ theme: 'dark' });
  });

  it('sends what the caller passed, not later changes to the same object', async () => {
    const { client } = tokenClient();
    const patch = { step: 1 };
    const sent = client.updateSession({ metadata: patch });
    patch.step = 2;
    await sent;
    expect((await client.getSession()).metadata).toEqual({ step: 1 });
  });
});

describe('expiry and revocation recovery', () => {
  it('starts a new session once the old one expired, transparently', async () => {
    const short = await startServer({ sessionLifetime: 3600 });
    try {
      freezeDate();
      const client = createAnonymousClient({ baseUrl: short.baseUrl, clientId: CLIENT_ID, audience: AUDIENCE, mode: 'token' });
      const first = await client.createSession({ metadata: { cart: ['tee'] } });
      short.reset();

      advanceDate(3600 + 16); // past the server's 15 s clock tolerance
      const second = await client.getSession();
      expect(second.session_id).not.toBe(first.session_id);
      expect(second.metadata).toEqual({});
      expect(short.summary()).toEqual(['GET /anonymous/session 401', 'POST /anonymous/token 200', 'GET /anonymous/session 200']);
      // The new session was created, not continued: no session token in the body.
      expect(short.tokenRequests()[0]!.body).not.toHaveProperty('session_token');
    } finally {
      await short.close();
    }
  });

  it('sends an update to a new session when the stored one expired', async () => {
    const short = await startServer({ sessionLifetime: 3600 });
    try {
      freezeDate();
      const client = createAnonymousClient({ baseUrl: short.baseUrl, clientId: CLIENT_ID, audience: AUDIENCE, mode: 'token' });
      const first = await client.getSession();
      short.reset();
      advanceDate(7200);

      expect(await client.updateSession({ metadata: { theme: 'dark' } })).toBe('sent');
      expect(short.summary()).toEqual(['POST /anonymous/token 401', 'POST /anonymous/token 200']);
      const second = await client.getSession();
      expect(second.session_id).not.toBe(first.session_id);
      expect(second.metadata).toEqual({ theme: 'dark' });
    } finally {
      await short.close();
    }
  });

  it('starts a new session when another client logged the stored one out', async () => {
    const { client, storage } = tokenClient();
    const first = await client.getSession();
    // A second client (another device holding the same token) ends the session.
    const other = createAnonymousClient({
      baseUrl: server.baseUrl,
      clientId: CLIENT_ID,
      mode: 'token',
      storage: memoryStorage({ [TOKEN_KEY]: await storedToken(storage) }),
    });
    await other.logout();
    server.reset();

    const second = await client.getSession();
    expect(second.session_id).not.toBe(first.session_id);
    expect(server.summary()).toEqual(['GET /anonymous/session 401', 'POST /anonymous/token 200', 'GET /anonymous/session 200']);
  });

  it('recovers only once: a second rejection reaches the caller', async () => {
    // Once switched on, every GET carries a corrupted token, so even the new session is refused.
    let corrupt = false;
    const corrupting: FetchFunction = (url, init) =>
      fetch(url, corrupt && init.method === 'GET' ? { ...init, headers: { ...init.headers, Authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' } } : init);
    const { client } = tokenClient({ fetch: corrupting });
    await client.createSession();
    corrupt = true;
    server.reset();

    const error = await rejectionOf(client.getSession());
    expect(error).toBeInstanceOf(AnonymousSessionClientError);
    expect(error).toMatchObject({ code: 'invalid_session_token', status: 401 });
    expect(server.summary()).toEqual(['GET /anonymous/session 401', 'POST /anonymous/token 200', 'GET /anonymous/session 401']);
  });
});

describe('logout', () => {
  it('revokes the session on the server and forgets it here', async () => {
    const { client, storage } = tokenClient();
    await client.getSession();
    const token = await storedToken(storage);
    await client.getAccessToken();
    server.reset();

    await client.logout();
    expect(server.summary()).toEqual(['POST /anonymous/logout 204']);
    expect(server.requests[0]!.body).toEqual({ client_id: CLIENT_ID, session_token: token });
    expect(await storage.getItem(TOKEN_KEY)).toBeUndefined();
    await expect(server.anon.verifySessionToken(token)).rejects.toMatchObject({ code: 'invalid_session_token' });

    // The cached access token went with it: the next call starts a new session.
    server.reset();
    await client.getAccessToken();
    expect(server.tokenRequests()).toHaveLength(1);
    expect(server.tokenRequests()[0]!.body).not.toHaveProperty('session_token');
  });

  it('does nothing on the network when there is no session', async () => {
    const { client } = tokenClient();
    await client.logout();
    expect(server.requests).toEqual([]);
  });

  it('succeeds, and forgets the token, when the server no longer accepts it', async () => {
    const { client, storage } = tokenClient();
    await client.getSession();
    const token = await storedToken(storage);
    await storage.setItem(TOKEN_KEY, `${token.slice(0, -4)}AAAA`); // e.g. encrypted with a retired key
    server.reset();
    await client.logout();
    expect(server.summary()).toEqual(['POST /anonymous/logout 401']);
    expect(await storage.getItem(TOKEN_KEY)).toBeUndefined();
  });
});

describe('typed errors', () => {
  it('an unknown client_id rejects with code invalid_client, status 401', async () => {
    const { client } = tokenClient({ clientId: 'no-such-client' });
    const error = await rejectionOf(client.getSession());
    expect(error).toBeInstanceOf(AnonymousSessionClientError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'AnonymousSessionClientError',
      code: 'invalid_client',
      status: 401,
      description: expect.any(String),
    });
  });

  it('carries the server\'s code for an unknown audience, a bad scope and bad metadata', async () => {
    const { client } = tokenClient();
    expect(await rejectionOf(client.getAccessToken({ audience: 'https://nope.example' }))).toMatchObject({
      code: 'invalid_target',
      status: 400,
    });
    expect(await rejectionOf(client.getAccessToken({ scope: 'admin' }))).toMatchObject({ code: 'invalid_scope', status: 400 });
    const forbidden = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, never>;
    expect(await rejectionOf(client.updateSession({ metadata: forbidden }))).toMatchObject({
      code: 'invalid_metadata',
      status: 400,
    });
    expect(await rejectionOf(client.updateSession({ metadata: { blob: 'x'.repeat(4000) } }))).toMatchObject({
      code: 'metadata_too_large',
      status: 413,
    });
    expect(client.hasPendingUpdates()).toBe(false);
  });

  it('an unreachable server rejects with network_error, status 0, and the fetch error as cause', async () => {
    const offline = switchableFetch();
    offline.online = false;
    const { client } = tokenClient({ fetch: offline.fetch });
    const error = await rejectionOf(client.getSession());
    expect(error).toMatchObject({ code: 'network_error', status: 0, cause: expect.any(TypeError) });
  });

  it('rejects bad options up front, listing every problem', () => {
    expect(() =>
      createAnonymousClient({ baseUrl: server.baseUrl, clientId: '', mode: 'session' as 'token', batchWindowMs: -1 }),
    ).toThrow(/clientId must be a non-empty string; mode must be "cookie" or "token"; batchWindowMs must be a number >= 0/);
  });

  it('never writes anything to the console, so no token can reach a log', async () => {
    const calls = (['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation(() => undefined),
    );
    const { client } = tokenClient();
    await client.getSession();
    await client.updateSession({ metadata: { a: 1 } });
    await client.getAccessToken({ forceRefresh: true });
    await rejectionOf(client.getAccessToken({ audience: 'https://nope.example' }));
    await client.logout();
    const error = (await rejectionOf(client.getSession().then(() => client.getAccessToken({ scope: 'admin' })))) as Error;
    expect(`${error.message} ${JSON.stringify(error)}`).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\./);
    for (const spy of calls) expect(spy).not.toHaveBeenCalled();
  });
});
