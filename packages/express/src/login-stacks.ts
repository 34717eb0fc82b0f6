/**
 * Session transfer inside the login stacks Express apps actually use: `express-openid-connect`
 * (Auth0's Express SDK), Passport (any strategy, e.g. `openid-client/passport`), or any other login
 * route. Each helper only translates Express onto the core's login start and callback
 * (`createLoginStart`, `createLoginFinish`); the libraries themselves are never imported, only
 * matched structurally.
 *
 * @packageDocumentation
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  assertLoginStackOptions,
  createLoginFinish,
  createLoginStart,
  ConfigError,
  type AnonymousSessions,
  type AuthenticatedUser,
  type IdTokenClaims,
  type LoginFinishOutcome,
  type LoginStackOptions,
  type LoginStartOutcome,
} from '@anonymous-sessions/core/http';
import { appHost } from './http.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by the login-stack helpers: the same-origin path to go to after the login. */
      anonymousReturnTo?: string;
    }
  }
}

/** Who authenticated, from the stack's point of view; `undefined` = nobody, nothing transfers. */
type MaybeUser = AuthenticatedUser | undefined | Promise<AuthenticatedUser | undefined>;

/** The flow of a callback: a string, or a function of the request. */
export type FlowOption = string | ((req: Request) => string);

/** Options of {@link loginTransfer}: the core's login-stack options, `getUser` and `flow`. */
export interface LoginTransferOptions extends LoginStackOptions {
  /** Who the login route just authenticated (after your own authentication middleware). */
  getUser: (req: Request) => MaybeUser;
  /** The flow of the callback (`'login'`/`'signup'` by default, from `isNewUser`). */
  flow?: FlowOption;
}

/** The two middlewares of a login route pair. */
export interface LoginTransfer {
  /**
   * Before the redirect to the identity provider: binds the guest session (cookie, or the
   * `anonymous_session_token` query parameter) to this login in the binding cookie, and keeps the
   * same-origin `returnTo` (`req.query.returnTo`) for the callback. Sets `req.anonymousLoginBinding`
   * and `req.anonymousReturnTo`.
   */
  start: RequestHandler;
  /**
   * After the stack authenticated the user: transfers the bound guest session once, clears the
   * login's cookies. Sets `req.anonymousTransfer` and `req.anonymousReturnTo` (default `/`).
   */
  finish: RequestHandler;
}

/** The app's own origin, as the browser reached it (`trust proxy` decides about X-Forwarded-*). */
const originOf = (req: Request): string | undefined => {
  const host = appHost(req);
  return host === undefined ? undefined : `${req.protocol}://${host}`;
};

const flowOf = (flow: FlowOption | undefined, req: Request): string | undefined => (typeof flow === 'function' ? flow(req) : flow);

function assertFlow(flow: unknown): void {
  if (flow !== undefined && typeof flow !== 'string' && typeof flow !== 'function') {
    throw new ConfigError([{ path: 'flow', message: 'must be a string or a function of the request' }]);
  }
}

function applyStart(req: Request, res: Response, outcome: LoginStartOutcome): void {
  for (const [name, value] of Object.entries(outcome.headers)) res.setHeader(name, value);
  for (const header of outcome.setCookies) res.append('Set-Cookie', header);
  if (outcome.binding !== undefined) req.anonymousLoginBinding = outcome.binding;
  req.anonymousReturnTo = outcome.returnTo;
}

function applyFinish(req: Request, res: Response, outcome: LoginFinishOutcome): void {
  for (const header of outcome.setCookies) res.append('Set-Cookie', header);
  if (outcome.transfer !== undefined) req.anonymousTransfer = outcome.transfer;
}

/**
 * Session transfer around any Express login route pair that leaves the provider's way: `start`
 * on the route that redirects to the identity provider, `finish` after the callback's own
 * authentication. For Passport, see {@link passportTransfer}.
 *
 * ```ts
 * const login = loginTransfer(anon, { users, getUser: (req) => …, onPostLogin: mergeCart() });
 * app.get('/login', login.start, redirectToIdentityProvider);
 * app.get('/callback', authenticate, login.finish, (req, res) => res.redirect(req.anonymousReturnTo!));
 * ```
 *
 * @throws ConfigError for unknown or ill-typed options, at start-up.
 */
export function loginTransfer(anon: AnonymousSessions, options: LoginTransferOptions): LoginTransfer {
  assertLoginStackOptions(options, ['getUser', 'flow']);
  assertFlow(options.flow);
  const begin = createLoginStart(anon, options);
  const finishLogin = createLoginFinish(anon, options);
  return {
    start(req: Request, res: Response, next: NextFunction): void {
      const query = req.query as Record<string, unknown>;
      begin({
        headers: req.headers,
        query,
        session: req.anonymousSession,
        returnTo: query.returnTo,
        origin: originOf(req),
        rememberReturnTo: true,
      }).then((outcome) => {
        applyStart(req, res, outcome);
        next();
      }, next);
    },
    finish(req: Request, res: Response, next: NextFunction): void {
      Promise.resolve()
        .then(() => options.getUser(req))
        .then((user) => finishLogin({ headers: req.headers, ip: req.ip, user, sessionToken: req.anonymousSessionToken, flow: flowOf(options.flow, req) }))
        .then((outcome) => {
          applyFinish(req, res, outcome);
          req.anonymousReturnTo = outcome.returnTo;
          next();
        }, next);
    },
  };
}

/** Options of {@link passportTransfer}: `getUser` maps Passport's `req.user`. */
export interface PassportTransferOptions<U> extends LoginStackOptions {
  /** Maps the user the strategy's verify callback produced (`req.user`) to the account and whether it is new. */
  getUser: (user: U, req: Request) => MaybeUser;
  /** The flow of the callback (`'login'`/`'signup'` by default, from `isNewUser`). */
  flow?: FlowOption;
}

/**
 * Session transfer with Passport: `start` before `passport.authenticate(strategy)` on the login
 * route, `finish` after `passport.authenticate(strategy, { failureRedirect })` on the callback, when
 * it succeeded and `req.user` is set. The binding rides in its cookie (Passport strategies keep
 * their own `state`).
 *
 * ```ts
 * const login = passportTransfer(anon, { users, getUser: (user: AppUser) => ({ userId: user.id, isNewUser: user.isNew }) });
 * app.get('/login', login.start, passport.authenticate('oidc'));
 * app.get('/callback', passport.authenticate('oidc', { failureRedirect: '/' }), login.finish,
 *         (req, res) => res.redirect(req.anonymousReturnTo!));
 * ```
 *
 * @throws ConfigError for unknown or ill-typed options, at start-up.
 */
export function passportTransfer<U = unknown>(anon: AnonymousSessions, options: PassportTransferOptions<U>): LoginTransfer {
  assertLoginStackOptions(options, ['getUser', 'flow']);
  const { getUser, ...rest } = options;
  return loginTransfer(anon, {
    ...rest,
    getUser: (req) => {
      const user = (req as Request & { user?: U }).user;
      return user === undefined || user === null ? undefined : getUser(user, req);
    },
  });
}

/** What `express-openid-connect` passes to `getLoginState` (its `LoginOptions`). */
export interface OpenIdConnectLoginOptions {
  /** Where to go after the login, as given to `res.oidc.login({ returnTo })`. */
  returnTo?: string;
}

/** Options of {@link openIdConnectTransfer}. */
export interface OpenIdConnectTransferOptions extends LoginStackOptions {
  /**
   * Maps the verified ID token's claims to the account and whether it is new — typically the
   * just-in-time provisioning of your local user record: `isNewUser` when it did not exist yet.
   */
  getUser: (claims: IdTokenClaims, req: Request) => MaybeUser;
  /** The flow of the callback (`'login'`/`'signup'` by default, from `isNewUser`). */
  flow?: FlowOption;
  /** The key of the login `state` that carries the binding. Default `anon_login`. */
  stateKey?: string;
}

/**
 * The two `express-openid-connect` options that carry the transfer; spread them into `auth({ … })`.
 * With an `afterCallback` (or `getLoginState`) of your own, call these from it.
 */
export interface OpenIdConnectTransfer {
  /**
   * The login start (`res.oidc.login()`, its `/login` route): binds the guest session and puts the
   * binding in the login `state` (which the SDK keeps in its own transaction cookie and checks
   * against the provider's answer), with a same-origin `returnTo`.
   */
  getLoginState(req: Request, options: OpenIdConnectLoginOptions): Promise<Record<string, unknown>>;
  /**
   * The callback, after the SDK verified the ID token: transfers the guest session bound to this
   * login into the account `getUser` names. Sets `req.anonymousTransfer`.
   */
  afterCallback<S extends { id_token?: string }>(req: Request, res: Response, session: S, state: Record<string, unknown>): Promise<S>;
}

/** The payload of a JWT the stack already verified (the ID token in its session). */
function verifiedClaims(jwt: string | undefined): IdTokenClaims | undefined {
  const payload = jwt?.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return typeof claims === 'object' && claims !== null && typeof (claims as { sub?: unknown }).sub === 'string'
      ? (claims as IdTokenClaims)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Session transfer inside `express-openid-connect`, in two of its own options:
 *
 * ```ts
 * app.use(auth({ issuerBaseURL, baseURL, clientID, clientSecret, secret, authRequired: false,
 *                authorizationParams: { response_type: 'code', scope: 'openid email' },
 *                ...openIdConnectTransfer(anon, { users, getUser: (claims) => provision(claims), onPostLogin: mergeCart() }) }));
 * ```
 *
 * The binding travels in the login `state`, which the SDK keeps in its signed transaction cookie
 * and compares with the provider's answer, so a callback from another browser or with a swapped
 * `state` never reaches the transfer. A login started with `?anonymous_session_token=` (a guest
 * from a native app or another subdomain) binds that session instead; the token stays in its own
 * HttpOnly cookie and never enters the `state` or the redirect.
 *
 * @throws ConfigError for unknown or ill-typed options, at start-up.
 */
export function openIdConnectTransfer(anon: AnonymousSessions, options: OpenIdConnectTransferOptions): OpenIdConnectTransfer {
  assertLoginStackOptions(options, ['getUser', 'flow', 'stateKey']);
  assertFlow(options.flow);
  const stateKey = options.stateKey ?? 'anon_login';
  if (typeof stateKey !== 'string' || stateKey.length === 0 || stateKey === 'returnTo') {
    throw new ConfigError([{ path: 'stateKey', message: 'must be a non-empty string other than "returnTo"' }]);
  }
  const begin = createLoginStart(anon, options);
  const finishLogin = createLoginFinish(anon, options);
  return {
    async getLoginState(req, loginOptions) {
      const outcome = await begin({
        headers: req.headers,
        query: req.query as Record<string, unknown>,
        session: req.anonymousSession,
        returnTo: loginOptions?.returnTo ?? req.originalUrl,
        origin: originOf(req),
        bindingIn: 'state',
      });
      if (req.res !== undefined) applyStart(req, req.res, outcome);
      return outcome.binding === undefined ? { returnTo: outcome.returnTo } : { returnTo: outcome.returnTo, [stateKey]: outcome.binding };
    },
    async afterCallback(req, res, session, state) {
      const claims = verifiedClaims(session.id_token);
      const user = claims === undefined ? undefined : await options.getUser(claims, req);
      const binding = state?.[stateKey];
      const outcome = await finishLogin({
        headers: req.headers,
        ip: req.ip,
        user,
        // The binding is the state's: a login that started without a guest has none, and never
        // falls back to a binding cookie (which could have been planted with a session of its own).
        loginBinding: typeof binding === 'string' ? binding : '',
        sessionToken: req.anonymousSessionToken,
        flow: flowOf(options.flow, req),
      });
      applyFinish(req, res, outcome);
      return session;
    },
  };
}
