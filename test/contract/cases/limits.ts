/**
 * Secure-by-default limits over HTTP: a client-chosen `user_id` only for clients that opted in,
 * the per-session continue limit, creation buckets that a forged `X-Forwarded-For` cannot multiply
 * behind the proxy settings the READMEs give (Express `trust proxy: 1`, Koa `app.proxy` with
 * `maxIpsCount: 1`), IPv6 per /64, and a full `memoryStore()` that refuses new sessions (503) while
 * keeping every logout.
 */
import type { RequestListener } from 'node:http';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { memoryStore } from '@anonymous-sessions/core';
import {
  advanceDate,
  CLIENT_ID,
  expectError,
  expectTokens,
  freezeDate,
  LOGOUT_PATH,
  SESSION_PATH,
  setCookies,
  TOKEN_PATH,
  tokenRequest,
} from '../assertions.js';
import { buildApp, type ContractApp, type ContractAppOptions, type Framework } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function limitCases(framework: Framework): void {
  const quickStart = (options?: ContractAppOptions): Promise<ContractApp> => buildApp(framework, options);

  /** A token request that reached the app through one proxy which appended the peer's address. */
  const viaProxy = (app: RequestListener, forwardedFor: string, fields: Record<string, unknown> = {}) =>
    request(app).post(TOKEN_PATH).set('X-Forwarded-For', forwardedFor).send(tokenRequest(fields));

  describe('client-chosen user_id', () => {
    const chooser = { clientId: CLIENT_ID, canCreateAnonymousSessions: true, allowUserId: true };

    it('is refused with 400 invalid_request for a client that did not opt in (the default)', async () => {
      const { app } = await quickStart();
      for (const res of [
        await request(app).post(TOKEN_PATH).send(tokenRequest({ user_id: 'anon|device_1234-abc' })),
        await request(app).post(TOKEN_PATH).type('form').send(`client_id=${CLIENT_ID}&user_id=anon%7Cdevice_1234-abc`),
      ]) {
        expectError(res, 400, 'invalid_request');
        expect(res.body.error_description).toMatch(/allowUserId/);
        expect(setCookies(res)).toEqual([]);
      }
    });

    it('is accepted on creation for a client with allowUserId, and only for that client', async () => {
      const { app, anon } = await quickStart({
        engine: { clients: [chooser, { clientId: 'widget', canCreateAnonymousSessions: true }] },
      });
      const body = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest({ user_id: 'anon|device_1234-abc' })));
      expect((await anon.verifySessionToken(body.session_token)).user_id).toBe('anon|device_1234-abc');
      expectError(
        await request(app).post(TOKEN_PATH).send(tokenRequest({ client_id: 'widget', user_id: 'anon|device_1234-abc' })),
        400,
        'invalid_request',
      );
    });

    it('still cannot rename a session it continues', async () => {
      const { app } = await quickStart({ engine: { clients: [chooser] } });
      const { session_token } = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest()));
      expectError(
        await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token, user_id: 'anon|someone-else' })),
        400,
        'invalid_request',
      );
    });
  });

  describe('continue rate limit', () => {
    it('answers 429 too_many_requests with Retry-After once one session continued continuePerMinute times', async () => {
      freezeDate('2030-01-01T00:00:00.000Z');
      const { app } = await quickStart({ engine: { rateLimit: { continuePerMinute: 2 } } });
      const { session_token } = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest()));
      advanceDate(5);
      const second = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token })));
      advanceDate(15);
      expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: second.session_token })));

      const res = await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token }));
      expectError(res, 429, 'too_many_requests');
      // The window opened with the first continue, 15 s ago.
      expect(res.headers['retry-after']).toBe('45');
      expect(setCookies(res)).toEqual([]);
      // The newest token of the session is limited too; another session is not.
      expectError(await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: second.session_token })), 429, 'too_many_requests');
      const other = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest()));
      expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: other.session_token })));

      advanceDate(45);
      expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token })));
    });

    it('is not reset by a new X-Forwarded-For: it counts per session', async () => {
      const { app } = await quickStart({ engine: { rateLimit: { continuePerMinute: 2 } }, trustProxy: 1 });
      const { session_token } = expectTokens(await viaProxy(app, '198.51.100.7'));
      expectTokens(await viaProxy(app, '198.51.100.8', { session_token }));
      expectTokens(await viaProxy(app, '2001:db8:7::1', { session_token }));
      expectError(await viaProxy(app, '192.0.2.200', { session_token }), 429, 'too_many_requests');
    });
  });

  describe('creation rate limit behind the README proxy settings', () => {
    const behindOneProxy = (createPerMinute: number) =>
      quickStart({ engine: { rateLimit: { createPerMinute } }, trustProxy: 1 });

    it('a forged X-Forwarded-For opens no new bucket (Express trust proxy 1, Koa app.proxy + maxIpsCount 1)', async () => {
      const { app } = await behindOneProxy(2);
      // The client forges entries; the proxy appends the address it saw, 198.51.100.7.
      expectTokens(await viaProxy(app, '203.0.113.1, 198.51.100.7'));
      expectTokens(await viaProxy(app, '203.0.113.2, 10.0.0.1, 198.51.100.7'));
      for (const forged of ['203.0.113.3', '2001:db8:dead::1', 'unknown', '']) {
        const res = await viaProxy(app, `${forged}, 198.51.100.7`);
        expectError(res, 429, 'too_many_requests');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
      // Another client behind the same proxy has its own bucket.
      expectTokens(await viaProxy(app, '203.0.113.1, 198.51.100.8'));

      // Why the READMEs forbid trusting every hop: then the forged first entry is the address.
      const trustingAll = await quickStart({ engine: { rateLimit: { createPerMinute: 1 } }, trustProxy: true });
      for (const forged of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) expectTokens(await viaProxy(trustingAll.app, `${forged}, 198.51.100.7`));
    });

    it('counts IPv6 clients per /64 of the address the framework reports', async () => {
      const { app } = await behindOneProxy(2);
      expectTokens(await viaProxy(app, '2001:db8:1:2::1'));
      expectTokens(await viaProxy(app, '203.0.113.9, 2001:db8:1:2:ffff:ffff:ffff:fffe'));
      expectError(await viaProxy(app, '2001:0db8:0001:0002:abcd::1'), 429, 'too_many_requests');
      // The neighbouring /64 is another subscriber.
      expectTokens(await viaProxy(app, '2001:db8:1:3::1'));
    });

    it('counts an IPv4-mapped address as the IPv4 address', async () => {
      const { app } = await behindOneProxy(2);
      expectTokens(await viaProxy(app, '198.51.100.20'));
      expectTokens(await viaProxy(app, '::ffff:198.51.100.20'));
      expectError(await viaProxy(app, '198.51.100.20'), 429, 'too_many_requests');
    });
  });

  describe('a full memoryStore()', () => {
    it('answers 503 on creation while it keeps every logout, and recovers as entries expire', async () => {
      freezeDate('2030-01-01T00:00:00.000Z');
      // 10 entries: rate-limit counters stop at 9, revocations may use all 10.
      const { app, logger } = await quickStart({
        engine: { store: memoryStore({ maxEntries: 10 }), rateLimit: { createPerMinute: 100 } },
        trustProxy: 1,
      });
      const first = expectTokens(await viaProxy(app, '198.51.100.1'));
      const second = expectTokens(await viaProxy(app, '198.51.100.1'));
      expect((await request(app).post(LOGOUT_PATH).send({ client_id: CLIENT_ID, session_token: first.session_token })).status).toBe(204);
      for (let host = 2; host <= 8; host += 1) expectTokens(await viaProxy(app, `198.51.100.${host}`));

      const refused = await viaProxy(app, '198.51.100.9');
      expectError(refused, 503, 'temporarily_unavailable');
      expect(refused.headers['retry-after']).toBe('1');
      expect(setCookies(refused)).toEqual([]);
      expect(logger.error).toHaveBeenCalledWith(expect.stringMatching(/full/), expect.anything());

      // Nothing was forgotten to make room: the logged-out session stays ended...
      expectError(await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: first.session_token })), 401, 'invalid_session_token');
      expectError(await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${first.session_token}`), 401, 'invalid_session_token');
      // ...and a logout still fits while the store is full of counters.
      expect((await request(app).post(LOGOUT_PATH).send({ client_id: CLIENT_ID, session_token: second.session_token })).status).toBe(204);
      expectError(await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${second.session_token}`), 401, 'invalid_session_token');

      // Once the counters' window is over they are swept out, and sessions can be created again.
      advanceDate(60);
      expectTokens(await viaProxy(app, '198.51.100.9'));
      for (const { session_token } of [first, second]) {
        expectError(await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${session_token}`), 401, 'invalid_session_token');
      }
    });
  });
}
