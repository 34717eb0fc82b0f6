/**
 * The `anon` session cookie: its options (defaulted once here), reading it from a `Cookie` header,
 * and writing or clearing it. `HttpOnly`, `Secure` and `SameSite=Lax` by default.
 *
 * @packageDocumentation
 */
import { parse, serialize } from 'cookie';
import { z } from 'zod';
import { parseOptions } from '../errors/parse-options.js';

/** Browsers silently drop a cookie larger than this (name, value and attributes). */
export const MAX_COOKIE_BYTES = 4096;
/** Max-Age for sessions that never expire: the longest browsers honour (400 days). */
const NEVER_EXPIRES_MAX_AGE = 400 * 24 * 60 * 60;

const cookieOptionsSchema = z
  .object({
    /** Cookie name. Default `anon`. */
    name: z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid cookie name').default('anon'),
    /** Default true: scripts cannot read the session token. */
    httpOnly: z.boolean().default(true),
    /** Default true: only sent over HTTPS. Set false for local development over http. */
    secure: z.boolean().default(true),
    /** Default `lax`. */
    sameSite: z.enum(['lax', 'strict', 'none']).default('lax'),
    /** Default `/`. */
    path: z.string().startsWith('/').default('/'),
    /** Cookie domain; default host-only. */
    domain: z.string().min(1).optional(),
  })
  .strict()
  .refine((options) => options.sameSite !== 'none' || options.secure, {
    message: 'sameSite "none" requires secure: true',
    path: ['sameSite'],
  });

/** Options of the session cookie. */
export type SessionCookieOptions = z.input<typeof cookieOptionsSchema>;
/** The session cookie's options after defaults. */
export type ResolvedSessionCookieOptions = z.output<typeof cookieOptionsSchema>;

/** Reads and writes the session cookie. */
export interface SessionCookie {
  /** The resolved options. */
  readonly options: ResolvedSessionCookieOptions;
  /**
   * The session token in a `Cookie` header, if any. A value longer than {@link MAX_COOKIE_BYTES}
   * (which no browser keeps, and this library never writes) is no token: it is never decrypted.
   */
  read(cookieHeader: string | undefined): string | undefined;
  /**
   * The `Set-Cookie` value that stores `token` until `expiresAt` (epoch seconds; `null` = never).
   * `undefined` when it would pass {@link MAX_COOKIE_BYTES}: browsers would drop it silently.
   */
  serialize(token: string, expiresAt: number | null): string | undefined;
  /** The `Set-Cookie` value that deletes the cookie. */
  clear(): string;
}

/**
 * Validates the cookie options once and returns the reader/writer.
 *
 * @throws ConfigError listing every bad option.
 */
export function cookieCodec(options: SessionCookieOptions = {}): SessionCookie {
  const resolved = Object.freeze(parseOptions(cookieOptionsSchema, options, 'cookie'));
  const attributes = {
    httpOnly: resolved.httpOnly,
    secure: resolved.secure,
    sameSite: resolved.sameSite,
    path: resolved.path,
    ...(resolved.domain === undefined ? {} : { domain: resolved.domain }),
  } as const;

  return {
    options: resolved,
    read(cookieHeader) {
      if (!cookieHeader) return undefined;
      const value = parse(cookieHeader)[resolved.name];
      return value && value.length <= MAX_COOKIE_BYTES ? value : undefined;
    },
    serialize(token, expiresAt) {
      const maxAge =
        expiresAt === null ? NEVER_EXPIRES_MAX_AGE : Math.max(0, expiresAt - Math.floor(Date.now() / 1000));
      const header = serialize(resolved.name, token, { ...attributes, maxAge });
      return header.length > MAX_COOKIE_BYTES ? undefined : header;
    },
    clear() {
      return serialize(resolved.name, '', { ...attributes, maxAge: 0, expires: new Date(0) });
    },
  };
}

/**
 * @deprecated Renamed {@link cookieCodec}: it encodes the login-binding cookie too, not only the
 * session's. This alias goes in the next release.
 */
export const sessionCookie = cookieCodec;
