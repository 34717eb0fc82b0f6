import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  createCookieExtractor,
  type AnonymousSession,
  type AnonymousSessions,
  type CookieExtractorOptions,
} from '@anonymous-sessions/core/http';
import { requestFacts, sendHttpResponse } from './http.js';

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
 * Puts the visitor's verified anonymous session from the cookie on `req.anonymousSession` (and the
 * raw token on `req.anonymousSessionToken`). A bad or expired token is ignored, never an error page;
 * a store outage goes to `next(err)` (503) rather than accepting a session that may have been
 * logged out. A page reached with the query parameter is answered with a redirect to the same URL
 * without it; the token is moved into the cookie on the way unless the request is cross-site or the
 * cookie already holds a live session (another live session there: 400 `invalid_request`).
 *
 * @param anon - the engine.
 * @param options - cookie name, query parameter, cookie attributes.
 */
export function anonCookieExtractor(anon: AnonymousSessions, options: AnonCookieExtractorOptions = {}): RequestHandler {
  const extract = createCookieExtractor(anon, options);
  return (req: Request, res: Response, next: NextFunction): void => {
    extract({ ...requestFacts(req), url: req.originalUrl }).then((found) => {
      if (found.response !== undefined) {
        sendHttpResponse(res, found.response);
        return;
      }
      if (found.session !== undefined) {
        req.anonymousSession = found.session;
        req.anonymousSessionToken = found.token;
      }
      next();
    }, next);
  };
}
