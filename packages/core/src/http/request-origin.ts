/**
 * The cross-site rule, written once: may this request set, clear or ride on the session cookie?
 * A browser request passes when it comes from the app's own origin (scheme, host and port, as the
 * framework reports them) or from an origin allowed for the client it names. Everything else a
 * browser sends from another site — a link, an auto-submitted form, a `text/plain` POST, a sibling
 * subdomain — is refused. Requests with neither `Origin` nor `Sec-Fetch-Site` (curl, server-side
 * callers) pass: browsers send at least one of them on every cross-site POST, and a non-browser
 * caller carries no victim's cookies.
 *
 * @packageDocumentation
 */
import type { HttpHeaders } from '../exchange/http-exchange.js';

/** What the cross-site rule reads from a request. */
export interface RequestOriginFacts {
  /** Request headers, names in lower case (`Origin`, `Sec-Fetch-Site`). */
  headers: HttpHeaders;
  /** The `Host` the app was reached at, as the framework reports it (honours its proxy trust). */
  host?: string | undefined;
  /** `http` or `https`, as the framework reports it (`req.protocol`, `ctx.protocol`). */
  protocol?: string | undefined;
}

/** Answers whether `origin` is allowed for the client `clientId` (or, without one, for any client). */
export type AllowedOriginCheck = (origin: string, clientId?: string) => Promise<boolean>;

const HOST = /^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

function header(headers: HttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Whether an `Origin` header names exactly the origin the request was sent to: same scheme, host
 * and port. Without a protocol or host there is nothing to compare, so the answer is no.
 */
export function isSameOrigin(origin: string, request: Pick<RequestOriginFacts, 'host' | 'protocol'>): boolean {
  const { host } = request;
  const protocol = request.protocol?.replace(/:$/, '').toLowerCase();
  if (host === undefined || (protocol !== 'http' && protocol !== 'https') || !HOST.test(host)) return false;
  try {
    const sent = new URL(origin);
    // Only a serialized origin (no path, no trailing slash, lower case) is what browsers send.
    return sent.origin === origin && sent.origin === new URL(`${protocol}://${host}`).origin;
  } catch {
    return false;
  }
}

/**
 * The cross-site rule. With an `Origin` header: the app's own origin (and a `Sec-Fetch-Site` that
 * does not contradict it) or an origin allowed for the named client. Without one: a
 * `Sec-Fetch-Site` of `same-origin` or `none` (the visitor typed or bookmarked the URL), or no
 * `Sec-Fetch-Site` at all (not a browser). `same-site` (a sibling subdomain) counts as cross-site.
 *
 * @param request - the request's headers, host and protocol.
 * @param isAllowedOrigin - the engine's `allowedOrigins` check.
 * @param clientId - the client the request names; without one, any configured client's origins.
 */
export async function isSameOriginOrAllowed(
  request: RequestOriginFacts,
  isAllowedOrigin: AllowedOriginCheck,
  clientId?: string,
): Promise<boolean> {
  const origin = header(request.headers, 'origin');
  const site = header(request.headers, 'sec-fetch-site')?.trim().toLowerCase();
  if (origin === undefined) return site === undefined || site === 'same-origin' || site === 'none';
  if ((site === undefined || site === 'same-origin') && isSameOrigin(origin, request)) return true;
  return isAllowedOrigin(origin, clientId);
}
