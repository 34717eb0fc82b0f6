/**
 * Shared fixtures for the core unit tests: the quick-start configuration (the README's quick start), an engine
 * factory with a silent logger, error assertions that check `code` and `status`, and helpers that
 * open or forge tokens with key material the test generated itself.
 */
import { CompactEncrypt, base64url, decodeJwt, decodeProtectedHeader, jwtDecrypt, type JWTPayload } from 'jose';
import { expect, vi, type Mock } from 'vitest';
import {
  AnonymousSessionError,
  ConfigError,
  createAnonymousSessions,
  memoryStore,
  type AnonymousSessionErrorCode,
  type AnonymousSessions,
  type AnonymousSessionsOptions,
  type ConfigIssue,
  type PrivateJwk,
  type PrivateJwkSet,
} from '@anonymous-sessions/core';

export const ISSUER = 'http://localhost:3000/';
export const AUDIENCE = 'https://api.shop.example';
export const CLIENT_ID = 'shop-web';
export const ANONYMOUS_SCOPES = ['anon', 'read:products', 'write:cart'] as const;

/** A frozen instant every time-dependent test starts from (a whole second). */
export const T0 = new Date('2030-01-01T00:00:00.000Z');
/** {@link T0} in epoch seconds. */
export const T0_SECONDS = Math.floor(T0.getTime() / 1000);

/** A logger that records instead of printing. */
export interface SilentLogger {
  warn: Mock<(message: string) => void>;
  error: Mock<(message: string, error?: unknown) => void>;
}

export function silentLogger(): SilentLogger {
  return { warn: vi.fn<(message: string) => void>(), error: vi.fn<(message: string, error?: unknown) => void>() };
}

/** The README quick start: one client that may create sessions, one API that allows guests. */
export function quickStartOptions(overrides: Partial<AnonymousSessionsOptions> = {}): AnonymousSessionsOptions {
  return {
    issuer: ISSUER,
    clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
    resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: [...ANONYMOUS_SCOPES] }],
    store: memoryStore(),
    logger: silentLogger(),
    ...overrides,
  };
}

/** An engine on the quick-start config; the logger is returned so tests can assert on warnings. */
export async function buildEngine(
  overrides: Partial<AnonymousSessionsOptions> = {},
): Promise<{ anon: AnonymousSessions; logger: SilentLogger }> {
  const logger = silentLogger();
  const anon = await createAnonymousSessions(quickStartOptions({ logger, ...overrides }));
  return { anon, logger };
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

/** Asserts an {@link AnonymousSessionError} with exactly this `code` and `status`, and returns it. */
export async function expectAnonymousError(
  promise: Promise<unknown>,
  code: AnonymousSessionErrorCode,
  status: number,
): Promise<AnonymousSessionError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(AnonymousSessionError);
  const known = error as AnonymousSessionError;
  expect({ code: known.code, status: known.status, statusCode: known.statusCode }).toEqual({
    code,
    status,
    statusCode: status,
  });
  return known;
}

/** Asserts a {@link ConfigError} and returns its issues. */
export async function expectConfigError(promise: Promise<unknown>): Promise<readonly ConfigIssue[]> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(ConfigError);
  const issues = (error as ConfigError).issues;
  expect(issues.length).toBeGreaterThan(0);
  return issues;
}

/** The paths of the issues, in order. */
export const issuePaths = (issues: readonly ConfigIssue[]): string[] => issues.map((issue) => issue.path);

/** The first signing key of a generated key set. */
export function signingJwk(set: PrivateJwkSet): PrivateJwk {
  const key = set.keys.find((jwk) => jwk.use === 'sig');
  if (key === undefined) throw new Error('the key set has no signing key');
  return key;
}

/** The first encryption secret of a generated key set. */
export function encryptionJwk(set: PrivateJwkSet): PrivateJwk {
  const key = set.keys.find((jwk) => jwk.use === 'enc');
  if (key === undefined) throw new Error('the key set has no encryption secret');
  return key;
}

/** The raw 256-bit secret of a key set's first encryption key. */
export function encryptionSecret(set: PrivateJwkSet): Uint8Array {
  return base64url.decode(encryptionJwk(set).k as string);
}

/** Opens a JWE session token with the secret of a key set the test generated (no claim checks). */
export async function openSessionToken(
  token: string,
  set: PrivateJwkSet,
): Promise<{ header: ReturnType<typeof decodeProtectedHeader>; payload: JWTPayload }> {
  const { payload } = await jwtDecrypt(token, encryptionSecret(set), { currentDate: new Date(0) });
  return { header: decodeProtectedHeader(token), payload };
}

/** Reads a JWS (access token or `jwt` session token) without verifying it. */
export function readJws(token: string): { header: ReturnType<typeof decodeProtectedHeader>; payload: JWTPayload } {
  return { header: decodeProtectedHeader(token), payload: decodeJwt(token) };
}

/** Seals claims into a compact JWE with a chosen protected header, as an attacker holding the secret could. */
export async function sealJwe(
  payload: Record<string, unknown>,
  header: Record<string, unknown>,
  secret: Uint8Array,
  critical?: Record<string, boolean>,
): Promise<string> {
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', ...header })
    .encrypt(secret, critical === undefined ? undefined : { crit: critical });
}

/** Changes one character in the middle of segment `index` of a compact token. */
export function tamper(token: string, index: number): string {
  const parts = token.split('.');
  const segment = parts[index];
  if (segment === undefined || segment.length === 0) throw new Error(`segment ${index} is empty`);
  const at = Math.floor(segment.length / 2);
  const replacement = segment[at] === 'A' ? 'B' : 'A';
  parts[index] = `${segment.slice(0, at)}${replacement}${segment.slice(at + 1)}`;
  return parts.join('.');
}

/** base64url of a JSON value, for hand-built tokens. */
export const encodeSegment = (value: unknown): string => base64url.encode(JSON.stringify(value));
