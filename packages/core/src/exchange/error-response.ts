/**
 * Error rendering, written once: any error becomes `{ error, error_description }` with its status
 * and headers (an RFC 6750 error carries its own `WWW-Authenticate`), and only server-side
 * failures are logged.
 *
 * @packageDocumentation
 */
import { isAnonymousSessionError, toAnonymousSessionError, type ErrorResponseBody } from '../errors/errors.js';
import { consoleLogger, type Logger } from '../internal/logger.js';
import type { HttpResponse } from './http-exchange.js';

/** `Cache-Control` and `Pragma` of every response that carries a token or an error. */
export const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;
/** Sent with every JSON body, so no browser ever sniffs one into HTML or script. */
export const NOSNIFF = { 'X-Content-Type-Options': 'nosniff' } as const;

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
