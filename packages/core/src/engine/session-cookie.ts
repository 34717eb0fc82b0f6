/**
 * The `anon` session cookie: reading it from a `Cookie` header, and writing or clearing it. Its
 * options are the engine's `cookie` (one schema, in `config.ts`), so every middleware reads and
 * writes the same cookie; `HttpOnly`, `Secure` and `SameSite=Lax` by default.
 *
 * @packageDocumentation
 */
import { parse, serialize } from 'cookie';
import { parseOptions } from '../errors/parse-options.js';
import { epochSeconds } from '../internal/epoch-seconds.js';
import { cookieOptionsSchema, type ResolvedConfig, type ResolvedSessionCookieOptions, type SessionCookieOptions } from './config.js';

export type { ResolvedSessionCookieOptions, SessionCookieOptions } from './config.js';

/** Browsers silently drop a cookie larger than this (name, value and attributes). */
export const MAX_COOKIE_BYTES = 4096;
/** Max-Age for sessions that never expire: the longest browsers honour (400 days). */
const NEVER_EXPIRES_MAX_AGE = 400 * 24 * 60 * 60;

/**
 * What a cookie write needs to know about the request: its protocol as the framework reports it
 * (`req.protocol`, `ctx.protocol`), for `secure: 'auto'`. Unknown counts as HTTPS.
 */
export interface CookieWriteContext {
  /** `http` or `https`. */
  protocol?: string | undefined;
}

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
  serialize(token: string, expiresAt: number | null, request?: CookieWriteContext): string | undefined;
  /** The `Set-Cookie` value that deletes the cookie. */
  clear(request?: CookieWriteContext): string;
}

/** Whether a write for `request` carries `Secure`: `'auto'` follows the request's protocol (unknown: yes). */
function isSecure(secure: boolean | 'auto', request: CookieWriteContext | undefined): boolean {
  if (secure !== 'auto') return secure;
  return request?.protocol?.replace(/:$/, '').toLowerCase() !== 'http';
}

/**
 * Validates the cookie options once and returns the reader/writer.
 *
 * @throws ConfigError listing every bad option.
 */
export function cookieCodec(options: SessionCookieOptions = {}): SessionCookie {
  const resolved = Object.freeze(parseOptions(cookieOptionsSchema, options, 'cookie'));
  const attributes = (request: CookieWriteContext | undefined) =>
    ({
      httpOnly: resolved.httpOnly,
      secure: isSecure(resolved.secure, request),
      sameSite: resolved.sameSite,
      path: resolved.path,
      ...(resolved.domain === undefined ? {} : { domain: resolved.domain }),
      ...(resolved.partitioned ? { partitioned: true } : {}),
    }) as const;

  return {
    options: resolved,
    read(cookieHeader) {
      if (!cookieHeader) return undefined;
      const value = parse(cookieHeader)[resolved.name];
      return value && value.length <= MAX_COOKIE_BYTES ? value : undefined;
    },
    serialize(token, expiresAt, request) {
      const maxAge =
        expiresAt === null ? NEVER_EXPIRES_MAX_AGE : Math.max(0, expiresAt - epochSeconds());
      const header = serialize(resolved.name, token, { ...attributes(request), maxAge });
      return header.length > MAX_COOKIE_BYTES ? undefined : header;
    },
    clear(request) {
      return serialize(resolved.name, '', { ...attributes(request), maxAge: 0, expires: new Date(0) });
    },
  };
}

/**
 * @deprecated Renamed {@link cookieCodec}: it encodes the login-binding cookie too, not only the
 * session's. This alias goes in the next release.
 */
export const sessionCookie = cookieCodec;
/**
 * The engine's session cookie, with a middleware's own overrides laid over it (deprecated: one
 * release only). Every middleware builds its cookie here, so without overrides they all read and
 * write exactly the cookie the engine's `cookie` option describes.
 *
 * @param config - the engine's resolved configuration (`anon.config`).
 * @param overrides - a middleware's own cookie options, if any.
 * @throws ConfigError when the combination is invalid.
 */
export function engineSessionCookie(config: Pick<ResolvedConfig, 'cookie'>, overrides: SessionCookieOptions | undefined = undefined): SessionCookie {
  const { domain, ...rest } = config.cookie;
  return cookieCodec({ ...rest, ...(domain === undefined ? {} : { domain }), ...overrides });
}
