import {
  createLoginBinder,
  createTransferRoute,
  type AnonymousSession,
  type AnonymousSessions,
  type LoginFlowCookieOptions,
  type TransferResult,
  type TransferRouteOptions,
} from '@anonymous-sessions/core/http';
import { rendering } from './errors.js';
import { forwarded, headersOf, type FetchRequestOptions } from './request.js';

export { LOGIN_BINDING_COOKIE } from '@anonymous-sessions/core/http';
export type { AuthenticatedUser } from '@anonymous-sessions/core/http';

/** Options of {@link anonymousLoginBinding}: the binding cookie's name, and the proxy facts for `secure: 'auto'`. */
export interface AnonymousLoginBindingOptions extends LoginFlowCookieOptions, Pick<FetchRequestOptions, 'trustProxy'> {}

/** What {@link anonymousLoginBinding} did. */
export interface LoginBindingResult {
  /** The binding, to carry in an OAuth `state` if you prefer that to the cookie. */
  binding?: string;
  /** `Set-Cookie` headers to add to your response (the binding cookie). */
  setCookies: string[];
}

/**
 * On the route where a login or sign-up starts: records which anonymous session this login carries,
 * in a short-lived HttpOnly cookie. Pass the session {@link anonCookieExtractor} found, or it reads
 * the session cookie itself. A store outage throws (503, with its `response`).
 */
export function anonymousLoginBinding(
  anon: AnonymousSessions,
  options: AnonymousLoginBindingOptions = {},
): (request: Request, session?: AnonymousSession) => Promise<LoginBindingResult> {
  const { trustProxy, ...binderOptions } = options;
  const bind = createLoginBinder(anon, binderOptions);
  return (request, session) =>
    rendering(async () => {
      const outcome = await bind({ headers: headersOf(request), session, protocol: forwarded(request, trustProxy).protocol });
      return outcome.binding === undefined ? { setCookies: outcome.setCookies } : { binding: outcome.binding, setCookies: outcome.setCookies };
    });
}

/**
 * Options of {@link sessionTransfer}: `getUser`, `flow` and `getLoginBinding` are functions of
 * the `Request`; `trustProxy` and `clientAddress` as for the token handler.
 */
export interface SessionTransferOptions<R = Request> extends TransferRouteOptions<R>, FetchRequestOptions {}

/** What {@link sessionTransfer} did; `undefined` when `getUser` named nobody. */
export interface SessionTransferResult {
  /** What moved from the guest session, and the custom claims for your own token. */
  result: TransferResult;
  /** `Set-Cookie` headers to add to your response (the binding cookie cleared, the session cookie cleared when the guest session ended). */
  setCookies: string[];
}

/** The transfer over any request type `R` the host's functions read (Hono's context). */
export function createTransfer<R>(anon: AnonymousSessions, options: SessionTransferOptions<R>) {
  const { trustProxy, clientAddress, ...routeOptions } = options;
  const transfer = createTransferRoute(anon, routeOptions);
  return (subject: R, request: Request, sessionToken?: string, peerAddress?: string): Promise<SessionTransferResult | undefined> =>
    rendering(async () => {
      const facts = forwarded(request, trustProxy, peerAddress ?? clientAddress?.(request));
      const outcome = await transfer(subject, { headers: headersOf(request), ip: facts.ip, protocol: facts.protocol, sessionToken });
      return outcome === undefined ? undefined : { result: outcome.result, setCookies: outcome.setCookies };
    });
}

/**
 * On login and sign-up callbacks, after the host authenticated the user: transfers the guest
 * session bound to this login into the account through the hooks, once; the binding (cookie or
 * `state`) is used up, so a replay transfers nothing (`not_bound`). Resolves the result and the
 * `Set-Cookie` headers to add; a store outage (503) throws with its `response`, and a failing hook
 * or user store throws untouched (it applied nothing: the binding is handed back and its cookie
 * kept, so the login can be retried). Pass the session token {@link anonCookieExtractor} found, or
 * it reads the session cookie itself.
 */
export function sessionTransfer(
  anon: AnonymousSessions,
  options: SessionTransferOptions,
): (request: Request, sessionToken?: string) => Promise<SessionTransferResult | undefined> {
  const transfer = createTransfer(anon, options);
  return (request, sessionToken) => transfer(request, request, sessionToken);
}
