/**
 * Finding the visitor's anonymous session on any request (the logic behind
 * `anonCookieExtractor`): from the session cookie. A session token in the query parameter is never
 * used for the request it arrives on: the page is answered with a redirect to the same URL without
 * it (`Referrer-Policy: no-referrer`), so the token leaves the address bar, history and logs, and
 * on that redirect the token is moved into the cookie only when
 *
 * - it names a live session,
 * - the cookie holds no live session (a query token never replaces one; two different live
 *   sessions are 400 `invalid_request`), and
 * - the request is not cross-site (`Sec-Fetch-Site: cross-site` or `same-site`, or a foreign
 *   `Origin`), so a link or form on another site cannot plant its own session in the browser.
 *
 * A bad or expired token is ignored, never an error page; only a store outage (503) is raised,
 * because failing open would accept a session that may have been logged out.
 *
 * @packageDocumentation
 */
import type { AnonymousSessions } from '../engine/engine.js';
import { engineSessionCookie, type SessionCookieOptions } from '../engine/session-cookie.js';
import { headerValue, type HttpHeaders, type HttpResponse } from '../exchange/http-exchange.js';
import { InvalidRequestError, toAnonymousSessionError } from '../errors/errors.js';
import { objectOption, parseOptions } from '../errors/parse-options.js';
import * as z from 'zod/mini';
import { isSameOriginOrAllowed } from './request-origin.js';
import { sessionExpiresAt, type AnonymousSession } from '../tokens/session-token.js';

/** Options of the session extractor. */
export interface SessionExtractorOptions {
  /**
   * Laid over the engine's `cookie` for this extractor only. Default: the engine's cookie.
   *
   * @deprecated set `cookie` once on `createAnonymousSessions`. Removed in the next major.
   */
  cookie?: SessionCookieOptions | undefined;
  /** The query parameter that may carry a session token. Default `anonymous_session_token`; `false` = off. */
  queryParam?: string | false | undefined;
}

/**
 * A query parameter that may carry a session token: a name (letters, digits, `_`, `.`, `-`), or
 * `false` for none. Shared by the extractors and the login stacks.
 */
const QUERY_PARAM_MESSAGE = 'must be a query parameter name or false';
export const queryParamOption = z.union([z.string().check(z.regex(/^[\w.-]+$/, QUERY_PARAM_MESSAGE)), z.literal(false)], {
  error: QUERY_PARAM_MESSAGE,
});

/** The schema of {@link SessionExtractorOptions} (the cookie is parsed by the cookie codec). */
export const sessionExtractorOptionsSchema = z.strictObject({
  cookie: z.optional(objectOption<SessionCookieOptions>('must be an object of cookie options')),
  queryParam: z.optional(queryParamOption),
});

/** What the extractor found. */
export interface ExtractedSession {
  /** The verified session from the cookie, if it holds a live one. */
  session?: AnonymousSession;
  /** The raw session token behind it. */
  token?: string;
  /**
   * When the URL carried the query parameter: the response to send instead of running the route —
   * a redirect (303 for `GET`/`HEAD`, 307 otherwise) to the same URL without the parameter, with
   * `Referrer-Policy: no-referrer`, `Cache-Control: no-store` and, when the token may be moved into
   * the cookie, its `Set-Cookie`.
   */
  response?: HttpResponse;
}

/** What the extractor reads from a request. */
export interface SessionExtractorRequest {
  /** `GET`, `POST`, …; default `GET`. */
  method?: string | undefined;
  /** Request headers, names in lower case. */
  headers: HttpHeaders;
  /**
   * The request target as the browser sent it, path and query (Express `req.originalUrl`, Koa
   * `ctx.originalUrl`): where the query parameter is looked for and what the redirect keeps.
   */
  url?: string | undefined;
  /** The `Host` the app was reached at, for the cross-site rule. */
  host?: string | undefined;
  /** `http` or `https` as the framework reports it, for the cross-site rule. */
  protocol?: string | undefined;
}

/** Looks for a session in the request's cookie (and handles a token in the query). */
export type SessionExtractor = (request: SessionExtractorRequest) => Promise<ExtractedSession>;

/** Builds a session extractor. Options are validated once. */
export function createSessionExtractor(anon: AnonymousSessions, options: SessionExtractorOptions = {}): SessionExtractor {
  const parsed = parseOptions(sessionExtractorOptionsSchema, options);
  const cookie = engineSessionCookie(anon.config, parsed.cookie);
  const queryParam = parsed.queryParam ?? DEFAULT_SESSION_QUERY_PARAM;
  const isAllowed = (origin: string, clientId?: string): Promise<boolean> => anon.isAllowedOrigin(origin, clientId);

  /** The live session behind a token, or `undefined` for a bad, expired or ended one; 5xx is thrown. */
  const live = async (token: string | undefined): Promise<AnonymousSession | undefined> => {
    if (token === undefined) return undefined;
    try {
      return await anon.verifySessionToken(token);
    } catch (error) {
      if (toAnonymousSessionError(error).status >= 500) throw error;
      return undefined;
    }
  };

  return async (request) => {
    const cookieToken = cookie.read(headerValue(request.headers, 'cookie'));
    const cookieSession = await live(cookieToken);
    const fromCookie = cookieSession === undefined ? {} : { session: cookieSession, token: cookieToken! };
    const inUrl = queryParam === false ? undefined : takeQueryParameter(request.url ?? '/', queryParam);
    if (inUrl === undefined) return fromCookie;

    const querySession = await live(inUrl.token);
    if (querySession !== undefined && cookieSession !== undefined && querySession.session_id !== cookieSession.session_id) {
      throw new InvalidRequestError('The session token in the URL names another session than the session cookie.', {
        headers: { 'Referrer-Policy': 'no-referrer' },
      });
    }
    const method = (request.method ?? 'GET').toUpperCase();
    const headers: Record<string, string | string[]> = {
      Location: inUrl.rest,
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    };
    if (querySession !== undefined && cookieSession === undefined && (await isSameOriginOrAllowed(request, isAllowed))) {
      const setCookie = cookie.serialize(inUrl.token!, sessionExpiresAt(querySession), request);
      if (setCookie !== undefined) headers['Set-Cookie'] = setCookie;
    }
    return { ...fromCookie, response: { status: method === 'GET' || method === 'HEAD' ? 303 : 307, headers } };
  };
}

/**
 * Finds `name` in a request target's query. `undefined` when it is not there; otherwise its value
 * (`token`, only when it appears once and is not empty) and the target without it (`rest`), kept
 * byte for byte and always a path on this origin (never `//host`).
 */
function takeQueryParameter(url: string, name: string): { token: string | undefined; rest: string } | undefined {
  const mark = url.indexOf('?');
  if (mark === -1) return undefined;
  const kept: string[] = [];
  const values: string[] = [];
  for (const part of url.slice(mark + 1).split('&')) {
    const equals = part.indexOf('=');
    const key = decodeQueryComponent(equals === -1 ? part : part.slice(0, equals));
    if (key === name) values.push(equals === -1 ? '' : decodeQueryComponent(part.slice(equals + 1)));
    else if (part !== '') kept.push(part);
  }
  if (values.length === 0) return undefined;
  const path = localPath(url.slice(0, mark));
  return {
    token: values.length === 1 && values[0] !== '' ? values[0] : undefined,
    rest: kept.length === 0 ? path : `${path}?${kept.join('&')}`,
  };
}

function decodeQueryComponent(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** A request path as a redirect target on this origin: an absolute-form target loses its origin, and `//x` or `/\x` becomes `/x`. */
function localPath(path: string): string {
  let local = path;
  if (!local.startsWith('/')) {
    try {
      local = new URL(local).pathname;
    } catch {
      local = '/';
    }
  }
  return local.replace(/^[/\\]+/, '/');
}

/** The default query parameter that may carry a session token. */
export const DEFAULT_SESSION_QUERY_PARAM = 'anonymous_session_token';

/** Options of a binding's `anonCookieExtractor` (Express and Koa alike). */
export interface CookieExtractorOptions {
  /**
   * The session cookie's name. Default: the engine's `cookie.name`.
   *
   * @deprecated set `cookie: { name }` once on `createAnonymousSessions`. Removed in the next major.
   */
  cookieName?: string | undefined;
  /**
   * The query parameter that may carry a session token. A page reached with it is redirected to the
   * same URL without it, and the token is moved into the cookie when that is safe (a live session,
   * no other live session in the cookie, not a cross-site request). Default
   * `anonymous_session_token`; `false` turns it off.
   */
  queryParam?: string | false | undefined;
  /**
   * The cookie's other attributes, used when a query token is moved into it. Default: the engine's.
   *
   * @deprecated set `cookie` once on `createAnonymousSessions`. Removed in the next major.
   */
  cookie?: Omit<SessionCookieOptions, 'name'> | undefined;
}

/** The schema of {@link CookieExtractorOptions} (the cookie is parsed by the cookie codec). */
export const cookieExtractorOptionsSchema = z.strictObject({
  cookieName: z.optional(z.string()),
  queryParam: z.optional(queryParamOption),
  cookie: z.optional(objectOption<Omit<SessionCookieOptions, 'name'>>('must be an object of cookie options')),
});

/**
 * The extractor behind each binding's `anonCookieExtractor`: {@link createSessionExtractor} with
 * the binding-level options.
 */
export function createCookieExtractor(anon: AnonymousSessions, options: CookieExtractorOptions = {}): SessionExtractor {
  const parsed = parseOptions(cookieExtractorOptionsSchema, options);
  const overrides = { ...parsed.cookie, ...(parsed.cookieName === undefined ? {} : { name: parsed.cookieName }) };
  return createSessionExtractor(anon, {
    ...(Object.keys(overrides).length === 0 ? {} : { cookie: overrides }),
    queryParam: parsed.queryParam ?? DEFAULT_SESSION_QUERY_PARAM,
  });
}
