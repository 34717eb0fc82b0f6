/**
 * A `node:cluster` recipe for issuance with the Redis store: one primary that forks one worker per
 * core, each worker an ordinary Express app with its own engine, all sharing one port (the primary
 * hands connections round-robin), one Redis and one key set. What every worker must share, and
 * why:
 *
 * - **the keys** (`ANON_KEYS_FILE`, a private JWK Set from `npx -p @anonymous-sessions/core
 *   anonymous-sessions keys generate`): a token signed by one worker is verified by another; never let each
 *   worker generate its own;
 * - **the store** (`REDIS_URL`): revocations, rate-limit counters and the epoch marker are read by
 *   every worker, so a logout on one is seen by all;
 * - **the issuer**: the same `issuer` in every engine.
 *
 *   ANON_KEYS_FILE=keys.json REDIS_URL=redis://127.0.0.1:6379 node --import tsx bench/cluster.ts --workers 2 --port 3000
 *
 * The bench (`harness/cluster.ts`) forks it with IPC and measures it from 1 to N workers; the
 * primary then reports `{ type: 'ready', port }` once every worker listens, and ends its workers
 * on `{ type: 'shutdown' }`, SIGTERM or SIGINT. In production, prefer the platform's process
 * manager (systemd, PM2 in cluster mode, one container per core) to restart a crashed worker; this
 * primary restarts one itself, once per second at most.
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import express from 'express';
import { Redis } from 'ioredis';
import { createAnonymousSessions, type PrivateJwkSet } from '@anonymous-sessions/core';
import { anonymousErrorHandler, anonymousTokenRouter } from '@anonymous-sessions/express';
import { redisStore } from '@anonymous-sessions/redis';
import { AUDIENCE, CLIENT_ID, HOST, SCOPES } from './shared.js';

const { values: flags } = parseArgs({
  options: { workers: { type: 'string' }, port: { type: 'string' } },
  allowPositionals: false,
});

if (cluster.isPrimary) {
  const workers = Number(flags.workers ?? availableParallelism());
  const port = Number(flags.port ?? process.env.PORT ?? 3000);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new Error(`bad --workers: ${flags.workers}`);
  let listening = 0;
  let stopping = false;
  let lastRestart = 0;
  cluster.on('listening', () => {
    listening += 1;
    if (listening === workers) process.send?.({ type: 'ready', port, workers });
  });
  cluster.on('exit', (worker, code) => {
    if (stopping) return;
    // A crashed worker is replaced (at most once a second, so a worker that cannot start does not spin).
    const wait = Math.max(0, lastRestart + 1000 - Date.now());
    lastRestart = Date.now() + wait;
    console.error(`[cluster] worker ${worker.process.pid} exited with ${code}; starting another`);
    setTimeout(() => cluster.fork({ PORT: String(port) }), wait);
  });
  for (let i = 0; i < workers; i += 1) cluster.fork({ PORT: String(port) });
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.send({ type: 'shutdown' });
    setTimeout(() => process.exit(0), 5000).unref();
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  };
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'shutdown') shutdown();
  });
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.on('disconnect', shutdown);
} else {
  await worker();
}

/** One worker: the engine on the shared keys and Redis, the token router, the shared port. */
async function worker(): Promise<void> {
  const keysFile = process.env.ANON_KEYS_FILE;
  if (keysFile === undefined) throw new Error('ANON_KEYS_FILE is required: every worker must sign with the same keys');
  const port = Number(process.env.PORT ?? 3000);
  const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  const prefix = process.env.ANON_REDIS_PREFIX ?? 'anon:';
  const anon = await createAnonymousSessions({
    issuer: process.env.ANON_ISSUER ?? `http://${HOST}:${port}/`,
    keys: JSON.parse(readFileSync(keysFile, 'utf8')) as PrivateJwkSet,
    clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
    resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: [...SCOPES] }],
    store: redisStore({ client, prefix }),
    // The bench loads from one address; a real deployment keeps the default limits.
    ...(process.env.ANON_BENCH === '1' ? { rateLimit: false as const } : {}),
  });
  const app = express();
  app.disable('x-powered-by');
  app.use(anonymousTokenRouter(anon, process.env.ANON_BENCH === '1' ? { cookie: { secure: false } } : {}));
  app.use(anonymousErrorHandler());
  const server = app.listen(port, HOST);
  server.keepAliveTimeout = 65_000;
  process.on('message', (message: { type?: string }) => {
    if (message.type !== 'shutdown') return;
    server.closeAllConnections();
    server.close();
    void client.quit().finally(() => process.exit(0));
  });
}
