/**
 * The facts of a request that arrived as a full URL (a fetch `Request`): host, protocol and client
 * address, with `X-Forwarded-*` honoured only as far as the host trusts its proxies. Express and Koa
 * decide this themselves (`trust proxy`, `app.proxy` + `maxIpsCount`); a fetch runtime does not, so
 * the rule is written here once, the way Koa applies it, for every binding without a framework's own.
 *
 * @packageDocumentation
 */
import { headerValue, type HttpHeaders, type HttpRequest } from './http-exchange.js';

/**
 * How far `X-Forwarded-*` is believed: `false` (default) never — the request's own URL and the
 * connection's address count; `true` every hop (the app is reachable only through proxies that
 * overwrite these headers); a number `n` trusts the last `n` proxies for `X-Forwarded-For` (and,
 * like Koa, the first `X-Forwarded-Host` / `X-Forwarded-Proto` value).
 */
export type ProxyTrust = boolean | number;

/** What {@link forwardedRequestFacts} reads. */
export interface ForwardedRequestInput {
  /** The request's absolute URL (`request.url`). */
  url: string;
  /** Its headers, names in lower case. */
  headers: HttpHeaders;
  /** The address of the peer that opened the connection (the proxy's, behind one), if known. */
  peerAddress?: string | undefined;
  /** How far `X-Forwarded-*` is believed. Default `false`. */
  trustProxy?: ProxyTrust | undefined;
}

const firstValue = (value: string | undefined): string | undefined => value?.split(',')[0]?.trim() || undefined;

/**
 * The host, protocol and client address the core's rules compare: from the URL and the peer, or,
 * under proxy trust, from `X-Forwarded-Host`, `X-Forwarded-Proto` and `X-Forwarded-For`.
 */
export function forwardedRequestFacts(input: ForwardedRequestInput): Pick<HttpRequest, 'host' | 'protocol' | 'ip'> {
  const url = new URL(input.url);
  const trust = input.trustProxy ?? false;
  const own = { host: url.host || undefined, protocol: url.protocol.replace(/:$/, ''), ip: input.peerAddress };
  if (trust === false || trust === 0) return own;
  const forwardedFor = (headerValue(input.headers, 'x-forwarded-for') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const hops = typeof trust === 'number' ? forwardedFor.slice(-trust) : forwardedFor;
  return {
    host: firstValue(headerValue(input.headers, 'x-forwarded-host')) ?? own.host,
    protocol: firstValue(headerValue(input.headers, 'x-forwarded-proto'))?.toLowerCase() ?? own.protocol,
    ip: hops[0] ?? own.ip,
  };
}
