/**
 * One app instance of the soak (`bench/soak/run.ts` starts two): Express with the token router,
 * a guarded API that checks revocation, `metadataStorage: 'store'` on the soak's own Redis.
 *
 * Run as `node --expose-gc --conditions=source --import tsx bench/soak/server.ts` with `SOAK_SERVER`
 * (JSON, {@link SoakServerLaunch}). Prints `LISTENING <port>` when ready, and every engine warning
 * or error as one `LOG <json>` line (the orchestrator counts them). `GET /soak/heap` collects
 * garbage and answers `process.memoryUsage()`.
 */
import { readFileSync } from 'node:fs';
import express from 'express';
import { Redis } from 'ioredis';
import { createAnonymousSessions, type Logger } from '@anonymous-sessions/core';
import { anonymousErrorHandler, anonymousTokenRouter, requireAnonymousOrUser } from '@anonymous-sessions/express';
import { redisStore } from '@anonymous-sessions/redis';
import { API_PATH, AUDIENCE, CLIENT_ID, HEAP_PATH, type SoakServerLaunch } from './shared.js';

const launch = JSON.parse(process.env.SOAK_SERVER ?? 'null') as SoakServerLaunch | null;
if (launch === null) throw new Error('SOAK_SERVER is required');
if (new URL(launch.redisUrl).hostname !== '127.0.0.1') throw new Error('the soak only talks to a Redis on 127.0.0.1');

const log = (level: 'warn' | 'error', message: string, error?: unknown): void => {
  const cause = error instanceof Error ? `${error.name}: ${error.message}` : undefined;
  process.stdout.write(`LOG ${JSON.stringify({ level, message, cause })}\n`);
};
const logger: Logger = { warn: (message) => log('warn', message), error: (message, error) => log('error', message, error) };

// ioredis defaults (offline queue, reconnect with backoff): what an app would run with.
const client = new Redis(launch.redisUrl);
client.on('error', () => undefined);
const anon = await createAnonymousSessions({
  issuer: 'http://127.0.0.1/',
  keys: readFileSync(launch.keysFile, 'utf8'),
  clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
  resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: ['anon', 'write:cart'] }],
  store: redisStore({ client, prefix: launch.prefix }),
  metadataStorage: 'store',
  revocationLoss: launch.revocationLoss,
  // One client address makes every guest: the creation limit would measure itself, not the store.
  rateLimit: false,
  storeTimeoutMs: launch.storeTimeoutMs,
  logger,
});

const app = express();
app.get(HEAP_PATH, (_req, res) => {
  (globalThis as { gc?: () => void }).gc?.();
  res.json(process.memoryUsage());
});
app.get(API_PATH, requireAnonymousOrUser({ anonymous: anon, audience: AUDIENCE, checkRevocation: true }), (req, res) => {
  res.json({ sid: req.auth?.payload.sid ?? null });
});
app.use(anonymousTokenRouter(anon, { cookie: false }));
app.use(anonymousErrorHandler({ logger }));

const server = app.listen(launch.port, '127.0.0.1', () => {
  process.stdout.write(`LISTENING ${launch.port}\n`);
});
server.keepAliveTimeout = 30_000;

const shutdown = (): void => {
  server.close();
  client.disconnect();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
