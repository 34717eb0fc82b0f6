import type { Context } from 'koa';
import type { HttpRequest, HttpResponse } from '@anonymous-sessions/core/http';

/** A body a host body parser (`@koa/bodyparser`, `koa-body`) left on `ctx.request.body`. */
export function hostBody(ctx: Context): Record<string, unknown> | undefined {
  const { body } = ctx.request as { body?: unknown };
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
}

/**
 * What the core's rules read from any Koa request: method, headers, client address, and the host
 * and protocol the app was reached at (`ctx.host` and `ctx.protocol` follow `X-Forwarded-*` only
 * when `app.proxy` trusts the proxy).
 */
export function requestFacts(ctx: Context): Pick<HttpRequest, 'method' | 'headers' | 'ip' | 'host' | 'protocol'> {
  return { method: ctx.method, headers: ctx.headers, ip: ctx.ip, host: ctx.host || undefined, protocol: ctx.protocol };
}

/** Translates a Koa context into the core's request-like object. */
export function toHttpRequest(ctx: Context): HttpRequest {
  // A host body parser that already ran consumed the stream; use what it produced. Otherwise
  // (none ran, or it skipped this content type) the core reads the stream itself, with its cap.
  return {
    ...requestFacts(ctx),
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
  // No body: null keeps a 204 empty; any other status (a redirect) gets an empty body, because
  // Koa turns a null body into a 204.
  ctx.body = response.body === undefined ? (response.status === 204 ? null : '') : response.body;
}
