import type { ErrorRequestHandler } from 'express';
import { errorResponse, type Logger } from '@anonymous-sessions/core';
import { sendHttpResponse } from './http.js';

/** Options of {@link anonymousErrorHandler}. */
export interface AnonymousErrorHandlerOptions {
  /** Where unexpected errors (500) are logged. Default `console`. */
  logger?: Logger;
}

const consoleLogger: Logger = {
  warn: (message) => console.warn(`[anonymous-sessions] ${message}`),
  error: (message, error) => console.error(`[anonymous-sessions] ${message}`, error instanceof Error ? error : ''),
};

/**
 * Renders errors as `{ error, error_description }` JSON with their status and headers
 * (`WWW-Authenticate`, `Retry-After`). Anything unexpected becomes a 500 `server_error`, logged
 * server-side; the client never sees a stack trace. Mount it after your routes.
 */
export function anonymousErrorHandler(options: AnonymousErrorHandlerOptions = {}): ErrorRequestHandler {
  const logger = options.logger ?? consoleLogger;
  return (error, _req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    sendHttpResponse(res, errorResponse(error, logger));
  };
}
