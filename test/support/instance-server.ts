/**
 * One app instance for the multi-instance test, run as its own process:
 * `node --import tsx test/support/instance-server.ts` (tsx maps the workspace packages to their
 * sources through the `paths` of tsconfig.base.json).
 *
 * Environment: REDIS_URL, ANON_REDIS_PREFIX, ANON_KEYS (a private JWK Set, JSON), ANON_INSTANCE
 * (a name), ANON_CREATE_PER_MINUTE. It listens on a free loopback port and prints
 * `LISTENING <port>` when it is ready.
 */
import express from 'express';
import { Redis } from 'ioredis';
import { createAnonymousSessions } from '@anonymous-sessions/core';
import { anonymousErrorHandler, anonymousTokenRouter } from '@anonymous-sessions/express';
import { redisStore } from '@anonymous-sessions/redis';

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const redisUrl = required('REDIS_URL');
if (new URL(redisUrl).hostname !== '127.0.0.1') throw new Error('this test server only talks to Redis on 127.0.0.1');
const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
const anon = await createAnonymousSessions({
  issuer: 'http://127.0.0.1/',
  keys: required('ANON_KEYS'),
  clients: [{ clientId: 'shop-web', canCreateAnonymousSessions: true }],
  resourceServers: [{ audience: 'https://api.shop.example', allowAnonymousAccess: true, anonymousScopes: ['anon', 'write:cart'] }],
  store: redisStore({ client, prefix: required('ANON_REDIS_PREFIX') }),
  metadataStorage: 'store',
  rateLimit: { createPerMinute: Number(process.env.ANON_CREATE_PER_MINUTE ?? 60) },
  storeTimeoutMs: 2000,
});

const app = express();
// The test sets X-Forwarded-For to give each scenario its own client address (rate-limit key).
app.set('trust proxy', 'loopback');
app.get('/instance', (_req, res) => {
  res.json({ instance: process.env.ANON_INSTANCE, pid: process.pid });
});
app.use(anonymousTokenRouter(anon, { cookie: false }));
app.use(anonymousErrorHandler({ logger: { warn: () => undefined, error: () => undefined } }));

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  process.stdout.write(`LISTENING ${address.port}\n`);
});

const shutdown = (): void => {
  server.close();
  client.disconnect();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
