import {
  createCookieExtractor,
  type AnonymousSession,
  type AnonymousSessions,
  type CookieExtractorOptions,
} from '@anonymous-sessions/core/http';
import { rendering } from './errors.js';
import { pathAndQuery, requestFacts, toResponse, type FetchRequestOptions } from './request.js';

/** Options of {@link anonCookieExtractor}: cookie name, query parameter, cookie attributes, proxy facts. */
export interface AnonCookieExtractorOptions extends CookieExtractorOptions, FetchRequestOptions {}

/** What {@link anonCookieExtractor} found. */
export interface CookieExtraction {
  /** The visitor's verified anonymous session, if any. */
  session?: AnonymousSession;
  /** The raw session token behind it. Never log it. */
  token?: string;
  /**
   * Answer with this instead (a redirect that moves a query token into the cookie, with its
   * `Set-Cookie`): the page was reached with `?anonymous_session_token=`.
   */
  response?: Response;
}

/** The extractor with a client address found by the Hono middleware. */
export function createExtraction(anon: AnonymousSessions, options: AnonCookieExtractorOptions = {}) {
  const { trustProxy, clientAddress, ...extractorOptions } = options;
  const extract = createCookieExtractor(anon, extractorOptions);
  return (request: Request, peerAddress?: string): Promise<CookieExtraction> =>
    rendering(async () => {
      const found = await extract({ ...requestFacts(request, { trustProxy, clientAddress }, peerAddress), url: pathAndQuery(request) });
      if (found.response !== undefined) return { response: toResponse(found.response) };
      return found.session === undefined ? {} : { session: found.session, token: found.token! };
    });
}

/**
 * Reads the visitor's verified anonymous session from the cookie. A bad or expired token is
 * ignored (an empty result), never an error page; a store outage throws (503, with its `response`)
 * rather than accepting a session that may have been logged out. A page reached with the query
 * parameter gets a `response` to return: a redirect to the same URL without it, the token moved
 * into the cookie on the way unless the request is cross-site or the cookie already holds a live
 * session (another live session there: 400 `invalid_request`, thrown).
 *
 * @param anon - the engine.
 * @param options - cookie name, query parameter, cookie attributes, proxy trust.
 */
export function anonCookieExtractor(anon: AnonymousSessions, options: AnonCookieExtractorOptions = {}): (request: Request) => Promise<CookieExtraction> {
  const extract = createExtraction(anon, options);
  return (request) => extract(request);
}
