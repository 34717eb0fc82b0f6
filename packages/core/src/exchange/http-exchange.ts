/**
 * The exchange between a binding and core: the request-like object a binding builds
 * ({@link HttpRequest}), the response it writes back ({@link HttpResponse}), and the two header
 * readers every HTTP module shares. Nothing here knows a framework.
 *
 * @packageDocumentation
 */

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

/** Reads one header as a single string. */
export function headerValue(headers: HttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * `Bearer <b64token>` (RFC 6750 §2.1), the scheme in any case. Compiled once (a regular expression
 * literal inside a function is a new object on every call), and without the `i` flag: the token's
 * character class already has both cases, and case folding over a token of a kilobyte is not free.
 */
const BEARER_HEADER = /^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*) *$/;

/** The token after `Bearer ` in an `Authorization` header, if any. */
export function bearerToken(headers: HttpHeaders): string | undefined {
  const authorization = headerValue(headers, 'authorization');
  if (authorization === undefined) return undefined;
  return BEARER_HEADER.exec(authorization)?.[1];
}
