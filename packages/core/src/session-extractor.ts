/**
 * Finding the visitor's anonymous session on any request (the logic behind
 * `anonCookieExtractor`): from the session cookie, or from a query parameter that is then moved
 * into the cookie so it survives a login redirect. A bad or expired token is ignored, never an
 * error page; only a store outage (503) is raised, because failing open would accept a session
 * that may have been logged out.
 *
 * @packageDocumentation
 */
import type { AnonymousSessions } from './engine.js';
import { sessionCookie, type SessionCookieOptions } from './session-cookie.js';
import { headerValue, type HttpHeaders } from './endpoints.js';
import { toAnonymousSessionError } from './errors.js';
import { sessionExpiresAt, type AnonymousSession } from './session-token.js';

/** Options of the session extractor. */
export interface SessionExtractorOptions {
  /** The session cookie's options (at least its name must match the router's). Default `anon`. */
  cookie?: SessionCookieOptions;
  /** The query parameter that may carry a session token. Default `anonymous_session_token`; `false` = off. */
  queryParam?: string | false;
}

/** What the extractor found. */
export interface ExtractedSession {
  /** The verified session, if a valid token was found. */
  session?: AnonymousSession;
  /** The raw session token behind it. */
  token?: string;
  /** A `Set-Cookie` value to send: the query token moved into the cookie. */
  setCookie?: string;
}

/** Looks for a session in the request's cookie or query. */
export type SessionExtractor = (request: {
  headers: HttpHeaders;
  /** The query parameter's value, if present. */
  queryToken?: string | undefined;
}) => Promise<ExtractedSession>;

/** Builds a session extractor. Options are validated once. */
export function createSessionExtractor(anon: AnonymousSessions, options: SessionExtractorOptions = {}): SessionExtractor {
  const cookie = sessionCookie(options.cookie);
  return async ({ headers, queryToken }) => {
    const candidates: Array<{ token: string; fromQuery: boolean }> = [];
    if (queryToken) candidates.push({ token: queryToken, fromQuery: true });
    const cookieToken = cookie.read(headerValue(headers, 'cookie'));
    if (cookieToken) candidates.push({ token: cookieToken, fromQuery: false });

    for (const { token, fromQuery } of candidates) {
      try {
        const session = await anon.verifySessionToken(token);
        const setCookie = fromQuery && token !== cookieToken ? cookie.serialize(token, sessionExpiresAt(session)) : undefined;
        return { session, token, ...(setCookie === undefined ? {} : { setCookie }) };
      } catch (error) {
        if (toAnonymousSessionError(error).status >= 500) throw error;
        // invalid or expired: ignored, try the next candidate
      }
    }
    return {};
  };
}

/** The default query parameter that may carry a session token. */
export const DEFAULT_SESSION_QUERY_PARAM = 'anonymous_session_token';

/** Options of a binding's `anonCookieExtractor` (Express and Koa alike). */
export interface CookieExtractorOptions {
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
 * The extractor behind each binding's `anonCookieExtractor`: {@link createSessionExtractor} with
 * the binding-level options, reading the query parameter from the framework's parsed query (a
 * repeated parameter is no token).
 */
export function createCookieExtractor(
  anon: AnonymousSessions,
  options: CookieExtractorOptions = {},
): (request: { headers: HttpHeaders; query?: Readonly<Record<string, unknown>> | undefined }) => Promise<ExtractedSession> {
  const queryParam = options.queryParam ?? DEFAULT_SESSION_QUERY_PARAM;
  const extract = createSessionExtractor(anon, { cookie: { ...options.cookie, name: options.cookieName ?? 'anon' }, queryParam });
  return ({ headers, query }) => {
    const raw = queryParam === false ? undefined : query?.[queryParam];
    return extract({ headers, queryToken: typeof raw === 'string' ? raw : undefined });
  };
}
