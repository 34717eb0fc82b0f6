import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  generateKeySet,
  memoryStore,
  type AnonymousSessions,
  type AnonymousSessionsOptions,
  type PrivateJwkSet,
  type SessionStore,
} from '@anonymous-sessions/core';
import {
  ANONYMOUS_SCOPES,
  AUDIENCE,
  CLIENT_ID,
  ISSUER,
  T0,
  T0_SECONDS,
  buildEngine,
  expectAnonymousError,
  openSessionToken,
  readJws,
  signingJwk,
} from './fixtures.js';

let keys: PrivateJwkSet;
let anon: AnonymousSessions;

beforeAll(async () => {
  keys = await generateKeySet();
});

beforeEach(async () => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  anon = (await buildEngine({ keys })).anon;
});

afterEach(() => {
  vi.useRealTimers();
});

const engine = async (overrides: Partial<AnonymousSessionsOptions>): Promise<AnonymousSessions> =>
  (await buildEngine({ keys, ...overrides })).anon;

const advanceSeconds = (seconds: number): void => {
  vi.setSystemTime(new Date(Date.now() + seconds * 1000));
};

const isoAt = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();

describe('the seed quick start', () => {
  it('creates a session with scope "anon", then continues it with metadata', async () => {
    const created = await anon.issueToken({ client_id: CLIENT_ID, scope: 'anon' }, { ip: '198.51.100.7' });
    expect(created.response).toEqual({
      session_token: expect.any(String),
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 86_400,
      scope: 'anon',
    });
    expect(created.session.metadata).toEqual({});

    advanceSeconds(5);
    const continued = await anon.issueToken(
      {
        client_id: CLIENT_ID,
        scope: 'anon',
        session_token: created.response.session_token,
        metadata: { language: 'en', country: 'US' },
      },
      { ip: '198.51.100.7' },
    );
    expect(continued.session).toEqual({
      user_id: created.session.user_id,
      session_id: created.session.session_id,
      created_at: created.session.created_at,
      expires_at: created.session.expires_at,
      metadata: { language: 'en', country: 'US' },
    });
    const { payload } = await openSessionToken(continued.response.session_token, keys);
    expect(payload).toMatchObject({
      user_id: created.session.user_id,
      session_id: created.session.session_id,
      created_at: created.session.created_at,
      metadata: { language: 'en', country: 'US' },
    });
    await expect(anon.verifySessionToken(continued.response.session_token)).resolves.toEqual(continued.session);
    const access = await anon.verifyAccessToken(continued.response.access_token, { audience: AUDIENCE });
    expect(access).toMatchObject({ sub: created.session.user_id, sid: created.session.session_id, scope: 'anon' });
  });
});

describe('request validation', () => {
  it.each([null, 'client_id=shop-web', ['shop-web'], 42])('refuses the body %j with invalid_request', async (body) => {
    await expectAnonymousError(anon.issueToken(body), 'invalid_request', 400);
  });

  it('says which field is missing or ill-typed', async () => {
    const missing = await expectAnonymousError(anon.issueToken({}), 'invalid_request', 400);
    expect(missing.description).toBe('client_id is required.');
    const typed = await expectAnonymousError(anon.issueToken({ client_id: 7 }), 'invalid_request', 400);
    expect(typed.description).toBe('client_id must be a string.');
    await expectAnonymousError(anon.issueToken({ client_id: CLIENT_ID, scope: ['anon'] }), 'invalid_request', 400);
    await expectAnonymousError(anon.issueToken({ client_id: CLIENT_ID, session_token: '' }), 'invalid_request', 400);
  });

  it('ignores unknown parameters, as OAuth requires', async () => {
    const { response } = await anon.issueToken({ client_id: CLIENT_ID, grant_type: 'whatever', nonce: 'n' });
    expect(response.token_type).toBe('Bearer');
  });
});

describe('user_id', () => {
  // Choosing user_id is opt-in per client (clients[].allowUserId); these cases run on such a client.
  let chooser: AnonymousSessions;
  const chooserClients = [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true, allowUserId: true }];

  beforeEach(async () => {
    chooser = await engine({ clients: chooserClients });
  });

  it('is refused with invalid_request for a client that did not opt in (the default)', async () => {
    const error = await expectAnonymousError(anon.issueToken({ client_id: CLIENT_ID, user_id: 'anon|abcdefgh' }), 'invalid_request', 400);
    expect(error.description).toBe('This client may not choose user_id (clients[].allowUserId).');
    // Nothing was counted or stored for the refused request: the next creation is the first.
    const limited = await engine({ rateLimit: { createPerMinute: 1 } });
    await expectAnonymousError(limited.issueToken({ client_id: CLIENT_ID, user_id: 'anon|abcdefgh' }, { ip: '203.0.113.1' }), 'invalid_request', 400);
    await expect(limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' })).resolves.toBeDefined();
  });

  it('is refused for a non-opted-in client even when continuing, before the session is read', async () => {
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    const error = await expectAnonymousError(
      anon.issueToken({ client_id: CLIENT_ID, session_token: response.session_token, user_id: 'anon|abcdefgh' }),
      'invalid_request',
      400,
    );
    expect(error.description).toMatch(/allowUserId/);
  });

  it('follows allowUserId of a client returned by a resolver (default false)', async () => {
    const resolved = await engine({
      clients: (clientId) =>
        clientId === 'chooser'
          ? { clientId, canCreateAnonymousSessions: true, allowUserId: true }
          : { clientId, canCreateAnonymousSessions: true },
    });
    const { session } = await resolved.issueToken({ client_id: 'chooser', user_id: 'anon|abcdefgh' });
    expect(session.user_id).toBe('anon|abcdefgh');
    await expectAnonymousError(resolved.issueToken({ client_id: 'other', user_id: 'anon|abcdefgh' }), 'invalid_request', 400);
  });

  it.each(['anon|abcdefgh', `anon|${'aZ0_-'.repeat(25)}abc`])('accepts %s when creating', async (userId) => {
    const { session, response } = await chooser.issueToken({ client_id: CLIENT_ID, user_id: userId });
    expect(session.user_id).toBe(userId);
    expect(readJws(response.access_token).payload.sub).toBe(userId);
  });

  it.each([
    'anon|abcdefg',
    `anon|${'a'.repeat(129)}`,
    'anon|abc.defgh',
    'anon|abcdefgh\n',
    'anon|abcd efgh',
    'ANON|abcdefgh',
    'auth0|abcdefgh',
    'abcdefgh',
    '',
  ])('refuses %j with invalid_request', async (userId) => {
    await expectAnonymousError(chooser.issueToken({ client_id: CLIENT_ID, user_id: userId }), 'invalid_request', 400);
  });

  it('refuses a non-string user_id', async () => {
    await expectAnonymousError(chooser.issueToken({ client_id: CLIENT_ID, user_id: 12_345_678 }), 'invalid_request', 400);
  });

  it('refuses any user_id when continuing, even the session’s own', async () => {
    const { response, session } = await chooser.issueToken({ client_id: CLIENT_ID, user_id: 'anon|abcdefgh' });
    for (const userId of ['anon|abcdefgh', 'anon|other-user', session.user_id]) {
      const error = await expectAnonymousError(
        chooser.issueToken({ client_id: CLIENT_ID, session_token: response.session_token, user_id: userId }),
        'invalid_request',
        400,
      );
      expect(error.description).toBe('user_id can only be set when a session is created.');
    }
  });
});

describe('lifetimes', () => {
  it('keeps the session exp absolute (created_at + lifetime) across continues', async () => {
    const short = await engine({ sessionLifetime: 3600 });
    const first = await short.issueToken({ client_id: CLIENT_ID });
    advanceSeconds(1800);
    const second = await short.issueToken({ client_id: CLIENT_ID, session_token: first.response.session_token });
    expect(second.session.expires_at).toBe(isoAt(T0_SECONDS + 3600));
    expect(readJws(second.response.access_token).payload.exp).toBe(T0_SECONDS + 3600);
    expect(second.response.expires_in).toBe(1800);
    advanceSeconds(1800);
    await expectAnonymousError(
      short.issueToken({ client_id: CLIENT_ID, session_token: second.response.session_token }),
      'session_expired',
      401,
    );
  });

  it('renews exp to now + lifetime on every continue with slidingExpiration', async () => {
    const sliding = await engine({ sessionLifetime: 3600, slidingExpiration: true });
    let { response, session } = await sliding.issueToken({ client_id: CLIENT_ID });
    const createdAt = session.created_at;
    for (let step = 1; step <= 4; step += 1) {
      advanceSeconds(1800);
      ({ response, session } = await sliding.issueToken({ client_id: CLIENT_ID, session_token: response.session_token }));
      expect(session.expires_at).toBe(isoAt(T0_SECONDS + step * 1800 + 3600));
      expect(session.created_at).toBe(createdAt);
    }
    // Two hours after creation, past the absolute limit, and still alive.
    await expect(sliding.verifySessionToken(response.session_token)).resolves.toMatchObject({ created_at: createdAt });
  });

  it('never lets the access token outlive the session', async () => {
    const short = await engine({ sessionLifetime: 600 });
    const first = await short.issueToken({ client_id: CLIENT_ID });
    expect(first.response.expires_in).toBe(600);
    expect(readJws(first.response.access_token).payload.exp).toBe(T0_SECONDS + 600);
    advanceSeconds(500);
    const second = await short.issueToken({ client_id: CLIENT_ID, session_token: first.response.session_token });
    expect(second.response.expires_in).toBe(100);
    expect(readJws(second.response.access_token).payload.exp).toBe(T0_SECONDS + 600);
  });

  it('uses the API’s tokenLifetimeForAnonymousAccess when the session lives longer', async () => {
    const custom = await engine({
      resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, tokenLifetimeForAnonymousAccess: 300 }],
    });
    const { response } = await custom.issueToken({ client_id: CLIENT_ID });
    expect(response.expires_in).toBe(300);
    expect(readJws(response.access_token).payload.exp).toBe(T0_SECONDS + 300);
  });

  it('with sessionLifetime 0 the access token gets its full lifetime and the session none', async () => {
    const forever = await engine({ sessionLifetime: 0 });
    const { response, session } = await forever.issueToken({ client_id: CLIENT_ID });
    expect(response.expires_in).toBe(86_400);
    expect(session.expires_at).toBeNull();
    advanceSeconds(5 * 365 * 86_400);
    const later = await forever.issueToken({ client_id: CLIENT_ID, session_token: response.session_token });
    expect(later.session.session_id).toBe(session.session_id);
    expect(later.session.expires_at).toBeNull();
  });
});

describe('scopes', () => {
  it('grants every anonymous scope by default', async () => {
    for (const scope of [undefined, '', '   ']) {
      const { response } = await anon.issueToken({ client_id: CLIENT_ID, ...(scope === undefined ? {} : { scope }) });
      expect(response.scope).toBe(ANONYMOUS_SCOPES.join(' '));
      expect(readJws(response.access_token).payload.scope).toBe(ANONYMOUS_SCOPES.join(' '));
    }
  });

  it('grants a requested subset, without duplicates', async () => {
    const { response } = await anon.issueToken({ client_id: CLIENT_ID, scope: 'read:products  anon read:products' });
    expect(response.scope).toBe('read:products anon');
    expect(readJws(response.access_token).payload.scope).toBe('read:products anon');
  });

  it.each(['admin', 'anon admin', 'read:products write:orders', 'ANON'])('refuses %j with invalid_scope', async (scope) => {
    const error = await expectAnonymousError(anon.issueToken({ client_id: CLIENT_ID, scope }), 'invalid_scope', 400);
    expect(error.description).toMatch(/is not available to guests/);
  });
});

describe('audiences and clients', () => {
  let multi: AnonymousSessions;

  beforeEach(async () => {
    multi = await engine({
      clients: [
        { clientId: CLIENT_ID, canCreateAnonymousSessions: true },
        { clientId: 'backoffice', canCreateAnonymousSessions: false },
      ],
      resourceServers: [
        { audience: AUDIENCE, allowAnonymousAccess: true },
        { audience: 'https://admin.shop.example', allowAnonymousAccess: false },
        { audience: 'https://reviews.shop.example', allowAnonymousAccess: true, anonymousScopes: ['read:reviews'] },
      ],
    });
  });

  it('needs an audience when there is more than one API', async () => {
    const error = await expectAnonymousError(multi.issueToken({ client_id: CLIENT_ID }), 'invalid_request', 400);
    expect(error.description).toMatch(/audience is required/);
  });

  it('issues for the requested API with its own scopes', async () => {
    const { response } = await multi.issueToken({ client_id: CLIENT_ID, audience: 'https://reviews.shop.example' });
    expect(readJws(response.access_token).payload).toMatchObject({ aud: 'https://reviews.shop.example', scope: 'read:reviews' });
    await expectAnonymousError(
      multi.issueToken({ client_id: CLIENT_ID, audience: 'https://reviews.shop.example', scope: 'anon' }),
      'invalid_scope',
      400,
    );
  });

  it('does not need an audience when there is one API, but checks one that is given', async () => {
    const { response } = await anon.issueToken({ client_id: CLIENT_ID, audience: AUDIENCE });
    expect(readJws(response.access_token).payload.aud).toBe(AUDIENCE);
    await expectAnonymousError(anon.issueToken({ client_id: CLIENT_ID, audience: 'https://other' }), 'invalid_target', 400);
  });

  it('answers invalid_target for an unknown audience', async () => {
    await expectAnonymousError(multi.issueToken({ client_id: CLIENT_ID, audience: 'https://unknown.example' }), 'invalid_target', 400);
  });

  it('answers access_denied when the API does not allow anonymous access', async () => {
    await expectAnonymousError(
      multi.issueToken({ client_id: CLIENT_ID, audience: 'https://admin.shop.example' }),
      'access_denied',
      403,
    );
  });

  it('answers invalid_client for an unknown client, before looking at the audience', async () => {
    await expectAnonymousError(multi.issueToken({ client_id: 'stranger', audience: 'https://nowhere' }), 'invalid_client', 401);
  });

  it('answers unauthorized_client when the client may not create anonymous sessions', async () => {
    await expectAnonymousError(multi.issueToken({ client_id: 'backoffice', audience: AUDIENCE }), 'unauthorized_client', 403);
  });
});

describe('async client and resource-server resolvers', () => {
  const lookups: string[] = [];
  let resolved: AnonymousSessions;

  beforeEach(async () => {
    lookups.length = 0;
    resolved = await engine({
      clients: async (clientId) => {
        lookups.push(`client:${clientId}`);
        if (clientId === CLIENT_ID) return { clientId, canCreateAnonymousSessions: true };
        if (clientId === 'broken') return { clientId: 42 } as never;
        return undefined;
      },
      resourceServers: async (audience) => {
        lookups.push(`api:${audience}`);
        if (audience === AUDIENCE) return { audience, allowAnonymousAccess: true, anonymousScopes: ['anon', 'write:cart'] };
        if (audience === 'https://broken.example') return { audience, tokenLifetimeForAnonymousAccess: -1 };
        return undefined;
      },
    });
  });

  it('issue tokens through the resolvers, with defaults applied to what they return', async () => {
    const { response } = await resolved.issueToken({ client_id: CLIENT_ID, audience: AUDIENCE, scope: 'write:cart' });
    expect(response).toMatchObject({ scope: 'write:cart', expires_in: 86_400 });
    expect(readJws(response.access_token).payload).toMatchObject({ aud: AUDIENCE, client_id: CLIENT_ID });
    expect(lookups).toEqual([`client:${CLIENT_ID}`, `api:${AUDIENCE}`]);
  });

  it('answer invalid_client and invalid_target for what they do not know', async () => {
    await expectAnonymousError(resolved.issueToken({ client_id: 'stranger', audience: AUDIENCE }), 'invalid_client', 401);
    await expectAnonymousError(resolved.issueToken({ client_id: CLIENT_ID, audience: 'https://nowhere' }), 'invalid_target', 400);
  });

  it('need an audience (the engine cannot know there is only one API)', async () => {
    await expectAnonymousError(resolved.issueToken({ client_id: CLIENT_ID }), 'invalid_request', 400);
  });

  it('turn a malformed answer into server_error', async () => {
    await expectAnonymousError(resolved.issueToken({ client_id: 'broken', audience: AUDIENCE }), 'server_error', 500);
    await expectAnonymousError(
      resolved.issueToken({ client_id: CLIENT_ID, audience: 'https://broken.example' }),
      'server_error',
      500,
    );
  });

  it('serve logout as well', async () => {
    const { response } = await resolved.issueToken({ client_id: CLIENT_ID, audience: AUDIENCE });
    await resolved.logout({ clientId: CLIENT_ID, sessionToken: response.session_token });
    await expectAnonymousError(resolved.verifySessionToken(response.session_token), 'invalid_session_token', 401);
    await expectAnonymousError(
      resolved.logout({ clientId: 'stranger', sessionToken: response.session_token }),
      'invalid_client',
      401,
    );
  });
});

describe('metadata', () => {
  it('applies each request as a JSON merge patch; null deletes', async () => {
    const first = await anon.issueToken({
      client_id: CLIENT_ID,
      metadata: { cart: { items: [{ sku: 'A', qty: 1 }], coupon: 'WELCOME' }, language: 'en', theme: 'dark' },
    });
    expect(first.session.metadata).toEqual({
      cart: { items: [{ sku: 'A', qty: 1 }], coupon: 'WELCOME' },
      language: 'en',
      theme: 'dark',
    });
    const second = await anon.issueToken({
      client_id: CLIENT_ID,
      session_token: first.response.session_token,
      metadata: { cart: { coupon: null, items: [{ sku: 'B', qty: 2 }] }, language: null },
    });
    expect(second.session.metadata).toEqual({ cart: { items: [{ sku: 'B', qty: 2 }] }, theme: 'dark' });
    const third = await anon.issueToken({ client_id: CLIENT_ID, session_token: second.response.session_token });
    expect(third.session.metadata).toEqual(second.session.metadata);
    expect((await openSessionToken(third.response.session_token, keys)).payload.metadata).toEqual(second.session.metadata);
  });

  it.each([['a string', 'cart'], ['an array', ['cart']], ['null', null], ['a number', 1]])(
    'refuses %s with invalid_metadata',
    async (_label, metadata) => {
      await expectAnonymousError(anon.issueToken({ client_id: CLIENT_ID, metadata }), 'invalid_metadata', 400);
    },
  );

  it.each(['{"__proto__":{"admin":true}}', '{"a":{"constructor":{}}}', '{"a":[{"b":{"prototype":1}}]}'])(
    'refuses the forbidden key in %s with invalid_metadata',
    async (json) => {
      await expectAnonymousError(anon.issueToken({ client_id: CLIENT_ID, metadata: JSON.parse(json) }), 'invalid_metadata', 400);
    },
  );

  it('refuses metadata nested deeper than maxDepth', async () => {
    const shallow = await engine({ metadata: { maxDepth: 2 } });
    await expect(shallow.issueToken({ client_id: CLIENT_ID, metadata: { a: { b: 1 } } })).resolves.toBeDefined();
    await expectAnonymousError(shallow.issueToken({ client_id: CLIENT_ID, metadata: { a: { b: { c: 1 } } } }), 'invalid_metadata', 400);
  });

  it('refuses merged metadata over maxBytes with metadata_too_large, and the old token keeps working', async () => {
    const small = await engine({ metadata: { maxBytes: 64 } });
    const first = await small.issueToken({ client_id: CLIENT_ID, metadata: { a: 'x'.repeat(40) } });
    const error = await expectAnonymousError(
      small.issueToken({ client_id: CLIENT_ID, session_token: first.response.session_token, metadata: { b: 'y'.repeat(20) } }),
      'metadata_too_large',
      413,
    );
    expect(error.description).toMatch(/limit is 64/);
    await expect(small.verifySessionToken(first.response.session_token)).resolves.toMatchObject({
      metadata: { a: 'x'.repeat(40) },
    });
  });

  it('enforces the 2048-byte default', async () => {
    await expect(anon.issueToken({ client_id: CLIENT_ID, metadata: { s: 'x'.repeat(2040) } })).resolves.toBeDefined();
    await expectAnonymousError(anon.issueToken({ client_id: CLIENT_ID, metadata: { s: 'x'.repeat(2041) } }), 'metadata_too_large', 413);
  });

  it('checks the host zod schema', async () => {
    const schema = z.object({ language: z.enum(['en', 'fr']).optional(), country: z.string().length(2).optional() });
    const strict = await engine({ metadata: { schema } });
    await expectAnonymousError(strict.issueToken({ client_id: CLIENT_ID, metadata: { language: 'klingon' } }), 'invalid_metadata', 400);
    const { session } = await strict.issueToken({ client_id: CLIENT_ID, metadata: { language: 'fr', country: 'FR' } });
    expect(session.metadata).toEqual({ language: 'fr', country: 'FR' });
  });
});

describe('rate limit on new sessions', () => {
  let limited: AnonymousSessions;

  beforeEach(async () => {
    limited = await engine({ rateLimit: { createPerMinute: 2 } });
  });

  it('answers too_many_requests with Retry-After for the third creation from one address', async () => {
    await limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' });
    advanceSeconds(15);
    await limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' });
    const error = await expectAnonymousError(
      limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' }),
      'too_many_requests',
      429,
    );
    expect(error.headers).toEqual({ 'Retry-After': '45' });
  });

  it('counts each address separately', async () => {
    await limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' });
    await limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' });
    await expectAnonymousError(limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' }), 'too_many_requests', 429);
    await expect(limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.2' })).resolves.toBeDefined();
    await expect(limited.issueToken({ client_id: CLIENT_ID }, { ip: '2001:db8::1' })).resolves.toBeDefined();
  });

  it('does not limit continuing a session', async () => {
    const { response } = await limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' });
    await limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' });
    let token = response.session_token;
    for (let i = 0; i < 5; i += 1) {
      ({ response: { session_token: token } } = await limited.issueToken(
        { client_id: CLIENT_ID, session_token: token },
        { ip: '203.0.113.1' },
      ));
    }
    await expectAnonymousError(limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' }), 'too_many_requests', 429);
  });

  it('resets after the 60-second window', async () => {
    await limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' });
    await limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' });
    advanceSeconds(59);
    await expectAnonymousError(limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' }), 'too_many_requests', 429);
    advanceSeconds(1);
    await expect(limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' })).resolves.toBeDefined();
  });

  it('is off with rateLimit: false', async () => {
    const unlimited = await engine({ rateLimit: false });
    for (let i = 0; i < 70; i += 1) await unlimited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' });
    await expect(unlimited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' })).resolves.toBeDefined();
  });

  it('allows 60 a minute by default', async () => {
    for (let i = 0; i < 60; i += 1) await anon.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.9' });
    const error = await expectAnonymousError(anon.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.9' }), 'too_many_requests', 429);
    expect(error.headers['Retry-After']).toBe('60');
  });

  it('counts a new session started because the cookie was invalid', async () => {
    await limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1', cookieSessionToken: 'garbage' });
    await limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1', cookieSessionToken: 'garbage' });
    await expectAnonymousError(
      limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1', cookieSessionToken: 'garbage' }),
      'too_many_requests',
      429,
    );
  });
});

describe('the session cookie', () => {
  it('continues the session when the body has no session_token', async () => {
    const first = await anon.issueToken({ client_id: CLIENT_ID, metadata: { a: 1 } });
    const second = await anon.issueToken({ client_id: CLIENT_ID }, { cookieSessionToken: first.response.session_token });
    expect(second.session).toMatchObject({ session_id: first.session.session_id, metadata: { a: 1 } });
  });

  it('is ignored when invalid, expired or ended, and a new session begins', async () => {
    const short = await engine({ sessionLifetime: 60 });
    const expired = await short.issueToken({ client_id: CLIENT_ID });
    const ended = await short.issueToken({ client_id: CLIENT_ID });
    await short.logout({ clientId: CLIENT_ID, sessionToken: ended.response.session_token });
    const foreign = await (await buildEngine({ keys: await generateKeySet({ algorithm: 'ES256' }) })).anon.issueToken({
      client_id: CLIENT_ID,
    });
    advanceSeconds(90);
    for (const cookie of ['garbage', expired.response.session_token, ended.response.session_token, foreign.response.session_token]) {
      const { session } = await short.issueToken({ client_id: CLIENT_ID }, { cookieSessionToken: cookie });
      expect([expired.session.session_id, ended.session.session_id, foreign.session.session_id]).not.toContain(session.session_id);
      expect(session.metadata).toEqual({});
    }
  });

  it('yields to a session_token in the body', async () => {
    const fromCookie = await anon.issueToken({ client_id: CLIENT_ID });
    const fromBody = await anon.issueToken({ client_id: CLIENT_ID });
    const { session } = await anon.issueToken(
      { client_id: CLIENT_ID, session_token: fromBody.response.session_token },
      { cookieSessionToken: fromCookie.response.session_token },
    );
    expect(session.session_id).toBe(fromBody.session.session_id);
  });

  it('does not rescue an invalid session_token in the body', async () => {
    const valid = await anon.issueToken({ client_id: CLIENT_ID });
    await expectAnonymousError(
      anon.issueToken({ client_id: CLIENT_ID, session_token: 'garbage' }, { cookieSessionToken: valid.response.session_token }),
      'invalid_session_token',
      401,
    );
  });
});

describe('logout', () => {
  it('ends the session: continuing or verifying it is invalid_session_token', async () => {
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    const other = await anon.issueToken({ client_id: CLIENT_ID });
    await anon.logout({ clientId: CLIENT_ID, sessionToken: response.session_token });
    await expectAnonymousError(
      anon.issueToken({ client_id: CLIENT_ID, session_token: response.session_token }),
      'invalid_session_token',
      401,
    );
    await expectAnonymousError(anon.verifySessionToken(response.session_token), 'invalid_session_token', 401);
    await expect(anon.verifySessionToken(other.response.session_token)).resolves.toBeDefined();
  });

  it('ends every token of the session, including later ones', async () => {
    const first = await anon.issueToken({ client_id: CLIENT_ID });
    const second = await anon.issueToken({ client_id: CLIENT_ID, session_token: first.response.session_token });
    await anon.logout({ clientId: CLIENT_ID, sessionToken: first.response.session_token });
    await expectAnonymousError(anon.verifySessionToken(second.response.session_token), 'invalid_session_token', 401);
  });

  it('revokes the session in the store until the session’s exp plus the clock tolerance', async () => {
    const store = memoryStore();
    const revoke = vi.spyOn(store, 'revokeSession');
    const short = await engine({ store, sessionLifetime: 3600 });
    const { response, session } = await short.issueToken({ client_id: CLIENT_ID });
    await short.logout({ clientId: CLIENT_ID, sessionToken: response.session_token });
    expect(revoke).toHaveBeenCalledWith(session.session_id, T0_SECONDS + 3600 + 15);
  });

  it('stays in force through the clock-tolerance window after exp', async () => {
    const short = await engine({ sessionLifetime: 3600 });
    const { response } = await short.issueToken({ client_id: CLIENT_ID });
    await short.logout({ clientId: CLIENT_ID, sessionToken: response.session_token });
    advanceSeconds(3600 + 10); // past exp, within the 15 s tolerance
    await expectAnonymousError(short.verifySessionToken(response.session_token), 'invalid_session_token', 401);
    await expectAnonymousError(
      short.verifyAccessToken(response.access_token, { audience: AUDIENCE, checkRevocation: true }),
      'invalid_token',
      401,
    );
    advanceSeconds(5);
    await expectAnonymousError(short.verifySessionToken(response.session_token), 'session_expired', 401);
  });

  it('with slidingExpiration also ends the newer tokens of the session, which expire later', async () => {
    const sliding = await engine({ sessionLifetime: 3600, slidingExpiration: true });
    const older = await sliding.issueToken({ client_id: CLIENT_ID });
    advanceSeconds(1800);
    const newer = await sliding.issueToken({ client_id: CLIENT_ID, session_token: older.response.session_token });
    await sliding.logout({ clientId: CLIENT_ID, sessionToken: older.response.session_token });
    advanceSeconds(1800 + 60); // the older token has expired; the newer one lives until T0 + 5400
    await expectAnonymousError(sliding.verifySessionToken(newer.response.session_token), 'invalid_session_token', 401);
    await expectAnonymousError(
      sliding.issueToken({ client_id: CLIENT_ID, session_token: newer.response.session_token }),
      'invalid_session_token',
      401,
    );
  });

  it('keeps verifyAccessToken stateless unless checkRevocation is asked for', async () => {
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    await anon.logout({ clientId: CLIENT_ID, sessionToken: response.session_token });
    await expect(anon.verifyAccessToken(response.access_token, { audience: AUDIENCE })).resolves.toBeDefined();
    const error = await expectAnonymousError(
      anon.verifyAccessToken(response.access_token, { audience: AUDIENCE, checkRevocation: true }),
      'invalid_token',
      401,
    );
    expect(error.description).toBe('The session behind this access token has ended.');
  });

  it('passes checkRevocation for a live session', async () => {
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    await expect(
      anon.verifyAccessToken(response.access_token, { audience: AUDIENCE, checkRevocation: true }),
    ).resolves.toMatchObject({ aud: AUDIENCE });
  });

  it('of an expired session succeeds and changes nothing', async () => {
    const store = memoryStore();
    const revoke = vi.spyOn(store, 'revokeSession');
    const short = await engine({ store, sessionLifetime: 60 });
    const { response } = await short.issueToken({ client_id: CLIENT_ID });
    advanceSeconds(60 + 15);
    await expect(short.logout({ clientId: CLIENT_ID, sessionToken: response.session_token })).resolves.toBeUndefined();
    expect(revoke).not.toHaveBeenCalled();
  });

  it('twice succeeds', async () => {
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    await anon.logout({ clientId: CLIENT_ID, sessionToken: response.session_token });
    await expect(anon.logout({ clientId: CLIENT_ID, sessionToken: response.session_token })).resolves.toBeUndefined();
  });

  it('refuses an unknown client and a forged token', async () => {
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    await expectAnonymousError(anon.logout({ clientId: 'stranger', sessionToken: response.session_token }), 'invalid_client', 401);
    await expectAnonymousError(anon.logout({ clientId: CLIENT_ID, sessionToken: 'garbage' }), 'invalid_session_token', 401);
    await expect(anon.verifySessionToken(response.session_token)).resolves.toBeDefined();
  });

  it('from raw request fields, with the cookie as fallback', async () => {
    const byBody = await anon.issueToken({ client_id: CLIENT_ID });
    const byCookie = await anon.issueToken({ client_id: CLIENT_ID });
    await anon.logoutRequest({ client_id: CLIENT_ID, session_token: byBody.response.session_token });
    await anon.logoutRequest({ client_id: CLIENT_ID }, byCookie.response.session_token);
    await expectAnonymousError(anon.verifySessionToken(byBody.response.session_token), 'invalid_session_token', 401);
    await expectAnonymousError(anon.verifySessionToken(byCookie.response.session_token), 'invalid_session_token', 401);
    await expectAnonymousError(anon.logoutRequest({ client_id: CLIENT_ID }), 'invalid_request', 400);
    await expectAnonymousError(anon.logoutRequest({ session_token: byBody.response.session_token }), 'invalid_request', 400);
  });

  it('with sessionLifetime 0 revokes for good', async () => {
    const forever = await engine({ sessionLifetime: 0 });
    const { response } = await forever.issueToken({ client_id: CLIENT_ID });
    await forever.logout({ clientId: CLIENT_ID, sessionToken: response.session_token });
    advanceSeconds(10 * 365 * 86_400);
    await expectAnonymousError(forever.verifySessionToken(response.session_token), 'invalid_session_token', 401);
  });
});

describe('an unreachable store fails closed', () => {
  type Mode = 'ok' | 'hang' | 'reject' | 'throw';
  const TIMEOUT_MS = 50;
  let mode: Mode;
  let flaky: AnonymousSessions;

  /** A memory store whose calls hang, reject or throw while `mode` says so. */
  const flakyStore = (): SessionStore => {
    const inner = memoryStore();
    const call = <T>(operation: () => Promise<T>): Promise<T> => {
      if (mode === 'hang') return new Promise<T>(() => undefined);
      if (mode === 'reject') return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
      if (mode === 'throw') throw new Error('client is closed');
      return operation();
    };
    return {
      revokeSession: (sessionId, expiresAt) => call(() => inner.revokeSession(sessionId, expiresAt)),
      isSessionRevoked: (sessionId) => call(() => inner.isSessionRevoked(sessionId)),
      markOnce: (key, expiresAt) => call(() => inner.markOnce(key, expiresAt)),
      increment: (key, windowSeconds) => call(() => inner.increment(key, windowSeconds)),
    };
  };

  beforeEach(async () => {
    vi.useRealTimers();
    mode = 'ok';
    flaky = await engine({ store: flakyStore(), storeTimeoutMs: TIMEOUT_MS });
  });

  const expectUnavailable = async (promise: Promise<unknown>): Promise<number> => {
    const started = performance.now();
    const error = await expectAnonymousError(promise, 'temporarily_unavailable', 503);
    expect(error.headers['Retry-After']).toBe('1');
    expect(error.description).not.toMatch(/ECONNREFUSED|closed|timed out/);
    expect(error.cause).toBeDefined();
    return performance.now() - started;
  };

  it.each(['hang', 'reject', 'throw'] as const)('when its calls %s, within storeTimeoutMs', async (failure) => {
    const { response } = await flaky.issueToken({ client_id: CLIENT_ID }, { ip: '192.0.2.1' });
    mode = failure;
    const elapsed = [
      await expectUnavailable(flaky.issueToken({ client_id: CLIENT_ID }, { ip: '192.0.2.1' })),
      await expectUnavailable(flaky.issueToken({ client_id: CLIENT_ID, session_token: response.session_token })),
      await expectUnavailable(flaky.verifySessionToken(response.session_token)),
      await expectUnavailable(flaky.logout({ clientId: CLIENT_ID, sessionToken: response.session_token })),
      await expectUnavailable(
        flaky.verifyAccessToken(response.access_token, { audience: AUDIENCE, checkRevocation: true }),
      ),
      await expectUnavailable(flaky.issueToken({ client_id: CLIENT_ID }, { cookieSessionToken: response.session_token })),
    ];
    for (const ms of elapsed) {
      if (failure === 'hang') expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
      expect(ms).toBeLessThan(TIMEOUT_MS + 1000);
    }
  });

  it('and works again when the store comes back, without a restart', async () => {
    const { response } = await flaky.issueToken({ client_id: CLIENT_ID });
    mode = 'hang';
    await expectUnavailable(flaky.verifySessionToken(response.session_token));
    mode = 'ok';
    await expect(flaky.verifySessionToken(response.session_token)).resolves.toBeDefined();
    await expect(flaky.issueToken({ client_id: CLIENT_ID }, { ip: '192.0.2.1' })).resolves.toBeDefined();
  });

  it('but plain access-token verification does not need it', async () => {
    const { response } = await flaky.issueToken({ client_id: CLIENT_ID });
    mode = 'hang';
    await expect(flaky.verifyAccessToken(response.access_token, { audience: AUDIENCE })).resolves.toBeDefined();
  });
});

describe('claims mapping', () => {
  let mapped: AnonymousSessions;

  beforeEach(async () => {
    mapped = await engine({
      resourceServers: [
        {
          audience: AUDIENCE,
          allowAnonymousAccess: true,
          claimsMapping: {
            'https://shop.example.com/cart_id': 'anonymous_session.metadata.cart_id',
            'https://shop.example.com/session': 'anonymous_session.session_id',
            'https://shop.example.com/created_at': 'anonymous_session.created_at',
            'https://shop.example.com/guest': 'anonymous_session.user_id',
            'https://shop.example.com/theme': 'anonymous_session.metadata.prefs.theme',
          },
        },
      ],
    });
  });

  it('copies session values into the named claims and leaves out paths that resolve to nothing', async () => {
    const { response, session } = await mapped.issueToken({ client_id: CLIENT_ID });
    const claims = readJws(response.access_token).payload;
    expect(claims['https://shop.example.com/session']).toBe(session.session_id);
    expect(claims['https://shop.example.com/created_at']).toBe(session.created_at);
    expect(claims['https://shop.example.com/guest']).toBe(session.user_id);
    expect(claims).not.toHaveProperty('https://shop.example.com/cart_id');
    expect(claims).not.toHaveProperty('https://shop.example.com/theme');
  });

  it('follows the metadata as it changes', async () => {
    const first = await mapped.issueToken({
      client_id: CLIENT_ID,
      metadata: { cart_id: 'cart-123', prefs: { theme: 'dark' } },
    });
    expect(readJws(first.response.access_token).payload).toMatchObject({
      'https://shop.example.com/cart_id': 'cart-123',
      'https://shop.example.com/theme': 'dark',
    });
    const second = await mapped.issueToken({
      client_id: CLIENT_ID,
      session_token: first.response.session_token,
      metadata: { cart_id: null, prefs: 'plain' },
    });
    const claims = readJws(second.response.access_token).payload;
    expect(claims).not.toHaveProperty('https://shop.example.com/cart_id');
    expect(claims).not.toHaveProperty('https://shop.example.com/theme');
    // The mapped claims verify like any other.
    await expect(mapped.verifyAccessToken(second.response.access_token, { audience: AUDIENCE })).resolves.toMatchObject({
      'https://shop.example.com/session': first.session.session_id,
    });
  });

  it('never overrides the reserved claims', async () => {
    const { response, session } = await mapped.issueToken({
      client_id: CLIENT_ID,
      metadata: { cart_id: { sub: 'admin', nested: [1, 2] } },
    });
    const claims = readJws(response.access_token).payload;
    expect(claims.sub).toBe(session.user_id);
    expect(claims['https://shop.example.com/cart_id']).toEqual({ sub: 'admin', nested: [1, 2] });
  });
});

describe('jwks()', () => {
  it('serves the public signing key with its kid', () => {
    const { kid, kty, n, e } = signingJwk(keys);
    expect(anon.jwks()).toEqual({ keys: [{ kty, n, e, kid, use: 'sig', alg: 'RS256' }] });
  });
});

describe('metadataDocument()', () => {
  it('describes the issuer, its JWKS and its algorithms', () => {
    const document = anon.metadataDocument();
    expect(document).toMatchObject({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}.well-known/jwks.json`,
      id_token_signing_alg_values_supported: ['RS256'],
      access_token_signing_alg_values_supported: ['RS256'],
      anonymous_token_endpoint: `${ISSUER}anonymous/token`,
      anonymous_session_endpoint: `${ISSUER}anonymous/session`,
      anonymous_logout_endpoint: `${ISSUER}anonymous/logout`,
      scopes_supported: [...ANONYMOUS_SCOPES],
    });
    expect(Object.isFrozen(document)).toBe(true);
  });

  it('keeps an issuer without a trailing slash as given and still builds the URLs', async () => {
    const bare = await engine({ issuer: 'https://shop.example.com' });
    expect(bare.metadataDocument()).toMatchObject({
      issuer: 'https://shop.example.com',
      jwks_uri: 'https://shop.example.com/.well-known/jwks.json',
    });
    const { response } = await bare.issueToken({ client_id: CLIENT_ID });
    expect(readJws(response.access_token).payload.iss).toBe('https://shop.example.com');
  });

  it('honours a configured jwksUri and lists every signing algorithm of a rotated set', async () => {
    const mixed = await engine({
      jwksUri: 'https://cdn.example.com/jwks.json',
      keys: { keys: [...(await generateKeySet({ algorithm: 'ES256' })).keys, ...keys.keys] },
    });
    expect(mixed.metadataDocument()).toMatchObject({
      jwks_uri: 'https://cdn.example.com/jwks.json',
      id_token_signing_alg_values_supported: ['ES256', 'RS256'],
    });
  });

  it('leaves scopes_supported out when APIs come from a resolver', async () => {
    const resolved = await engine({ resourceServers: async () => undefined });
    expect(resolved.metadataDocument()).not.toHaveProperty('scopes_supported');
  });
});
