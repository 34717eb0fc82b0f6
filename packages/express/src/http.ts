import type { Request, Response } from 'express';
import type { HttpRequest, HttpResponse } from '@anonymous-sessions/core';

/** Translates an Express request into the core's request-like object. */
export function toHttpRequest(req: Request): HttpRequest {
  // A host body parser that already ran (express.json(), express.urlencoded()) consumed the
  // stream; use what it produced. Otherwise the core reads the stream itself, with its size cap.
  const alreadyRead = req.readableEnded || (req as { _body?: boolean })._body === true;
  return {
    method: req.method,
    headers: req.headers,
    ip: req.ip,
    host: req.get('host'),
    ...(alreadyRead ? { parsedBody: req.body ?? {} } : { bodyStream: req }),
  };
}

/** Writes the core's response through Express. */
export function sendHttpResponse(res: Response, response: HttpResponse): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) {
    if (name.toLowerCase() === 'set-cookie') res.append(name, value);
    else res.setHeader(name, value);
  }
  if (response.body === undefined) res.end();
  else res.json(response.body);
}
