/**
 * The contract app on the fetch binding, two ways:
 *
 * - `fetch`: a Hono app with `@anonymous-sessions/fetch/hono`'s middleware, served by
 *   `@hono/node-server` (its request listener), the client address from its `getConnInfo`;
 * - `next`: no framework at all — route handlers written as a Next.js App Router app writes them
 *   (`app/anonymous/[...path]/route.ts`, `app/api/route.ts`, …), each a function of a `Request`
 *   calling `@anonymous-sessions/fetch` directly, dispatched by path as Next's router does.
 *
 * Both follow the one description of `apps.ts`, so they answer the very same requests as Express
 * and Koa.
 */
import type { IncomingMessage, RequestListener } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AnonymousSessions } from '@anonymous-sessions/core';
import { safeRedirectTarget, type AuthenticatedUser } from '@anonymous-sessions/core/http';
import * as fetchBinding from '@anonymous-sessions/fetch';
import * as honoBinding from '@anonymous-sessions/fetch/hono';
import type { AnonymousSessionsVariables } from '@anonymous-sessions/fetch/hono';
import type { SilentLogger } from './assertions.js';
import {
  BOOM,
  CALLBACKS,
  emailOf,
  escalate,
  guardOptions,
  pageBody,
  routerOptions,
  statusOf,
  transferOptions,
  type CallbackBody,
  type ContractAppOptions,
  type HostErrorBody,
} from './apps.js';

/** What the host's own middleware put on Hono's context: a body it parsed. */
type HostEnv = { Variables: AnonymousSessionsVariables & { hostBody?: unknown } };

/** The peer address as `@hono/node-server` reports it (what Express's `req.ip` is without proxy trust). */
const clientAddress = (c: Context): string | undefined => getConnInfo(c).remote.address;

/** The host's JSON and form parsers, as Hono apps write them: a malformed body is the host's 400. */
function hostParser(kind: 'json' | 'form'): MiddlewareHandler<HostEnv> {
  return async (c, next) => {
    const type = (c.req.header('content-type') ?? '').toLowerCase();
    const matches = kind === 'json' ? type.startsWith('application/json') : type.startsWith('application/x-www-form-urlencoded');
    if (matches && c.req.raw.body !== null) {
      try {
        c.set('hostBody', kind === 'json' ? await c.req.json() : await c.req.parseBody({ all: true }));
      } catch (error) {
        throw new HTTPException(400, { message: 'Bad Request', cause: error });
      }
    }
    await next();
  };
}

/** The host's own error handler: `{ handled_by: 'host' }` with the error's status. */
const hostErrorHandler = (error: unknown, c: Context): Response => c.json({ handled_by: 'host' } satisfies HostErrorBody, statusOf(error) as 500);

/** Builds the contract app on Hono with the fetch binding's middleware. */
export function buildHono(anon: AnonymousSessions, options: ContractAppOptions, logger: SilentLogger, seen: Array<string | undefined>): RequestListener {
  const b = honoBinding;
  const app = new Hono<HostEnv>();
  const trustProxy = options.trustProxy ?? false;
  const json = hostParser('json');
  const form = hostParser('form');
  const echo = (c: Context<HostEnv>): Response => c.json({ auth: c.get('auth'), guest: b.isAnonymous(c) });
  if (options.errorHandler !== false) {
    app.onError(b.anonymousErrorHandler({ logger, ...(options.hostErrorHandler !== false ? { fallback: hostErrorHandler } : {}) }));
  } else if (options.hostErrorHandler !== false) app.onError(hostErrorHandler);
  if (options.hostBodyParser) app.use(options.hostBodyParser === 'json' ? json : form);
  if (options.router !== false) {
    app.use(b.anonymousTokenRouter(anon, { ...routerOptions(options), trustProxy, clientAddress, ...(options.mountPath === undefined ? {} : { prefix: options.mountPath }) }));
  }
  app.get('/page', b.anonCookieExtractor(anon, { ...options.extractor, trustProxy }), (c) => {
    seen.push(c.get('anonymousSessionToken'));
    return c.json(pageBody(c.get('anonymousSession'), c.get('anonymousSessionToken')));
  });
  app.get('/user', b.requireUser(), echo);
  app.get('/scoped', b.requireScopes('anon'), echo);
  app.get('/boom', () => {
    throw new Error(BOOM);
  });
  app.get('/missing', () => {
    throw new HTTPException(404, { message: 'Not Found' });
  });
  app.post('/host-json', json, (c) => c.json({ body: c.get('hostBody') }));
  if (options.guard) {
    const guard = b.requireAnonymousOrUser(guardOptions(anon, options.guard));
    app.get('/api', guard, echo);
    app.post('/api', form, guard, echo);
    app.get('/api/user', guard, b.requireUser(), echo);
    app.get('/api/scoped', guard, b.requireScopes(...(options.scopes ?? ['read:products'])), echo);
    app.get('/api/admin', guard, b.requireScopes('admin'), echo);
    app.get('/api/escalate', guard, (c) => c.json(escalate(c.get('auth'))));
    for (const [name, route] of Object.entries(options.claimRoutes ?? {})) {
      const check = 'equals' in route ? b.claimEquals(...route.equals) : 'includes' in route ? b.claimIncludes(...route.includes) : b.claimCheck(...route.check);
      app.get(`/api/claims/${name}`, guard, check, echo);
    }
  }
  const login = options.login;
  if (login) {
    const authenticated = new WeakMap<Context, AuthenticatedUser>();
    const extractor = b.anonCookieExtractor(anon, { trustProxy });
    const loginStart = (c: Context<HostEnv>): Response =>
      c.json({ session_id: c.get('anonymousSession')?.session_id ?? null, binding: c.get('anonymousLoginBinding') ?? null });
    app.get('/login/start', extractor, b.anonymousLoginBinding(anon, { trustProxy }), loginStart);
    app.get('/login/bind', b.anonymousLoginBinding(anon, { trustProxy }), loginStart);
    for (const callback of CALLBACKS) {
      const authenticate: MiddlewareHandler<HostEnv> = async (c, next) => {
        const outcome = callback.authenticate === undefined ? undefined : login[callback.authenticate](emailOf(c.get('hostBody')));
        if (typeof outcome === 'number') return c.json({ error: 'refused' }, outcome as 400);
        if (outcome !== undefined) authenticated.set(c, outcome);
        await next();
      };
      const transfer = b.sessionTransfer(anon, {
        ...transferOptions(login, callback),
        trustProxy,
        clientAddress,
        getUser: (c) => authenticated.get(c),
        ...(callback.bindingFromState ? { getLoginBinding: (c: Context) => c.req.query('state') } : {}),
      });
      const steps = callback.extractor ? [json, extractor, authenticate, transfer] : [json, authenticate, transfer];
      app.post(callback.path, ...(steps as [MiddlewareHandler<HostEnv>]), (c: Context<HostEnv>) =>
        c.json({ transfer: c.get('anonymousTransfer') ?? null, redirect: safeRedirectTarget(c.req.query('returnTo')) } satisfies CallbackBody),
      );
    }
  }
  return getRequestListener(app.fetch) as RequestListener;
}

/** A Next.js route handler: a function of the `Request`. */
type RouteHandler = (request: Request) => Promise<Response>;

/**
 * Builds the contract app as Next.js App Router route handlers calling `@anonymous-sessions/fetch`
 * directly with `Request` objects. What a Next app has no equivalent of is written as its route
 * would: a "host body parser" is the route reading the body first; the "error handler" is the
 * route's `catch` (`anonymousErrorResponse`, then the host's answer); without either, an error's
 * ready `response`, else Next's bare 500.
 */
export function buildNext(anon: AnonymousSessions, options: ContractAppOptions, logger: SilentLogger, seen: Array<string | undefined>): RequestListener {
  const f = fetchBinding;
  const peers = new WeakMap<Request, string>();
  const clientAddress = (request: Request): string | undefined => peers.get(request);
  const trustProxy = options.trustProxy ?? false;
  const json = (body: unknown, status = 200): Response => Response.json(body, { status });
  const withCookies = (response: Response, setCookies: readonly string[]): Response => {
    for (const header of setCookies) response.headers.append('Set-Cookie', header);
    return response;
  };
  const onError = (error: unknown): Response => {
    if (options.errorHandler !== false) {
      const ours = f.anonymousErrorResponse(error, { logger });
      if (ours !== undefined) return ours;
    }
    if (options.hostErrorHandler !== false) return json({ handled_by: 'host' } satisfies HostErrorBody, statusOf(error));
    const response = (error as { response?: unknown }).response;
    return response instanceof Response ? response : new Response('Internal Server Error', { status: statusOf(error) });
  };
  /** A route's body as the host parsed it, and the request with that body handed on. */
  const hostParsed = async (request: Request, kind: 'json' | 'form'): Promise<{ body: unknown; request: Request }> => {
    const type = (request.headers.get('content-type') ?? '').toLowerCase();
    const matches = kind === 'json' ? type.startsWith('application/json') : type.startsWith('application/x-www-form-urlencoded');
    if (!matches || request.body === null) return { body: undefined, request };
    const text = await request.text();
    let body: unknown;
    try {
      body = kind === 'json' ? JSON.parse(text) : Object.fromEntries(new URLSearchParams(text));
    } catch (error) {
      throw Object.assign(new Error('Bad Request', { cause: error }), { status: 400 });
    }
    const again = new Request(request.url, { method: request.method, headers: request.headers, body: text });
    const peer = peers.get(request);
    if (peer !== undefined) peers.set(again, peer);
    return { body, request: again };
  };

  const routes = new Map<string, RouteHandler>();
  const route = (method: string, path: string, handler: RouteHandler): void => void routes.set(`${method} ${path}`, handler);
  const tokenHandler = options.router === false ? undefined : f.anonymousTokenHandler(anon, { ...routerOptions(options), trustProxy, clientAddress, ...(options.mountPath === undefined ? {} : { prefix: options.mountPath }) });
  const echo = (auth: fetchBinding.AuthResult | undefined): Response => json({ auth, guest: f.isAnonymous(auth) });

  const extract = f.anonCookieExtractor(anon, { ...options.extractor, trustProxy });
  route('GET', '/page', async (request) => {
    const found = await extract(request);
    if (found.response !== undefined) return found.response;
    seen.push(found.token);
    return json(pageBody(found.session, found.token));
  });
  route('GET', '/user', async () => echo(f.requireUser()(undefined)));
  route('GET', '/scoped', async () => echo(f.requireScopes('anon')(undefined)));
  route('GET', '/boom', async () => {
    throw new Error(BOOM);
  });
  route('GET', '/missing', async () => {
    throw Object.assign(new Error('Not Found'), { status: 404 });
  });
  route('POST', '/host-json', async (request) => json({ body: (await hostParsed(request, 'json')).body }));
  if (options.guard) {
    const guard = f.requireAnonymousOrUser(guardOptions(anon, options.guard));
    route('GET', '/api', async (request) => echo(await guard(request)));
    route('POST', '/api', async (request) => echo(await guard(request)));
    route('GET', '/api/user', async (request) => echo(f.requireUser()(await guard(request))));
    route('GET', '/api/scoped', async (request) => echo(f.requireScopes(...(options.scopes ?? ['read:products']))(await guard(request))));
    route('GET', '/api/admin', async (request) => echo(f.requireScopes('admin')(await guard(request))));
    route('GET', '/api/escalate', async (request) => json(escalate(await guard(request))));
    for (const [name, check] of Object.entries(options.claimRoutes ?? {})) {
      const run = 'equals' in check ? f.claimEquals(...check.equals) : 'includes' in check ? f.claimIncludes(...check.includes) : f.claimCheck(...check.check);
      route('GET', `/api/claims/${name}`, async (request) => echo(run(await guard(request))));
    }
  }
  const login = options.login;
  if (login) {
    const cookieExtract = f.anonCookieExtractor(anon, { trustProxy });
    const bind = f.anonymousLoginBinding(anon, { trustProxy });
    const loginStart = async (request: Request, withExtractor: boolean): Promise<Response> => {
      const found = withExtractor ? await cookieExtract(request) : {};
      if (found.response !== undefined) return found.response;
      const bound = await bind(request, found.session);
      return withCookies(json({ session_id: found.session?.session_id ?? null, binding: bound.binding ?? null }), bound.setCookies);
    };
    route('GET', '/login/start', (request) => loginStart(request, true));
    route('GET', '/login/bind', (request) => loginStart(request, false));
    for (const callback of CALLBACKS) {
      const authenticated = new WeakMap<Request, AuthenticatedUser>();
      const transfer = f.sessionTransfer(anon, {
        ...transferOptions(login, callback),
        trustProxy,
        clientAddress,
        getUser: (request) => authenticated.get(request),
        ...(callback.bindingFromState ? { getLoginBinding: (request: Request) => new URL(request.url).searchParams.get('state') ?? undefined } : {}),
      });
      route('POST', callback.path, async (incoming) => {
        const { body, request } = await hostParsed(incoming, 'json');
        const found = callback.extractor ? await cookieExtract(request) : {};
        if (found.response !== undefined) return found.response;
        const outcome = callback.authenticate === undefined ? undefined : login[callback.authenticate](emailOf(body));
        if (typeof outcome === 'number') return json({ error: 'refused' }, outcome);
        if (outcome !== undefined) authenticated.set(request, outcome);
        const moved = await transfer(request, found.token);
        const returnTo = new URL(request.url).searchParams.get('returnTo') ?? undefined;
        return withCookies(json({ transfer: moved?.result ?? null, redirect: safeRedirectTarget(returnTo) } satisfies CallbackBody), moved?.setCookies ?? []);
      });
    }
  }

  const dispatch = async (request: Request, env: { incoming: IncomingMessage }): Promise<Response> => {
    const peer = env.incoming.socket.remoteAddress;
    if (peer !== undefined) peers.set(request, peer);
    try {
      // A host that reads the body before the token handler hands it on in a new Request.
      if (options.hostBodyParser) request = (await hostParsed(request, options.hostBodyParser === 'json' ? 'json' : 'form')).request;
      const answered = await tokenHandler?.(request);
      if (answered !== undefined) return answered;
      const method = request.method === 'HEAD' ? 'GET' : request.method;
      const handler = routes.get(`${method} ${new URL(request.url).pathname}`);
      return handler === undefined ? new Response('Not Found', { status: 404 }) : await handler(request);
    } catch (error) {
      return onError(error);
    }
  };
  return getRequestListener(dispatch as never) as RequestListener;
}
