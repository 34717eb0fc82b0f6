import type { Context, Middleware, Next } from 'koa';
import { createErrorRenderer, type ErrorRendererOptions } from '@anonymous-sessions/core/http';
import { sendHttpResponse } from './http.js';

/** Options of {@link anonymousErrorHandler}: where unexpected errors (500) are logged, default `console`. */
export type AnonymousErrorHandlerOptions = ErrorRendererOptions;

/**
 * Renders errors thrown further down as `{ error, error_description }` JSON with their status and
 * headers (`WWW-Authenticate`, `Retry-After`). Anything unexpected becomes a 500 `server_error`,
 * logged server-side; the client never sees a stack trace. Mount it first, before your routes.
 * Without it, Koa's own `ctx.onerror` still answers with each error's status and headers.
 */
export function anonymousErrorHandler(options: AnonymousErrorHandlerOptions = {}): Middleware {
  const render = createErrorRenderer(options);
  return async function anonymousErrorHandler(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (error) {
      if (ctx.headerSent || !ctx.writable) throw error;
      sendHttpResponse(ctx, render(error));
    }
  };
}
