import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  createLoginBinder,
  createTransferHandler,
  type AnonymousSessions,
  type LoginFlowCookieOptions,
  type TransferResult,
  type TransferHandlerOptions,
  type TransferRequestReaders,
} from '@anonymous-sessions/core/http';

export { LOGIN_BINDING_COOKIE } from '@anonymous-sessions/core/http';
export type { AuthenticatedUser } from '@anonymous-sessions/core/http';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `sessionTransfer`: what moved from the guest session, and the custom claims. */
      anonymousTransfer?: TransferResult;
      /** Set by `anonymousLoginBinding`: the binding to carry in an OAuth `state`, if you prefer that to the cookie. */
      anonymousLoginBinding?: string;
    }
  }
}

/** Options of {@link anonymousLoginBinding}: the binding cookie's name (the session cookie is the engine's `cookie`). */
export type AnonymousLoginBindingOptions = LoginFlowCookieOptions;

/**
 * On the route where a login or sign-up starts (the login page, or the redirect to `/authorize`):
 * records which anonymous session this login carries, in a short-lived HttpOnly cookie (and on
 * `req.anonymousLoginBinding` for an OAuth `state`). Put `anonCookieExtractor` before it, or it
 * reads the session cookie itself. A store outage goes to `next(err)` (503).
 */
export function anonymousLoginBinding(anon: AnonymousSessions, options: AnonymousLoginBindingOptions = {}): RequestHandler {
  const bind = createLoginBinder(anon, options);
  return (req: Request, res: Response, next: NextFunction): void => {
    bind({ headers: req.headers, session: req.anonymousSession, protocol: req.protocol }).then((outcome) => {
      if (outcome.binding !== undefined) req.anonymousLoginBinding = outcome.binding;
      for (const header of outcome.setCookies) res.append('Set-Cookie', header);
      next();
    }, next);
  };
}

/** Options of {@link sessionTransfer}: `getUser`, `flow` and `getLoginBinding` are functions of the Express request. */
export type SessionTransferOptions = TransferHandlerOptions & TransferRequestReaders<Request>;

/**
 * On login and sign-up callbacks, after the host authenticated the user: transfers the guest
 * session bound to this login into the account through the hooks, once; the binding (cookie or
 * `state`) is used up, so a replay of it transfers nothing (`not_bound`). Puts the result on
 * `req.anonymousTransfer` (with the custom claims for the host's own token) and always continues;
 * only a store outage (503) or a failing hook or user store goes to `next(err)` (a failing hook or
 * user store applied nothing: the binding is handed back and its cookie kept, so the login can be
 * retried).
 */
export function sessionTransfer(anon: AnonymousSessions, options: SessionTransferOptions): RequestHandler {
  const handleTransfer = createTransferHandler(anon, options);
  return (req: Request, res: Response, next: NextFunction): void => {
    handleTransfer(req, { headers: req.headers, ip: req.ip, protocol: req.protocol, sessionToken: req.anonymousSessionToken }).then((outcome) => {
      if (outcome !== undefined) {
        req.anonymousTransfer = outcome.result;
        for (const header of outcome.setCookies) res.append('Set-Cookie', header);
      }
      next();
    }, next);
  };
}
