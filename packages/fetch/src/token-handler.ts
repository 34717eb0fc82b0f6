import { createEndpoints, matchEndpoint, type AnonymousSessions, type TokenEndpointsOptions } from '@anonymous-sessions/core/http';
import { bodyOf, requestFacts, toResponse, type FetchRequestOptions } from './request.js';

/** Options of {@link anonymousTokenHandler}: the core's, where the endpoints live, and the proxy facts. */
export interface AnonymousTokenHandlerOptions extends TokenEndpointsOptions, FetchRequestOptions {
  /**
   * A path prefix the endpoints live under (`'/auth'` serves `/auth/anonymous/token`); the
   * discovery documents name URLs under it. Default none.
   */
  prefix?: string;
}

/** The token handler: a `Response` for the six endpoints, `undefined` for any other request. */
export type AnonymousTokenHandler = (request: Request) => Promise<Response | undefined>;

/** What the Hono middleware hands the handler besides the `Request`. */
export interface HandlerExtras {
  /** The client address the middleware found (Hono's `getConnInfo`). */
  peerAddress?: string | undefined;
  /** The body text, when a host middleware already read the `Request`'s body. */
  readBody?: string | undefined;
}

/** {@link anonymousTokenHandler} with the Hono middleware's extras. */
export function createTokenHandler(anon: AnonymousSessions, options: AnonymousTokenHandlerOptions = {}) {
  const { prefix = '', trustProxy, clientAddress, ...endpointOptions } = options;
  const endpoints = createEndpoints(anon, endpointOptions);
  const facts = { trustProxy, clientAddress };
  const base = prefix.replace(/\/+$/, '');
  return async (request: Request, extras: HandlerExtras = {}): Promise<Response | undefined> => {
    const { pathname } = new URL(request.url);
    const path = pathname.toLowerCase().startsWith(`${base.toLowerCase()}/`) ? pathname.slice(base.length) : undefined;
    const endpoint = path === undefined ? undefined : matchEndpoint(request.method, path);
    if (endpoint === undefined) return undefined;
    const response = await endpoints[endpoint]({ ...requestFacts(request, facts, extras.peerAddress), mountPath: base, ...bodyOf(request, extras.readBody) });
    return toResponse(response);
  };
}

/**
 * The anonymous-session endpoints as one fetch handler: `POST /anonymous/token`,
 * `POST /anonymous/logout`, `GET /anonymous/session`, `GET /.well-known/jwks.json` and both
 * discovery documents (and their CORS preflights). Any other request resolves `undefined`, so it
 * composes: `return (await handler(request)) ?? next()`. As a Next.js route handler under
 * `app/anonymous/[...path]/route.ts`: `export const POST = (r: Request) => handler(r).then(orNotFound)`.
 *
 * @param anon - the engine from `createAnonymousSessions`.
 * @param options - cookie options (`{ secure: false }` for local http), body cap, JWKS max-age,
 *   prefix, proxy trust and the client address for rate limits.
 * @throws ConfigError for bad options, at start-up.
 */
export function anonymousTokenHandler(anon: AnonymousSessions, options: AnonymousTokenHandlerOptions = {}): AnonymousTokenHandler {
  const handle = createTokenHandler(anon, options);
  return (request) => handle(request);
}
