/**
 * Fail closed, then recover, on PostgreSQL: the app's pool reaches the database through a TCP
 * proxy this test owns on a loopback port. Cutting the proxy (every connection dropped, new ones
 * refused) makes every store-backed call fail with 503 temporarily_unavailable within
 * storeTimeoutMs, never accepting a logged-out session; reopening it brings the same engine and
 * pool back without a restart.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnonymousSessionError,
  createAnonymousSessions,
  generateKeySet,
  type AnonymousSessions,
} from '@anonymous-sessions/core';
import { postgresStore } from '@anonymous-sessions/postgres';
import { describeWithService, freePort, waitFor } from '../../../test/support/services.js';
import { DATABASE_URL, dropSchema, privateSchema, probePostgres, testPool } from './postgres-service.js';

const STORE_TIMEOUT_MS = 500;
const MARGIN_MS = 400;

/** A loopback TCP proxy to the database that can be cut and restored. */
class CuttableProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();

  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  async open(): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = connect(this.target.port, this.target.host);
      for (const socket of [inbound, outbound]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

describeWithService(`PostgreSQL at ${DATABASE_URL}`, await probePostgres(), () => {
  describe('a database outage mid-run', () => {
    const schema = privateSchema('outage');
    let admin: pg.Pool;
    let appPool: pg.Pool;
    let proxy: CuttableProxy;
    let anon: AnonymousSessions;
    const latencies: number[] = [];

    const issue = (fields: Record<string, unknown>) => anon.issueToken({ client_id: 'shop-web', ...fields }, { ip: '192.0.2.1' });

    const expectUnavailable = async (what: string, call: () => Promise<unknown>): Promise<void> => {
      const started = performance.now();
      const error = await call().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      const elapsed = performance.now() - started;
      expect(error, what).toBeInstanceOf(AnonymousSessionError);
      expect((error as AnonymousSessionError).code, what).toBe('temporarily_unavailable');
      expect((error as AnonymousSessionError).status).toBe(503);
      expect(elapsed, `${what} took ${elapsed.toFixed(0)} ms`).toBeLessThan(STORE_TIMEOUT_MS + MARGIN_MS);
      latencies.push(elapsed);
    };

    beforeAll(async () => {
      admin = testPool();
      const target = new URL(DATABASE_URL);
      proxy = new CuttableProxy(await freePort(), { host: target.hostname, port: Number(target.port || 5432) });
      await proxy.open();
      const viaProxy = new URL(DATABASE_URL);
      viaProxy.port = String(proxy.port);
      appPool = testPool(viaProxy.toString());
      const store = await postgresStore({ pool: appPool, tableName: `${schema}.anonymous_sessions`, migrate: true });
      anon = await createAnonymousSessions({
        issuer: 'http://127.0.0.1/',
        keys: await generateKeySet(),
        clients: [{ clientId: 'shop-web', canCreateAnonymousSessions: true }],
        resourceServers: [{ audience: 'https://api.shop.example', allowAnonymousAccess: true }],
        store,
        metadataStorage: 'store',
        storeTimeoutMs: STORE_TIMEOUT_MS,
        logger: { warn: () => undefined, error: () => undefined },
      });
    });

    afterAll(async () => {
      await proxy?.cut();
      await appPool?.end().catch(() => undefined);
      await dropSchema(admin, schema);
      await admin.end();
      if (latencies.length > 0) {
        console.info(
          `[postgres-outage] 503 latency with storeTimeoutMs=${STORE_TIMEOUT_MS}: min ${Math.min(...latencies).toFixed(0)} / max ${Math.max(...latencies).toFixed(0)} ms (n=${latencies.length})`,
        );
      }
    });

    it('answers 503 within the bound while the database is unreachable, and recovers when it returns', async () => {
      const live = await issue({ metadata: { cart: ['A'] } });
      const ended = await issue({});
      await anon.logout({ clientId: 'shop-web', sessionToken: ended.response.session_token });

      await proxy.cut();
      await expectUnavailable('continuing a live session', () => issue({ session_token: live.response.session_token, metadata: { b: 1 } }));
      await expectUnavailable('continuing a logged-out session', () => issue({ session_token: ended.response.session_token }));
      await expectUnavailable('verifying a logged-out session', () => anon.verifySessionToken(ended.response.session_token));
      await expectUnavailable('creating a session', () => issue({}));

      await proxy.open();
      await waitFor('recovery', 20_000, async () => {
        await issue({ session_token: live.response.session_token });
        return true;
      }, 100);
      const continued = await issue({ session_token: live.response.session_token, metadata: { after: true } });
      expect(continued.session.metadata).toEqual({ cart: ['A'], after: true });
      const refused = await issue({ session_token: ended.response.session_token }).catch((caught: unknown) => caught);
      expect((refused as AnonymousSessionError).code).toBe('invalid_session_token');
    });
  });
});
