/**
 * Session transfer inside Koa login stacks: `openIdClientLogin` gives the login start and callback
 * routes of an authorization code + PKCE login with `openid-client` (v6), and `loginTransfer` wraps
 * any other login route pair. Each only translates Koa's context onto the core's login start and
 * callback (`createLoginStart`, `createLoginFinish`); `openid-client` is passed in by the host and
 * matched structurally, never imported.
 *
 * @packageDocumentation
 */
import type { Context, Middleware, Next } from 'koa';
import {
  assertLoginStackOptions,
  createLoginFinish,
  createLoginStart,
  createOpenIdClientLogin,
  ConfigError,
  type AnonymousSessions,
  type AuthenticatedUser,
  type LoginFinishOutcome,
  type LoginStackOptions,
  type LoginStartOutcome,
  type OpenIdClientLoginOptions as CoreOpenIdClientLoginOptions,
  type OpenIdTokens,
} from '@anonymous-sessions/core/http';

export type { OpenIdClientApi, OpenIdTokens } from '@anonymous-sessions/core/http';
import './state.js';

/** Who authenticated, from the stack's point of view; `undefined` = nobody, nothing transfers. */
type MaybeUser = AuthenticatedUser | undefined | Promise<AuthenticatedUser | undefined>;

/** The flow of a callback: a string, or a function of the context. */
export type FlowOption = string | ((ctx: Context) => string);

/** The app's own origin as the browser reached it (`app.proxy` decides about X-Forwarded-*); Koa 3's `ctx.origin` is the Origin header. */
const originOf = (ctx: Context): string | undefined => (ctx.host ? `${ctx.protocol}://${ctx.host}` : undefined);

const flowOf = (flow: FlowOption | undefined, ctx: Context): string | undefined => (typeof flow === 'function' ? flow(ctx) : flow);

function assertFlow(flow: unknown): void {
  if (flow !== undefined && typeof flow !== 'string' && typeof flow !== 'function') {
    throw new ConfigError([{ path: 'flow', message: 'must be a string or a function of the context' }]);
  }
}

function applyStart(ctx: Context, outcome: LoginStartOutcome): void {
  for (const [name, value] of Object.entries(outcome.headers)) ctx.set(name, value);
  for (const header of outcome.setCookies) ctx.append('Set-Cookie', header);
  if (outcome.binding !== undefined) ctx.state.anonymousLoginBinding = outcome.binding;
  ctx.state.anonymousReturnTo = outcome.returnTo;
}

function applyFinish(ctx: Context, outcome: Pick<LoginFinishOutcome, 'setCookies' | 'transfer'>): void {
  for (const header of outcome.setCookies) ctx.append('Set-Cookie', header);
  if (outcome.transfer !== undefined) ctx.state.anonymousTransfer = outcome.transfer;
}

/** Options of {@link loginTransfer}: the core's login-stack options, `getUser` and `flow`. */
export interface LoginTransferOptions extends LoginStackOptions {
  /** Who the callback just authenticated (after your own authentication middleware). */
  getUser: (ctx: Context) => MaybeUser;
  /** The flow of the callback (`'login'`/`'signup'` by default, from `isNewUser`). */
  flow?: FlowOption;
}

/** The two middlewares of a login route pair. */
export interface LoginTransfer {
  /**
   * Before the redirect to the identity provider: binds the guest session (cookie, or the
   * `anonymous_session_token` query parameter) to this login in the binding cookie, and keeps the
   * same-origin `returnTo` (`ctx.query.returnTo`) for the callback. Sets
   * `ctx.state.anonymousLoginBinding` and `ctx.state.anonymousReturnTo`.
   */
  start: Middleware;
  /**
   * After the callback's own authentication: transfers the bound guest session once, clears the
   * login's cookies. Sets `ctx.state.anonymousTransfer` and `ctx.state.anonymousReturnTo` (default `/`).
   */
  finish: Middleware;
}

/**
 * Session transfer around any Koa login route pair (koa-passport, a hand-written OAuth client…):
 * `start` on the route that redirects to the identity provider, `finish` after the callback's
 * own authentication.
 *
 * @throws ConfigError for unknown or ill-typed options, at start-up.
 */
export function loginTransfer(anon: AnonymousSessions, options: LoginTransferOptions): LoginTransfer {
  assertLoginStackOptions(options, ['getUser', 'flow']);
  assertFlow(options.flow);
  const begin = createLoginStart(anon, options);
  const end = createLoginFinish(anon, options);
  return {
    start: async function anonymousLoginStart(ctx: Context, next: Next): Promise<void> {
      const outcome = await begin({
        headers: ctx.headers,
        query: ctx.query,
        session: ctx.state.anonymousSession,
        returnTo: ctx.query.returnTo,
        origin: originOf(ctx),
        rememberReturnTo: true,
      });
      applyStart(ctx, outcome);
      await next();
    },
    finish: async function anonymousLoginFinish(ctx: Context, next: Next): Promise<void> {
      const user = await options.getUser(ctx);
      const outcome = await end({
        headers: ctx.headers,
        ip: ctx.ip,
        user,
        sessionToken: ctx.state.anonymousSessionToken,
        flow: flowOf(options.flow, ctx),
      });
      applyFinish(ctx, outcome);
      ctx.state.anonymousReturnTo = outcome.returnTo;
      await next();
    },
  };
}

/** Options of {@link openIdClientLogin}: the core's, with `authorizationParams`, `getUser` and `flow` functions of the context. */
export type OpenIdClientLoginOptions<C, T extends OpenIdTokens> = CoreOpenIdClientLoginOptions<C, T, Context>;

/** The login start and callback routes. */
export interface OpenIdClientLogin {
  /**
   * `GET /login`: binds the guest session, keeps the PKCE verifier, `state`, `nonce` and the
   * same-origin `returnTo` (`ctx.query.returnTo`) in the HttpOnly transaction cookie, and
   * redirects to the provider's authorization endpoint.
   */
  login: Middleware;
  /**
   * `GET /callback`: redeems the code with the PKCE verifier and checks `state` and `nonce`
   * (`openid-client`), transfers the bound guest session once, sets `ctx.state.idTokenClaims`,
   * `ctx.state.anonymousTransfer` and `ctx.state.anonymousReturnTo`, then calls the next
   * middleware (yours: start your own session, redirect to `anonymousReturnTo`). A callback
   * without this browser's transaction, or one the library refuses, answers 400 `invalid_request`
   * (403 `access_denied` when the user refused at the provider).
   */
  callback: Middleware;
}

/**
 * Session transfer inside a Koa login with `openid-client` (v6): the authorization code + PKCE
 * login start and callback routes, with the guest session bound to the login that started it
 * (the steps are the core's `createOpenIdClientLogin`).
 *
 * ```ts
 * import * as client from 'openid-client';
 * const config = await client.discovery(new URL(issuer), 'shop', secret);
 * const oidc = openIdClientLogin(anon, { client, config, redirectUri: 'https://shop.example/callback',
 *   users, getUser: (claims) => provision(claims), onPostLogin: mergeCart() });
 * router.get('/login', oidc.login);
 * router.get('/callback', oidc.callback, (ctx) => { startYourSession(ctx); ctx.redirect(ctx.state.anonymousReturnTo!); });
 * ```
 *
 * @throws ConfigError for unknown or ill-typed options, at start-up.
 */
export function openIdClientLogin<C, T extends OpenIdTokens>(anon: AnonymousSessions, options: OpenIdClientLoginOptions<C, T>): OpenIdClientLogin {
  const steps = createOpenIdClientLogin(anon, options);
  return {
    login: async function openIdClientLoginStart(ctx: Context): Promise<void> {
      const outcome = await steps.start(ctx, { headers: ctx.headers, query: ctx.query, session: ctx.state.anonymousSession, origin: originOf(ctx) });
      applyStart(ctx, outcome);
      ctx.redirect(outcome.location);
    },
    callback: async function openIdClientLoginCallback(ctx: Context, next: Next): Promise<void> {
      ctx.append('Set-Cookie', steps.clearTransaction());
      const outcome = await steps.callback(ctx, { headers: ctx.headers, search: ctx.querystring, ip: ctx.ip, sessionToken: ctx.state.anonymousSessionToken });
      ctx.state.idTokenClaims = outcome.claims;
      applyFinish(ctx, outcome);
      ctx.state.anonymousReturnTo = outcome.returnTo;
      await next();
    },
  };
}
