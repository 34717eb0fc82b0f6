/**
 * The HTTP endpoints of docs/wire-contract.md as framework-free handlers: each takes a small request-like
 * object and returns status, headers and a JSON body. The Express and Koa routers only translate
 * their request into an {@link HttpRequest} and write the {@link HttpResponse} back, so every rule
 * (bodies, cookies, CORS, CSRF, caching, error rendering) is written once, here.
 *
 * @packageDocumentation
 */
import * as z from 'zod/mini';
import type { AnonymousSessions } from '../engine/engine.js';
import type { RequestClients } from '../engine/registry.js';
import {
  AccessDeniedError,
  InvalidSessionTokenError,
  MetadataTooLargeError,
  RequestTooLargeError,
  toAnonymousSessionError,
} from '../errors/errors.js';
import { objectOption, parseOptions } from '../errors/parse-options.js';
import type { Logger } from '../internal/logger.js';
import { errorResponse, NO_STORE, NOSNIFF } from '../exchange/error-response.js';
import { bearerToken, headerValue, type HttpRequest, type HttpResponse } from '../exchange/http-exchange.js';
import { DEFAULT_BODY_LIMIT, normaliseParsedBody, parsedBodySize, parseBodyText, readBodyText } from './request-body.js';
import { isSameOrigin, isSameOriginOrAllowed } from './request-origin.js';
import { engineSessionCookie, type SessionCookie, type SessionCookieOptions } from '../engine/session-cookie.js';
import { sessionExpiresAt } from '../tokens/session-token.js';

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

const optionsSchema = z.strictObject({
  /** `false` turns cookies off (tokens only in bodies and headers); an object overrides the engine's `cookie` (deprecated). */
  cookie: z.optional(z.union([z.literal(false), objectOption<SessionCookieOptions>()])),
  /** Cap on request bodies, in bytes. Default 16 KiB. */
  bodyLimit: z._default(z.int().check(z.positive(), z.lte(1_048_576)), DEFAULT_BODY_LIMIT),
  /** `max-age` of the JWKS and discovery responses, in seconds. Default 300. */
  jwksMaxAge: z._default(z.int().check(z.nonnegative()), 300),
});
/** The schema of {@link TokenEndpointsOptions} (an object `cookie` is parsed by the cookie codec). */
export const endpointsOptionsSchema = optionsSchema;

/** Options of the token router (Express and Koa alike). */
export interface TokenEndpointsOptions {
  /**
   * `false`: this router sets and reads no cookie (tokens only in bodies and headers). Default: the
   * engine's `cookie`. An object is laid over the engine's cookie for this router only.
   *
   * @deprecated as an object: set `cookie` once on `createAnonymousSessions`, so the cookie
   * extractor, the login binding and the transfer use the same cookie. Removed in the next major.
   */
  cookie?: SessionCookieOptions | false | undefined;
  /** Cap on request bodies, in bytes. Default 16 KiB. */
  bodyLimit?: number | undefined;
  /** `max-age` of the JWKS and discovery responses, in seconds. Default 300. */
  jwksMaxAge?: number | undefined;
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

/** The 403 for a cross-site cookie request; it names the usual cause of refusing the app's own pages. */
const CROSS_SITE_REFUSED =
  'Cross-site request refused: the session cookie is only set or read for the app’s own origin and allowed origins. ' +
  'If this came from the app’s own pages, the app does not see its public origin: behind a proxy, let the framework trust it ' +
  '(Express trust proxy, Koa app.proxy, the fetch binding’s trustProxy) and forward Host or X-Forwarded-Host and X-Forwarded-Proto.';

/**
 * Builds the endpoint handlers for an engine. Options are validated once, here.
 *
 * @throws ConfigError for bad options.
 */
export function createEndpoints(anon: AnonymousSessions, options: TokenEndpointsOptions = {}): TokenEndpoints {
  const parsed = parseOptions(optionsSchema, options);
  const { bodyLimit, jwksMaxAge } = parsed;
  const cookie = parsed.cookie === false ? undefined : engineSessionCookie(anon.config, parsed.cookie as SessionCookieOptions | undefined);
  const context: EndpointContext = { anon, cookie, bodyLimit, logger: anon.config.logger, proxyWarning: { logged: false } };
  // Public documents, readable from any origin without credentials (a browser-side client may
  // fetch the JWKS or discovery of another origin).
  const publicDocument = { 'Cache-Control': `public, max-age=${jwksMaxAge}`, 'Access-Control-Allow-Origin': '*', ...NOSNIFF };
  return {
    cookie,
    token: (request) => cookieAwarePost(context, request, (fields, cookieToken, clients) => issueTokens(context, request, fields, cookieToken, clients)),
    logout: (request) => cookieAwarePost(context, request, (fields, cookieToken, clients) => logOut(context, request, fields, cookieToken, clients)),
    session: (request) => readSession(context, request),
    jwks: async () => ({ status: 200, headers: publicDocument, body: anon.jwks() }),
    discovery: async (request) => ({ status: 200, headers: publicDocument, body: anon.metadataDocument(request.mountPath) }),
    preflight: (request) => preflight(anon, request),
  };
}

/** What every endpoint of one {@link createEndpoints} call shares. */
interface EndpointContext {
  readonly anon: AnonymousSessions;
  /** The cookie reader/writer, or `undefined` when cookies are off. */
  readonly cookie: SessionCookie | undefined;
  readonly bodyLimit: number;
  readonly logger: Logger;
  /** Whether the proxy hint was logged (once per router). */
  readonly proxyWarning: { logged: boolean };
}

/** `POST /anonymous/token`: issues the tokens and sets the session cookie. */
async function issueTokens(
  { anon, cookie }: EndpointContext,
  request: HttpRequest,
  fields: Record<string, unknown>,
  cookieToken: string | undefined,
  clients: RequestClients,
): Promise<HttpResponse> {
  const { response, session } = await anon.issueToken(fields, { ip: request.ip, cookieSessionToken: cookieToken, clients });
  const headers: Record<string, string | string[]> = { ...NO_STORE, ...NOSNIFF };
  if (cookie) {
    const setCookie = cookie.serialize(response.session_token, sessionExpiresAt(session), request);
    if (setCookie === undefined) {
      throw new MetadataTooLargeError('The session token would be larger than a browser keeps in a cookie (4096 bytes).');
    }
    headers['Set-Cookie'] = setCookie;
  }
  return { status: 200, headers, body: response };
}

/** `POST /anonymous/logout`: ends the session and clears the session cookie. */
async function logOut(
  { anon, cookie }: EndpointContext,
  request: HttpRequest,
  fields: Record<string, unknown>,
  cookieToken: string | undefined,
  clients: RequestClients,
): Promise<HttpResponse> {
  await anon.logoutRequest(fields, cookieToken, clients);
  const headers: Record<string, string | string[]> = { ...NO_STORE };
  if (cookie) headers['Set-Cookie'] = cookie.clear(request);
  return { status: 204, headers };
}

/** `GET /anonymous/session`: the session of the bearer token, else of the cookie. */
async function readSession(context: EndpointContext, request: HttpRequest): Promise<HttpResponse> {
  const { anon, cookie, logger } = context;
  const fromHeader = bearerToken(request.headers);
  const fromCookie = fromHeader === undefined ? cookie?.read(headerValue(request.headers, 'cookie')) : undefined;
  const clients = anon.requestClients();
  try {
    // Reading the session from the cookie (and clearing a dead one) follows the cross-site rule.
    if (fromCookie !== undefined) await assertNotCrossSite(context, request, clients, undefined);
    const token = fromHeader ?? fromCookie;
    if (token === undefined) {
      throw new InvalidSessionTokenError({ cause: new Error('no session token in the request') });
    }
    const session = await anon.verifySessionToken(token);
    return withCors(request, clients, undefined, { status: 200, headers: { ...NO_STORE, ...NOSNIFF }, body: session });
  } catch (error) {
    // A dead cookie is cleared so the browser stops sending it (never for a refused cross-site request: 403).
    const clear = fromCookie !== undefined && cookie && toAnonymousSessionError(error).status === 401;
    return fail(logger, request, clients, undefined, error, clear ? { 'Set-Cookie': cookie.clear(request) } : {});
  }
}

/** `OPTIONS`: the CORS preflight, answered for an allowed origin only. */
async function preflight(anon: AnonymousSessions, request: HttpRequest): Promise<HttpResponse> {
  const cors = await corsHeaders(request, anon.requestClients()).catch(() => ({}));
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
}

/**
 * A refused request that carried `X-Forwarded-Host` or `X-Forwarded-Proto` the framework did not
 * follow (its proxy trust is off) names the likely cause in the log, once: the app's own pages
 * are refused too when the app does not see its public origin.
 */
function warnAboutProxy({ logger, proxyWarning }: EndpointContext, request: HttpRequest): void {
  if (proxyWarning.logged) return;
  const forwardedHost = headerValue(request.headers, 'x-forwarded-host')?.split(',')[0]?.trim();
  const forwardedProto = headerValue(request.headers, 'x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  const protocol = request.protocol?.replace(/:$/, '').toLowerCase();
  const ignored = (forwardedHost !== undefined && forwardedHost !== request.host) || (forwardedProto !== undefined && forwardedProto !== protocol);
  if (!ignored) return;
  proxyWarning.logged = true;
  logger.warn(
    `A cookie request was refused as cross-site: the app's own origin came out as ${protocol ?? '?'}://${request.host ?? '?'}, while the request carried X-Forwarded-Host/X-Forwarded-Proto the framework did not follow. If the app runs behind a proxy, let the framework trust exactly that proxy (Express: app.set('trust proxy', 1); Koa: new Koa({ proxy: true, maxIpsCount: 1 }); the fetch binding: trustProxy: 1) and have the proxy set X-Forwarded-Host and X-Forwarded-Proto (or pass the original Host). Without a proxy, leave the trust off: a client sent those headers itself. Logged once.`,
  );
}

/** The request's fields: from the body a host parser already read, else from the body stream, within the cap. */
async function readFields(request: HttpRequest, bodyLimit: number): Promise<Record<string, unknown>> {
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
}

/**
 * CORS headers for an allowed cross-origin caller; none otherwise (an origin is never reflected
 * blindly). A success is readable only by an origin of the client it names; an error also by an
 * origin of any configured client, so an app can read why it was refused. Asks the request's own
 * view of the clients, so the client looked up for the cross-site rule is not looked up again.
 */
async function corsHeaders(request: HttpRequest, clients: RequestClients, clientId?: string, isError = false): Promise<Record<string, string>> {
  const origin = headerValue(request.headers, 'origin');
  if (origin === undefined || isSameOrigin(origin, request)) return {};
  const allowed =
    (await clients.isAllowedOrigin(origin, clientId)) || (isError && clientId !== undefined && (await clients.isAllowedOrigin(origin)));
  if (!allowed) return {};
  return { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' };
}

/**
 * The cross-site rule (see `request-origin.ts`) for every response that sets or clears the session
 * cookie, or reads a session from it: whatever carries the token, a request from another site gets
 * 403 `access_denied` and no `Set-Cookie`.
 */
async function assertNotCrossSite(context: EndpointContext, request: HttpRequest, clients: RequestClients, clientId: string | undefined): Promise<void> {
  if (await isSameOriginOrAllowed(request, clients.isAllowedOrigin, clientId)) return;
  warnAboutProxy(context, request);
  throw new AccessDeniedError(CROSS_SITE_REFUSED);
}

/** The response with the CORS headers its origin may have. */
async function withCors(request: HttpRequest, clients: RequestClients, clientId: string | undefined, response: HttpResponse): Promise<HttpResponse> {
  const cors = await corsHeaders(request, clients, clientId, response.status >= 400).catch(() => ({}));
  return { ...response, headers: { ...response.headers, ...cors } };
}

/** An error rendered as its documented response, with `extra` headers and CORS. */
function fail(
  logger: Logger,
  request: HttpRequest,
  clients: RequestClients,
  clientId: string | undefined,
  error: unknown,
  extra: Record<string, string | string[]> = {},
): Promise<HttpResponse> {
  const { status, headers, body } = errorResponse(error, logger);
  return withCors(request, clients, clientId, { status, headers: { ...headers, ...extra }, body });
}

const clientIdOf = (fields: Record<string, unknown> | undefined): string | undefined =>
  typeof fields?.client_id === 'string' ? fields.client_id : undefined;

/** The work of a POST endpoint, on its fields, the cookie's token and the request's view of the clients. */
type PostWork = (fields: Record<string, unknown>, cookieToken: string | undefined, clients: RequestClients) => Promise<HttpResponse>;

/**
 * A POST endpoint whose answer sets or clears the session cookie: reads the body, applies the
 * cross-site rule (when cookies are on) before anything else — before a body it cannot parse is
 * refused, so a cross-site `text/plain` form gets 403 too — takes the cookie's token when the
 * body has none, runs `work`, and renders errors.
 */
async function cookieAwarePost(context: EndpointContext, request: HttpRequest, work: PostWork): Promise<HttpResponse> {
  const { anon, cookie, bodyLimit, logger } = context;
  let fields: Record<string, unknown> | undefined;
  // One view of the clients for the whole request: the cross-site rule, the work and CORS share it.
  const clients = anon.requestClients();
  try {
    const read = await readFields(request, bodyLimit).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    if (read.ok) fields = read.value;
    if (cookie) await assertNotCrossSite(context, request, clients, clientIdOf(fields));
    if (!read.ok) throw read.error;
    const body = read.value;
    const cookieToken = body.session_token === undefined ? cookie?.read(headerValue(request.headers, 'cookie')) : undefined;
    return await withCors(request, clients, clientIdOf(body), await work(body, cookieToken, clients));
  } catch (error) {
    return fail(logger, request, clients, clientIdOf(fields), error);
  }
}

/**
 * @deprecated Renamed {@link createEndpoints}: it serves six endpoints, not only the token one.
 * This alias goes in the next release.
 */
export const createTokenEndpoints = createEndpoints;
