/**
 * Session transfer around any login route pair on a fetch runtime (a hand-written OAuth client,
 * Auth.js callbacks, `openid-client`): `start` on the route that redirects to the identity
 * provider, `finish` after the callback's own authentication. Each only translates a `Request` onto
 * the core's login start and callback (`createLoginStart`, `createLoginFinish`).
 *
 * @packageDocumentation
 */
import {
  assertLoginStackOptions,
  createLoginFinish,
  createLoginStart,
  createOpenIdClientLogin,
  ConfigError,
  type AnonymousSession,
  type AnonymousSessions,
  type AuthenticatedUser,
  type LoginStackOptions,
  type OpenIdCallbackOutcome,
  type OpenIdClientLoginOptions as CoreOpenIdClientLoginOptions,
  type OpenIdLoginStartOutcome,
  type OpenIdTokens,
  type TransferResult,
} from '@anonymous-sessions/core/http';
import { rendering } from './errors.js';

export type { OpenIdClientApi, OpenIdTokens } from '@anonymous-sessions/core/http';
import { forwarded, headersOf, queryOf, type FetchRequestOptions } from './request.js';

/** Who authenticated, from the stack's point of view; `undefined` = nobody, nothing transfers. */
export type MaybeUser = AuthenticatedUser | undefined | Promise<AuthenticatedUser | undefined>;

/** The flow of a callback: a string, or a function of the request. */
export type FlowOption<R = Request> = string | ((request: R) => string);

/** Options of {@link loginTransfer}: the core's login-stack options, `getUser`, `flow` and the proxy facts. */
export interface LoginTransferOptions<R = Request> extends LoginStackOptions, FetchRequestOptions {
  /** Who the callback just authenticated (after your own authentication). */
  getUser: (request: R) => MaybeUser;
  /** The flow of the callback (`'login'`/`'signup'` by default, from `isNewUser`). */
  flow?: FlowOption<R>;
}

/** What the login start did. */
export interface LoginStartResult {
  /** The binding, if a guest session was bound (it also rides in the binding cookie). */
  binding?: string;
  /** The same-origin path to come back to after the login (`?returnTo=`, default `/`). */
  returnTo: string;
  /** `Set-Cookie` headers to add to your response (binding, returnTo). */
  setCookies: string[];
  /** Other headers to add (`Cache-Control`, `Referrer-Policy` when a query token was used). */
  headers: Record<string, string>;
}

/** What the callback did. */
export interface LoginFinishResult {
  /** What moved from the guest session; absent when nobody authenticated. */
  transfer?: TransferResult;
  /** Where to go now: the returnTo kept at the start, default `/`. */
  returnTo: string;
  /** `Set-Cookie` headers to add to your response (the login's cookies cleared). */
  setCookies: string[];
}

/** The two steps of a login route pair. */
export interface LoginTransfer {
  /**
   * Before the redirect to the identity provider: binds the guest session (the one passed, the
   * cookie's, or the `anonymous_session_token` query parameter on a navigation) to this login, and
   * keeps the same-origin `returnTo` for the callback.
   */
  start(request: Request, session?: AnonymousSession): Promise<LoginStartResult>;
  /** After the callback's own authentication: transfers the bound guest session once, clears the login's cookies. */
  finish(request: Request, sessionToken?: string): Promise<LoginFinishResult>;
}

/** The steps over any request type `R` the host's functions read, with the client address found. */
interface LoginSteps<R> {
  start: LoginTransfer['start'];
  finish(request: Request, sessionToken: string | undefined, subject: R, peerAddress?: string): Promise<LoginFinishResult>;
}

function assertFlow(flow: unknown): void {
  if (flow !== undefined && typeof flow !== 'string' && typeof flow !== 'function') {
    throw new ConfigError([{ path: 'flow', message: 'must be a string or a function of the request' }]);
  }
}

/** {@link loginTransfer} over any request type `R` the host's functions read (Hono's context). */
export function createLoginTransfer<R>(anon: AnonymousSessions, options: LoginTransferOptions<R>): LoginSteps<R> {
  assertLoginStackOptions(options, ['getUser', 'flow', 'trustProxy', 'clientAddress']);
  assertFlow(options.flow);
  const { trustProxy, clientAddress } = options;
  // The options were parsed whole above (the binding's own keys included): core does not parse them again.
  const begin = createLoginStart(anon, options);
  const end = createLoginFinish(anon, options);
  return {
    start: (request, session) =>
      rendering(async () => {
        const query = queryOf(request);
        const { host, protocol } = forwarded(request, trustProxy);
        const outcome = await begin({ headers: headersOf(request), query, session, returnTo: query.returnTo, origin: host === undefined ? undefined : `${protocol}://${host}`, rememberReturnTo: true });
        return { ...(outcome.binding === undefined ? {} : { binding: outcome.binding }), returnTo: outcome.returnTo, setCookies: outcome.setCookies, headers: outcome.headers };
      }),
    finish: (request, sessionToken, subject, peerAddress = clientAddress?.(request)) =>
      rendering(async () => {
        const user = await options.getUser(subject);
        const flow = typeof options.flow === 'function' ? options.flow(subject) : options.flow;
        const { ip } = forwarded(request, trustProxy, peerAddress);
        const outcome = await end({ headers: headersOf(request), ip, user, sessionToken, flow });
        return { ...(outcome.transfer === undefined ? {} : { transfer: outcome.transfer }), returnTo: outcome.returnTo, setCookies: outcome.setCookies };
      }),
  };
}

/**
 * Session transfer around any login route pair on a fetch runtime:
 *
 * ```ts
 * const login = loginTransfer(anon, { users, getUser: (request) => …, onPostLogin: mergeCart() });
 * // GET /login: const { setCookies } = await login.start(request); redirect to the provider with them.
 * // GET /callback: after your authentication, const { returnTo, setCookies } = await login.finish(request).
 * ```
 *
 * @throws ConfigError for unknown or ill-typed options, at start-up.
 */
export function loginTransfer(anon: AnonymousSessions, options: LoginTransferOptions): LoginTransfer {
  const login = createLoginTransfer(anon, options);
  return { start: login.start, finish: (request, sessionToken) => login.finish(request, sessionToken, request) };
}

/** Options of {@link openIdClientLogin}: the core's, with `authorizationParams`, `getUser` and `flow` functions of the `Request`, and the proxy facts. */
export interface OpenIdClientLoginOptions<C, T extends OpenIdTokens, R = Request> extends CoreOpenIdClientLoginOptions<C, T, R>, FetchRequestOptions {}

/** What the callback of {@link openIdClientLogin} did: the claims to start your session with, the transfer, where to go, the `Set-Cookie` headers to add. */
export type OpenIdCallbackResult<T> = OpenIdCallbackOutcome<T>;

/** The login start and callback of an `openid-client` login on a fetch runtime. */
export interface OpenIdClientLogin<T> {
  /** `GET /login`: binds the guest session, and answers the redirect to the provider with the transaction cookie. */
  login(request: Request, session?: AnonymousSession): Promise<Response>;
  /**
   * `GET /callback`: redeems the code (PKCE, `state`, `nonce` checked by `openid-client`) and
   * transfers the bound guest session once. A callback without this browser's transaction, or one
   * the library refuses, throws 400 `invalid_request` (403 `access_denied` when the user refused at
   * the provider), its `response` clearing the transaction cookie too.
   */
  callback(request: Request, sessionToken?: string): Promise<OpenIdCallbackResult<T>>;
}

/** The steps over any request type `R` (Hono's context), with the client address found. */
export function createOpenIdLogin<C, T extends OpenIdTokens, R>(anon: AnonymousSessions, options: OpenIdClientLoginOptions<C, T, R>) {
  const { trustProxy, clientAddress, ...loginOptions } = options;
  const steps = createOpenIdClientLogin(anon, loginOptions);
  return {
    start: (subject: R, request: Request, session?: AnonymousSession) =>
      rendering(async () => {
        const { host, protocol } = forwarded(request, trustProxy);
        const origin = host === undefined ? undefined : `${protocol}://${host}`;
        return steps.start(subject, { headers: headersOf(request), query: queryOf(request), session, origin });
      }),
    callback: (subject: R, request: Request, sessionToken?: string, peerAddress = clientAddress?.(request)) =>
      rendering(async () => {
        const clear = steps.clearTransaction();
        try {
          const { ip } = forwarded(request, trustProxy, peerAddress);
          const outcome = await steps.callback(subject, { headers: headersOf(request), search: new URL(request.url).search, ip, sessionToken });
          return { ...outcome, setCookies: [clear, ...outcome.setCookies] };
        } catch (error) {
          throw withHeader(error, 'Set-Cookie', clear);
        }
      }),
  };
}

/** Adds a header the error has not got to the answer of one of this suite's errors (a cookie to clear on a refused callback). */
function withHeader(error: unknown, name: string, value: string): unknown {
  const headers = (error as { headers?: unknown }).headers;
  if (typeof headers === 'object' && headers !== null && !Object.isFrozen(headers) && !(name in headers)) {
    (headers as Record<string, string>)[name] = value;
  }
  return error;
}

/**
 * Session transfer inside a login with `openid-client` (v6) on a fetch runtime: the authorization
 * code + PKCE login start and callback, with the guest session bound to the login that started it
 * (the steps are the core's, shared with Koa's `openIdClientLogin`).
 *
 * ```ts
 * const oidc = openIdClientLogin(anon, { client, config, redirectUri: 'https://shop.example/callback',
 *   users, getUser: (claims) => provision(claims) });
 * // GET /login:    return oidc.login(request);
 * // GET /callback: const { claims, returnTo, setCookies } = await oidc.callback(request); start your session, redirect.
 * ```
 *
 * @throws ConfigError for unknown or ill-typed options, at start-up.
 */
export function openIdClientLogin<C, T extends OpenIdTokens>(anon: AnonymousSessions, options: OpenIdClientLoginOptions<C, T>): OpenIdClientLogin<T> {
  const steps = createOpenIdLogin(anon, options);
  return {
    login: async (request, session) => redirectResponse(await steps.start(request, request, session)),
    callback: (request, sessionToken) => steps.callback(request, request, sessionToken),
  };
}

/** The login start's answer: a 302 to the provider with its headers and cookies. */
export function redirectResponse(outcome: OpenIdLoginStartOutcome): Response {
  const headers = new Headers(outcome.headers);
  headers.set('Location', outcome.location);
  for (const header of outcome.setCookies) headers.append('Set-Cookie', header);
  return new Response(null, { status: 302, headers });
}
