/**
 * Logout reaches a resource server in another PROCESS: the anonymous issuer (this test process:
 * the engine behind `anonymousTokenRouter` on a loopback port, on a Redis store) and a remote guard
 * (test/support/remote-guard-server.ts, its own process) trusting it by `{ issuer, jwksUri, store }`
 * with the same Redis prefix through its own connection. A logout at the issuer is refused by the
 * remote guard at once; the remote guard without the store keeps accepting the token until `exp`
 * (documented).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAnonymousSessions, generateKeySet } from '@anonymous-sessions/core';
import { anonymousErrorHandler, anonymousTokenRouter } from '@anonymous-sessions/express';
import { redisStore } from '@anonymous-sessions/redis';
import { deleteKeys, probeRedis, REDIS_URL, testClient } from '../packages/redis/test/redis-service.js';
import { describeWithService, randomSuffix } from './support/services.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVER = fileURLToPath(new URL('./support/remote-guard-server.ts', import.meta.url));
const AUDIENCE = 'https://api.shop.example';
const CLIENT_ID = 'shop-web';
const quiet = { warn: () => undefined, error: () => undefined };

/** Starts the remote guard process and waits for its `LISTENING <port>` line (bounded). */
async function startGuardProcess(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', SERVER], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the guard process did not start within 30 s: ${stderr}`)), 30_000);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /LISTENING (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the guard process exited with ${code}: ${stderr}`));
    });
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

describeWithService(`Redis at ${REDIS_URL}`, await probeRedis(), () => {
  describe('a remote guard in another process, sharing the issuer’s Redis store', () => {
    const prefix = `anon-test:remote-guard:${randomSuffix()}:`;
    const issuerClient = testClient();
    let issuerServer: Server | undefined;
    let issuerOrigin = '';
    let guard: { child: ChildProcess; url: string } | undefined;

    beforeAll(async () => {
      issuerServer = createServer();
      issuerServer.listen(0, '127.0.0.1');
      await once(issuerServer, 'listening');
      issuerOrigin = `http://127.0.0.1:${(issuerServer.address() as AddressInfo).port}`;
      const anon = await createAnonymousSessions({
        issuer: `${issuerOrigin}/`,
        keys: await generateKeySet(),
        clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
        resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: ['anon'] }],
        store: redisStore({ client: issuerClient, prefix }),
        rateLimit: false,
        logger: quiet,
      });
      const app = express();
      app.use(anonymousTokenRouter(anon, { cookie: false }));
      app.use(anonymousErrorHandler({ logger: quiet }));
      issuerServer.on('request', app);
      guard = await startGuardProcess({
        REDIS_URL,
        ANON_REDIS_PREFIX: prefix,
        ANON_ISSUER: `${issuerOrigin}/`,
        ANON_JWKS_URI: `${issuerOrigin}/.well-known/jwks.json`,
        ANON_AUDIENCE: AUDIENCE,
      });
    }, 60_000);

    afterAll(async () => {
      if (guard !== undefined && guard.child.exitCode === null) {
        const exited = once(guard.child, 'exit');
        guard.child.kill('SIGTERM');
        await exited;
      }
      issuerServer?.closeAllConnections();
      await new Promise<void>((resolve) => (issuerServer ? issuerServer.close(() => resolve()) : resolve()));
      await deleteKeys(issuerClient, prefix);
      await issuerClient.quit();
    });

    const post = async (path: string, body: Record<string, unknown>): Promise<{ status: number; body: Record<string, string> }> => {
      const response = await fetch(`${issuerOrigin}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await response.text();
      return { status: response.status, body: text ? (JSON.parse(text) as Record<string, string>) : {} };
    };
    const call = (path: string, token: string): Promise<Response> => fetch(`${guard!.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

    it('refuses the access token of a session logged out at the issuer; other sessions and the storeless guard are unaffected', async () => {
      const who = (await (await fetch(`${guard!.url}/instance`)).json()) as { pid: number };
      expect(who.pid).not.toBe(process.pid);

      const session = await post('/anonymous/token', { client_id: CLIENT_ID, audience: AUDIENCE });
      const other = await post('/anonymous/token', { client_id: CLIENT_ID, audience: AUDIENCE });
      expect(session.status).toBe(200);
      const accepted = await call('/api', session.body.access_token!);
      expect(accepted.status).toBe(200);
      expect(await accepted.json()).toMatchObject({ guest: true });

      expect((await post('/anonymous/logout', { client_id: CLIENT_ID, session_token: session.body.session_token })).status).toBe(204);

      const refused = await call('/api', session.body.access_token!);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe(
        'Bearer realm="api", error="invalid_token", error_description="The session behind this access token has ended."',
      );
      expect(await refused.json()).toEqual({ error: 'invalid_token', error_description: 'The session behind this access token has ended.' });
      expect((await call('/api', other.body.access_token!)).status).toBe(200);
      // Without the store the remote guard cannot know: the token lives until its exp (documented).
      expect((await call('/api/storeless', session.body.access_token!)).status).toBe(200);
    });
  });
});
