import type { Context } from 'koa';
import type { HttpRequest, HttpResponse } from '@anonymous-sessions/core';

/** A body a host body parser (`@koa/bodyparser`, `koa-body`) left on `ctx.request.body`. */
export function hostBody(ctx: Context): Record<string, unknown> | undefined {
  const { body } = ctx.request as { body?: unknown };
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
}

/** Translates a Koa context into the core's request-like object. */
export function toHttpRequest(ctx: Context): HttpRequest {
  // A host body parser that already ran consumed the stream; use what it produced. Otherwise
  // (none ran, or it skipped this content type) the core reads the stream itself, with its cap.
  return {
    method: ctx.method,
    headers: ctx.headers,
    ip: ctx.ip,
    // `ctx.host` is X-Forwarded-Host only when `app.proxy` trusts the proxy, else Host.
    host: ctx.host || undefined,
    ...(ctx.req.readableEnded ? { parsedBody: (ctx.request as { body?: unknown }).body ?? {} } : { bodyStream: ctx.req }),
  };
}

/** Writes the core's response through Koa. */
export function sendHttpResponse(ctx: Context, response: HttpResponse): void {
  ctx.status = response.status;
  for (const [name, value] of Object.entries(response.headers)) {
    if (name.toLowerCase() === 'set-cookie') ctx.append(name, value);
    else ctx.set(name, value);
  }
  ctx.body = response.body === undefined ? null : response.body;
}
