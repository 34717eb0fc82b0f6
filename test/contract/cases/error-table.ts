/**
 * Every row of the error table in docs/wire-contract.md, over HTTP: status, `error`, and a body that is exactly
 * `{ error, error_description }` with no stack trace, file path or token in it.
 */
import type { RequestListener } from 'node:http';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAnonymousSessions, memoryStore, type SessionStore } from '@anonymous-sessions/core';
import {
  advanceDate,
  AUDIENCE,
  CLIENT_ID,
  expectError,
  expectTokens,
  freezeDate,
  LOGOUT_PATH,
  quickStartEngineOptions,
  SESSION_PATH,
  setCookies,
  silentLogger,
  TOKEN_PATH,
  tokenRequest,
} from '../assertions.js';
import { BOOM, buildApp, type ContractApp, type ContractAppOptions, type Framework, type HostErrorBody } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function errorTableCases(framework: Framework): void {
  const quickStart = (options?: ContractAppOptions): Promise<ContractApp> => buildApp(framework, options);

  const postJson = (app: RequestListener, text: string) =>
    request(app).post(TOKEN_PATH).set('Content-Type', 'application/json').send(text);

  async function createSession(app: RequestListener): Promise<string> {
    return expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest())).session_token;
  }

  const userIdClient = { clientId: CLIENT_ID, canCreateAnonymousSessions: true, allowUserId: true };

  describe('400 invalid_request', () => {
    it.each([
      ['malformed JSON', '{"client_id": "shop-web",'],
      ['a JSON array body', '[{"client_id":"shop-web"}]'],
      ['a JSON string body', '"shop-web"'],
      ['a JSON null body', 'null'],
      ['missing client_id', '{"audience":"https://api.shop.example"}'],
      ['an empty JSON object', '{}'],
      ['client_id as a number', '{"client_id":42}'],
      ['client_id as an empty string', '{"client_id":""}'],
      ['audience as an object', '{"client_id":"shop-web","audience":{"x":1}}'],
      ['scope as an array', '{"client_id":"shop-web","scope":["anon"]}'],
      ['session_token as a number', '{"client_id":"shop-web","session_token":7}'],
      ['user_id without the anon| prefix', '{"client_id":"shop-web","user_id":"user|12345678"}'],
      ['user_id too short', '{"client_id":"shop-web","user_id":"anon|1234567"}'],
      ['user_id with forbidden characters', '{"client_id":"shop-web","user_id":"anon|abc.defgh!"}'],
      ['user_id too long', `{"client_id":"shop-web","user_id":"anon|${'a'.repeat(129)}"}`],
      ['user_id as a number', '{"client_id":"shop-web","user_id":12345678}'],
    ])('%s', async (_name, body) => {
      // The user_id rows run on a client that may choose user_id, so they test the id's own rules.
      const { app } = await quickStart(body.includes('user_id') ? { engine: { clients: [userIdClient] } } : {});
      const res = await postJson(app, body);
      expectError(res, 400, 'invalid_request');
      expect(setCookies(res)).toEqual([]);
    });

    it('an empty body', async () => {
      const { app } = await quickStart();
      expectError(await request(app).post(TOKEN_PATH), 400, 'invalid_request');
    });

    it('an unsupported content type', async () => {
      const { app } = await quickStart();
      expectError(
        await request(app).post(TOKEN_PATH).set('Content-Type', 'text/plain').send('client_id=shop-web'),
        400,
        'invalid_request',
      );
      expectError(
        await request(app).post(TOKEN_PATH).set('Content-Type', 'multipart/form-data; boundary=x').send('--x--'),
        400,
        'invalid_request',
      );
    });

    it('a repeated form parameter', async () => {
      const { app } = await quickStart();
      expectError(
        await request(app).post(TOKEN_PATH).type('form').send('client_id=shop-web&scope=anon&scope=write%3Acart'),
        400,
        'invalid_request',
      );
    });

    it('form metadata that is not JSON text', async () => {
      const { app } = await quickStart();
      expectError(
        await request(app).post(TOKEN_PATH).type('form').send('client_id=shop-web&metadata=%7Bnot-json'),
        400,
        'invalid_request',
      );
    });

    it('a body that is not UTF-8', async () => {
      const { app } = await quickStart();
      const res = await request(app)
        .post(TOKEN_PATH)
        .set('Content-Type', 'application/json')
        .send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
      expectError(res, 400, 'invalid_request');
    });

    it('user_id when continuing a session', async () => {
      const { app } = await quickStart({ engine: { clients: [userIdClient] } });
      const sessionToken = await createSession(app);
      expectError(
        await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: sessionToken, user_id: 'anon|abcdefgh' })),
        400,
        'invalid_request',
      );
    });

    it('no audience when the server has more than one API', async () => {
      const { app } = await quickStart({
        engine: {
          resourceServers: [
            { audience: AUDIENCE, allowAnonymousAccess: true },
            { audience: 'https://api.other.example', allowAnonymousAccess: true },
          ],
        },
      });
      expectError(await request(app).post(TOKEN_PATH).send({ client_id: CLIENT_ID }), 400, 'invalid_request');
    });

    it('logout without client_id or without any session token', async () => {
      const { app } = await quickStart();
      const sessionToken = await createSession(app);
      expectError(await request(app).post(LOGOUT_PATH).send({ session_token: sessionToken }), 400, 'invalid_request');
      expectError(await request(app).post(LOGOUT_PATH).send({ client_id: CLIENT_ID }), 400, 'invalid_request');
    });
  });

  describe('400 invalid_target', () => {
    it('an unknown audience', async () => {
      const { app } = await quickStart();
      expectError(
        await request(app).post(TOKEN_PATH).send(tokenRequest({ audience: 'https://api.unknown.example' })),
        400,
        'invalid_target',
      );
    });

    it('an audience a resolver does not know', async () => {
      const { app } = await quickStart({ engine: { resourceServers: async () => undefined } });
      expectError(await request(app).post(TOKEN_PATH).send(tokenRequest()), 400, 'invalid_target');
    });
  });

  describe('401 invalid_client', () => {
    it('an unknown client_id', async () => {
      const { app } = await quickStart();
      expectError(await request(app).post(TOKEN_PATH).send(tokenRequest({ client_id: 'unknown-app' })), 401, 'invalid_client');
    });

    it('a client_id a resolver does not know, and logout from an unknown client', async () => {
      const { app } = await quickStart({
        engine: {
          clients: async (id: string) => (id === CLIENT_ID ? { clientId: CLIENT_ID, canCreateAnonymousSessions: true } : undefined),
        },
      });
      const sessionToken = await createSession(app);
      expectError(await request(app).post(TOKEN_PATH).send(tokenRequest({ client_id: 'nobody' })), 401, 'invalid_client');
      expectError(
        await request(app).post(LOGOUT_PATH).send({ client_id: 'nobody', session_token: sessionToken }),
        401,
        'invalid_client',
      );
    });
  });

  describe('403 unauthorized_client', () => {
    it('a client that may not create anonymous sessions', async () => {
      const { app } = await quickStart({
        engine: {
          clients: [
            { clientId: CLIENT_ID, canCreateAnonymousSessions: true },
            { clientId: 'backoffice', canCreateAnonymousSessions: false },
          ],
        },
      });
      const sessionToken = await createSession(app);
      expectError(await request(app).post(TOKEN_PATH).send(tokenRequest({ client_id: 'backoffice' })), 403, 'unauthorized_client');
      // Nor may it continue someone's session.
      expectError(
        await request(app).post(TOKEN_PATH).send(tokenRequest({ client_id: 'backoffice', session_token: sessionToken })),
        403,
        'unauthorized_client',
      );
    });
  });

  describe('403 access_denied', () => {
    it('an API that does not allow anonymous access', async () => {
      const { app } = await quickStart({
        engine: {
          resourceServers: [
            { audience: AUDIENCE, allowAnonymousAccess: true },
            { audience: 'https://api.admin.example', allowAnonymousAccess: false, anonymousScopes: ['anon'] },
          ],
        },
      });
      expectError(
        await request(app).post(TOKEN_PATH).send(tokenRequest({ audience: 'https://api.admin.example' })),
        403,
        'access_denied',
      );
    });
  });

  describe('400 invalid_scope', () => {
    it.each([['admin'], ['anon admin'], ['read:products write:orders']])('scope %j', async (scope) => {
      const { app } = await quickStart();
      expectError(await request(app).post(TOKEN_PATH).send(tokenRequest({ scope })), 400, 'invalid_scope');
    });
  });

  describe('401 session_expired', () => {
    it('continuing, or reading, a session past its exp (frozen clock)', async () => {
      freezeDate();
      const { app } = await quickStart();
      const sessionToken = await createSession(app);

      // Inside the 15 s clock tolerance the token is still honoured for reading…
      advanceDate(2_592_000 + 10);
      expect((await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${sessionToken}`)).status).toBe(200);
      // …but continuing is refused once the session's exp has passed (no new tokens for a dead session).
      expectError(await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: sessionToken })), 401, 'session_expired');

      advanceDate(60);
      expectError(await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: sessionToken })), 401, 'session_expired');
      expectError(await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${sessionToken}`), 401, 'session_expired');
    });

    it('a tiny sessionLifetime', async () => {
      freezeDate();
      const { app } = await quickStart({ engine: { sessionLifetime: 1, clockTolerance: 0 } });
      const sessionToken = await createSession(app);
      advanceDate(2);
      expectError(await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: sessionToken })), 401, 'session_expired');
    });
  });

  describe('401 invalid_session_token', () => {
    it('tampered, other issuer, wrong type, garbage, after logout — all alike', async () => {
      const { app, anon } = await quickStart();
      const created = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest()));

      const parts = created.session_token.split('.');
      const ciphertext = parts[3]!;
      const flipped = (ciphertext[5] === 'A' ? 'B' : 'A') + '';
      const tampered = [...parts.slice(0, 3), ciphertext.slice(0, 5) + flipped + ciphertext.slice(6), parts[4]].join('.');

      // Same keys, other issuer: decrypts fine, but `iss` is not ours.
      const other = await createAnonymousSessions(
        await quickStartEngineOptions(silentLogger(), { issuer: 'https://evil.example/' }),
      );
      const foreign = (await other.issueToken(tokenRequest())).response.session_token;

      const descriptions = new Set<string>();
      for (const sessionToken of [tampered, foreign, created.access_token, 'not-a-token', `${created.session_token}x`]) {
        const res = await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: sessionToken }));
        expectError(res, 401, 'invalid_session_token');
        descriptions.add((res.body as { error_description: string }).error_description);
        expectError(
          await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${sessionToken}`),
          401,
          'invalid_session_token',
        );
      }
      // Every decryption or signature failure looks the same to the client.
      expect(descriptions.size).toBe(1);

      expect((await request(app).post(LOGOUT_PATH).send({ client_id: CLIENT_ID, session_token: created.session_token })).status).toBe(204);
      expectError(
        await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: created.session_token })),
        401,
        'invalid_session_token',
      );
      await expect(anon.verifySessionToken(created.session_token)).rejects.toMatchObject({ code: 'invalid_session_token' });
    });

    it('logout with a forged token', async () => {
      const { app } = await quickStart();
      expectError(
        await request(app).post(LOGOUT_PATH).send({ client_id: CLIENT_ID, session_token: 'eyJhbGciOiJkaXIifQ.x.y.z.w' }),
        401,
        'invalid_session_token',
      );
    });
  });

  describe('400 invalid_metadata', () => {
    it.each([
      ['a string', '"cart"'],
      ['an array', '[1,2]'],
      ['a number', '42'],
      ['true', 'true'],
      ['__proto__ (raw JSON text)', '{"__proto__":{"isAdmin":true}}'],
      ['a nested __proto__', '{"cart":{"__proto__":{"polluted":1}}}'],
      ['constructor', '{"constructor":{"prototype":{"polluted":1}}}'],
      ['prototype', '{"a":[{"prototype":1}]}'],
      ['nine levels deep', `${'{"a":'.repeat(9)}1${'}'.repeat(9)}`],
    ])('metadata as %s', async (_name, metadataText) => {
      const { app } = await quickStart();
      const res = await postJson(app, `{"client_id":"shop-web","metadata":${metadataText}}`);
      expectError(res, 400, 'invalid_metadata');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    });

    it('eight levels deep is still accepted', async () => {
      const { app } = await quickStart();
      expectTokens(await postJson(app, `{"client_id":"shop-web","metadata":${'{"a":'.repeat(8)}1${'}'.repeat(8)}}`));
    });

    it('metadata in a form body that is valid JSON but not an object', async () => {
      const { app } = await quickStart();
      expectError(await request(app).post(TOKEN_PATH).type('form').send('client_id=shop-web&metadata=%5B1%5D'), 400, 'invalid_metadata');
    });

    it('merged metadata that fails the host schema', async () => {
      const schema = z.object({ language: z.enum(['en', 'fr']).optional(), cart: z.array(z.string()).optional() }).strict();
      const { app, anon } = await quickStart({ engine: { metadata: { schema } } });
      const created = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest({ metadata: { language: 'en' } })));
      expect((await anon.verifySessionToken(created.session_token)).metadata).toEqual({ language: 'en' });

      expectError(
        await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: created.session_token, metadata: { language: 'xx' } })),
        400,
        'invalid_metadata',
      );
      expectError(await request(app).post(TOKEN_PATH).send(tokenRequest({ metadata: { unexpected: 1 } })), 400, 'invalid_metadata');
    });
  });

  describe('413 metadata_too_large', () => {
    it('one patch over maxBytes', async () => {
      const { app } = await quickStart();
      expectError(
        await request(app).post(TOKEN_PATH).send(tokenRequest({ metadata: { blob: 'x'.repeat(2100) } })),
        413,
        'metadata_too_large',
      );
    });

    it('patches that are each small but merge over maxBytes', async () => {
      const { app } = await quickStart();
      const first = expectTokens(
        await request(app).post(TOKEN_PATH).send(tokenRequest({ metadata: { a: 'x'.repeat(1200) } })),
      );
      const res = await request(app)
        .post(TOKEN_PATH)
        .send(tokenRequest({ session_token: first.session_token, metadata: { b: 'y'.repeat(1200) } }));
      expectError(res, 413, 'metadata_too_large');
      expect(setCookies(res)).toEqual([]);
    });
  });

  describe('429 too_many_requests', () => {
    it('session creation over the limit, with Retry-After; continuing is not limited', async () => {
      freezeDate('2030-01-01T00:00:00.000Z');
      const { app } = await quickStart({ engine: { rateLimit: { createPerMinute: 2 } } });
      const sessionToken = await createSession(app);
      advanceDate(20);
      await createSession(app);
      const res = await request(app).post(TOKEN_PATH).send(tokenRequest());
      expectError(res, 429, 'too_many_requests');
      // The window opened with the first creation, 20 s ago.
      expect(res.headers['retry-after']).toBe('40');

      expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: sessionToken })));
    });

    it('opens again when the window has passed', async () => {
      freezeDate();
      const { app } = await quickStart({ engine: { rateLimit: { createPerMinute: 1 } } });
      await createSession(app);
      expectError(await request(app).post(TOKEN_PATH).send(tokenRequest()), 429, 'too_many_requests');
      advanceDate(61);
      await createSession(app);
    });

    it('keys on req.ip: X-Forwarded-For counts only when the host trusts the proxy', async () => {
      const untrusted = await quickStart({ engine: { rateLimit: { createPerMinute: 1 } } });
      await request(untrusted.app).post(TOKEN_PATH).set('X-Forwarded-For', '203.0.113.1').send(tokenRequest()).expect(200);
      expectError(
        await request(untrusted.app).post(TOKEN_PATH).set('X-Forwarded-For', '203.0.113.2').send(tokenRequest()),
        429,
        'too_many_requests',
      );

      const trusted = await quickStart({
        engine: { rateLimit: { createPerMinute: 1 } },
        trustProxy: true,
      });
      await request(trusted.app).post(TOKEN_PATH).set('X-Forwarded-For', '203.0.113.1').send(tokenRequest()).expect(200);
      await request(trusted.app).post(TOKEN_PATH).set('X-Forwarded-For', '203.0.113.2').send(tokenRequest()).expect(200);
      expectError(
        await request(trusted.app).post(TOKEN_PATH).set('X-Forwarded-For', '203.0.113.1').send(tokenRequest()),
        429,
        'too_many_requests',
      );
    });

    it('rateLimit: false turns the limit off', async () => {
      const { app } = await quickStart({ engine: { rateLimit: false } });
      for (let index = 0; index < 61; index += 1) await createSession(app);
    });
  });

  /** A store whose every call never settles (a network partition). */
  function hangingStore(): SessionStore {
    const never = <T>(): Promise<T> => new Promise<T>(() => undefined);
    return { revokeSession: never, isSessionRevoked: never, markOnce: never, increment: never };
  }

  /** A store that is down: every call rejects (connection refused). */
  function failingStore(): SessionStore {
    const refuse = <T>(): Promise<T> => Promise.reject<T>(new Error('connect ECONNREFUSED 10.0.0.7:6379 (secret-host)'));
    return { revokeSession: refuse, isSessionRevoked: refuse, markOnce: refuse, increment: refuse };
  }

  /** A store that can be switched between working and down. */
  function flakyStore(): { store: SessionStore; down: { value: boolean } } {
    const inner = memoryStore();
    const down = { value: false };
    const call =
      <A extends unknown[], R>(method: (...args: A) => Promise<R>) =>
      (...args: A): Promise<R> =>
        down.value ? Promise.reject<R>(new Error('store down')) : method(...args);
    return {
      down,
      store: {
        revokeSession: call(inner.revokeSession),
        isSessionRevoked: call(inner.isSessionRevoked),
        markOnce: call(inner.markOnce),
        increment: call(inner.increment),
      },
    };
  }

  describe('503 temporarily_unavailable', () => {
    it.each([
      ['never resolves', hangingStore],
      ['rejects', failingStore],
    ])('a store that %s fails closed within storeTimeoutMs', async (_name, makeStore) => {
      const { app, anon, logger } = await quickStart({ engine: { store: makeStore(), storeTimeoutMs: 100 } });
      const started = Date.now();
      const res = await request(app).post(TOKEN_PATH).send(tokenRequest());
      expect(Date.now() - started).toBeLessThan(2000);
      expectError(res, 503, 'temporarily_unavailable');
      expect(res.headers['retry-after']).toBe('1');
      expect(setCookies(res)).toEqual([]);
      expect(res.text).not.toContain('secret-host');
      expect(logger.error).toHaveBeenCalled();

      // A session minted elsewhere cannot be continued, read or ended without the revocation check.
      const healthy = await createAnonymousSessions(
        await quickStartEngineOptions(silentLogger(), { store: memoryStore(), issuer: anon.config.issuer }),
      );
      const sessionToken = (await healthy.issueToken(tokenRequest())).response.session_token;
      expectError(
        await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: sessionToken })),
        503,
        'temporarily_unavailable',
      );
      expectError(
        await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${sessionToken}`),
        503,
        'temporarily_unavailable',
      );
      expectError(
        await request(app).post(LOGOUT_PATH).send({ client_id: CLIENT_ID, session_token: sessionToken }),
        503,
        'temporarily_unavailable',
      );
      // The outage is logged, never the token.
      expect(logger.error.mock.calls.length).toBeGreaterThanOrEqual(4);
      for (const call of logger.error.mock.calls) {
        expect(call.map((argument) => (argument instanceof Error ? `${argument.message} ${String(argument.cause)}` : String(argument))).join(' ')).not.toContain(
          sessionToken,
        );
      }
    });

    it('works again when the store comes back, without a restart', async () => {
      const { store, down } = flakyStore();
      const { app } = await quickStart({ engine: { store, storeTimeoutMs: 100 } });
      const sessionToken = await createSession(app);
      down.value = true;
      expectError(await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: sessionToken })), 503, 'temporarily_unavailable');
      down.value = false;
      expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: sessionToken })));
    });
  });

  describe('500 server_error', () => {
    it('a clients resolver that throws: generic body, logged server-side', async () => {
      const logger = silentLogger();
      const { app, logger: routerLogger } = await quickStart({
        engine: {
          logger,
          clients: async () => {
            throw new TypeError('pg: password authentication failed for user "shop" at /srv/app/db.js:12');
          },
        },
      });
      const res = await request(app).post(TOKEN_PATH).send(tokenRequest());
      expectError(res, 500, 'server_error');
      expect(res.body).toEqual({ error: 'server_error', error_description: 'An unexpected error occurred.' });
      expect(res.text).not.toMatch(/password|pg:|db\.js/);
      expect(logger.error).toHaveBeenCalledTimes(1);
      expect(logger.error.mock.calls[0]![1]).toBeInstanceOf(TypeError);
      expect(routerLogger.error).not.toHaveBeenCalled();
    });

    it('a resolver that returns a malformed resource server', async () => {
      const { app, logger } = await quickStart({ engine: { resourceServers: async () => ({ audience: 42 }) as never } });
      expectError(await request(app).post(TOKEN_PATH).send(tokenRequest()), 500, 'server_error');
      expect(logger.error).toHaveBeenCalled();
    });

    it('an unexpected error in a host route is the host’s: anonymousErrorHandler passes it on to the host’s handler (issue 11, item 6)', async () => {
      const { app, logger } = await quickStart();
      const res = await request(app).get('/boom');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ handled_by: 'host' } satisfies HostErrorBody);
      expect(res.text).not.toContain('internal detail');
      // Our handler did not render it, so it did not log it either: the host's handler owns it.
      expect(logger.error.mock.calls.some((call) => String(call[1]).includes(BOOM))).toBe(false);
    });
  });

}
