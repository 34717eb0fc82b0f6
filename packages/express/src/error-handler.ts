import type { ErrorRequestHandler } from 'express';
import { createErrorRenderer, type ErrorRendererOptions } from '@anonymous-sessions/core/http';
import { sendHttpResponse } from './http.js';

/** Options of {@link anonymousErrorHandler}: where this suite's 500 and 503 errors are logged, default `console`. */
export type AnonymousErrorHandlerOptions = ErrorRendererOptions;

/**
 * Renders this suite's errors — the guards', the cookie extractor's, the transfer's (every
 * `AnonymousSessionError`) — as `{ error, error_description }` JSON with their status and headers
 * (`WWW-Authenticate`, `Retry-After`). Every other error (a host route's 404 or crash, a body
 * parser's 400, a failing transfer hook or user store) goes on with `next(err)`, untouched, to the
 * host's own error handler (or Express's). Mount it after your routes, before your own handler.
 */
export function anonymousErrorHandler(options: AnonymousErrorHandlerOptions = {}): ErrorRequestHandler {
  const render = createErrorRenderer(options);
  return (error, _req, res, next) => {
    const response = render(error);
    if (response === undefined || res.headersSent) {
      next(error);
      return;
    }
    sendHttpResponse(res, response);
  };
}
