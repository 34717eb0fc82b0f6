import { forwardedRequestFacts, type HttpHeaders, type HttpRequest, type HttpResponse, type ProxyTrust } from '@anonymous-sessions/core/http';

/**
 * What a fetch runtime does not tell the binding by itself: whether `X-Forwarded-*` is to be
 * believed, and the client's address (a `Request` carries neither).
 */
export interface FetchRequestOptions {
  /**
   * Behind a reverse proxy: `true` believes `X-Forwarded-Host`, `-Proto` and `-For` from every hop,
   * a number `n` the last `n` proxies (the proxy count, as Express's `trust proxy: n`). Default
   * `false`: the request's own URL decides host and scheme, so a client that reaches the app
   * directly cannot forge them. Only turn it on when the app is reachable solely through proxies
   * that overwrite these headers.
   */
  trustProxy?: ProxyTrust;
  /**
   * The address of the peer that opened the connection, for the per-address rate limits: Hono's
   * `getConnInfo(c).remote.address` (the Hono middlewares ask it for you), a platform header your
   * host sets and strips from clients (`x-real-ip`, `cf-connecting-ip`), or `undefined` when it
   * cannot be known: the per-address creation limit then cannot count that request (the engine
   * warns once); continues are still limited per session.
   */
  clientAddress?: (request: Request) => string | undefined;
}

/**
 * A `Request`'s headers as the core reads them: names in lower case. `Headers` joins repeated
 * fields with `, `; several `Cookie` fields (HTTP/2 sends one per cookie) are joined with `; ` as
 * Node does, which is unambiguous since a cookie value holds no comma or space (RFC 6265 §4.1.1).
 */
export function headersOf(request: Request): HttpHeaders {
  const headers: Record<string, string> = Object.fromEntries(request.headers);
  if (headers.cookie !== undefined) headers.cookie = headers.cookie.replaceAll(', ', '; ');
  return headers;
}

/** What the core's rules read from any `Request`: method, headers, client address, host and scheme. */
export function requestFacts(
  request: Request,
  options: FetchRequestOptions,
  peerAddress: string | undefined = options.clientAddress?.(request),
): Pick<HttpRequest, 'method' | 'headers' | 'ip' | 'host' | 'protocol'> {
  const headers = headersOf(request);
  return { method: request.method, headers, ...forwardedRequestFacts({ url: request.url, headers, peerAddress, trustProxy: options.trustProxy }) };
}

/**
 * The body as the core reads it: the stream, or text a host already read (Hono's `c.req.json()`
 * leaves the `Request`'s own body used, and its text in Hono's cache).
 */
export function bodyOf(request: Request, readBody: string | undefined): Pick<HttpRequest, 'bodyStream'> {
  if (readBody !== undefined) return { bodyStream: textOnce(readBody) };
  return request.body === null ? {} : { bodyStream: chunksOf(request.body) };
}

async function* textOnce(text: string): AsyncIterable<string> {
  yield text;
}

/** A byte stream as an async iterable, through its reader (not every runtime's stream is iterable). */
async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncIterable<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The core's response as a fetch `Response`. */
export function toResponse(response: HttpResponse): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  if (response.body === undefined) return new Response(null, { status: response.status, headers });
  headers.set('Content-Type', 'application/json; charset=utf-8');
  return new Response(JSON.stringify(response.body), { status: response.status, headers });
}

/** The query parameters of a `Request`: a repeated one as a list, as Express and Koa parse them. */
export function queryOf(request: Request): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of new URL(request.url).searchParams) {
    const seen = query[name];
    query[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return query;
}

/** The path and query of a `Request` (what Express calls `req.originalUrl`). */
export function pathAndQuery(request: Request): string {
  const url = new URL(request.url);
  return `${url.pathname}${url.search}`;
}

/** Host, scheme and client address of a `Request` under the host's proxy trust. */
export function forwarded(request: Request, trustProxy: ProxyTrust | undefined, peerAddress?: string) {
  return forwardedRequestFacts({ url: request.url, headers: headersOf(request), peerAddress, trustProxy });
}
