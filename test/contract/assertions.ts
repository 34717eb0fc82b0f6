/**
 * Framework-free fixtures and assertions for the HTTP suites: the quick start's engine options,
 * and what every token and error response must look like. The contract suite (and each binding's
 * own tests) build their apps from these.
 */
import type { Response } from 'supertest';
import { expect, vi, type Mock } from 'vitest';
import {
  generateKeySet,
  memoryStore,
  type AnonymousSessionsOptions,
  type PrivateJwkSet,
} from '@anonymous-sessions/core';

export const ISSUER = 'http://localhost:3000/';
export const AUDIENCE = 'https://api.shop.example';
export const CLIENT_ID = 'shop-web';
export const SCOPES = ['anon', 'read:products', 'write:cart'] as const;
export const TOKEN_PATH = '/anonymous/token';
export const LOGOUT_PATH = '/anonymous/logout';
export const SESSION_PATH = '/anonymous/session';
/** 30 days, the default session lifetime. */
export const DEFAULT_SESSION_LIFETIME = 2_592_000;

/** A logger whose calls the tests can inspect; nothing reaches the console. */
export interface SilentLogger {
  warn: Mock<(message: string) => void>;
  error: Mock<(message: string, error?: unknown) => void>;
}

export function silentLogger(): SilentLogger {
  return { warn: vi.fn<(message: string) => void>(), error: vi.fn<(message: string, error?: unknown) => void>() };
}

let sharedKeys: Promise<PrivateJwkSet> | undefined;

/** One key set per test file (RSA generation is the slow part of building an engine). */
export function testKeys(): Promise<PrivateJwkSet> {
  sharedKeys ??= generateKeySet();
  return sharedKeys;
}

/** The engine options of the quick start, with the shared test keys and a silent logger. */
export async function quickStartEngineOptions(
  logger: SilentLogger,
  overrides: Partial<AnonymousSessionsOptions> = {},
): Promise<AnonymousSessionsOptions> {
  return {
    issuer: ISSUER,
    keys: await testKeys(),
    clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
    resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: [...SCOPES] }],
    store: memoryStore(),
    logger,
    ...overrides,
  };
}

/** The fields of a token request for the quick start's client and API. */
export function tokenRequest(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { client_id: CLIENT_ID, audience: AUDIENCE, ...fields };
}

/** A compact JWS or JWE (every token this library issues starts with a base64url JSON header). */
const COMPACT_TOKEN = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*\./;

/**
 * Asserts that a response text leaks nothing internal: no stack frames, no `SomethingError:` dumps,
 * no source file paths, no token.
 */
export function expectNoLeak(text: string): void {
  expect(text).not.toMatch(/ {4}at /);
  expect(text).not.toMatch(/\bat [^\s"]+ \(/);
  expect(text).not.toMatch(/\b[A-Z][A-Za-z]*Error:/);
  expect(text).not.toMatch(/(?:[A-Za-z]:)?(?:[\\/][\w.@-]+){2,}\.(?:[cm]?[jt]s|json)\b/);
  expect(text).not.toMatch(/node_modules|file:\/\//);
  expect(text).not.toMatch(COMPACT_TOKEN);
}

/**
 * Asserts an error response: its status, JSON body exactly `{ error, error_description }` (both
 * strings), the error code, `Cache-Control: no-store`, `X-Content-Type-Options: nosniff`, and no
 * leak of internals or tokens.
 */
export function expectError(res: Response, status: number, code: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body: unknown = JSON.parse(res.text);
  expect(body).toEqual({ error: code, error_description: expect.any(String) });
  expect((body as { error_description: string }).error_description.length).toBeGreaterThan(0);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expectNoLeak(res.text);
}

/** The `Set-Cookie` values of a response (always a list). */
export function setCookies(res: Response): string[] {
  const header: unknown = res.headers['set-cookie'];
  if (header === undefined) return [];
  return Array.isArray(header) ? header.map(String) : [String(header)];
}

/** The one `Set-Cookie` value for cookie `name`; fails when there is not exactly one. */
export function sessionSetCookie(res: Response, name = 'anon'): string {
  const matching = setCookies(res).filter((value) => value.startsWith(`${name}=`));
  expect(matching).toHaveLength(1);
  return matching[0]!;
}

/** A cookie's attributes, names lower-cased, for exact assertions. */
export function parseSetCookie(header: string): { name: string; value: string; attributes: Record<string, string | true> } {
  const [pair = '', ...rest] = header.split(';').map((part) => part.trim());
  const separator = pair.indexOf('=');
  const attributes: Record<string, string | true> = {};
  for (const attribute of rest) {
    const equals = attribute.indexOf('=');
    if (equals === -1) attributes[attribute.toLowerCase()] = true;
    else attributes[attribute.slice(0, equals).toLowerCase()] = attribute.slice(equals + 1);
  }
  return { name: pair.slice(0, separator), value: decodeURIComponent(pair.slice(separator + 1)), attributes };
}

/** The successful token response body. */
export interface TokenBody {
  session_token: string;
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

/** Asserts a 200 token response and returns its body. */
export function expectTokens(res: Response): TokenBody {
  expect(res.status, res.text).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  const body = res.body as TokenBody;
  expect(body).toEqual({
    session_token: expect.any(String),
    access_token: expect.any(String),
    token_type: 'Bearer',
    expires_in: expect.any(Number),
    scope: expect.any(String),
  });
  return body;
}

/** Freezes `Date` (only) at `iso`; timers keep running so sockets and store timeouts behave. */
export function freezeDate(iso = '2030-01-01T00:00:00.000Z'): number {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date(iso));
  return Date.now();
}

/** Moves the frozen `Date` forward. */
export function advanceDate(seconds: number): void {
  vi.setSystemTime(Date.now() + seconds * 1000);
}
