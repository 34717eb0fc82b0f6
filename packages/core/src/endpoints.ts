/**
 * The HTTP endpoints of DESIGN §3 as framework-free handlers: each takes a small request-like
 * object and returns status, headers and a JSON body. The Express and Koa routers only translate
 * their request into an {@link HttpRequest} and write the {@link HttpResponse} back, so every rule
 * (bodies, cookies, CORS, CSRF, caching, error rendering) is written once, here.
 *
 * @packageDocumentation
 */
import { z } from 'zod';
import type { AnonymousSessions } from './engine.js';
import {
  AccessDeniedError,
  ConfigError,
  InvalidSessionTokenError,
  isAnonymousSessionError,
  MetadataTooLargeError,
  RequestTooLargeError,
  toAnonymousSessionError,
  type ErrorResponseBody,
} from './errors.js';
import { toConfigIssues, type Logger } from './config.js';
import { DEFAULT_BODY_LIMIT, normaliseParsedBody, parsedBodySize, parseBodyText, readBodyText } from './request-body.js';
import { isSameOrigin, isSameOriginOrAllowed } from './request-origin.js';
import { engineSessionCookie, type SessionCookie, type SessionCookieOptions } from './session-cookie.js';
import { sessionExpiresAt } from './session-token.js';

/** The paths the router serves, relative to where it is mounted. */
export const ENDPOINT_PATHS = Object.freeze({
  token: '/anonymous/token',
  logout: '/anonymous/logout',
  session: '/anonymous/session',
  jwks: '/.well-known/jwks.json',
  authorizationServerMetadata: '/.well-known/oauth-authorization-server',
  openidConfiguration: '/.well-known/openid-configuration',
});

/** The name of one endpoint handler of {@link TokenEndpoints}. */
export type EndpointName = 'token' | 'logout' | 'session' | 'jwks' | 'discovery' | 'preflight';

/** Which handler serves which method and path: the routing table both bindings follow. */
export const ENDPOINT_ROUTES: ReadonlyArray<Readonly<{ method: string; path: string; name: EndpointName }>> = Object.freeze([
  { method: 'POST', path: ENDPOINT_PATHS.token, name: 'token' },
  { method: 'POST', path: ENDPOINT_PATHS.logout, name: 'logout' },
  { method: 'GET', path: ENDPOINT_PATHS.session, name: 'session' },
  { method: 'GET', path: ENDPOINT_PATHS.jwks, name: 'jwks' },
  { method: 'GET', path: ENDPOINT_PATHS.authorizationServerMetadata, name: 'discovery' },
  { method: 'GET', path: ENDPOINT_PATHS.openidConfiguration, name: 'discovery' },
  { method: 'OPTIONS', path: ENDPOINT_PATHS.token, name: 'preflight' },
  { method: 'OPTIONS', path: ENDPOINT_PATHS.logout, name: 'preflight' },
  { method: 'OPTIONS', path: ENDPOINT_PATHS.session, name: 'preflight' },
]);

/**
 * The endpoint that answers `method` on `path` (relative to where the router is mounted), or
 * `undefined` for anything else, which the binding passes on to the host. Matches as Express's
 * default router does: the path case-insensitively and with or without one trailing slash, and
 * `HEAD` as `GET`.
 */
export function matchEndpoint(method: string, path: string): EndpointName | undefined {
  const wanted = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  const normalised = (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).toLowerCase();
  return ENDPOINT_ROUTES.find((route) => route.method === wanted && route.path.toLowerCase() === normalised)?.name;
}

/** Header values as Node delivers them, names in lower case. */
export type HttpHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** What a binding tells the endpoints about a request. */
export interface HttpRequest {
  /** `GET`, `POST`, `OPTIONS`, … */
  method: string;
  /** Request headers, names in lower case. */
  headers: HttpHeaders;
  /** The client address as the framework reports it (honours the host's trust-proxy setting). */
  ip?: string | undefined;
  /** The `Host` the app was reached at (e.g. `req.get('host')`), for the same-origin check. */
  host?: string | undefined;
  /**
   * `http` or `https` as the framework reports it (Express `req.protocol`, Koa `ctx.protocol`, which
   * honour the host's proxy trust), for the same-origin check: `https://host` is not `http://host`.
   * Without it no `Origin` counts as the app's own.
   */
  protocol?: string | undefined;
  /**
   * Where the router is mounted, as a path (Express `req.baseUrl`, Koa's `prefix`): the discovery
   * document's URLs include it. Empty or absent: the issuer's own path.
   */
  mountPath?: string | undefined;
  /** A body the host already parsed (`req.body` after `express.json()`), if any. */
  parsedBody?: unknown;
  /** The body stream, read with the size cap when the body was not already parsed. */
  bodyStream?: AsyncIterable<Uint8Array | string> | undefined;
}

/** What the binding writes back. */
export interface HttpResponse {
  /** HTTP status. */
  status: number;
  /** Response headers; `Set-Cookie` may be a list. */
  headers: Record<string, string | string[]>;
  /** A JSON body, or `undefined` for none (204). */
  body?: unknown;
}

const optionsSchema = z
  .object({
    /** `false` turns cookies off (tokens only in bodies and headers); an object overrides the engine's `cookie` (deprecated). */
    cookie: z.union([z.literal(false), z.record(z.string(), z.unknown())]).optional(),
    /** Cap on request bodies, in bytes. Default 16 KiB. */
    bodyLimit: z.number().int().positive().max(1_048_576).default(DEFAULT_BODY_LIMIT),
    /** `max-age` of the JWKS and discovery responses, in seconds. Default 300. */
    jwksMaxAge: z.number().int().nonnegative().default(300),
  })
  .strict();

/** Options of the token router (Express and Koa alike). */
export interface TokenEndpointsOptions {
  /**
   * `false`: this router sets and reads no cookie (tokens only in bodies and headers). Default: the
   * engine's `cookie`. An object is laid over the engine's cookie for this router only.
   *
   * @deprecated as an object: set `cookie` once on `createAnonymousSessions`, so the cookie
   * extractor, the login binding and the transfer use the same cookie. Removed in the next major.
   */
  cookie?: SessionCookieOptions | false;
  /** Cap on request bodies, in bytes. Default 16 KiB. */
  bodyLimit?: number;
  /** `max-age` of the JWKS and discovery responses, in seconds. Default 300. */
  jwksMaxAge?: number;
}

/** The endpoints' handlers. Each always resolves: errors become their documented response. */
export interface TokenEndpoints {
  /** `POST /anonymous/token`. */
  token(request: HttpRequest): Promise<HttpResponse>;
  /** `POST /anonymous/logout`. */
  logout(request: HttpRequest): Promise<HttpResponse>;
  /** `GET /anonymous/session`. */
  session(request: HttpRequest): Promise<HttpResponse>;
  /** `GET /.well-known/jwks.json`. */
  jwks(request: HttpRequest): Promise<HttpResponse>;
  /** `GET /.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`. */
  discovery(request: HttpRequest): Promise<HttpResponse>;
  /** `OPTIONS` on the token, logout and session endpoints (CORS preflight). */
  preflight(request: HttpRequest): Promise<HttpResponse>;
  /** The cookie reader/writer, or `undefined` when cookies are off. */
  readonly cookie: SessionCookie | undefined;
}

const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

/** The 403 for a cross-site cookie request; it names the usual cause of refusing the app's own pages. */
const CROSS_SITE_REFUSED =
  'Cross-site request refused: the session cookie is only set or read for the app’s own origin and allowed origins. ' +
  'If this came from the app’s own pages, the app does not see its public origin: behind a proxy, let the framework trust it ' +
  '(Express trust proxy, Koa app.proxy) and forward Host or X-Forwarded-Host and X-Forwarded-Proto.';
/** Sent with every JSON body, so no browser ever sniffs one into HTML or script. */
const NOSNIFF = { 'X-Content-Type-Options': 'nosniff' } as const;

/** Reads one header as a single string. */
export function headerValue(headers: HttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The token after `Bearer ` in an `Authorization` header, if any. */
export function bearerToken(headers: HttpHeaders): string | undefined {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(headerValue(headers, 'authorization') ?? '');
  return match?.[1];
}

/**
 * Renders any error as `{ error, error_description }` with its status and headers. Unexpected
 * errors (500) and store outages (503) are logged with their cause; nothing else is.
 */
export function errorResponse(error: unknown, logger: Logger): HttpResponse {
  const known = toAnonymousSessionError(error);
  if (known.status >= 500) logger.error(`${known.code}: ${describeCause(known.cause ?? error)}`, known.cause ?? error);
  const body: ErrorResponseBody = known.toJSON();
  return { status: known.status, headers: { ...NO_STORE, ...NOSNIFF, ...known.headers }, body };
}

/** Options of a binding's JSON error handler (`anonymousErrorHandler`). */
export interface ErrorRendererOptions {
  /** Where unexpected errors (500) and outages (503) are logged. Default `console`. */
  logger?: Logger;
}

const consoleLogger: Logger = {
  warn: (message) => console.warn(`[anonymous-sessions] ${message}`),
  error: (message, error) => console.error(`[anonymous-sessions] ${message}`, error instanceof Error ? error : ''),
};

/**
 * The renderer behind each binding's `anonymousErrorHandler`: {@link errorResponse} with its logger
 * for this suite's errors (every `AnonymousSessionError`), and `undefined` for any other error,
 * which the binding passes on untouched (Express `next(err)`, Koa rethrows) to the host's handler.
 */
export function createErrorRenderer(options: ErrorRendererOptions = {}): (error: unknown) => HttpResponse | undefined {
  const logger = options.logger ?? consoleLogger;
  return (error) => (isAnonymousSessionError(error) ? errorResponse(error, logger) : undefined);
}

function describeCause(cause: unknown): string {
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : 'unexpected error';
}

/**
 * Builds the endpoint handlers for an engine. Options are validated once, here.
 *
 * @throws ConfigError for bad options.
 */
export function createTokenEndpoints(anon: AnonymousSessions, options: TokenEndpointsOptions = {}): TokenEndpoints {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new ConfigError(toConfigIssues(parsed.error.issues));
  const { bodyLimit, jwksMaxAge } = parsed.data;
  const cookie = parsed.data.cookie === false ? undefined : engineSessionCookie(anon.config, parsed.data.cookie as SessionCookieOptions | undefined);
  const logger = anon.config.logger;
  // Public documents, readable from any origin without credentials (a browser-side client may
  // fetch the JWKS or discovery of another origin).
  const publicDocument = { 'Cache-Control': `public, max-age=${jwksMaxAge}`, 'Access-Control-Allow-Origin': '*', ...NOSNIFF };
  let warnedAboutProxy = false;

  /**
   * A refused request that carried `X-Forwarded-Host` or `X-Forwarded-Proto` the framework did not
   * follow (its proxy trust is off) names the likely cause in the log, once: the app's own pages
   * are refused too when the app does not see its public origin.
   */
  const warnAboutProxy = (request: HttpRequest): void => {
    if (warnedAboutProxy) return;
    const forwardedHost = headerValue(request.headers, 'x-forwarded-host')?.split(',')[0]?.trim();
    const forwardedProto = headerValue(request.headers, 'x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
    const protocol = request.protocol?.replace(/:$/, '').toLowerCase();
    const ignored = (forwardedHost !== undefined && forwardedHost !== request.host) || (forwardedProto !== undefined && forwardedProto !== protocol);
    if (!ignored) return;
    warnedAboutProxy = true;
    logger.warn(
      `A cookie request was refused as cross-site: the app's own origin came out as ${protocol ?? '?'}://${request.host ?? '?'}, while the request carried X-Forwarded-Host/X-Forwarded-Proto the framework did not follow. If the app runs behind a proxy, let the framework trust exactly that proxy (Express: app.set('trust proxy', 1); Koa: new Koa({ proxy: true, maxIpsCount: 1 })) and have the proxy set X-Forwarded-Host and X-Forwarded-Proto (or pass the original Host). Without a proxy, leave the trust off: a client sent those headers itself. Logged once.`,
    );
  };

  const readFields = async (request: HttpRequest): Promise<Record<string, unknown>> => {
    const contentType = headerValue(request.headers, 'content-type');
    const declaredLength = headerValue(request.headers, 'content-length');
    if (request.parsedBody !== undefined) {
      // A host parser (with its own, usually larger, limit) already read the body: the cap still
      // holds, by the declared length or, for a chunked body, by the size of what it produced.
      const size = declaredLength === undefined ? parsedBodySize(request.parsedBody) : Number(declaredLength);
      if (size > bodyLimit) throw new RequestTooLargeError(bodyLimit);
      return normaliseParsedBody(request.parsedBody, contentType);
    }
    if (request.bodyStream === undefined) return {};
    const text = await readBodyText(request.bodyStream, bodyLimit, declaredLength);
    return parseBodyText(text, contentType);
  };

  /** An origin in the `allowedOrigins` of the client the request names; without one, of any configured client. */
  const isAllowed = (origin: string, clientId?: string): Promise<boolean> =>
    clientId === undefined ? anon.isAllowedOrigin(origin) : anon.isAllowedOrigin(origin, clientId);

  /**
   * CORS headers for an allowed cross-origin caller; none otherwise (an origin is never reflected
   * blindly). A success is readable only by an origin of the client it names; an error also by an
   * origin of any configured client, so an app can read why it was refused.
   */
  const corsHeaders = async (request: HttpRequest, clientId?: string, isError = false): Promise<Record<string, string>> => {
    const origin = headerValue(request.headers, 'origin');
    if (origin === undefined || isSameOrigin(origin, request)) return {};
    const allowed = (await isAllowed(origin, clientId)) || (isError && clientId !== undefined && (await isAllowed(origin)));
    if (!allowed) return {};
    return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' };
  };

  /**
   * The cross-site rule (see `request-origin.ts`) for every response that sets or clears the session
   * cookie, or reads a session from it: whatever carries the token, a request from another site gets
   * 403 `access_denied` and no `Set-Cookie`.
   */
  const assertNotCrossSite = async (request: HttpRequest, clientId: string | undefined): Promise<void> => {
    if (await isSameOriginOrAllowed(request, isAllowed, clientId)) return;
    warnAboutProxy(request);
    throw new AccessDeniedError(CROSS_SITE_REFUSED);
  };

  const withCors = async (
    request: HttpRequest,
    clientId: string | undefined,
    response: HttpResponse,
  ): Promise<HttpResponse> => {
    const cors = await corsHeaders(request, clientId, response.status >= 400).catch(() => ({}));
    return { ...response, headers: { ...response.headers, ...cors } };
  };

  const fail = (request: HttpRequest, clientId: string | undefined, error: unknown, extra: Record<string, string | string[]> = {}) =>
    withCors(request, clientId, (({ status, headers, body }) => ({ status, headers: { ...headers, ...extra }, body }))(errorResponse(error, logger)));

  const clientIdOf = (fields: Record<string, unknown> | undefined): string | undefined =>
    typeof fields?.client_id === 'string' ? fields.client_id : undefined;

  /**
   * A POST endpoint whose answer sets or clears the session cookie: reads the body, applies the
   * cross-site rule (when cookies are on) before anything else — before a body it cannot parse is
   * refused, so a cross-site `text/plain` form gets 403 too — takes the cookie's token when the
   * body has none, runs `work`, and renders errors.
   */
  const cookieAwarePost = async (
    request: HttpRequest,
    work: (fields: Record<string, unknown>, cookieToken: string | undefined) => Promise<HttpResponse>,
  ): Promise<HttpResponse> => {
    let fields: Record<string, unknown> | undefined;
    try {
      const read = await readFields(request).then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      if (read.ok) fields = read.value;
      if (cookie) await assertNotCrossSite(request, clientIdOf(fields));
      if (!read.ok) throw read.error;
      const body = read.value;
      const cookieToken = body.session_token === undefined ? cookie?.read(headerValue(request.headers, 'cookie')) : undefined;
      return await withCors(request, clientIdOf(body), await work(body, cookieToken));
    } catch (error) {
      return fail(request, clientIdOf(fields), error);
    }
  };

  return {
    cookie,

    token: (request) =>
      cookieAwarePost(request, async (fields, cookieToken) => {
        const { response, session } = await anon.issueToken(fields, { ip: request.ip, cookieSessionToken: cookieToken });
        const headers: Record<string, string | string[]> = { ...NO_STORE, ...NOSNIFF };
        if (cookie) {
          const setCookie = cookie.serialize(response.session_token, sessionExpiresAt(session), request);
          if (setCookie === undefined) {
            throw new MetadataTooLargeError('The session token would be larger than a browser keeps in a cookie (4096 bytes).');
          }
          headers['Set-Cookie'] = setCookie;
        }
        return { status: 200, headers, body: response };
      }),

    logout: (request) =>
      cookieAwarePost(request, async (fields, cookieToken) => {
        await anon.logoutRequest(fields, cookieToken);
        const headers: Record<string, string | string[]> = { ...NO_STORE };
        if (cookie) headers['Set-Cookie'] = cookie.clear(request);
        return { status: 204, headers };
      }),

    async session(request) {
      const fromHeader = bearerToken(request.headers);
      const fromCookie = fromHeader === undefined ? cookie?.read(headerValue(request.headers, 'cookie')) : undefined;
      try {
        // Reading the session from the cookie (and clearing a dead one) follows the cross-site rule.
        if (fromCookie !== undefined) await assertNotCrossSite(request, undefined);
        const token = fromHeader ?? fromCookie;
        if (token === undefined) {
          throw new InvalidSessionTokenError({ cause: new Error('no session token in the request') });
        }
        const session = await anon.verifySessionToken(token);
        return withCors(request, undefined, { status: 200, headers: { ...NO_STORE, ...NOSNIFF }, body: session });
      } catch (error) {
        // A dead cookie is cleared so the browser stops sending it (never for a refused cross-site request: 403).
        const clear = fromCookie !== undefined && cookie && toAnonymousSessionError(error).status === 401;
        return fail(request, undefined, error, clear ? { 'Set-Cookie': cookie.clear(request) } : {});
      }
    },

    async jwks() {
      return { status: 200, headers: publicDocument, body: anon.jwks() };
    },

    async discovery(request) {
      return { status: 200, headers: publicDocument, body: anon.metadataDocument(request.mountPath) };
    },

    async preflight(request) {
      const cors = await corsHeaders(request).catch(() => ({}));
      if (!('Access-Control-Allow-Origin' in cors)) return { status: 204, headers: {} };
      return {
        status: 204,
        headers: {
          ...cors,
          'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
          'Access-Control-Allow-Headers': 'Authorization, Content-Type',
          'Access-Control-Max-Age': '600',
        },
      };
    },
  };
}
