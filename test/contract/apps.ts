/**
 * The contract app: ONE description of a shop (token router, a cookie-extractor page, guarded API
 * routes, login start and sign-up / login callbacks with session transfer, the JSON error handler),
 * built for Express with `@anonymous-sessions/express` and for Koa with `@anonymous-sessions/koa`.
 * Every contract case builds its app here, so both frameworks answer the very same requests.
 *
 * Koa's token router is mounted straight on the app (no router library); its host routes use
 * `@koa/router`, so the bindings are exercised both with and without it.
 */
import type { RequestListener } from 'node:http';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import express, { type NextFunction, type Request, type Response } from 'express';
import Koa, { type Context, type Next } from 'koa';
import {
  createAnonymousSessions,
  type AnonymousSession,
  type AnonymousSessions,
  type AnonymousSessionsOptions,
  type TransferHook,
  type TransferResult,
  type UsersAdapter,
} from '@anonymous-sessions/core';
import {
  type BearerGuardOptions,
  safeRedirectTarget,
  type AuthenticatedUser,
  type AuthResult,
  type ClaimPredicate,
  type ClaimValue,
  type SessionCookieOptions,
  type TokenEndpointsOptions,
} from '@anonymous-sessions/core/http';
import * as expressBinding from '@anonymous-sessions/express';
import * as fetchBinding from '@anonymous-sessions/fetch';
import * as honoBinding from '@anonymous-sessions/fetch/hono';
import * as koaBinding from '@anonymous-sessions/koa';
import { quickStartEngineOptions, silentLogger, type SilentLogger } from './assertions.js';
import { buildHono, buildNext } from './fetch-apps.js';

/**
 * The frameworks every contract case runs against: Express, Koa, and the fetch binding on Hono
 * (served by `@hono/node-server`).
 */
export const FRAMEWORKS = ['express', 'koa', 'fetch'] as const;
/**
 * Where a case can run: one of {@link FRAMEWORKS}, or `next` — the fetch binding called directly
 * with `Request` objects from route handlers, as a Next.js App Router app does (`direct-call.test.ts`).
 */
export type Framework = (typeof FRAMEWORKS)[number] | 'next';

/** Each framework's binding, for the cases that call a factory directly (a Next app's "router" is its token handler). */
export const BINDINGS = {
  express: expressBinding,
  koa: koaBinding,
  fetch: honoBinding,
  next: { ...fetchBinding, anonymousTokenRouter: fetchBinding.anonymousTokenHandler },
} as const;

/** The guard on `/api*`; `anonymous` defaults to the app's own engine. */
export interface GuardDescription extends Omit<BearerGuardOptions, 'anonymous'> {
  anonymous?: BearerGuardOptions['anonymous'];
}

/** The claim check of one route `GET /api/claims/<name>`, behind the guard (the same in both bindings). */
export type ClaimRouteCheck =
  | { equals: [claim: string, expected: ClaimValue] }
  | { includes: [claim: string, ...expected: ClaimValue[]] }
  | { check: [predicate: ClaimPredicate, description?: string] };

/** The login side: the host's user store, hooks, and a fake authentication by e-mail. */
export interface LoginDescription {
  users: UsersAdapter;
  onPreRegistration?: TransferHook;
  onPostLogin?: TransferHook;
  /** Sign-up: the new account for `email`, or an HTTP status refusing it. */
  signUp(email: unknown): AuthenticatedUser | number;
  /** Login: the existing account for `email`, or an HTTP status refusing it. */
  logIn(email: unknown): AuthenticatedUser | number;
}

/** Options of the session-cookie extractor on `GET /page` (the same shape in both bindings). */
export type ExtractorDescription = expressBinding.AnonCookieExtractorOptions;

/** What an app is built from. */
export interface ContractAppOptions {
  /** Engine options laid over the quick start's and `cookie: { secure: false }` (the suite runs over http). */
  engine?: Partial<AnonymousSessionsOptions>;
  /** Use this engine instead of building one. */
  anon?: AnonymousSessions;
  /** Router options (default none: the engine's cookie); `false` mounts no token router. */
  router?: TokenEndpointsOptions | false;
  /** A prefix the token router is mounted under. */
  mountPath?: string;
  /**
   * Trust `X-Forwarded-*`: `true` trusts every hop (Express `trust proxy: true`, Koa `app.proxy`);
   * a number trusts that many proxies, as the READMEs advise (Express `trust proxy: n`, Koa
   * `app.proxy` with `maxIpsCount: n`).
   */
  trustProxy?: boolean | number;
  /**
   * A host body parser before the token router: JSON only, or forms only; `form-any-method` also
   * parses the bodies of GET and HEAD requests (Express's `urlencoded()` does; Koa's needs telling).
   */
  hostBodyParser?: 'json' | 'form' | 'form-any-method';
  /** Mount the JSON error handler (default true). */
  errorHandler?: boolean;
  /**
   * The host's own error handler, after ours (Express) / around ours (Koa), answering
   * `{ handled_by: 'host' }` with the error's status (default true): what `anonymousErrorHandler`
   * passes on reaches it.
   */
  hostErrorHandler?: boolean;
  /** The extractor on `GET /page` (default none: the engine's cookie). */
  extractor?: ExtractorDescription;
  /** Guarded routes `/api`, `/api/user`, `/api/scoped`, `/api/admin`, `/api/escalate`. */
  guard?: GuardDescription;
  /** The scopes `/api/scoped` requires. Default `['read:products']`. */
  scopes?: string[];
  /** Routes `GET /api/claims/<name>`: the guard, then the claim check (`claimEquals`, `claimIncludes`, `claimCheck`). */
  claimRoutes?: Record<string, ClaimRouteCheck>;
  /** `GET /login/start` (extractor + login binding), `GET /login/bind` (binding alone) and the transfer callbacks. */
  login?: LoginDescription;
}

/** A built app. */
export interface ContractApp {
  framework: Framework;
  /** The app as a Node request listener (for supertest or `http.createServer`). */
  app: RequestListener;
  anon: AnonymousSessions;
  logger: SilentLogger;
  /** The raw session tokens `GET /page` saw, in order. */
  seenTokens: Array<string | undefined>;
}

/** What `GET /page` answers. */
export interface PageBody {
  session: { user_id: string; session_id: string; metadata: unknown } | null;
  hasToken: boolean;
}

/** What the guarded routes answer. */
export interface EchoBody {
  auth: AuthResult;
  guest: boolean;
}

/** What the transfer callbacks answer. */
export interface CallbackBody {
  transfer: TransferResult | null;
  redirect: string;
}

/** The message of `GET /boom`'s unexpected error; it must never reach a client. */
export const BOOM = 'internal detail /srv/app/routes.ts:99';

/** What the host's own error handler answers, with the error's status (500 without one). */
export interface HostErrorBody {
  handled_by: 'host';
}

/** The status a host error handler gives an error: its own `status`, or 500. */
export const statusOf = (error: unknown): number => {
  const status = Number((error as { status?: unknown } | undefined)?.status);
  return Number.isInteger(status) && status >= 400 && status < 600 ? status : 500;
};

/** A host route's `404 Not Found` as http-errors (and so Koa's `ctx.throw`) makes it: an exposed client error. */
export const notFound = (): Error => Object.assign(new Error('Not Found'), { status: 404, statusCode: 404, expose: true });

/** One transfer callback: how it authenticates and what it asks of `sessionTransfer`. */
export interface Callback {
  path: string;
  authenticate?: 'signUp' | 'logIn';
  extractor?: boolean;
  endAnonymousSession?: boolean;
  flow?: string;
  bindingFromState?: boolean;
}

/** The transfer callbacks. */
export const CALLBACKS: readonly Callback[] = [
  // Sign-up reads the session cookie itself; login goes through anonCookieExtractor first.
  { path: '/signup', authenticate: 'signUp' },
  { path: '/login', authenticate: 'logIn', extractor: true },
  { path: '/login/end-guest', authenticate: 'logIn', endAnonymousSession: true },
  { path: '/login/state', authenticate: 'logIn', bindingFromState: true },
  { path: '/oauth/token', authenticate: 'logIn', flow: 'refresh_token', endAnonymousSession: true },
  { path: '/maybe' },
];

/** The suite's cookie: the engine's default but for `Secure` (supertest speaks plain http). */
export const TEST_COOKIE: SessionCookieOptions = { secure: false };

/** `sessionTransfer`'s options on `callback`'s route, less the functions of the framework's request. */
export const transferOptions = (login: LoginDescription, callback: Callback) => ({
  users: login.users,
  onPreRegistration: login.onPreRegistration,
  onPostLogin: login.onPostLogin,
  endAnonymousSession: callback.endAnonymousSession,
  ...(callback.flow === undefined ? {} : { flow: callback.flow }),
});

export const pageBody = (session: AnonymousSession | undefined, token: string | undefined): PageBody => ({
  session: session ? { user_id: session.user_id, session_id: session.session_id, metadata: session.metadata } : null,
  hasToken: token !== undefined,
});

/** What `/api/escalate` does: a route that changes its own copy of the verified token. */
export const escalate = (auth: AuthResult | undefined): { ok: true } => {
  auth!.payload.scope = `${String(auth!.payload.scope)} admin`;
  auth!.header.kid = 'changed';
  return { ok: true };
};

export const emailOf = (body: unknown): unknown => (body as { email?: unknown } | undefined)?.email;

/** Builds the app described by `options` on `framework`. */
export async function buildApp(framework: Framework, options: ContractAppOptions = {}): Promise<ContractApp> {
  const logger = silentLogger();
  const anon = options.anon ?? (await createAnonymousSessions(await quickStartEngineOptions(logger, { cookie: TEST_COOKIE, ...options.engine })));
  const seenTokens: Array<string | undefined> = [];
  const build = { express: buildExpress, koa: buildKoa, fetch: buildHono, next: buildNext }[framework];
  return { framework, app: build(anon, options, logger, seenTokens), anon, logger, seenTokens };
}

export const routerOptions = (options: ContractAppOptions): TokenEndpointsOptions => options.router || {};
export const guardOptions = (anon: AnonymousSessions, guard: GuardDescription): BearerGuardOptions => ({ ...guard, anonymous: guard.anonymous ?? anon });

function buildExpress(anon: AnonymousSessions, options: ContractAppOptions, logger: SilentLogger, seen: Array<string | undefined>): RequestListener {
  const b = expressBinding;
  const app = express();
  const json = express.json();
  const form = express.urlencoded({ extended: false });
  const echo = (req: Request, res: Response): void => {
    res.json({ auth: req.auth, guest: b.isAnonymous(req) });
  };
  if (options.trustProxy !== undefined && options.trustProxy !== false) app.set('trust proxy', options.trustProxy);
  if (options.hostBodyParser) app.use(options.hostBodyParser === 'json' ? json : form);
  if (options.router !== false) {
    const router = b.anonymousTokenRouter(anon, routerOptions(options));
    if (options.mountPath === undefined) app.use(router);
    else app.use(options.mountPath, router);
  }
  app.get('/page', b.anonCookieExtractor(anon, options.extractor ?? {}), (req, res) => {
    seen.push(req.anonymousSessionToken);
    res.json(pageBody(req.anonymousSession, req.anonymousSessionToken));
  });
  app.get('/user', b.requireUser(), echo);
  app.get('/scoped', b.requireScopes('anon'), echo);
  app.get('/boom', () => {
    throw new Error(BOOM);
  });
  app.get('/missing', (_req, _res, next) => next(notFound()));
  app.post('/host-json', json, (req, res) => {
    res.json({ body: req.body as unknown });
  });
  if (options.guard) {
    const guard = b.requireAnonymousOrUser(guardOptions(anon, options.guard));
    app.get('/api', guard, echo);
    app.post('/api', form, guard, echo);
    app.get('/api/user', guard, b.requireUser(), echo);
    app.get('/api/scoped', guard, b.requireScopes(...(options.scopes ?? ['read:products'])), echo);
    app.get('/api/admin', guard, b.requireScopes('admin'), echo);
    app.get('/api/escalate', guard, (req, res) => {
      res.json(escalate(expressBinding.getAuth(req)));
    });
    for (const [name, route] of Object.entries(options.claimRoutes ?? {})) {
      const check = 'equals' in route ? b.claimEquals(...route.equals) : 'includes' in route ? b.claimIncludes(...route.includes) : b.claimCheck(...route.check);
      app.get(`/api/claims/${name}`, guard, check, echo);
    }
  }
  const login = options.login;
  if (login) {
    const authenticated = new WeakMap<Request, AuthenticatedUser>();
    const extractor = b.anonCookieExtractor(anon);
    const loginStart = (req: Request, res: Response): void => {
      res.json({ session_id: req.anonymousSession?.session_id ?? null, binding: req.anonymousLoginBinding ?? null });
    };
    app.get('/login/start', extractor, b.anonymousLoginBinding(anon), loginStart);
    app.get('/login/bind', b.anonymousLoginBinding(anon), loginStart);
    for (const callback of CALLBACKS) {
      const authenticate = (req: Request, res: Response, next: NextFunction): void => {
        const outcome = callback.authenticate === undefined ? undefined : login[callback.authenticate](emailOf(req.body));
        if (typeof outcome === 'number') {
          res.status(outcome).json({ error: 'refused' });
          return;
        }
        if (outcome !== undefined) authenticated.set(req, outcome);
        next();
      };
      const transfer = b.sessionTransfer(anon, {
        ...transferOptions(login, callback),
        getUser: (req) => authenticated.get(req),
        ...(callback.bindingFromState ? { getLoginBinding: (req) => (typeof req.query.state === 'string' ? req.query.state : undefined) } : {}),
      });
      const steps = callback.extractor ? [json, extractor, authenticate, transfer] : [json, authenticate, transfer];
      app.post(callback.path, ...steps, (req: Request, res: Response) => {
        res.json({ transfer: req.anonymousTransfer ?? null, redirect: safeRedirectTarget(req.query.returnTo) } satisfies CallbackBody);
      });
    }
  }
  if (options.errorHandler !== false) app.use(b.anonymousErrorHandler({ logger }));
  if (options.hostErrorHandler !== false) {
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(statusOf(error)).json({ handled_by: 'host' } satisfies HostErrorBody);
    });
  }
  return app;
}

function buildKoa(anon: AnonymousSessions, options: ContractAppOptions, logger: SilentLogger, seen: Array<string | undefined>): RequestListener {
  const b = koaBinding;
  const app = new Koa();
  const json = bodyParser({ enableTypes: ['json'] });
  const form = bodyParser({ enableTypes: ['form'] });
  const echo = (ctx: Context): void => {
    ctx.body = { auth: ctx.state.auth, guest: b.isAnonymous(ctx) };
  };
  app.proxy = options.trustProxy !== undefined && options.trustProxy !== false;
  if (typeof options.trustProxy === 'number') app.maxIpsCount = options.trustProxy;
  // Koa reports what reached its own ctx.onerror here (by default on stderr): the test logger keeps it.
  app.on('error', (error: unknown) => logger.error('koa app error', error));
  if (options.hostErrorHandler !== false) {
    app.use(async function hostErrorHandler(ctx: Context, next: Next): Promise<void> {
      try {
        await next();
      } catch (error) {
        ctx.status = statusOf(error);
        ctx.body = { handled_by: 'host' } satisfies HostErrorBody;
      }
    });
  }
  if (options.errorHandler !== false) app.use(b.anonymousErrorHandler({ logger }));
  if (options.hostBodyParser === 'form-any-method') {
    app.use(bodyParser({ enableTypes: ['form'], parsedMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] }));
  } else if (options.hostBodyParser) app.use(options.hostBodyParser === 'json' ? json : form);
  if (options.router !== false) {
    app.use(b.anonymousTokenRouter(anon, { ...routerOptions(options), ...(options.mountPath === undefined ? {} : { prefix: options.mountPath }) }));
  }
  const router = new Router();
  router.get('/page', b.anonCookieExtractor(anon, options.extractor ?? {}), (ctx) => {
    seen.push(ctx.state.anonymousSessionToken);
    ctx.body = pageBody(ctx.state.anonymousSession, ctx.state.anonymousSessionToken);
  });
  router.get('/user', b.requireUser(), echo);
  router.get('/scoped', b.requireScopes('anon'), echo);
  router.get('/boom', () => {
    throw new Error(BOOM);
  });
  router.get('/missing', () => {
    throw notFound();
  });
  router.post('/host-json', json, (ctx) => {
    ctx.body = { body: ctx.request.body as unknown };
  });
  if (options.guard) {
    const guard = b.requireAnonymousOrUser(guardOptions(anon, options.guard));
    router.get('/api', guard, echo);
    router.post('/api', form, guard, echo);
    router.get('/api/user', guard, b.requireUser(), echo);
    router.get('/api/scoped', guard, b.requireScopes(...(options.scopes ?? ['read:products'])), echo);
    router.get('/api/admin', guard, b.requireScopes('admin'), echo);
    router.get('/api/escalate', guard, (ctx) => {
      ctx.body = escalate(ctx.state.auth);
    });
    for (const [name, route] of Object.entries(options.claimRoutes ?? {})) {
      const check = 'equals' in route ? b.claimEquals(...route.equals) : 'includes' in route ? b.claimIncludes(...route.includes) : b.claimCheck(...route.check);
      router.get(`/api/claims/${name}`, guard, check, echo);
    }
  }
  const login = options.login;
  if (login) {
    const authenticated = new WeakMap<Context, AuthenticatedUser>();
    const extractor = b.anonCookieExtractor(anon);
    const loginStart = (ctx: Context): void => {
      ctx.body = { session_id: ctx.state.anonymousSession?.session_id ?? null, binding: ctx.state.anonymousLoginBinding ?? null };
    };
    router.get('/login/start', extractor, b.anonymousLoginBinding(anon), loginStart);
    router.get('/login/bind', b.anonymousLoginBinding(anon), loginStart);
    for (const callback of CALLBACKS) {
      const authenticate = async (ctx: Context, next: Next): Promise<void> => {
        const outcome = callback.authenticate === undefined ? undefined : login[callback.authenticate](emailOf(ctx.request.body));
        if (typeof outcome === 'number') {
          ctx.status = outcome;
          ctx.body = { error: 'refused' };
          return;
        }
        if (outcome !== undefined) authenticated.set(ctx, outcome);
        await next();
      };
      const transfer = b.sessionTransfer(anon, {
        ...transferOptions(login, callback),
        getUser: (ctx) => authenticated.get(ctx),
        ...(callback.bindingFromState ? { getLoginBinding: (ctx) => (typeof ctx.query.state === 'string' ? ctx.query.state : undefined) } : {}),
      });
      const steps = callback.extractor ? [json, extractor, authenticate, transfer] : [json, authenticate, transfer];
      router.post(callback.path, ...steps, (ctx) => {
        ctx.body = { transfer: ctx.state.anonymousTransfer ?? null, redirect: safeRedirectTarget(ctx.query.returnTo) } satisfies CallbackBody;
      });
    }
  }
  app.use(router.routes());
  return app.callback();
}
