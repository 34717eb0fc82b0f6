import type { Context, Middleware, Next } from 'koa';
import { createCookieExtractor, type AnonymousSessions, type CookieExtractorOptions } from '@anonymous-sessions/core/http';
import { requestFacts, sendHttpResponse } from './http.js';
import './state.js';

/** Options of {@link anonCookieExtractor}: cookie name (default `anon`), query parameter (default `anonymous_session_token`, `false` = off), cookie attributes. */
export type AnonCookieExtractorOptions = CookieExtractorOptions;

/**
 * Puts the visitor's verified anonymous session from the cookie on `ctx.state.anonymousSession`
 * (and the raw token on `ctx.state.anonymousSessionToken`). A bad or expired token is ignored, never
 * an error page; a store outage is thrown (503) rather than accepting a session that may have been
 * logged out. A page reached with the query parameter is answered with a redirect to the same URL
 * without it; the token is moved into the cookie on the way unless the request is cross-site or the
 * cookie already holds a live session (another live session there: 400 `invalid_request`).
 *
 * @param anon - the engine.
 * @param options - cookie name, query parameter, cookie attributes.
 */
export function anonCookieExtractor(anon: AnonymousSessions, options: AnonCookieExtractorOptions = {}): Middleware {
  const extract = createCookieExtractor(anon, options);
  return async function anonCookieExtractor(ctx: Context, next: Next): Promise<void> {
    const found = await extract({ ...requestFacts(ctx), url: ctx.originalUrl });
    if (found.response !== undefined) {
      sendHttpResponse(ctx, found.response);
      return;
    }
    if (found.session !== undefined) {
      ctx.state.anonymousSession = found.session;
      ctx.state.anonymousSessionToken = found.token;
    }
    await next();
  };
}
