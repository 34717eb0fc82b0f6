/**
 * The two apps of the cold-start measurement (`harness/cold-start.ts`), bundled by esbuild with
 * every package left external and run by plain `node` (no tsx), so `@anonymous-sessions/*`
 * load from their built `dist` as a host's app loads them. `ours`: `createAnonymousSessions()`
 * (memory store, every default on) and `anonymousTokenRouter`; `jose`: the hand-written jose
 * endpoint. Each listens on a free loopback port and reports `{ type: 'ready', port, readyMs }`
 * (ms since the process started) over IPC; the orchestrator then sends the first request.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { JWK } from 'jose';
import { createAnonymousSessions, memoryStore, type PrivateJwkSet } from '@anonymous-sessions/core';
import { anonymousErrorHandler, anonymousTokenRouter } from '@anonymous-sessions/express';
import { joseEndpointApp } from './jose-endpoint.js';
import { AUDIENCE, CLIENT_ID, HOST, SCOPES } from './shared.js';

const which = process.argv[2];
const keys = JSON.parse(readFileSync(process.env.COLD_KEYS_FILE!, 'utf8')) as PrivateJwkSet & { keys: JWK[] };
const server = createServer();
await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
const { port } = server.address() as AddressInfo;
const issuer = `http://${HOST}:${port}/`;
if (which === 'jose') {
  server.on('request', await joseEndpointApp(keys, 'RS256', 'jwe', issuer));
} else {
  const anon = await createAnonymousSessions({
    issuer,
    keys,
    clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
    resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: [...SCOPES] }],
    store: memoryStore(),
    logger: { warn: () => undefined, error: (message) => console.error(message) },
  });
  const app = express();
  app.use(anonymousTokenRouter(anon));
  app.use(anonymousErrorHandler());
  server.on('request', app);
}
process.send?.({ type: 'ready', port, readyMs: performance.now() });
process.on('disconnect', () => process.exit(0));
