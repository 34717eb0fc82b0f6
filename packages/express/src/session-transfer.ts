import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  sessionCookie,
  type AnonymousSessions,
  type SessionCookieOptions,
  type TransferHook,
  type TransferResult,
  type UsersAdapter,
} from '@anonymous-sessions/core';

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

/** The default name of the login-binding cookie. */
export const LOGIN_BINDING_COOKIE = 'anon_login';

/** Options of {@link anonymousLoginBinding}. */
export interface AnonymousLoginBindingOptions {
  /** The session cookie (name and attributes, as given to the router). */
  cookie?: SessionCookieOptions;
  /** The binding cookie's name. Default `anon_login`. */
  bindingCookieName?: string;
}

/**
 * On the route where a login or sign-up starts (the login page, or the redirect to `/authorize`):
 * records which anonymous session this login carries, in a short-lived HttpOnly cookie (and on
 * `req.anonymousLoginBinding` for an OAuth `state`). Put `anonCookieExtractor` before it, or it
 * reads the session cookie itself.
 */
export function anonymousLoginBinding(anon: AnonymousSessions, options: AnonymousLoginBindingOptions = {}): RequestHandler {
  const session = sessionCookie(options.cookie);
  const binding = sessionCookie({ ...options.cookie, name: options.bindingCookieName ?? LOGIN_BINDING_COOKIE });
  return (req: Request, res: Response, next: NextFunction): void => {
    const work = async (): Promise<void> => {
      let sessionId = req.anonymousSession?.session_id;
      if (sessionId === undefined) {
        const token = session.read(req.headers.cookie);
        if (token !== undefined) {
          sessionId = await anon.verifySessionToken(token).then(
            (found) => found.session_id,
            (error: unknown) => {
              // a bad or expired token binds nothing; a store outage is a 503, not a silent no-binding
              if ((error as { status?: number }).status === 401) return undefined;
              throw error;
            },
          );
        }
      }
      if (sessionId === undefined) return;
      const value = await anon.createLoginBinding(sessionId);
      req.anonymousLoginBinding = value;
      const header = binding.serialize(value, Math.floor(Date.now() / 1000) + 600);
      if (header !== undefined) res.append('Set-Cookie', header);
    };
    work().then(() => next(), next);
  };
}

/** Who just authenticated, as the host's login or sign-up route knows it. */
export interface AuthenticatedUser {
  /** The account's id. */
  userId: string;
  /** True on sign-up: runs `onPreRegistration`; false on login: runs `onPostLogin`. */
  isNewUser: boolean;
}

/** Options of {@link sessionTransfer}. */
export interface SessionTransferOptions {
  /** Who authenticated on this request (after the host's own authentication); `undefined` = nobody, skip. */
  getUser: (req: Request) => AuthenticatedUser | undefined | Promise<AuthenticatedUser | undefined>;
  /** The host's user store. */
  users: UsersAdapter;
  /** Runs for new users. */
  onPreRegistration?: TransferHook;
  /** Runs for returning users. */
  onPostLogin?: TransferHook;
  /** The flow of this route (`'login'`, `'signup'`, `'refresh_token'`, …), or a function of the request. */
  flow?: string | ((req: Request) => string);
  /** Default false: revoke the guest session after the transfer and clear its cookie. */
  endAnonymousSession?: boolean;
  /** The session cookie (name and attributes, as given to the router). */
  cookie?: SessionCookieOptions;
  /** The binding cookie's name. Default `anon_login`. */
  bindingCookieName?: string;
  /** Where the binding is when it came back in an OAuth `state` instead of the cookie. */
  getLoginBinding?: (req: Request) => string | undefined;
}

/**
 * On login and sign-up callbacks, after the host authenticated the user: transfers the guest
 * session bound to this login into the account through the hooks, once. Puts the result on
 * `req.anonymousTransfer` (with the custom claims for the host's own token) and always continues;
 * only a store outage (503) or a failing hook or user store goes to `next(err)`.
 */
export function sessionTransfer(anon: AnonymousSessions, options: SessionTransferOptions): RequestHandler {
  const session = sessionCookie(options.cookie);
  const binding = sessionCookie({ ...options.cookie, name: options.bindingCookieName ?? LOGIN_BINDING_COOKIE });
  return (req: Request, res: Response, next: NextFunction): void => {
    const work = async (): Promise<void> => {
      const user = await options.getUser(req);
      if (user === undefined) return;
      const result = await anon.transfer({
        sessionToken: req.anonymousSessionToken ?? session.read(req.headers.cookie),
        loginBinding: options.getLoginBinding?.(req) ?? binding.read(req.headers.cookie),
        userId: user.userId,
        isNewUser: user.isNewUser,
        ...(options.flow === undefined ? {} : { flow: typeof options.flow === 'string' ? options.flow : options.flow(req) }),
        request: { ip: req.ip, user_agent: req.get('user-agent') },
        users: options.users,
        onPreRegistration: options.onPreRegistration,
        onPostLogin: options.onPostLogin,
        endAnonymousSession: options.endAnonymousSession === true,
      });
      req.anonymousTransfer = result;
      res.append('Set-Cookie', binding.clear());
      if (result.ended_anonymous_session) res.append('Set-Cookie', session.clear());
    };
    work().then(() => next(), next);
  };
}
