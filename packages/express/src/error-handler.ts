import type { ErrorRequestHandler } from 'express';
import { createErrorRenderer, type ErrorRendererOptions } from '@anonymous-sessions/core/http';
import { sendHttpResponse } from './http.js';

/** Options of {@link anonymousErrorHandler}: where unexpected errors (500) are logged, default `console`. */
export type AnonymousErrorHandlerOptions = ErrorRendererOptions;

/**
 * Renders errors as `{ error, error_description }` JSON with their status and headers
 * (`WWW-Authenticate`, `Retry-After`). Anything unexpected becomes a 500 `server_error`, logged
 * server-side; the client never sees a stack trace. Mount it after your routes.
 */
export function anonymousErrorHandler(options: AnonymousErrorHandlerOptions = {}): ErrorRequestHandler {
  const render = createErrorRenderer(options);
  return (error, _req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    sendHttpResponse(res, render(error));
  };
}
