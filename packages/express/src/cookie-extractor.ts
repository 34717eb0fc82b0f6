import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createCookieExtractor, type AnonymousSession, type AnonymousSessions, type CookieExtractorOptions } from '@anonymous-sessions/core';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified anonymous session, set by `anonCookieExtractor` when the visitor has one. */
      anonymousSession?: AnonymousSession;
      /** The raw session token behind `anonymousSession`. Never log it. */
      anonymousSessionToken?: string;
    }
  }
}

/** Options of {@link anonCookieExtractor}: cookie name (default `anon`), query parameter (default `anonymous_session_token`, `false` = off), cookie attributes. */
export type AnonCookieExtractorOptions = CookieExtractorOptions;

/**
 * Puts the visitor's verified anonymous session on `req.anonymousSession` (and the raw token on
 * `req.anonymousSessionToken`). A bad or expired token is ignored, never an error page; a store
 * outage goes to `next(err)` (503) rather than accepting a session that may have been logged out.
 * A token in the query parameter is moved into the cookie so it survives a login redirect.
 *
 * @param anon - the engine.
 * @param options - cookie name, query parameter, cookie attributes.
 */
export function anonCookieExtractor(anon: AnonymousSessions, options: AnonCookieExtractorOptions = {}): RequestHandler {
  const extract = createCookieExtractor(anon, options);
  return (req: Request, res: Response, next: NextFunction): void => {
    extract({ headers: req.headers, query: req.query as Record<string, unknown> }).then((found) => {
      if (found.session !== undefined) {
        req.anonymousSession = found.session;
        req.anonymousSessionToken = found.token;
      }
      if (found.setCookie !== undefined) res.append('Set-Cookie', found.setCookie);
      next();
    }, next);
  };
}
