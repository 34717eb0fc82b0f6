import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  createSessionExtractor,
  DEFAULT_SESSION_QUERY_PARAM,
  type AnonymousSession,
  type AnonymousSessions,
  type SessionCookieOptions,
} from '@anonymous-sessions/core';

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

/** Options of {@link anonCookieExtractor}. */
export interface AnonCookieExtractorOptions {
  /** The session cookie's name. Default `anon` (must match the router's). */
  cookieName?: string;
  /**
   * The query parameter that may carry a session token (moved into the cookie so it survives a
   * login redirect). Default `anonymous_session_token`; `false` turns it off.
   */
  queryParam?: string | false;
  /** The cookie's other attributes, used when a query token is moved into it (match the router's). */
  cookie?: Omit<SessionCookieOptions, 'name'>;
}

/**
 * Puts the visitor's verified anonymous session on `req.anonymousSession` (and the raw token on
 * `req.anonymousSessionToken`). A bad or expired token is ignored, never an error page; a store
 * outage goes to `next(err)` (503) rather than accepting a session that may have been logged out.
 *
 * @param anon - the engine.
 * @param options - cookie name, query parameter, cookie attributes.
 */
export function anonCookieExtractor(anon: AnonymousSessions, options: AnonCookieExtractorOptions = {}): RequestHandler {
  const queryParam = options.queryParam ?? DEFAULT_SESSION_QUERY_PARAM;
  const extract = createSessionExtractor(anon, {
    cookie: { ...options.cookie, name: options.cookieName ?? 'anon' },
    queryParam,
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    const raw = queryParam === false ? undefined : (req.query as Record<string, unknown>)[queryParam];
    const queryToken = typeof raw === 'string' ? raw : undefined;
    extract({ headers: req.headers, queryToken }).then((found) => {
      if (found.session !== undefined) {
        req.anonymousSession = found.session;
        req.anonymousSessionToken = found.token;
      }
      if (found.setCookie !== undefined) res.append('Set-Cookie', found.setCookie);
      next();
    }, next);
  };
}
