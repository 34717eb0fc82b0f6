/**
 * Fail closed, then recover: the app runs on a Redis that this test started itself (redis-server on
 * a free loopback port, AOF on so data survives a crash). Mid-run the server is made unreachable
 * twice, first frozen (SIGSTOP: connections hang, like a network partition), then killed (SIGKILL:
 * connections refused). Every request that needs the store answers 503 temporarily_unavailable
 * within storeTimeoutMs (measured), a logged-out session is never answered with a 200, and once
 * Redis is back the same app, never restarted, works again.
 */
import express, { type Express } from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnonymousSessions, generateKeySet, type AnonymousSessions } from '@anonymous-sessions/core';
import { anonymousErrorHandler, anonymousTokenRouter } from '@anonymous-sessions/express';
import { redisStore } from '@anonymous-sessions/redis';
import { RedisServerProcess, redisBinaries } from './support/redis-server.js';
import { describeWithService, waitFor } from './support/services.js';

const STORE_TIMEOUT_MS = 500;
/** What a 503 may take beyond storeTimeoutMs: scheduling, JSON, supertest. */
const MARGIN_MS = 400;

describeWithService('redis-server (to start and stop a Redis of the test’s own)', redisBinaries(), () => {
  describe('a Redis outage mid-run', () => {
    let server: RedisServerProcess;
    let client: Redis;
    let anon: AnonymousSessions;
    let app: Express;
    let liveToken: string;
    let revokedToken: string;
    /** Logged out during the outages: the 503 may be followed by the logout landing once Redis is back. */
    let bystanderToken: string;
    const latencies: Record<string, number[]> = {};
    const errors: unknown[] = [];

    const token = (body: Record<string, unknown>) => request(app).post('/anonymous/token').send({ client_id: 'shop-web', ...body });

    /** Sends a request that must fail closed; records and checks how long the 503 took. */
    const expectUnavailable = async (phase: string, what: string, send: () => request.Test): Promise<void> => {
      const started = performance.now();
      const response = await send();
      const elapsed = performance.now() - started;
      expect(response.status, `${phase}: ${what}`).toBe(503);
      expect(response.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
      expect(JSON.stringify(response.body)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|timed out|stack/i);
      expect(elapsed, `${phase}: ${what} took ${elapsed.toFixed(0)} ms`).toBeLessThan(STORE_TIMEOUT_MS + MARGIN_MS);
      (latencies[phase] ??= []).push(elapsed);
    };

    const expectOutageAnswers = async (phase: string): Promise<void> => {
      await expectUnavailable(phase, 'continuing a live session', () => token({ session_token: liveToken, metadata: { during: phase } }));
      // Never a 200 for the logged-out session while the store cannot say it was logged out.
      await expectUnavailable(phase, 'continuing a logged-out session', () => token({ session_token: revokedToken }));
      await expectUnavailable(phase, 'reading a logged-out session', () =>
        request(app).get('/anonymous/session').set('Authorization', `Bearer ${revokedToken}`),
      );
      await expectUnavailable(phase, 'creating a session (rate limit)', () => token({}));
      await expectUnavailable(phase, 'logging out', () =>
        request(app).post('/anonymous/logout').send({ client_id: 'shop-web', session_token: bystanderToken }),
      );
    };

    const expectRecovered = async (phase: string): Promise<void> => {
      // The same app and client, never restarted: it works again once Redis answers.
      await waitFor(`recovery after ${phase}`, 20_000, async () => (await token({ session_token: liveToken })).status === 200, 100);
      const continued = await token({ session_token: liveToken, metadata: { after: phase } });
      expect(continued.status).toBe(200);
      const revoked = await token({ session_token: revokedToken });
      expect(revoked.status).toBe(401);
      expect(revoked.body.error).toBe('invalid_session_token');
      expect((await token({})).status).toBe(200);
    };

    beforeAll(async () => {
      // AOF with fsync on every write: the revocation must survive the SIGKILL below.
      server = await RedisServerProcess.start(['--appendonly', 'yes', '--appendfsync', 'always']);
      // ioredis defaults (offline queue, reconnect with backoff): nothing tuned for the test.
      client = new Redis({ host: '127.0.0.1', port: server.port });
      client.on('error', () => undefined);
      anon = await createAnonymousSessions({
        issuer: 'http://127.0.0.1/',
        keys: await generateKeySet(),
        clients: [{ clientId: 'shop-web', canCreateAnonymousSessions: true }],
        resourceServers: [{ audience: 'https://api.shop.example', allowAnonymousAccess: true }],
        store: redisStore({ client, prefix: 'anon-fault:' }),
        metadataStorage: 'store',
        storeTimeoutMs: STORE_TIMEOUT_MS,
        logger: { warn: () => undefined, error: (_message, error) => errors.push(error) },
      });
      app = express();
      app.use(anonymousTokenRouter(anon, { cookie: false }));
      app.use(anonymousErrorHandler({ logger: { warn: () => undefined, error: (_message, error) => errors.push(error) } }));
    }, 30_000);

    afterAll(async () => {
      client?.disconnect();
      await server?.destroy();
      const all = Object.values(latencies).flat();
      if (all.length > 0) {
        console.info(
          `[redis-fault] 503 latency with storeTimeoutMs=${STORE_TIMEOUT_MS}: ` +
            Object.entries(latencies)
              .map(([phase, values]) => `${phase} min ${Math.min(...values).toFixed(0)} / max ${Math.max(...values).toFixed(0)} ms (n=${values.length})`)
              .join('; '),
        );
      }
    });

    it('works, then logs a session out', async () => {
      const live = await token({ metadata: { cart: ['sku-1'] } });
      expect(live.status).toBe(200);
      liveToken = live.body.session_token as string;
      bystanderToken = (await token({})).body.session_token as string;
      const ended = await token({});
      revokedToken = ended.body.session_token as string;
      expect((await request(app).post('/anonymous/logout').send({ client_id: 'shop-web', session_token: revokedToken })).status).toBe(204);
      expect((await token({ session_token: revokedToken })).status).toBe(401);
    });

    it('answers 503 within storeTimeoutMs while Redis hangs (SIGSTOP), and recovers on SIGCONT', async () => {
      server.pause(true);
      try {
        await expectOutageAnswers('frozen');
      } finally {
        server.pause(false);
      }
      await expectRecovered('frozen');
    }, 60_000);

    it('answers 503 within storeTimeoutMs while Redis is down (SIGKILL), and recovers when it is started again', async () => {
      await server.stop();
      await expectOutageAnswers('killed');
      await server.restart();
      await expectRecovered('killed');
      // Nothing written while it was down leaked through: the live session's metadata is intact.
      const session = await request(app).get('/anonymous/session').set('Authorization', `Bearer ${liveToken}`);
      expect(session.status).toBe(200);
      expect(session.body.metadata).toMatchObject({ cart: ['sku-1'], after: 'killed' });
    }, 60_000);
  });
});
