/**
 * The client's one error type. A server answer `{ error, error_description }` becomes an
 * {@link AnonymousSessionClientError} whose `code` is the server's `error` and whose `status` is the
 * HTTP status; failures that never reached the server have `status` 0. Messages never contain a
 * token.
 *
 * @packageDocumentation
 */

/** The error codes the anonymous-sessions server answers with (docs/wire-contract.md). */
export type ServerErrorCode =
  | 'invalid_request'
  | 'invalid_target'
  | 'invalid_client'
  | 'unauthorized_client'
  | 'access_denied'
  | 'invalid_scope'
  | 'session_expired'
  | 'invalid_session_token'
  | 'invalid_metadata'
  | 'metadata_too_large'
  | 'too_many_requests'
  | 'temporarily_unavailable'
  | 'server_error';

/**
 * Codes the client adds: `network_error` (fetch failed: offline, DNS, refused, CORS),
 * `invalid_response` (the answer was not the JSON the contract promises), `logged_out` (an update
 * was still waiting when {@link AnonymousClient.logout} ended the session).
 */
export type ClientOnlyErrorCode = 'network_error' | 'invalid_response' | 'logged_out';

/**
 * Every code an {@link AnonymousSessionClientError} can carry. A code the server adds later still
 * comes through as a plain string.
 */
export type AnonymousSessionClientErrorCode = ServerErrorCode | ClientOnlyErrorCode | (string & {});

/** Options of the {@link AnonymousSessionClientError} constructor. */
export interface AnonymousSessionClientErrorOptions {
  /** The underlying error (e.g. fetch's `TypeError`). */
  cause?: unknown;
  /** Seconds from the `Retry-After` header (429 `too_many_requests`). */
  retryAfter?: number;
}

/** What every client call rejects with. Switch on `code`. */
export class AnonymousSessionClientError extends Error {
  /** The server's `error`, or a {@link ClientOnlyErrorCode}. */
  readonly code: AnonymousSessionClientErrorCode;
  /** HTTP status of the answer; `0` when there was none. */
  readonly status: number;
  /** The server's `error_description` (client-safe), or the client's own description. */
  readonly description: string;
  /** Seconds to wait before retrying, when the server said so (`Retry-After`). */
  readonly retryAfter: number | undefined;

  /**
   * @param code - the error code.
   * @param status - HTTP status, `0` for none.
   * @param description - a client-safe description; never a token.
   * @param options - cause and `Retry-After`.
   */
  constructor(
    code: AnonymousSessionClientErrorCode,
    status: number,
    description: string,
    options: AnonymousSessionClientErrorOptions = {},
  ) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    // A literal, not `new.target.name`: minifiers rename classes.
    this.name = 'AnonymousSessionClientError';
    this.code = code;
    this.status = status;
    this.description = description;
    this.retryAfter = options.retryAfter;
  }
}

/** Whether `error` says the session is gone (`session_expired` or `invalid_session_token`). */
export function isSessionEndedError(error: unknown): boolean {
  return (
    error instanceof AnonymousSessionClientError &&
    (error.code === 'session_expired' || error.code === 'invalid_session_token')
  );
}

/** Whether `error` is a {@link AnonymousSessionClientError} with code `network_error`. */
export function isNetworkError(error: unknown): boolean {
  return error instanceof AnonymousSessionClientError && error.code === 'network_error';
}
