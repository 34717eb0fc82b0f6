/**
 * `@anonymous-sessions/fetch/hono`: the fetch binding as Hono middleware. Each only hands Hono's
 * context to the fetch binding's functions and puts the result on `c.var` (`c.get('auth')`, …);
 * refusals are thrown with `getResponse()`, which Hono's own error handler already returns.
 *
 * @packageDocumentation
 */
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono';
import type { AnonymousSession, AnonymousSessions, AuthResult, ClaimPredicate, ClaimValue, IdTokenClaims, TransferResult } from '@anonymous-sessions/core/http';
import { createExtraction, type AnonCookieExtractorOptions as FetchCookieExtractorOptions } from './cookie-extractor.js';
import { anonymousErrorResponse, isErrorWithResponse, type AnonymousErrorResponseOptions } from './errors.js';
import { bearerRequest, claimCheck as fetchClaimCheck, claimEquals as fetchClaimEquals, claimIncludes as fetchClaimIncludes, createGuard, requireScopes as fetchRequireScopes, requireUser as fetchRequireUser, type AuthCheck, type RequireAnonymousOrUserOptions } from './guards.js';
import {
  createLoginTransfer,
  createOpenIdLogin,
  redirectResponse,
  type LoginTransferOptions as FetchLoginTransferOptions,
  type OpenIdClientLoginOptions as FetchOpenIdClientLoginOptions,
  type OpenIdTokens,
} from './login-stacks.js';
import { anonymousLoginBinding as fetchLoginBinding, createTransfer, type AnonymousLoginBindingOptions, type SessionTransferOptions as FetchSessionTransferOptions } from './session-transfer.js';
import { createTokenHandler, type AnonymousTokenHandlerOptions } from './token-handler.js';

/** What the middlewares put on Hono's context (`c.get(…)`, `c.var.…`). */
export interface AnonymousSessionsVariables {
  /** Set by `requireAnonymousOrUser`: the verified token, guest or user. */
  auth?: AuthResult;
  /** The verified anonymous session, set by `anonCookieExtractor` when the visitor has one. */
  anonymousSession?: AnonymousSession;
  /** The raw session token behind `anonymousSession`. Never log it. */
  anonymousSessionToken?: string;
  /** Set by `sessionTransfer` and `loginTransfer().finish`: what moved from the guest session. */
  anonymousTransfer?: TransferResult;
  /** Set by `anonymousLoginBinding` and `loginTransfer().start`: the binding, for an OAuth `state`. */
  anonymousLoginBinding?: string;
  /** Set by `loginTransfer` and `openIdClientLogin`: the same-origin path to go to after the login. */
  anonymousReturnTo?: string;
  /** Set by `openIdClientLogin`'s callback: the verified ID token's claims. */
  idTokenClaims?: IdTokenClaims;
}

/** The Hono environment of the middlewares. */
export interface AnonymousSessionsEnv {
  /** The variables the middlewares set. */
  Variables: AnonymousSessionsVariables;
}

declare module 'hono' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- typed c.get('auth') in every app
  interface ContextVariableMap extends AnonymousSessionsVariables {}
}

/** The client address on Hono: pass `(c) => getConnInfo(c).remote.address` from your runtime's adapter (`@hono/node-server/conninfo`, `hono/bun`, `hono/deno`, …). */
export interface HonoClientAddress {
  /** The address of the peer that opened the connection, for the per-address rate limits. */
  clientAddress?: (c: Context) => string | undefined;
}

type OnHono<O> = Omit<O, 'clientAddress'> & HonoClientAddress;
type Middleware = MiddlewareHandler<AnonymousSessionsEnv>;

/** Options of {@link anonymousTokenRouter}. */
export type AnonymousTokenRouterOptions = OnHono<AnonymousTokenHandlerOptions>;
/** Options of {@link anonCookieExtractor}. */
export type AnonCookieExtractorOptions = Omit<FetchCookieExtractorOptions, 'clientAddress'>;
/** Options of {@link sessionTransfer}: `getUser`, `flow` and `getLoginBinding` are functions of Hono's context. */
export type SessionTransferOptions = OnHono<FetchSessionTransferOptions<Context>>;
/** Options of {@link loginTransfer}: `getUser` and `flow` are functions of Hono's context. */
export type LoginTransferOptions = OnHono<FetchLoginTransferOptions<Context>>;
export type { AnonymousLoginBindingOptions, RequireAnonymousOrUserOptions };

const appendCookies = (c: Context, setCookies: readonly string[]): void => {
  for (const header of setCookies) c.header('Set-Cookie', header, { append: true });
};

/**
 * The anonymous-session endpoints as Hono middleware (`app.use(anonymousTokenRouter(anon))`):
 * answers the six endpoints and calls `next()` for anything else. A body a host middleware already
 * read (`c.req.json()`) is respected.
 *
 * @throws ConfigError for bad options, at start-up.
 */
export function anonymousTokenRouter(anon: AnonymousSessions, options: AnonymousTokenRouterOptions = {}): Middleware {
  const { clientAddress, ...handlerOptions } = options;
  const handle = createTokenHandler(anon, handlerOptions);
  return async (c, next) => {
    const request = c.req.raw;
    const readBody = request.bodyUsed ? await c.req.text() : undefined;
    const response = await handle(request, { peerAddress: clientAddress?.(c), readBody });
    if (response === undefined) return next();
    return response;
  };
}

/**
 * Puts the visitor's verified anonymous session from the cookie on `c.var.anonymousSession` (and
 * the raw token on `c.var.anonymousSessionToken`); answers the query-token redirect itself. A bad
 * or expired token is ignored; a store outage is thrown (503).
 */
export function anonCookieExtractor(anon: AnonymousSessions, options: AnonCookieExtractorOptions = {}): Middleware {
  const extract = createExtraction(anon, options);
  return async (c, next) => {
    const found = await extract(c.req.raw);
    if (found.response !== undefined) return found.response;
    if (found.session !== undefined) {
      c.set('anonymousSession', found.session);
      c.set('anonymousSessionToken', found.token);
    }
    return next();
  };
}

/**
 * Bearer guard (RFC 6750) for guests and, through `user`, the host's own identity provider's
 * users: sets `c.var.auth`. Refusals are thrown with their `WWW-Authenticate` and `getResponse()`.
 * A form body a host middleware already parsed (`c.req.parseBody()`) is read for `access_token`.
 *
 * @throws ConfigError for contradictory options, at start-up.
 */
export function requireAnonymousOrUser(options: RequireAnonymousOrUserOptions): Middleware {
  const { verify } = createGuard(options);
  return async (c, next) => {
    const request = c.req.raw;
    const parsed = request.bodyUsed && request.method !== 'GET' && request.method !== 'HEAD' ? ((await c.req.parseBody({ all: true })) as Record<string, unknown>) : undefined;
    const auth = await verify(await bearerRequest(request, parsed));
    if (auth !== undefined) c.set('auth', auth);
    return next();
  };
}

const checking =
  (check: AuthCheck): Middleware =>
  async (c, next) => {
    check(c.get('auth'));
    return next();
  };

/** After `requireAnonymousOrUser`: refuses guests with 403 `insufficient_user_authentication` (RFC 9470). */
export function requireUser(): Middleware {
  return checking(fetchRequireUser());
}

/** After `requireAnonymousOrUser`: refuses a token lacking any of `scopes` with 403 `insufficient_scope`. */
export function requireScopes(...scopes: string[]): Middleware {
  return checking(fetchRequireScopes(...scopes));
}

/** After `requireAnonymousOrUser`: the token's `claim` must be exactly `expected`, else 401 `invalid_token`. */
export function claimEquals(claim: string, expected: ClaimValue): Middleware {
  return checking(fetchClaimEquals(claim, expected));
}

/** After `requireAnonymousOrUser`: the token's `claim` must include every one of `expected`, else 401 `invalid_token`. */
export function claimIncludes(claim: string, ...expected: ClaimValue[]): Middleware {
  return checking(fetchClaimIncludes(claim, ...expected));
}

/** After `requireAnonymousOrUser`: `predicate(payload, auth)` must return true, else 401 `invalid_token` with `description`. */
export function claimCheck(predicate: ClaimPredicate, description?: string): Middleware {
  return checking(fetchClaimCheck(predicate, description));
}

/** Whether the request was authenticated with an anonymous (guest) token. */
export function isAnonymous(c: Context): boolean {
  return (c.get('auth') as AuthResult | undefined)?.isAnonymous === true;
}

/**
 * On the route where a login starts: binds the visitor's anonymous session (from
 * `anonCookieExtractor`, or the cookie) to this login in a short-lived HttpOnly cookie, and puts
 * the binding on `c.var.anonymousLoginBinding`.
 */
export function anonymousLoginBinding(anon: AnonymousSessions, options: AnonymousLoginBindingOptions = {}): Middleware {
  const bind = fetchLoginBinding(anon, options);
  return async (c, next) => {
    const outcome = await bind(c.req.raw, c.get('anonymousSession'));
    if (outcome.binding !== undefined) c.set('anonymousLoginBinding', outcome.binding);
    appendCookies(c, outcome.setCookies);
    return next();
  };
}

/**
 * On login and sign-up callbacks, after the host authenticated the user: transfers the bound guest
 * session once and puts the result on `c.var.anonymousTransfer`; always continues unless a store
 * outage (503) or a failing hook or user store throws.
 */
export function sessionTransfer(anon: AnonymousSessions, options: SessionTransferOptions): Middleware {
  const { clientAddress, ...transferOptions } = options;
  const transfer = createTransfer<Context>(anon, transferOptions);
  return async (c, next) => {
    const outcome = await transfer(c, c.req.raw, c.get('anonymousSessionToken'), clientAddress?.(c));
    if (outcome !== undefined) {
      c.set('anonymousTransfer', outcome.result);
      appendCookies(c, outcome.setCookies);
    }
    return next();
  };
}

/** The two middlewares of a login route pair on Hono. */
export interface LoginTransfer {
  /** Before the redirect to the identity provider: binds the guest session, keeps `returnTo`. Sets `c.var.anonymousLoginBinding` and `c.var.anonymousReturnTo`. */
  start: Middleware;
  /** After the callback's own authentication: transfers once, clears the login's cookies. Sets `c.var.anonymousTransfer` and `c.var.anonymousReturnTo`. */
  finish: Middleware;
}

/**
 * Session transfer around any Hono login route pair (a hand-written OAuth client, `openid-client`):
 * `start` on the route that redirects to the identity provider, `finish` after the callback's own
 * authentication.
 *
 * @throws ConfigError for unknown or ill-typed options, at start-up.
 */
export function loginTransfer(anon: AnonymousSessions, options: LoginTransferOptions): LoginTransfer {
  const { clientAddress, ...stackOptions } = options;
  const login = createLoginTransfer<Context>(anon, stackOptions);
  return {
    start: async (c, next) => {
      const outcome = await login.start(c.req.raw, c.get('anonymousSession'));
      for (const [name, value] of Object.entries(outcome.headers)) c.header(name, value);
      appendCookies(c, outcome.setCookies);
      if (outcome.binding !== undefined) c.set('anonymousLoginBinding', outcome.binding);
      c.set('anonymousReturnTo', outcome.returnTo);
      return next();
    },
    finish: async (c, next) => {
      const outcome = await login.finish(c.req.raw, c.get('anonymousSessionToken'), c, clientAddress?.(c));
      appendCookies(c, outcome.setCookies);
      if (outcome.transfer !== undefined) c.set('anonymousTransfer', outcome.transfer);
      c.set('anonymousReturnTo', outcome.returnTo);
      return next();
    },
  };
}

/** Options of {@link openIdClientLogin}: `authorizationParams`, `getUser` and `flow` are functions of Hono's context. */
export type OpenIdClientLoginOptions<C, T extends OpenIdTokens> = OnHono<FetchOpenIdClientLoginOptions<C, T, Context>>;
export type { OpenIdClientApi, OpenIdTokens } from './login-stacks.js';

/** The login start and callback routes of an `openid-client` login on Hono. */
export interface OpenIdClientLogin {
  /** `GET /login`: binds the guest session (from `anonCookieExtractor`, or the cookie), keeps PKCE, `state`, `nonce` and `returnTo` in the transaction cookie, and redirects to the provider. */
  login: Middleware;
  /**
   * `GET /callback`: redeems the code (PKCE, `state`, `nonce`), transfers the bound guest session
   * once, sets `c.var.idTokenClaims`, `c.var.anonymousTransfer` and `c.var.anonymousReturnTo`, then
   * calls the next handler (yours: start your own session, redirect to `anonymousReturnTo`). A
   * callback without this browser's transaction, or one the library refuses, throws 400
   * `invalid_request` (403 `access_denied` when the user refused at the provider).
   */
  callback: Middleware;
}

/**
 * Session transfer inside a Hono login with `openid-client` (v6): the authorization code + PKCE
 * login start and callback routes, the guest session bound to the login that started it.
 *
 * @throws ConfigError for unknown or ill-typed options, at start-up.
 */
export function openIdClientLogin<C, T extends OpenIdTokens>(anon: AnonymousSessions, options: OpenIdClientLoginOptions<C, T>): OpenIdClientLogin {
  const { clientAddress, ...loginOptions } = options;
  const steps = createOpenIdLogin<C, T, Context>(anon, loginOptions);
  return {
    login: async (c) => redirectResponse(await steps.start(c, c.req.raw, c.get('anonymousSession'))),
    callback: async (c, next) => {
      const outcome = await steps.callback(c, c.req.raw, c.get('anonymousSessionToken'), clientAddress?.(c));
      c.set('idTokenClaims', outcome.claims);
      appendCookies(c, outcome.setCookies);
      if (outcome.transfer !== undefined) c.set('anonymousTransfer', outcome.transfer);
      c.set('anonymousReturnTo', outcome.returnTo);
      return next();
    },
  };
}

/** Options of {@link anonymousErrorHandler}. */
export interface AnonymousErrorHandlerOptions extends AnonymousErrorResponseOptions {
  /** What answers every other error: your own handler. Default Hono's: an error's `getResponse()`, else a logged 500. */
  fallback?: ErrorHandler;
}

/**
 * `app.onError(anonymousErrorHandler())`: renders this suite's errors as `{ error, error_description }`
 * JSON with their status and headers, and hands every other error (a host route's
 * `HTTPException`, a crash, a failing transfer hook) to `fallback`, untouched.
 */
export function anonymousErrorHandler(options: AnonymousErrorHandlerOptions = {}): ErrorHandler {
  const { fallback = honoDefault, ...renderOptions } = options;
  return (error, c) => anonymousErrorResponse(error, renderOptions) ?? fallback(error, c);
}

/** Hono's own answer to an error no handler claimed. */
const honoDefault: ErrorHandler = (error, c) => {
  if (isErrorWithResponse(error) || 'getResponse' in error) return error.getResponse();
  console.error(error);
  return c.text('Internal Server Error', 500);
};
