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
  ConfigError,
  type AnonymousSession,
  type AnonymousSessions,
  type AuthenticatedUser,
  type LoginStackOptions,
  type TransferResult,
} from '@anonymous-sessions/core/http';
import { rendering } from './errors.js';
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
  const { trustProxy, clientAddress, ...stackOptions } = options;
  const begin = createLoginStart(anon, stackOptions);
  const end = createLoginFinish(anon, stackOptions);
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
