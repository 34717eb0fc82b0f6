/**
 * The HTTP calls: a JSON request through the host's `fetch`, and the answer turned into data or an
 * {@link AnonymousSessionClientError}. Only the `fetch` shape the client needs is declared, so the
 * types work with the browser's, Node's or any wrapper's `fetch`.
 */
import { AnonymousSessionClientError } from '../errors.js';
import { isJsonObject } from '../merge-patch.js';
import type { AnonymousSession, TokenResponse } from '../types.js';

/** The request options the client passes to `fetch`. */
export interface FetchRequestInit {
  /** `GET` or `POST`. */
  method: string;
  /** Request headers. */
  headers: Record<string, string>;
  /** A JSON body, for `POST`. */
  body?: string;
  /** `'include'` in cookie mode (send and keep the `anon` cookie), `'omit'` in token mode. */
  credentials: 'include' | 'omit';
}

/** The parts of a fetch `Response` the client reads. */
export interface FetchResponse {
  /** Whether the status is 2xx. */
  readonly ok: boolean;
  /** HTTP status. */
  readonly status: number;
  /** Response headers. */
  readonly headers: { get(name: string): string | null };
  /** Parses the body as JSON. */
  json(): Promise<unknown>;
}

/** A `fetch`: the global one fits, and so does any wrapper (cookie jar, retries, timeouts). */
export type FetchFunction = (url: string, init: FetchRequestInit) => Promise<FetchResponse>;

/**
 * Sends a request and returns the JSON body (`undefined` for 204).
 *
 * @throws AnonymousSessionClientError `network_error` when fetch throws a `TypeError` (no
 *   connection, DNS, CORS); the server's `error` for an error answer; `invalid_response` for a body
 *   that is not JSON. Anything else fetch throws (an `AbortError`) passes through unchanged.
 */
export async function sendRequest(fetchFunction: FetchFunction, url: string, init: FetchRequestInit): Promise<unknown> {
  let response: FetchResponse;
  try {
    response = await fetchFunction(url, init);
  } catch (error) {
    if (error instanceof TypeError) {
      throw new AnonymousSessionClientError('network_error', 0, 'The server could not be reached.', { cause: error });
    }
    throw error;
  }
  if (response.status === 204) return undefined;
  const body = await response.json().catch(() => undefined);
  if (!response.ok) {
    const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
    const options = Number.isFinite(retryAfter) ? { retryAfter } : {};
    if (isJsonObject(body) && typeof body.error === 'string') {
      const description = typeof body.error_description === 'string' ? body.error_description : body.error;
      throw new AnonymousSessionClientError(body.error, response.status, description, options);
    }
    throw new AnonymousSessionClientError('invalid_response', response.status, `The server answered ${response.status} without an error body.`, options);
  }
  if (body === undefined) throw invalidResponse(response.status, 'a body that is not JSON');
  return body;
}

function invalidResponse(status: number, what: string): AnonymousSessionClientError {
  return new AnonymousSessionClientError('invalid_response', status, `The server answered with ${what}.`);
}

/** Checks a token response's shape. */
export function asTokenResponse(body: unknown): TokenResponse {
  if (
    isJsonObject(body) &&
    typeof body.session_token === 'string' &&
    typeof body.access_token === 'string' &&
    typeof body.expires_in === 'number'
  ) {
    return body as unknown as TokenResponse;
  }
  throw invalidResponse(200, 'a token response missing session_token, access_token or expires_in');
}

/** Checks a session's shape. */
export function asSession(body: unknown): AnonymousSession {
  if (
    isJsonObject(body) &&
    typeof body.user_id === 'string' &&
    typeof body.session_id === 'string' &&
    isJsonObject(body.metadata)
  ) {
    return body as unknown as AnonymousSession;
  }
  throw invalidResponse(200, 'a session missing user_id, session_id or metadata');
}
