import type { Context, Middleware, Next } from 'koa';
import { createCookieExtractor, type AnonymousSessions, type CookieExtractorOptions } from '@anonymous-sessions/core';
import './state.js';

/** Options of {@link anonCookieExtractor}: cookie name (default `anon`), query parameter (default `anonymous_session_token`, `false` = off), cookie attributes. */
export type AnonCookieExtractorOptions = CookieExtractorOptions;

/**
 * Puts the visitor's verified anonymous session on `ctx.state.anonymousSession` (and the raw token
 * on `ctx.state.anonymousSessionToken`). A bad or expired token is ignored, never an error page; a
 * store outage is thrown (503) rather than accepting a session that may have been logged out.
 * A token in the query parameter is moved into the cookie so it survives a login redirect.
 *
 * @param anon - the engine.
 * @param options - cookie name, query parameter, cookie attributes.
 */
export function anonCookieExtractor(anon: AnonymousSessions, options: AnonCookieExtractorOptions = {}): Middleware {
  const extract = createCookieExtractor(anon, options);
  return async function anonCookieExtractor(ctx: Context, next: Next): Promise<void> {
    const found = await extract({ headers: ctx.headers, query: ctx.query });
    if (found.session !== undefined) {
      ctx.state.anonymousSession = found.session;
      ctx.state.anonymousSessionToken = found.token;
    }
    if (found.setCookie !== undefined) ctx.append('Set-Cookie', found.setCookie);
    await next();
  };
}
