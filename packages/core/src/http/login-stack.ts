/**
 * Session transfer inside real login stacks (express-openid-connect, Passport, openid-client), on
 * top of the login binding and the transfer handler of `login-flow`: the pieces every stack needs
 * around the redirect to the identity provider and back, written once here so the Express and Koa
 * helpers only translate.
 *
 * - **Login start.** Binds the guest session to this login (the binding goes in the binding cookie
 *   or, for the stack to carry in its OAuth `state`, in the outcome), and works out a same-origin
 *   `returnTo`. The guest session comes from the session cookie or, as Auth0's `/authorize`
 *   accepts it, from an `anonymous_session_token` query parameter — for guests who live in a
 *   native app or on another subdomain. A query token is accepted only on a navigation the user
 *   (or a same-site page) started, never on a cross-site one (Fetch Metadata), is kept for the
 *   callback in its own short-lived HttpOnly cookie (never in the `state`, the redirect or the
 *   `returnTo`), and is never written to the session cookie.
 * - **Callback.** Runs the transfer for whoever the stack authenticated, with the query-given
 *   token if the login had one, else the session cookie; clears the login's cookies.
 *
 * Every rule of the transfer itself (bound to the login that started it, once per (session, user),
 * unsupported flows skipped, `endAnonymousSession`) is `anon.transfer`'s.
 *
 * @packageDocumentation
 */
import * as z from 'zod/mini';
import type { $ZodType } from 'zod/v4/core';
import type { AnonymousSessions } from '../engine/engine.js';
import { headerValue, type HttpHeaders } from '../exchange/http-exchange.js';
import { AccessDeniedError, InvalidRequestError } from '../errors/errors.js';
import { functionOption, parseOptions } from '../errors/parse-options.js';
import {
  loginBinder,
  transferHandler,
  LOGIN_BINDING_COOKIE,
  transferStepShape,
  type AuthenticatedUser,
  type TransferHandlerOptions,
  type TransferHandlerOutcome,
} from './login-flow.js';
import { LOGIN_BINDING_LIFETIME } from '../tokens/login-binding.js';
import { safeRedirectTarget } from './redirect.js';
import { epochSeconds } from '../internal/epoch-seconds.js';
import { cookieCodec } from '../engine/session-cookie.js';
import { DEFAULT_SESSION_QUERY_PARAM, queryParamOption } from './session-extractor.js';
import { sessionExpiresAt, type AnonymousSession } from '../tokens/session-token.js';

/** The default name of the cookie keeping a query-given session token until the callback. */
export const LOGIN_SEED_COOKIE = 'anon_login_seed';
/** The default name of the cookie keeping the same-origin `returnTo` until the callback. */
export const LOGIN_RETURN_COOKIE = 'anon_login_return';

/** Options shared by the login start and the callback of a login stack. */
export interface LoginStackOptions extends TransferHandlerOptions {
  /**
   * The login start's query parameter that may carry a guest's session token (a guest in a native
   * app or on another subdomain). Default `anonymous_session_token`, as Auth0's `/authorize`;
   * `false` turns it off.
   */
  queryParam?: string | false;
  /** The cookie keeping a query-given token until the callback. Default `anon_login_seed`. */
  seedCookieName?: string;
  /** The cookie keeping `returnTo` until the callback, when the stack has no `state` for it. Default `anon_login_return`. */
  returnToCookieName?: string;
}

/** What the login start needs of {@link LoginStackOptions}: the cookies and the query parameter. */
export type LoginStartOptions = Pick<LoginStackOptions, 'cookie' | 'bindingCookieName' | 'queryParam' | 'seedCookieName' | 'returnToCookieName'>;

/** The fields of {@link LoginStackOptions}. */
const loginStackShape = {
  ...transferStepShape,
  queryParam: z.optional(queryParamOption),
  seedCookieName: z.optional(z.string()),
  returnToCookieName: z.optional(z.string()),
};
/** The schema of {@link LoginStackOptions} ({@link createLoginFinish}'s options). */
export const loginStackOptionsSchema = z.strictObject(loginStackShape);
/** The schema of {@link LoginStartOptions} ({@link createLoginStart}'s options). */
export const loginStartOptionsSchema = z.strictObject({
  cookie: loginStackShape.cookie,
  bindingCookieName: loginStackShape.bindingCookieName,
  queryParam: loginStackShape.queryParam,
  seedCookieName: loginStackShape.seedCookieName,
  returnToCookieName: loginStackShape.returnToCookieName,
});

/**
 * Option objects a binding already parsed with {@link parseLoginStackOptions} (with its own extra
 * options): {@link createLoginStart} and {@link createLoginFinish} take them as they are, so each
 * is validated once, with the binding's keys known.
 */
const parsedByBinding = new WeakSet<object>();

/**
 * Parses a login-stack helper's options once, strictly: the {@link LoginStackOptions} plus the
 * helper's own (`extra`, a schema per key: `getUser`, `flow`, `stateKey`, …). An unknown key (a
 * misspelt `onPostlogin` would silently transfer nothing), an ill-typed known one or bad cookie
 * options are one {@link ConfigError} naming them. The same object may then be passed to
 * {@link createLoginStart} and {@link createLoginFinish}, which do not parse it again.
 *
 * @param options - what the host passed.
 * @param extra - the helper's own options and their schemas.
 * @throws ConfigError listing every bad option.
 */
export function parseLoginStackOptions<T extends object>(options: T, extra: Readonly<Record<string, $ZodType>> = {}): T {
  parseOptions(z.strictObject({ ...loginStackShape, ...extra }), options);
  const record = options as LoginStackOptions;
  // Cookie names and attributes: the cookie codec's own validation (ConfigError naming the key).
  for (const name of [record.bindingCookieName, record.seedCookieName, record.returnToCookieName]) {
    if (name !== undefined) cookieCodec({ ...record.cookie, name });
  }
  cookieCodec(record.cookie);
  parsedByBinding.add(options);
  return options;
}

/**
 * The option names of {@link LoginStackOptions}.
 *
 * @deprecated the options are a schema now ({@link parseLoginStackOptions}). Removed in the next major.
 */
export const LOGIN_STACK_OPTION_KEYS: readonly string[] = Object.freeze(Object.keys(loginStackShape));

/**
 * Validates a login-stack helper's options.
 *
 * @deprecated use {@link parseLoginStackOptions}, which takes a schema per extra key. Removed in
 * the next major.
 * @param options - what the host passed.
 * @param extraKeys - the helper's own option names (`getUser` is required and a function; the
 *   others are known and not checked here).
 * @param functionKeys - which of those must be functions when given.
 * @throws ConfigError listing every bad option.
 */
export function assertLoginStackOptions(options: unknown, extraKeys: readonly string[] = [], functionKeys: readonly string[] = []): void {
  const extra: Record<string, $ZodType> = {};
  for (const key of extraKeys) {
    extra[key] = key === 'getUser' ? functionOption() : functionKeys.includes(key) ? z.optional(functionOption()) : z.optional(z.unknown());
  }
  for (const key of functionKeys) extra[key] ??= z.optional(functionOption());
  parseLoginStackOptions(options as object, extra);
}

/**
 * Whether a session token in the login start's query may seed this login: only when the browser
 * says the navigation was started by the user (`Sec-Fetch-Site: none`: typed, bookmarked, opened
 * by a native app) or by a page of this site (`same-origin`, `same-site`: another subdomain). A
 * cross-site page — or a client that sends no Fetch Metadata — cannot plant a guest session into
 * someone else's login this way.
 */
export function acceptsQuerySessionToken(headers: HttpHeaders): boolean {
  const site = headerValue(headers, 'sec-fetch-site');
  return site === 'none' || site === 'same-origin' || site === 'same-site';
}

/**
 * A same-origin path without the query parameter `name` (e.g. the session token a login start was
 * reached with), so it is never echoed into a redirect or an OAuth `state`.
 */
export function stripQueryParameter(path: string, name: string | false): string {
  if (name === false || !path.includes('?')) return path;
  const url = new URL(path, 'http://same-origin.invalid');
  if (!url.searchParams.has(name)) return path;
  url.searchParams.delete(name);
  return `${url.pathname}${url.search}${url.hash}`;
}

/**
 * `target` as a same-origin path: a path is checked by {@link safeRedirectTarget}; an absolute URL
 * is accepted only on `origin` (the app's own, e.g. express-openid-connect's `baseURL`) and
 * becomes its path. Anything else: `fallback`.
 */
export function sameOriginReturnTo(target: unknown, origin: string | undefined, fallback = '/'): string {
  if (typeof target === 'string' && origin !== undefined && /^https?:\/\//i.test(target)) {
    try {
      const url = new URL(target);
      if (url.origin !== new URL(origin).origin) return fallback;
      return safeRedirectTarget(`${url.pathname}${url.search}${url.hash}`, fallback);
    } catch {
      return fallback;
    }
  }
  return safeRedirectTarget(target, fallback);
}

/** What the login start needs from the request. */
export interface LoginStartRequest {
  /** Request headers, names in lower case (cookies and `Sec-Fetch-Site` are read). */
  headers: HttpHeaders;
  /** The parsed query (the session-token parameter is read from it; a repeated one is no token). */
  query?: Readonly<Record<string, unknown>> | undefined;
  /** A session already extracted by `anonCookieExtractor`; else the session cookie is read. */
  session?: AnonymousSession | undefined;
  /** Where to go after the login: untrusted (e.g. `req.query.returnTo`). */
  returnTo?: unknown;
  /** The app's origin, to accept an absolute `returnTo` on it. */
  origin?: string | undefined;
  /** Where the binding travels: its cookie (default), or only the outcome, for the stack's OAuth `state`. */
  bindingIn?: 'cookie' | 'state';
  /** Keep `returnTo` in its cookie for the callback (stacks without a `state` of their own). */
  rememberReturnTo?: boolean;
}

/** What the login start produced. */
export interface LoginStartOutcome {
  /** The binding (when a guest session was found), for an OAuth `state`. */
  binding?: string;
  /** The same-origin path to return to, never carrying the session token. */
  returnTo: string;
  /** Where the bound session came from; `undefined` when none. */
  source?: 'query' | 'cookie';
  /** `Set-Cookie` values to send. */
  setCookies: string[];
  /** Other response headers (`Referrer-Policy: no-referrer`, `Cache-Control: no-store` when the URL held a token). */
  headers: Record<string, string>;
}

/**
 * Builds the login start of a login stack: finds the guest session (query token, extracted session
 * or cookie), binds it with `anon.createLoginBinding`, keeps a query token in its own cookie, and
 * resolves the same-origin `returnTo`. A bad, expired or cross-site query token is ignored (the
 * login goes on with the cookie's session, if any); a store outage throws (503).
 *
 * @throws ConfigError for bad cookie options, at start-up.
 */
export function createLoginStart(anon: AnonymousSessions, options: LoginStartOptions = {}) {
  if (!parsedByBinding.has(options)) parseOptions(loginStartOptionsSchema, options);
  const bind = loginBinder(anon, options);
  const queryParam = options.queryParam ?? DEFAULT_SESSION_QUERY_PARAM;
  const bindingName = options.bindingCookieName ?? LOGIN_BINDING_COOKIE;
  const bindingCookie = cookieCodec({ ...options.cookie, name: bindingName });
  const seedCookie = cookieCodec({ ...options.cookie, name: options.seedCookieName ?? LOGIN_SEED_COOKIE });
  const returnCookie = cookieCodec({ ...options.cookie, name: options.returnToCookieName ?? LOGIN_RETURN_COOKIE });

  return async (request: LoginStartRequest): Promise<LoginStartOutcome> => {
    const cookieHeader = headerValue(request.headers, 'cookie');
    const raw = queryParam === false ? undefined : request.query?.[queryParam];
    const headers: Record<string, string> = {};
    if (raw !== undefined) {
      // The URL held a session token: no Referer may carry it on, no cache may keep the answer.
      headers['Referrer-Policy'] = 'no-referrer';
      headers['Cache-Control'] = 'no-store';
    }

    let seeded: { session: AnonymousSession; token: string } | undefined;
    if (typeof raw === 'string' && raw.length > 0 && acceptsQuerySessionToken(request.headers)) {
      const session = await anon.verifySessionToken(raw).then(
        (found) => found,
        (error: unknown) => {
          if ((error as { status?: number }).status === 401) return undefined; // bad or expired: ignored
          throw error; // store outage: 503
        },
      );
      if (session !== undefined) seeded = { session, token: raw };
    }

    const outcome = await bind({ headers: request.headers, session: seeded?.session ?? request.session });
    const setCookies =
      request.bindingIn === 'state' ? outcome.setCookies.filter((header) => !header.startsWith(`${bindingName}=`)) : [...outcome.setCookies];
    if (outcome.binding === undefined && bindingCookie.read(cookieHeader) !== undefined) {
      setCookies.push(bindingCookie.clear()); // no guest now: an earlier login's binding must not stay behind
    }
    const now = epochSeconds();
    const loginEnds = now + LOGIN_BINDING_LIFETIME;
    if (seeded !== undefined) {
      const sessionEnds = sessionExpiresAt(seeded.session);
      const header = seedCookie.serialize(seeded.token, sessionEnds === null ? loginEnds : Math.min(loginEnds, sessionEnds));
      if (header !== undefined) setCookies.push(header);
    } else if (seedCookie.read(cookieHeader) !== undefined) {
      setCookies.push(seedCookie.clear()); // an earlier login's token must not stand in for this one's
    }

    const returnTo = stripQueryParameter(sameOriginReturnTo(request.returnTo, request.origin), queryParam);
    if (request.rememberReturnTo) {
      if (returnTo !== '/') {
        const header = returnCookie.serialize(returnTo, loginEnds);
        if (header !== undefined) setCookies.push(header);
      } else if (returnCookie.read(cookieHeader) !== undefined) {
        setCookies.push(returnCookie.clear()); // an earlier login's returnTo must not stand in for this one's
      }
    }
    return {
      ...(outcome.binding === undefined ? {} : { binding: outcome.binding }),
      returnTo,
      ...(outcome.binding === undefined ? {} : { source: seeded === undefined ? ('cookie' as const) : ('query' as const) }),
      setCookies,
      headers,
    };
  };
}

/** What the callback needs from the request. */
export interface LoginFinishRequest {
  /** Request headers, names in lower case. */
  headers: HttpHeaders;
  /** The client address. */
  ip?: string | undefined;
  /** Who the stack authenticated; `undefined`: nobody, nothing transfers (the login's cookies are still cleared). */
  user: AuthenticatedUser | undefined;
  /** The binding the stack's OAuth `state` carried back; else the binding cookie is read. */
  loginBinding?: string | undefined;
  /** A session token already extracted (`anonCookieExtractor`); else the session cookie is read. */
  sessionToken?: string | undefined;
  /** The flow of this callback (`'login'`, `'signup'`, `'refresh_token'`, …). */
  flow?: string | undefined;
}

/** What the callback produced. */
export interface LoginFinishOutcome {
  /** The transfer, when someone authenticated. */
  transfer?: TransferHandlerOutcome['result'];
  /** The same-origin path kept by the login start (`/` when none). */
  returnTo: string;
  /** `Set-Cookie` values to send: the login's cookies cleared (and the session cookie, when ended). */
  setCookies: string[];
}

/**
 * Builds the callback of a login stack: runs the transfer handler ({@link createTransferHandler}) with the
 * query-given token of this login if there was one, else the session cookie, and clears the
 * login's cookies. Only a store outage (503) or a failing hook or user store throws.
 *
 * @throws ConfigError for bad cookie options, at start-up.
 */
export function createLoginFinish(anon: AnonymousSessions, options: LoginStackOptions) {
  if (!parsedByBinding.has(options)) parseOptions(loginStackOptionsSchema, options);
  const transfer = transferHandler<LoginFinishRequest>(anon, {
    ...options,
    getUser: (request) => request.user,
    getLoginBinding: (request) => request.loginBinding,
    flow: (request) => request.flow,
  });
  const sessionCookieClear = cookieCodec(options.cookie).clear();
  const bindingCookie = cookieCodec({ ...options.cookie, name: options.bindingCookieName ?? LOGIN_BINDING_COOKIE });
  const seedCookie = cookieCodec({ ...options.cookie, name: options.seedCookieName ?? LOGIN_SEED_COOKIE });
  const returnCookie = cookieCodec({ ...options.cookie, name: options.returnToCookieName ?? LOGIN_RETURN_COOKIE });

  return async (request: LoginFinishRequest): Promise<LoginFinishOutcome> => {
    const cookieHeader = headerValue(request.headers, 'cookie');
    const seed = seedCookie.read(cookieHeader);
    const kept = returnCookie.read(cookieHeader);
    const returnTo = safeRedirectTarget(kept);
    const cleanup = [
      ...(seed === undefined ? [] : [seedCookie.clear()]),
      ...(kept === undefined ? [] : [returnCookie.clear()]),
    ];
    const outcome = await transfer(request, { headers: request.headers, ip: request.ip, sessionToken: seed ?? request.sessionToken });
    if (outcome === undefined) {
      // Nobody authenticated: nothing transfers, and an earlier login's binding does not stay behind.
      if (bindingCookie.read(cookieHeader) !== undefined) cleanup.push(bindingCookie.clear());
      return { returnTo, setCookies: cleanup };
    }
    // A query-given session ended by the transfer is not the browser's own: keep its cookie.
    const setCookies = seed === undefined ? outcome.setCookies : outcome.setCookies.filter((header) => header !== sessionCookieClear);
    return { transfer: outcome.result, returnTo, setCookies: [...setCookies, ...cleanup] };
  };
}

/** The claims of an ID token the login stack verified. */
export interface IdTokenClaims {
  /** The account's id at the identity provider. */
  sub: string;
  /** Any other claim (`email`, custom claims…). */
  [claim: string]: unknown;
}

/**
 * What a login callback answers when the OAuth library refused it — `openid-client` and
 * `oauth4webapi` (their errors carry a `code` starting `OAUTH_`, and the provider's own `error`), or
 * `express-openid-connect`, which wraps those into an `http-errors` 400 whose `error` is the
 * provider's code or the library's `OAUTH_…` code: 403 `access_denied` when the user cancelled or
 * refused at the provider, else 400 `invalid_request` ("start it again") — a swapped or replayed
 * `state`, a used code, a PKCE mismatch. Nothing of the callback URL or the provider's answer is
 * echoed. Anything else (the provider unreachable, a bug) is returned as it is, for the host's error
 * handler.
 */
export function loginCallbackError(error: unknown): unknown {
  const { code, error: oauthError, status } = (error ?? {}) as { code?: unknown; error?: unknown; status?: unknown };
  const fromOAuthLibrary = typeof code === 'string' && code.startsWith('OAUTH_');
  const wrappedRefusal = status === 400 && typeof oauthError === 'string' && oauthError.length > 0;
  if (!fromOAuthLibrary && !wrappedRefusal) return error;
  if (oauthError === 'access_denied') {
    return new AccessDeniedError('The sign-in was cancelled or refused at the identity provider.', { cause: error });
  }
  return new InvalidRequestError('The login could not be completed: start it again.', { cause: error });
}
