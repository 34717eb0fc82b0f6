/**
 * A resource server in ANOTHER process than the anonymous issuer, for the remote-guard test:
 * `node --conditions=source --import tsx test/support/remote-guard-server.ts`.
 *
 * It trusts the issuer only by `{ issuer, jwksUri }` (its JWKS over HTTP) and reads revocations
 * from the issuer's Redis store: `GET /api` has the store (logout reaches it), `GET /api/storeless`
 * has not (tokens live until exp).
 *
 * Environment: ANON_ISSUER, ANON_JWKS_URI, ANON_AUDIENCE, REDIS_URL, ANON_REDIS_PREFIX. It listens
 * on a free loopback port and prints `LISTENING <port>` when it is ready.
 */
import express from 'express';
import { Redis } from 'ioredis';
import { anonymousErrorHandler, getAuth, isAnonymous, requireAnonymousOrUser } from '@anonymous-sessions/express';
import { redisStore } from '@anonymous-sessions/redis';

const required = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const redisUrl = required('REDIS_URL');
if (new URL(redisUrl).hostname !== '127.0.0.1') throw new Error('this test server only talks to Redis on 127.0.0.1');
const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
const remote = { issuer: required('ANON_ISSUER'), jwksUri: required('ANON_JWKS_URI') };
const audience = required('ANON_AUDIENCE');
const quiet = { warn: () => undefined, error: () => undefined };

const app = express();
app.get('/instance', (_req, res) => {
  res.json({ pid: process.pid });
});
app.get(
  '/api',
  requireAnonymousOrUser({ anonymous: { ...remote, store: redisStore({ client, prefix: required('ANON_REDIS_PREFIX') }) }, audience, logger: quiet }),
  (req, res) => {
    res.json({ guest: isAnonymous(req), sid: getAuth(req)?.payload.sid });
  },
);
app.get('/api/storeless', requireAnonymousOrUser({ anonymous: remote, audience, logger: quiet }), (req, res) => {
  res.json({ guest: isAnonymous(req) });
});
app.use(anonymousErrorHandler({ logger: quiet }));

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
