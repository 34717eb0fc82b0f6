/**
 * The HTTP side of session transfer, framework-free: binding a guest session to a login when it
 * starts (a short-lived HttpOnly cookie, or a value for the OAuth `state`), and running the transfer
 * on the callback with the cookies it reads and the `Set-Cookie` values it answers with. The Express
 * and Koa middlewares only supply the request's pieces and write the cookies back.
 *
 * @packageDocumentation
 */
import * as z from 'zod/mini';
import type { AnonymousSessions } from '../engine/engine.js';
import { headerValue, type HttpHeaders } from '../exchange/http-exchange.js';
import { epochSeconds } from '../internal/epoch-seconds.js';
import { engineSessionCookie, type SessionCookie, type SessionCookieOptions } from '../engine/session-cookie.js';
import { functionOption, objectOption, parseOptions } from '../errors/parse-options.js';
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
  cookie?: SessionCookieOptions | undefined;
  /** The binding cookie's name. Default `anon_login`. */
  bindingCookieName?: string | undefined;
}

/**
 * The fields of {@link LoginFlowCookieOptions}. The cookie options themselves (and the cookie
 * names) are parsed by the cookie codec when the factory builds its cookies.
 */
export const loginFlowCookieShape = {
  cookie: z.optional(objectOption<SessionCookieOptions>('must be an object of cookie options')),
  bindingCookieName: z.optional(z.string()),
};
/** The schema of {@link LoginFlowCookieOptions} ({@link createLoginBinder}'s options). */
export const loginFlowCookieOptionsSchema = z.strictObject(loginFlowCookieShape);

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
  return loginBinder(anon, parseOptions(loginFlowCookieOptionsSchema, options));
}

/** {@link createLoginBinder} on options already parsed. */
export function loginBinder(anon: AnonymousSessions, options: LoginFlowCookieOptions) {
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

/** The framework-free options of the transfer handler (the login callback's transfer). */
export interface TransferHandlerOptions extends LoginFlowCookieOptions {
  /** The host's user store. */
  users: UsersAdapter;
  /** Runs for new users. */
  onPreRegistration?: TransferHook | undefined;
  /** Runs for returning users. */
  onPostLogin?: TransferHook | undefined;
  /** Default false: revoke the guest session after the transfer and clear its cookie. */
  endAnonymousSession?: boolean | undefined;
}

/**
 * How the transfer handler reads a framework's request `R` (Express's `Request`, Koa's `Context`,
 * or a login stack's own request object): who authenticated, the flow, and a binding kept in an
 * OAuth `state`.
 */
export interface TransferRequestReaders<R> {
  /** Who authenticated on this request (after the host's own authentication); `undefined` = nobody, skip. */
  getUser: (request: R) => AuthenticatedUser | undefined | Promise<AuthenticatedUser | undefined>;
  /** The flow of this route (`'login'`, `'signup'`, `'refresh_token'`, …), or a function of the request. */
  flow?: string | ((request: R) => string | undefined) | undefined;
  /**
   * Where the binding is when it came back in an OAuth `state` instead of the cookie. Single-use like
   * the cookie: a replayed `state` transfers nothing (`not_bound`).
   */
  getLoginBinding?: ((request: R) => string | undefined) | undefined;
}

/** The fields of {@link TransferHandlerOptions}. */
export const transferStepShape = {
  ...loginFlowCookieShape,
  users: z.custom<UsersAdapter>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      typeof (value as Partial<UsersAdapter>).get === 'function' &&
      typeof (value as Partial<UsersAdapter>).update === 'function',
    'must be an object with get(userId) and update(userId, changes)',
  ),
  onPreRegistration: z.optional(functionOption<TransferHook>()),
  onPostLogin: z.optional(functionOption<TransferHook>()),
  endAnonymousSession: z.optional(z.boolean({ error: 'must be a boolean' })),
};
/** The schema of {@link TransferHandlerOptions} without the request readers ({@link createTransferStep}'s options). */
export const transferStepOptionsSchema = z.strictObject(transferStepShape);

/** The schema of {@link createTransferHandler}'s options (with the request type left open). */
export const transferHandlerOptionsSchema = z.strictObject({
  ...transferStepShape,
  getUser: functionOption<TransferRequestReaders<unknown>['getUser']>(),
  flow: z.optional(z.union([z.string(), functionOption<(request: unknown) => string | undefined>()], { error: 'must be a string or a function of the request' })),
  getLoginBinding: z.optional(functionOption<(request: unknown) => string | undefined>()),
});
/** @deprecated The old name of {@link transferHandlerOptionsSchema}. */
export const transferRouteOptionsSchema = transferHandlerOptionsSchema;

/** What a binding hands the transfer handler besides its own request object. */
export interface TransferHandlerRequest {
  /** Request headers, names in lower case. */
  headers: HttpHeaders;
  /** The client address. */
  ip?: string | undefined;
  /** `http` or `https` as the framework reports it, for the engine's `cookie.secure: 'auto'`. */
  protocol?: string | undefined;
  /** A session token already extracted (e.g. by the cookie extractor); else the cookie is read. */
  sessionToken?: string | undefined;
}

/** What the transfer handler produced. */
export interface TransferHandlerOutcome {
  /** The transfer's result. */
  result: TransferResult;
  /**
   * `Set-Cookie` values to send: the binding cookie is cleared (a binding serves one callback), the
   * session cookie too when the session was ended. A handler that throws sets no cookie, so a login
   * whose transfer failed before anything was applied can be retried with the same binding.
   */
  setCookies: string[];
}

/**
 * The transfer handler: runs a login callback's transfer for the request `R`. Resolves `undefined`
 * (and sets nothing) when nobody authenticated.
 */
export type TransferHandler<R> = (request: R, http: TransferHandlerRequest) => Promise<TransferHandlerOutcome | undefined>;

/**
 * Builds the transfer handler, the one callback-side piece every binding and login stack runs: asks
 * who authenticated (nobody: nothing happens), resolves the flow and a binding from the OAuth
 * `state`, reads the session and binding cookies, runs `anon.transfer` (which uses up a binding that
 * names the session, unless the transfer then fails) and says which cookies to clear. Generic over
 * the framework's request type.
 */
export function createTransferHandler<R>(anon: AnonymousSessions, options: TransferHandlerOptions & TransferRequestReaders<R>): TransferHandler<R> {
  parseOptions(transferHandlerOptionsSchema, options);
  return transferHandler(anon, options);
}

/** {@link createTransferHandler} on options already parsed (a login stack parses its own, larger set). */
export function transferHandler<R>(anon: AnonymousSessions, options: TransferHandlerOptions & TransferRequestReaders<R>): TransferHandler<R> {
  const cookies = transferCookies(anon, options);
  return async (request, http) => {
    const user = await options.getUser(request);
    if (user === undefined) return undefined;
    return transferOnCallback(anon, options, cookies, {
      ...http,
      user,
      loginBinding: options.getLoginBinding?.(request),
      flow: typeof options.flow === 'function' ? options.flow(request) : options.flow,
    });
  };
}

/** The session and binding cookies a transfer handler reads and clears. */
interface TransferCookies {
  session: SessionCookie;
  binding: SessionCookie;
}

function transferCookies(anon: AnonymousSessions, options: LoginFlowCookieOptions): TransferCookies {
  return {
    session: engineSessionCookie(anon.config, options.cookie),
    binding: engineSessionCookie(anon.config, { ...options.cookie, name: options.bindingCookieName ?? LOGIN_BINDING_COOKIE }),
  };
}

/** One callback's transfer, once who authenticated is known. */
async function transferOnCallback(
  anon: AnonymousSessions,
  options: TransferHandlerOptions,
  cookies: TransferCookies,
  request: TransferStepRequest,
): Promise<TransferHandlerOutcome> {
  const cookieHeader = headerValue(request.headers, 'cookie');
  const result = await anon.transfer({
    sessionToken: request.sessionToken ?? cookies.session.read(cookieHeader),
    loginBinding: request.loginBinding ?? cookies.binding.read(cookieHeader),
    userId: request.user.userId,
    isNewUser: request.user.isNewUser,
    ...(request.flow === undefined ? {} : { flow: request.flow }),
    request: { ip: request.ip, user_agent: headerValue(request.headers, 'user-agent') },
    users: options.users,
    onPreRegistration: options.onPreRegistration,
    onPostLogin: options.onPostLogin,
    endAnonymousSession: options.endAnonymousSession === true,
  });
  const setCookies = [cookies.binding.clear(request)];
  if (result.ended_anonymous_session) setCookies.push(cookies.session.clear(request));
  return { result, setCookies };
}

// The names this flow had before it had one, kept for binding authors until the next release.

/** @deprecated Renamed {@link TransferHandlerOptions}. This alias goes in the next release. */
export type TransferStepOptions = TransferHandlerOptions;
/** @deprecated Renamed {@link TransferHandlerOutcome}. This alias goes in the next release. */
export type TransferStepOutcome = TransferHandlerOutcome;
/** @deprecated Use {@link createTransferHandler}, whose request carries the user. This type goes in the next release. */
export interface TransferStepRequest extends TransferHandlerRequest {
  /** Who authenticated. */
  user: AuthenticatedUser;
  /** A binding from the OAuth `state`; else the binding cookie is read. */
  loginBinding?: string | undefined;
  /** The flow of this callback. */
  flow?: string | undefined;
}
/** @deprecated Renamed: {@link TransferHandlerOptions} with {@link TransferRequestReaders}. This alias goes in the next release. */
export interface TransferRouteOptions<R> extends TransferHandlerOptions, TransferRequestReaders<R> {}
/** @deprecated Renamed {@link TransferHandlerRequest}. This alias goes in the next release. */
export type TransferRouteRequest = TransferHandlerRequest;

/**
 * @deprecated Use {@link createTransferHandler} (one transfer handler for bindings and login
 * stacks). This function goes in the next release.
 */
export function createTransferStep(
  anon: AnonymousSessions,
  options: TransferHandlerOptions,
): (request: TransferStepRequest) => Promise<TransferHandlerOutcome> {
  parseOptions(transferStepOptionsSchema, options);
  const cookies = transferCookies(anon, options);
  return (request) => transferOnCallback(anon, options, cookies, request);
}

/** @deprecated Renamed {@link createTransferHandler}. This alias goes in the next release. */
export const createTransferRoute = createTransferHandler;
