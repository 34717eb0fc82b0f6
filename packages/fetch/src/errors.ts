import { createErrorRenderer, type AnonymousSessionError, type ErrorRendererOptions, type HttpResponse } from '@anonymous-sessions/core/http';
import { toResponse } from './request.js';

/**
 * One of this suite's errors as the fetch binding throws it: the `AnonymousSessionError` (`code`,
 * `status`, `headers` with `WWW-Authenticate`) with its rendered answer attached — `response`, ready
 * to return from a route handler, and `getResponse()`, a fresh copy each call, which Hono's default
 * error handler (and `HTTPException`-aware code) returns as it is.
 */
export interface AnonymousErrorWithResponse extends AnonymousSessionError {
  /** `{ error, error_description }` JSON with the error's status and headers (`WWW-Authenticate`, `Retry-After`, no-store, nosniff). */
  readonly response: Response;
  /** The same answer, built anew (a `Response` body can be read once). */
  getResponse(): Response;
}

/** Options of {@link anonymousErrorResponse}: where this suite's 500 and 503 errors are logged, default `console`. */
export type AnonymousErrorResponseOptions = ErrorRendererOptions;

const RENDERED = Symbol.for('anonymous-sessions.fetch.rendered');

/**
 * The answer attached to a thrown error is rendered without logging: a 500 or 503 is logged where
 * the host renders it with its logger ({@link anonymousErrorResponse}, the Hono
 * `anonymousErrorHandler`), as Express's and Koa's error handlers do.
 */
const renderSilently = createErrorRenderer({ logger: { warn: () => undefined, error: () => undefined } });

/**
 * Attaches the rendered answer to one of this suite's errors and returns it; any other error is
 * returned untouched, for the host's own handling.
 */
export function withResponse(error: unknown, render: (error: unknown) => HttpResponse | undefined = renderSilently): unknown {
  // The renderer recognises this suite's errors (across two loaded copies of core, too).
  if (typeof error !== 'object' || error === null || RENDERED in error) return error;
  const rendered = render(error);
  if (rendered === undefined) return error;
  let ready: Response | undefined;
  Object.defineProperties(error, {
    [RENDERED]: { value: rendered },
    response: { get: () => (ready ??= toResponse(rendered)) },
    getResponse: { value: () => toResponse(rendered) },
  });
  return error;
}

/**
 * The answer to one of this suite's errors — a guard's refusal, the cookie extractor's or the
 * transfer's — as `{ error, error_description }` JSON with its status and headers; `undefined` for
 * any other error (a host bug, a failing transfer hook), which the host handles itself. The
 * fetch binding's `anonymousErrorHandler`: `catch (error) { return anonymousErrorResponse(error) ?? … }`.
 */
export function anonymousErrorResponse(error: unknown, options: AnonymousErrorResponseOptions = {}): Response | undefined {
  const rendered = createErrorRenderer(options)(error);
  return rendered === undefined ? undefined : toResponse(rendered);
}

/** Whether `error` is one of this suite's errors with its answer attached. */
export function isErrorWithResponse(error: unknown): error is AnonymousErrorWithResponse {
  return typeof error === 'object' && error !== null && RENDERED in error;
}

/** Runs `work`, rethrowing this suite's errors with their rendered answer attached. */
export async function rendering<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw withResponse(error);
  }
}
