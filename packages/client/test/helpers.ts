/**
 * Fixtures for the client suite: a REAL anonymous-sessions server (Express + the token router from
 * this repository, or Hono + the fetch binding: `useServer('hono')`) on 127.0.0.1, port 0, that records every request it receives; a cookie-jar
 * `fetch` for cookie mode in Node; and a `fetch` that can be switched offline.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import express from 'express';
import { Hono } from 'hono';
import { vi } from 'vitest';
import {
  createAnonymousSessions,
  generateKeySet,
  memoryStore,
  type AnonymousSessions,
  type AnonymousSessionsOptions,
  type PrivateJwkSet,
} from '@anonymous-sessions/core';
import { anonymousErrorHandler, anonymousTokenRouter } from '@anonymous-sessions/express';
import * as hono from '@anonymous-sessions/fetch/hono';
import type { FetchFunction, FetchRequestInit, FetchResponse, JsonObject } from '@anonymous-sessions/client';

export const CLIENT_ID = 'shop-web';
export const AUDIENCE = 'https://api.shop.example';
export const OTHER_AUDIENCE = 'https://api.reviews.example';
export const SCOPES = ['anon', 'read:products', 'write:cart'] as const;
/** Where the client keeps the session token in token mode (the default key prefix). */
export const TOKEN_KEY = `anonymous-sessions:${CLIENT_ID}:session_token`;
/** Where the client persists the offline queue (the default key prefix). */
export const PENDING_KEY = `anonymous-sessions:${CLIENT_ID}:pending_metadata`;

/** One request as the server saw it. */
export interface RecordedRequest {
  method: string;
  path: string;
  /** The parsed JSON body (POST). */
  body: Record<string, unknown> | undefined;
  /** Whether an `Authorization` header came with it. */
  authorization: boolean;
  /** Whether a `Cookie` header came with it. */
  cookie: boolean;
  /** The response status, once the response finished. */
  status?: number;
}

/** A running server and its request log. */
export interface TestServer {
  baseUrl: string;
  anon: AnonymousSessions;
  /** Every request, in arrival order. */
  requests: RecordedRequest[];
  /** The `POST /anonymous/token` requests only. */
  tokenRequests(): RecordedRequest[];
  /** `"METHOD /path STATUS"` for each request: the shape tests compare against. */
  summary(): string[];
  /** Empties the log. */
  reset(): void;
  close(): Promise<void>;
}

let sharedKeys: Promise<PrivateJwkSet> | undefined;

/** One key set per test file: key generation is the slow part of building an engine. */
function testKeys(): Promise<PrivateJwkSet> {
  sharedKeys ??= generateKeySet();
  return sharedKeys;
}

/** Which binding serves the suite: Express (default), or the fetch binding on Hono (`on-hono.test.ts`). */
let serverKind: 'express' | 'hono' = 'express';

/** Serves every following `startServer` with `kind`. */
export function useServer(kind: 'express' | 'hono'): void {
  serverKind = kind;
}

type Logger = { warn: () => void; error: () => void };

/** The Express server: `express.json()`, the recorder, the token router, the JSON error handler. */
function expressListener(anon: AnonymousSessions, logger: Logger, requests: RecordedRequest[]): http.RequestListener {
  const app = express();
  app.use(express.json());
  app.use((req, res, next) => {
    const record: RecordedRequest = {
      method: req.method,
      path: req.path,
      body: req.body as Record<string, unknown> | undefined,
      authorization: req.headers.authorization !== undefined,
      cookie: req.headers.cookie !== undefined,
    };
    requests.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
    });
    next();
  });
  app.use(anonymousTokenRouter(anon, { cookie: { secure: false } }));
  app.use(anonymousErrorHandler({ logger }));
  return app;
}

/** The same server on Hono with `@anonymous-sessions/fetch/hono`, through `@hono/node-server`; the recorder reads the JSON body first, as `express.json()` does. */
function honoListener(anon: AnonymousSessions, logger: Logger, requests: RecordedRequest[]): http.RequestListener {
  const app = new Hono();
  app.onError(hono.anonymousErrorHandler({ logger }));
  app.use(async (c, next) => {
    const isJson = (c.req.header('content-type') ?? '').startsWith('application/json') && c.req.raw.body !== null;
    const record: RecordedRequest = {
      method: c.req.method,
      path: c.req.path,
      body: isJson ? ((await c.req.json()) as Record<string, unknown>) : undefined,
      authorization: c.req.header('authorization') !== undefined,
      cookie: c.req.header('cookie') !== undefined,
    };
    requests.push(record);
    await next();
    record.status = c.res.status;
  });
  app.use(hono.anonymousTokenRouter(anon, { cookie: { secure: false } }));
  return getRequestListener(app.fetch);
}

/**
 * Starts the quick-start server (the README's quick start) with two APIs, no rate limit and a silent logger. A
 * middleware before the router records each request (after `express.json()`, which the router
 * respects).
 */
export async function startServer(overrides: Partial<AnonymousSessionsOptions> = {}): Promise<TestServer> {
  const logger = { warn: vi.fn(), error: vi.fn() };
  const anon = await createAnonymousSessions({
    issuer: 'http://127.0.0.1/',
    keys: await testKeys(),
    clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
    resourceServers: [
      { audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: [...SCOPES] },
      { audience: OTHER_AUDIENCE, allowAnonymousAccess: true, anonymousScopes: ['anon', 'write:reviews'] },
    ],
    store: memoryStore(),
    rateLimit: false,
    logger,
    ...overrides,
  });
  const requests: RecordedRequest[] = [];
  const server = http.createServer(serverKind === 'hono' ? honoListener(anon, logger, requests) : expressListener(anon, logger, requests));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    anon,
    requests,
    tokenRequests: () => requests.filter((request) => request.method === 'POST' && request.path === '/anonymous/token'),
    summary: () => requests.map((request) => `${request.method} ${request.path} ${request.status ?? '…'}`),
    reset: () => {
      requests.length = 0;
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** The metadata patch each token request carried, in order. */
export function sentPatches(server: TestServer): (JsonObject | undefined)[] {
  return server.tokenRequests().map((request) => request.body?.metadata as JsonObject | undefined);
}

/** A `fetch` with a cookie jar, as a browser would have, recording every request's options. */
export interface CookieJarFetch {
  fetch: FetchFunction;
  /** The jar: cookie name → value. */
  cookies: Map<string, string>;
  /** The options of every request, in order. */
  inits: FetchRequestInit[];
}

/** Builds a {@link CookieJarFetch} over the global `fetch`. */
export function cookieJarFetch(): CookieJarFetch {
  const cookies = new Map<string, string>();
  const inits: FetchRequestInit[] = [];
  const jarFetch: FetchFunction = async (url, init) => {
    inits.push(init);
    const headers = { ...init.headers };
    if (init.credentials === 'include' && cookies.size > 0) {
      headers.Cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    }
    const response = await fetch(url, { ...init, headers });
    if (init.credentials === 'include') {
      for (const setCookie of response.headers.getSetCookie()) {
        const [pair = '', ...attributes] = setCookie.split(';').map((part) => part.trim());
        const separator = pair.indexOf('=');
        const name = pair.slice(0, separator);
        const cleared = attributes.some(
          (attribute) =>
            /^max-age=0$/i.test(attribute) ||
            (/^expires=/i.test(attribute) && Date.parse(attribute.slice(8)) <= Date.now()),
        );
        if (cleared) cookies.delete(name);
        else cookies.set(name, pair.slice(separator + 1));
      }
    }
    return response;
  };
  return { fetch: jarFetch, cookies, inits };
}

/** A `fetch` that throws fetch's own `TypeError` while {@link SwitchableFetch.online} is false. */
export interface SwitchableFetch {
  fetch: FetchFunction;
  online: boolean;
  /** Requests attempted while offline (they never reached the server). */
  failedAttempts: number;
}

/** Builds a {@link SwitchableFetch}, online at first. */
export function switchableFetch(inner: FetchFunction = (url, init) => fetch(url, init)): SwitchableFetch {
  const state: SwitchableFetch = {
    online: true,
    failedAttempts: 0,
    fetch: async (url: string, init: FetchRequestInit): Promise<FetchResponse> => {
      if (!state.online) {
        state.failedAttempts += 1;
        throw new TypeError('fetch failed');
      }
      return inner(url, init);
    },
  };
  return state;
}

/** Awaits a promise that must reject and returns what it rejected with. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** Freezes `Date` (only) at `iso`; timers and sockets keep running. */
export function freezeDate(iso = '2030-01-01T00:00:00.000Z'): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date(iso));
}

/** Moves the frozen `Date` forward. */
export function advanceDate(seconds: number): void {
  vi.setSystemTime(Date.now() + seconds * 1000);
}
