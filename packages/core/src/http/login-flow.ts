/**
 * The HTTP side of session transfer, framework-free: binding a guest session to a login when it
 * starts (a short-lived HttpOnly cookie, or a value for the OAuth `state`), and running the transfer
 * on the callback with the cookies it reads and the `Set-Cookie` values it answers with. The Express
 * and Koa middlewares only supply the request's pieces and write the cookies back.
 *
 * @packageDocumentation
 */
import type { AnonymousSessions } from '../engine/engine.js';
import { headerValue, type HttpHeaders } from '../exchange/http-exchange.js';
import { epochSeconds } from '../internal/epoch-seconds.js';
import { engineSessionCookie, type SessionCookieOptions } from '../engine/session-cookie.js';
import { LOGIN_BINDING_LIFETIME } from '../tokens/login-binding.js';
import type { AnonymousSession } from '../tokens/session-token.js';
import type { TransferHook, TransferResult, UsersAdapter } from '../transfer/transfer.js';

/** The default name of the login-binding cookie. */
export const LOGIN_BINDING_COOKIE = 'anon_login';

/** Cookie options shared by the login-start and callback sides. */
export interface LoginFlowCookieOptions {
  /**
   * Laid over the engine's `cookie` for this middleware only (the binding cookie takes the same
   * attributes). Default: the engine's cookie.
   *
   * @deprecated set `cookie` once on `createAnonymousSessions`. Removed in the next major.
   */
  cookie?: SessionCookieOptions;
  /** The binding cookie's name. Default `anon_login`. */
  bindingCookieName?: string;
}

/** What the login-start step reads from a request. */
export interface LoginBinderRequest {
  /** Request headers, names in lower case. */
  headers: HttpHeaders;
  /** The session already extracted (e.g. by the cookie extractor); else the cookie is read. */
  session?: AnonymousSession | undefined;
  /** `http` or `https` as the framework reports it, for the engine's `cookie.secure: 'auto'`. */
  protocol?: string | undefined;
}

/** What the login-start side produced. */
export interface LoginBindingOutcome {
  /** The binding, for an OAuth `state` if the host prefers that to the cookie. */
  binding?: string;
  /** `Set-Cookie` values to send. */
  setCookies: string[];
}

/**
 * Builds the login-start step: finds the guest session (already extracted, or from the cookie)
 * and binds it. A bad or expired session binds nothing; a store outage throws (503).
 */
export function createLoginBinder(anon: AnonymousSessions, options: LoginFlowCookieOptions = {}) {
  const session = engineSessionCookie(anon.config, options.cookie);
  const binding = engineSessionCookie(anon.config, { ...options.cookie, name: options.bindingCookieName ?? LOGIN_BINDING_COOKIE });
  return async (request: LoginBinderRequest): Promise<LoginBindingOutcome> => {
    let sessionId = request.session?.session_id;
    if (sessionId === undefined) {
      const token = session.read(headerValue(request.headers, 'cookie'));
      if (token !== undefined) {
        sessionId = await anon.verifySessionToken(token).then(
          (found) => found.session_id,
          (error: unknown) => {
            if ((error as { status?: number }).status === 401) return undefined; // bad or expired: no binding
            throw error; // store outage: 503, never a silent no-binding
          },
        );
      }
    }
    if (sessionId === undefined) return { setCookies: [] };
    const value = await anon.createLoginBinding(sessionId);
    const header = binding.serialize(value, epochSeconds() + LOGIN_BINDING_LIFETIME, request);
    return { binding: value, setCookies: header === undefined ? [] : [header] };
  };
}

/** Who just authenticated, as the host's login or sign-up route knows it. */
export interface AuthenticatedUser {
  /** The account's id. */
  userId: string;
  /** True on sign-up: runs `onPreRegistration`; false on login: runs `onPostLogin`. */
  isNewUser: boolean;
}

/** The framework-free options of the callback step. */
export interface TransferStepOptions extends LoginFlowCookieOptions {
  /** The host's user store. */
  users: UsersAdapter;
  /** Runs for new users. */
  onPreRegistration?: TransferHook | undefined;
  /** Runs for returning users. */
  onPostLogin?: TransferHook | undefined;
  /** Default false: revoke the guest session after the transfer and clear its cookie. */
  endAnonymousSession?: boolean | undefined;
}

/** What the callback step needs from the request. */
export interface TransferStepRequest {
  /** Request headers, names in lower case. */
  headers: HttpHeaders;
  /** The client address. */
  ip?: string | undefined;
  /** `http` or `https` as the framework reports it, for the engine's `cookie.secure: 'auto'`. */
  protocol?: string | undefined;
  /** Who authenticated. */
  user: AuthenticatedUser;
  /** A session token already extracted (e.g. by the cookie extractor); else the cookie is read. */
  sessionToken?: string | undefined;
  /** A binding from the OAuth `state`; else the binding cookie is read. */
  loginBinding?: string | undefined;
  /** The flow of this callback. */
  flow?: string | undefined;
}

/** What the callback step produced. */
export interface TransferStepOutcome {
  /** The transfer's result. */
  result: TransferResult;
  /**
   * `Set-Cookie` values to send: the binding cookie is cleared (a binding serves one callback), the
   * session cookie too when the session was ended. A step that throws sets no cookie, so a login
   * whose transfer failed before anything was applied can be retried with the same binding.
   */
  setCookies: string[];
}

/**
 * Builds the callback step: reads the cookies, runs `anon.transfer` (which uses up a binding that
 * names the session, unless the transfer then fails), says which cookies to clear.
 */
export function createTransferStep(anon: AnonymousSessions, options: TransferStepOptions) {
  const session = engineSessionCookie(anon.config, options.cookie);
  const binding = engineSessionCookie(anon.config, { ...options.cookie, name: options.bindingCookieName ?? LOGIN_BINDING_COOKIE });
  return async (request: TransferStepRequest): Promise<TransferStepOutcome> => {
    const cookieHeader = headerValue(request.headers, 'cookie');
    const result = await anon.transfer({
      sessionToken: request.sessionToken ?? session.read(cookieHeader),
      loginBinding: request.loginBinding ?? binding.read(cookieHeader),
      userId: request.user.userId,
      isNewUser: request.user.isNewUser,
      ...(request.flow === undefined ? {} : { flow: request.flow }),
      request: { ip: request.ip, user_agent: headerValue(request.headers, 'user-agent') },
      users: options.users,
      onPreRegistration: options.onPreRegistration,
      onPostLogin: options.onPostLogin,
      endAnonymousSession: options.endAnonymousSession === true,
    });
    const setCookies = [binding.clear(request)];
    if (result.ended_anonymous_session) setCookies.push(session.clear(request));
    return { result, setCookies };
  };
}

/**
 * The options of a binding's `sessionTransfer` middleware, over its request type `R` (Express's
 * `Request`, Koa's `Context`): how to find who authenticated, the flow, and a binding kept in an
 * OAuth `state`, on top of the framework-free {@link TransferStepOptions}.
 */
export interface TransferRouteOptions<R> extends TransferStepOptions {
  /** Who authenticated on this request (after the host's own authentication); `undefined` = nobody, skip. */
  getUser: (request: R) => AuthenticatedUser | undefined | Promise<AuthenticatedUser | undefined>;
  /** The flow of this route (`'login'`, `'signup'`, `'refresh_token'`, …), or a function of the request. */
  flow?: string | ((request: R) => string);
  /**
   * Where the binding is when it came back in an OAuth `state` instead of the cookie. Single-use like
   * the cookie: a replayed `state` transfers nothing (`not_bound`).
   */
  getLoginBinding?: (request: R) => string | undefined;
}

/** What a binding hands {@link createTransferRoute}'s step besides its own request object. */
export type TransferRouteRequest = Pick<TransferStepRequest, 'headers' | 'ip' | 'protocol' | 'sessionToken'>;

/**
 * Builds the callback step a binding's `sessionTransfer` middleware runs: asks the host who
 * authenticated (nobody: resolves `undefined`, nothing happens), resolves the flow and the binding,
 * then runs {@link createTransferStep}. Generic over the framework's request type.
 */
export function createTransferRoute<R>(anon: AnonymousSessions, options: TransferRouteOptions<R>) {
  const step = createTransferStep(anon, options);
  return async (request: R, http: TransferRouteRequest): Promise<TransferStepOutcome | undefined> => {
    const user = await options.getUser(request);
    if (user === undefined) return undefined;
    return step({
      ...http,
      user,
      loginBinding: options.getLoginBinding?.(request),
      flow: typeof options.flow === 'function' ? options.flow(request) : options.flow,
    });
  };
}
