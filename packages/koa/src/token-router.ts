import type { Context, Middleware, Next } from 'koa';
import {
  createEndpoints,
  matchEndpoint,
  type AnonymousSessions,
  type TokenEndpointsOptions,
} from '@anonymous-sessions/core/http';
import { sendHttpResponse, toHttpRequest } from './http.js';

/** Options of {@link anonymousTokenRouter}: the core's, plus where the endpoints are mounted. */
export interface AnonymousTokenRouterOptions extends TokenEndpointsOptions {
  /**
   * A path prefix the endpoints live under (`'/auth'` serves `/auth/anonymous/token`). Koa has no
   * mount of its own; leave it out behind `koa-mount`, which already strips its prefix.
   */
  prefix?: string;
}

/**
 * One Koa middleware serving the anonymous-session endpoints: `POST /anonymous/token`,
 * `POST /anonymous/logout`, `GET /anonymous/session`, `GET /.well-known/jwks.json` and both
 * discovery documents. It routes by `ctx.method` and `ctx.path` itself (no `@koa/router` needed,
 * and it works inside one) and calls `next()` for anything else. No body parser is needed; a body
 * one already read (`@koa/bodyparser`) is respected.
 *
 * @param anon - the engine from `createAnonymousSessions`.
 * @param options - cookie options (`{ secure: false }` for local http), body cap, JWKS max-age, prefix.
 * @throws ConfigError for bad options, at start-up.
 */
export function anonymousTokenRouter(anon: AnonymousSessions, options: AnonymousTokenRouterOptions = {}): Middleware {
  const { prefix = '', ...endpointOptions } = options;
  const endpoints = createEndpoints(anon, endpointOptions);
  const base = prefix.replace(/\/+$/, '').toLowerCase();
  return async function anonymousTokenRouter(ctx: Context, next: Next): Promise<void> {
    const path = ctx.path.toLowerCase().startsWith(`${base}/`) ? ctx.path.slice(base.length) : undefined;
    const endpoint = path === undefined ? undefined : matchEndpoint(ctx.method, path);
    if (endpoint === undefined) return next();
    // koa-mount strips its prefix from ctx.path and says what it was on ctx.mountPath.
    const mounted = typeof (ctx as { mountPath?: unknown }).mountPath === 'string' ? (ctx as { mountPath?: string }).mountPath! : '';
    const mountPath = `${mounted.replace(/\/+$/, '')}${prefix.replace(/\/+$/, '')}`;
    sendHttpResponse(ctx, await endpoints[endpoint]({ ...toHttpRequest(ctx), mountPath }));
  };
}
