/**
 * One benchmark server: builds the app named by `BENCH_SERVER` (a {@link ServerLaunch} as JSON),
 * listens on 127.0.0.1 on a free port, and tells the orchestrator its port over IPC. It exits
 * cleanly (so `--cpu-prof` writes its profile) on a `shutdown` message, SIGTERM or SIGINT.
 *
 * Run only by `run.ts` (forked with `--import tsx` under `tsconfig.builds.json`, so our packages
 * load from their builds, as in a host: `harness/builds.ts`).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler } from 'express';
import type { JWK } from 'jose';
import { auth } from 'express-oauth2-jwt-bearer';
import { expressjwt } from 'express-jwt';
import jwksRsa from 'jwks-rsa';
import {
  createAnonymousSessions,
  memoryStore,
  type AnonymousSessions,
  type AnonymousSessionsOptions,
  type PrivateJwkSet,
  type SessionStore,
} from '@anonymous-sessions/core';
import { anonymousErrorHandler, anonymousTokenRouter, isAnonymous, requireAnonymousOrUser } from '@anonymous-sessions/express';
import { AUDIENCE, CLIENT_ID, GUARDED_PATH, HOST, SCOPES, type ServerLaunch, type ServerMessage, type ServerSpec } from './shared.js';
import { loadKoaBinding, loadKoa, loadRedisStore, type KoaMiddleware } from './optional.js';
import { joseEndpointApp } from './jose-endpoint.js';
import { joseGuardApp } from './jose-guard.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const launch = JSON.parse(process.env.BENCH_SERVER ?? 'null') as ServerLaunch | null;
if (launch === null) {
  console.error('server.ts is run by bench/run.ts (BENCH_SERVER is not set)');
  process.exit(2);
}

const quietLogger = {
  warn: () => undefined,
  error: (message: string) => console.error(`[bench server] ${message}`),
};

const closers: (() => Promise<void>)[] = [];
/** Calls of the counting `clients` resolver (`countingClients`). */
let clientLookups: number | undefined;

function send(message: ServerMessage): void {
  if (process.send) process.send(message);
  else console.log(JSON.stringify(message));
}

async function engine(issuer: string, options: Partial<AnonymousSessionsOptions> = {}): Promise<AnonymousSessions> {
  const keys = JSON.parse(readFileSync(launch!.keysFile, 'utf8')) as PrivateJwkSet;
  return createAnonymousSessions({
    issuer,
    keys,
    clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
    resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: [...SCOPES] }],
    store: memoryStore(),
    rateLimit: false,
    logger: quietLogger,
    ...options,
  });
}

/** The options of an issuing engine: its store, and every default on or the bench's relaxations. */
async function issuerOptions(spec: Extract<ServerSpec, { kind: 'issuer' }>): Promise<Partial<AnonymousSessionsOptions>> {
  const store = spec.store === 'redis' ? await redisStoreForRun() : memoryStore();
  const options: Partial<AnonymousSessionsOptions> = { sessionTokenFormat: spec.format, store };
  // Every request comes from one address: the limits are counted (their store calls measured) but
  // set where no run reaches them.
  if (spec.defaults === true) options.rateLimit = { createPerMinute: 1_000_000_000, continuePerMinute: 1_000_000_000 };
  if (spec.countingClients === true) {
    clientLookups = 0;
    const client = { clientId: CLIENT_ID, canCreateAnonymousSessions: true };
    options.clients = (clientId: string) => {
      clientLookups! += 1;
      return clientId === CLIENT_ID ? client : undefined;
    };
  }
  return options;
}

/** The token router's cookie: the default (Secure) with every default on, else without Secure (plain HTTP). */
const routerOptions = (spec: Extract<ServerSpec, { kind: 'issuer' }>) => (spec.defaults === true ? {} : { cookie: { secure: false } });

async function redisStoreForRun(): Promise<SessionStore> {
  const { redisStore, Redis } = await loadRedisStore();
  const client = new Redis(launch!.redisUrl ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, connectTimeout: 2000 });
  const prefix = launch!.redisPrefix ?? `anon-bench:${process.pid}:`;
  closers.push(async () => {
    // Leave nothing behind: delete this run's keys (its own prefix only), then disconnect.
    let cursor = '0';
    let rounds = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
      rounds += 1;
    } while (cursor !== '0' && rounds < 10_000);
    await client.quit();
  });
  return redisStore({ client, prefix });
}

const renderPeerErrors: ErrorRequestHandler = (error: { status?: number; headers?: Record<string, string> }, _req, res, _next) => {
  res.status(error.status ?? 500).set(error.headers ?? {}).json({ error: 'unauthorized' });
};

async function expressApp(spec: ServerSpec, ownIssuer: string): Promise<Handler> {
  const app = express();
  app.disable('x-powered-by');
  const trusted = launch!.trustedIssuer ?? ownIssuer;
  switch (spec.kind) {
    case 'bare':
      app.get(GUARDED_PATH, (_req, res) => {
        res.json({ guest: true });
      });
      break;
    case 'noop':
      app.get(
        GUARDED_PATH,
        (_req, _res, next) => {
          next();
        },
        (_req, res) => {
          res.json({ guest: true });
        },
      );
      break;
    case 'set-auth': {
      // The floor of any guard that leaves its result on the request: one property added to
      // `req` (Express 5 swaps every request's prototype, after which V8 gives each property added
      // to it a map of its own), here a constant object, nothing verified.
      const result = Object.freeze({ token: '', header: Object.freeze({}), payload: Object.freeze({}), isAnonymous: true });
      app.get(
        GUARDED_PATH,
        (req, _res, next) => {
          (req as { auth?: unknown }).auth = result;
          next();
        },
        (_req, res) => {
          res.json({ guest: true });
        },
      );
      break;
    }
    case 'guard': {
      const anon = await engine(trusted, spec.store === 'redis' ? { store: await redisStoreForRun() } : {});
      const options = { anonymous: anon, audience: AUDIENCE, checkRevocation: spec.checkRevocation, ...(spec.cache ? {} : { cache: false as const }) };
      app.get(GUARDED_PATH, requireAnonymousOrUser(options), (req, res) => {
        res.json({ guest: isAnonymous(req) });
      });
      // With checkRevocation, the tokens come from this engine (same issuer, keys and store, as one
      // deployment shares them), so their store_epoch is this store's. After the guarded route:
      // guarded requests never pass through it.
      if (spec.checkRevocation) app.use(anonymousTokenRouter(anon, { cookie: { secure: false } }));
      app.use(anonymousErrorHandler({ logger: quietLogger }));
      break;
    }
    case 'peer-oauth2-jwt-bearer':
      app.get(GUARDED_PATH, auth({ issuerBaseURL: trusted, audience: AUDIENCE }), (_req, res) => {
        res.json({ guest: true });
      });
      app.use(renderPeerErrors);
      break;
    case 'jose-guard':
      return (await joseGuardApp(JSON.parse(readFileSync(launch!.keysFile, 'utf8')) as { keys: JWK[] }, trusted)) as unknown as Handler;
    case 'peer-express-jwt':
      app.get(
        GUARDED_PATH,
        expressjwt({
          secret: jwksRsa.expressJwtSecret({ jwksUri: `${trusted}.well-known/jwks.json`, cache: true, rateLimit: true, jwksRequestsPerMinute: 10 }),
          audience: AUDIENCE,
          issuer: trusted,
          algorithms: ['RS256'],
        }),
        (_req, res) => {
          res.json({ guest: true });
        },
      );
      app.use(renderPeerErrors);
      break;
    case 'issuer': {
      const anon = await engine(ownIssuer, await issuerOptions(spec));
      app.use(anonymousTokenRouter(anon, routerOptions(spec)));
      app.use(anonymousErrorHandler({ logger: quietLogger }));
      break;
    }
    case 'jose-issuer':
      return (await joseEndpointApp(JSON.parse(readFileSync(launch!.keysFile, 'utf8')) as { keys: JWK[] }, spec.algorithm, spec.format, ownIssuer)) as unknown as Handler;
  }
  return app as unknown as Handler;
}

async function koaApp(spec: ServerSpec, ownIssuer: string): Promise<Handler> {
  const Koa = await loadKoa();
  const app = new Koa();
  const route = (body: KoaMiddleware): KoaMiddleware => async (ctx, next) => {
    if (ctx.path === GUARDED_PATH && ctx.method === 'GET') await body(ctx, next);
    else await next();
  };
  switch (spec.kind) {
    case 'bare':
      app.use(
        route(async (ctx) => {
          ctx.body = { guest: true };
        }),
      );
      break;
    case 'noop':
      app.use(async (_ctx, next) => {
        await next();
      });
      app.use(
        route(async (ctx) => {
          ctx.body = { guest: true };
        }),
      );
      break;
    case 'guard': {
      const binding = await loadKoaBinding();
      const anon = await engine(launch!.trustedIssuer ?? ownIssuer, spec.store === 'redis' ? { store: await redisStoreForRun() } : {});
      const guard = binding.requireAnonymousOrUser({ anonymous: anon, audience: AUDIENCE, checkRevocation: spec.checkRevocation, ...(spec.cache ? {} : { cache: false as const }) });
      // With checkRevocation, the tokens come from this engine (as on Express): its token router
      // answers /anonymous/…, the guard everything else.
      const tokens = spec.checkRevocation && binding.anonymousTokenRouter !== undefined ? binding.anonymousTokenRouter(anon, { cookie: { secure: false } }) : undefined;
      app.use(tokens === undefined ? guard : (ctx, next) => (ctx.path.startsWith('/anonymous/') ? tokens(ctx, next) : guard(ctx, next)));
      app.use(
        route(async (ctx) => {
          ctx.body = { guest: (ctx.state.auth as { isAnonymous?: boolean } | undefined)?.isAnonymous === true };
        }),
      );
      break;
    }
    case 'issuer': {
      const binding = await loadKoaBinding();
      if (binding.anonymousTokenRouter === undefined) throw new Error('@anonymous-sessions/koa does not export anonymousTokenRouter');
      const anon = await engine(ownIssuer, await issuerOptions(spec));
      app.use(binding.anonymousTokenRouter(anon, routerOptions(spec)));
      break;
    }
    default:
      throw new Error(`${spec.kind} has no Koa variant`);
  }
  return app.callback();
}

async function main(): Promise<void> {
  const { spec } = launch!;
  // Listen first (the port makes the issuer), attach the app once built, then report ready.
  const server = createServer();
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const ownIssuer = `http://${HOST}:${port}/`;
  const framework = 'framework' in spec ? spec.framework : 'express';
  server.on('request', framework === 'koa' ? await koaApp(spec, ownIssuer) : await expressApp(spec, ownIssuer));

  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    server.closeAllConnections();
    server.close();
    Promise.allSettled(closers.map((close) => close())).finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('message', (message: { type?: string; id?: number }) => {
    if (message.type === 'shutdown') shutdown();
    if (message.type === 'cpu') {
      const { user, system } = process.cpuUsage();
      send({ type: 'cpu', id: message.id ?? 0, user, system, ...(clientLookups === undefined ? {} : { clientLookups }) });
    }
  });
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // The orchestrator going away (crash, Ctrl-C) must never leave this server running.
  process.on('disconnect', shutdown);
  // Where our packages came from (the harness refuses a server that loaded their sources: builds.ts).
  send({ type: 'ready', port, uptimeMs: process.uptime() * 1000, core: import.meta.resolve('@anonymous-sessions/core') });
}

main().catch((error: unknown) => {
  send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
