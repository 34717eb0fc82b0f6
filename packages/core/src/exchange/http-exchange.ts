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

/** A `b64token` (RFC 6750 §2.1), the one grammar both patterns below are built from. */
const B64TOKEN_SOURCE = '[A-Za-z0-9\\-._~+/]+=*';

/**
 * `Bearer <b64token>` (RFC 6750 §2.1), the scheme in any case. Compiled once (a regular expression
 * literal inside a function is a new object on every call), and without the `i` flag: the token's
 * character class already has both cases, and case folding over a token of a kilobyte is not free.
 */
const BEARER_HEADER = new RegExp(`^[Bb][Ee][Aa][Rr][Ee][Rr] +(${B64TOKEN_SOURCE}) *$`);

/** The token after `Bearer ` in an `Authorization` header, if any. */
export function bearerToken(headers: HttpHeaders): string | undefined {
  const authorization = headerValue(headers, 'authorization');
  if (authorization === undefined) return undefined;
  return BEARER_HEADER.exec(authorization)?.[1];
}

/** A whole `b64token`: what {@link bearerToken} accepts after the scheme. */
const B64TOKEN = new RegExp(`^${B64TOKEN_SOURCE}$`);

/** Whether `value` is one `b64token`, as {@link bearerToken} would have taken it from a header. */
export function isB64Token(value: string): boolean {
  return B64TOKEN.test(value);
}

/** Char code of a space, the only separator `Bearer <b64token>` allows. */
const SPACE = 32;
/** `bearer`, as char codes. */
const BEARER_CODES = [98, 101, 97, 114, 101, 114];

/**
 * What follows `Bearer ` in an `Authorization` header, its spaces trimmed, **not** checked to be a
 * `b64token`: only for looking up among strings already known to be `b64token`s (the guard's cache
 * of verified tokens), where an equal string proves the header is exactly `Bearer <that token>`
 * and {@link bearerToken} would have returned it. Anything else goes through {@link bearerToken}.
 */
export function bearerCandidate(headers: HttpHeaders): string | undefined {
  const authorization = headerValue(headers, 'authorization');
  if (authorization === undefined || authorization.length < 8 || authorization.charCodeAt(6) !== SPACE) return undefined;
  for (let index = 0; index < 6; index += 1) {
    // `| 32` folds an ASCII capital to its small letter (and nothing else onto one).
    if ((authorization.charCodeAt(index) | 32) !== BEARER_CODES[index]) return undefined;
  }
  let start = 7;
  let end = authorization.length;
  while (start < end && authorization.charCodeAt(start) === SPACE) start += 1;
  while (end > start && authorization.charCodeAt(end - 1) === SPACE) end -= 1;
  return start === end ? undefined : authorization.slice(start, end);
}
