import type { Request, Response } from 'express';
import type { HttpRequest, HttpResponse } from '@anonymous-sessions/core/http';

/**
 * What the core's rules read from any Express request: method, headers, client address, and the
 * host and protocol the app was reached at (`req.protocol` honours the `trust proxy` setting).
 */
export function requestFacts(req: Request): Pick<HttpRequest, 'method' | 'headers' | 'ip' | 'host' | 'protocol'> {
  return { method: req.method, headers: req.headers, ip: req.ip, host: appHost(req), protocol: req.protocol };
}

/** Translates an Express request into the core's request-like object. */
export function toHttpRequest(req: Request): HttpRequest {
  // A host body parser that already ran (express.json(), express.urlencoded()) consumed the
  // stream; use what it produced. Otherwise the core reads the stream itself, with its size cap.
  const alreadyRead = req.readableEnded || (req as { _body?: boolean })._body === true;
  return {
    ...requestFacts(req),
    mountPath: req.baseUrl,
    ...(alreadyRead ? { parsedBody: req.body ?? {} } : { bodyStream: req }),
  };
}

/**
 * The host the app was reached at, as the browser saw it: `X-Forwarded-Host` only when the app's
 * `trust proxy` setting trusts the peer (as Express 5's `req.host` does), else `Host`.
 */
export function appHost(req: Request): string | undefined {
  const trust = req.app.get('trust proxy fn') as ((address: string | undefined, hop: number) => boolean) | undefined;
  const forwarded = req.get('x-forwarded-host');
  if (forwarded && trust?.(req.socket.remoteAddress, 0)) return forwarded.split(',')[0]!.trim();
  return req.get('host');
}

/** Writes the core's response through Express. */
export function sendHttpResponse(res: Response, response: HttpResponse): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) {
    if (name.toLowerCase() === 'set-cookie') res.append(name, value);
    else res.setHeader(name, value);
  }
  if (response.body === undefined) {
    res.end();
    return;
  }
  // Written directly rather than with res.json(): these bodies are small, mostly no-store, and
  // need neither Express's ETag hash nor its freshness check.
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(response.body));
}
