import type { Context, Middleware, Next } from 'koa';
import { createErrorRenderer, type ErrorRendererOptions } from '@anonymous-sessions/core/http';
import { sendHttpResponse } from './http.js';

/** Options of {@link anonymousErrorHandler}: where this suite's 500 and 503 errors are logged, default `console`. */
export type AnonymousErrorHandlerOptions = ErrorRendererOptions;

/**
 * Renders this suite's errors thrown further down — the guards', the cookie extractor's, the
 * transfer's (every `AnonymousSessionError`) — as `{ error, error_description }` JSON with their
 * status and headers (`WWW-Authenticate`, `Retry-After`). Every other error (a host route's
 * `ctx.throw(404)` or crash, a body parser's 400, a failing transfer hook or user store) is
 * rethrown untouched, to the host's own error middleware or Koa's `ctx.onerror`. Mount it first,
 * before your routes. Without it, Koa's own `ctx.onerror` still answers with each error's status and
 * headers.
 */
export function anonymousErrorHandler(options: AnonymousErrorHandlerOptions = {}): Middleware {
  const render = createErrorRenderer(options);
  return async function anonymousErrorHandler(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (error) {
      const response = render(error);
      if (response === undefined || ctx.headerSent || !ctx.writable) throw error;
      sendHttpResponse(ctx, response);
    }
  };
}
