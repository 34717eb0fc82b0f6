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
  loginCallbackError,
  safeRedirectTarget,
  cookieCodec,
  ConfigError,
  InvalidRequestError,
  epochSeconds,
  type AnonymousSessions,
  type AuthenticatedUser,
  type ConfigIssue,
  type IdTokenClaims,
  type LoginFinishOutcome,
  type LoginStackOptions,
  type LoginStartOutcome,
} from '@anonymous-sessions/core/http';
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

function applyFinish(ctx: Context, outcome: LoginFinishOutcome): void {
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
  const finishLogin = createLoginFinish(anon, options);
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
      const outcome = await finishLogin({
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

/** What the callback reads of `openid-client`'s token response. */
export interface OpenIdTokens {
  /** The verified ID token's claims. */
  claims(): IdTokenClaims | undefined;
}

/**
 * The parts of `openid-client` (v6) the routes call: pass the module itself
 * (`import * as client from 'openid-client'`). `C` is its `Configuration`.
 */
export interface OpenIdClientApi<C, T extends OpenIdTokens> {
  /** The provider's authorization endpoint URL with these parameters. */
  buildAuthorizationUrl(config: C, parameters: Record<string, string>): URL;
  /** Checks the callback (`state`, `iss`, errors), redeems the code with the PKCE verifier, verifies the ID token and `nonce`. */
  authorizationCodeGrant(config: C, currentUrl: URL, checks: { pkceCodeVerifier: string; expectedState: string; expectedNonce: string }): Promise<T>;
  /** A new PKCE code verifier. */
  randomPKCECodeVerifier(): string;
  /** Its S256 code challenge. */
  calculatePKCECodeChallenge(codeVerifier: string): Promise<string>;
  /** A new random `state`. */
  randomState(): string;
  /** A new random `nonce`. */
  randomNonce(): string;
}

/** Options of {@link openIdClientLogin}. */
export interface OpenIdClientLoginOptions<C, T extends OpenIdTokens> extends LoginStackOptions {
  /** The `openid-client` module. */
  client: OpenIdClientApi<C, T>;
  /** Its configuration for your client, from `client.discovery(…)`. */
  config: C;
  /** The callback's absolute URL, as registered at the provider. */
  redirectUri: string | URL;
  /** Default `openid email`. */
  scope?: string;
  /** Extra authorization request parameters (e.g. `{ screen_hint: 'signup' }`), or a function of the context. */
  authorizationParams?: Record<string, string> | ((ctx: Context) => Record<string, string>);
  /**
   * Maps the verified ID token's claims to the account and whether it is new — typically the
   * just-in-time provisioning of your local user record. `tokens` is the whole token response.
   */
  getUser: (claims: IdTokenClaims, ctx: Context, tokens: T) => MaybeUser;
  /** The flow of the callback (`'login'`/`'signup'` by default, from `isNewUser`). */
  flow?: FlowOption;
  /**
   * Where the binding travels: `'state'` (default) — it is the OAuth `state` itself, checked
   * against this browser's transaction cookie by `openid-client` — or `'cookie'` (its own cookie,
   * and a random `state`).
   */
  bindingIn?: 'state' | 'cookie';
  /** The transaction cookie (PKCE verifier, state, nonce, returnTo). Default `anon_oidc_tx`. */
  transactionCookieName?: string;
}

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

/** What the transaction cookie holds between the login start and the callback. */
interface LoginTransaction {
  /** PKCE code verifier. */
  v: string;
  /** The OAuth `state`. */
  s: string;
  /** The OIDC `nonce`. */
  n: string;
  /** The same-origin `returnTo`. */
  r: string;
  /** Whether `s` is the login binding. */
  b: boolean;
}

function readTransaction(value: string | undefined): LoginTransaction | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Partial<LoginTransaction>;
    return typeof parsed.v === 'string' && typeof parsed.s === 'string' && typeof parsed.n === 'string' && typeof parsed.r === 'string'
      ? { v: parsed.v, s: parsed.s, n: parsed.n, r: parsed.r, b: parsed.b === true }
      : undefined;
  } catch {
    return undefined;
  }
}

const TRANSACTION_LIFETIME = 600;

/**
 * Session transfer inside a Koa login with `openid-client` (v6): the authorization code + PKCE
 * login start and callback routes, with the guest session bound to the login that started it.
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
  assertLoginStackOptions(
    options,
    ['getUser', 'flow', 'client', 'config', 'redirectUri', 'scope', 'authorizationParams', 'bindingIn', 'transactionCookieName'],
  );
  assertFlow(options.flow);
  const issues: ConfigIssue[] = [];
  let redirectUri: URL | undefined;
  try {
    redirectUri = new URL(options.redirectUri);
  } catch {
    issues.push({ path: 'redirectUri', message: 'must be an absolute URL' });
  }
  const client = options.client as Partial<OpenIdClientApi<C, T>> | undefined;
  const needed = ['buildAuthorizationUrl', 'authorizationCodeGrant', 'randomPKCECodeVerifier', 'calculatePKCECodeChallenge', 'randomState', 'randomNonce'] as const;
  if (typeof client !== 'object' || client === null || needed.some((name) => typeof client[name] !== 'function')) {
    issues.push({ path: 'client', message: 'must be the openid-client module (v6)' });
  }
  if (options.config === undefined || options.config === null) issues.push({ path: 'config', message: 'is required: openid-client\'s Configuration' });
  if (options.bindingIn !== undefined && options.bindingIn !== 'state' && options.bindingIn !== 'cookie') {
    issues.push({ path: 'bindingIn', message: 'must be "state" or "cookie"' });
  }
  if (options.scope !== undefined && (typeof options.scope !== 'string' || !/\bopenid\b/.test(options.scope))) {
    issues.push({ path: 'scope', message: 'must be a string containing "openid"' });
  }
  const extra = options.authorizationParams;
  if (extra !== undefined && typeof extra !== 'function' && (typeof extra !== 'object' || extra === null)) {
    issues.push({ path: 'authorizationParams', message: 'must be an object or a function of the context' });
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const api = options.client;
  const callbackUrl = redirectUri!;
  const bindingIn = options.bindingIn ?? 'state';
  const scope = options.scope ?? 'openid email';
  const transaction = cookieCodec({ ...options.cookie, name: options.transactionCookieName ?? 'anon_oidc_tx' });
  const begin = createLoginStart(anon, options);
  const finishLogin = createLoginFinish(anon, options);

  return {
    login: async function openIdClientLoginStart(ctx: Context): Promise<void> {
      const outcome = await begin({
        headers: ctx.headers,
        query: ctx.query,
        session: ctx.state.anonymousSession,
        returnTo: ctx.query.returnTo,
        origin: originOf(ctx),
        bindingIn,
      });
      applyStart(ctx, outcome);
      const inState = bindingIn === 'state' && outcome.binding !== undefined;
      const tx: LoginTransaction = {
        v: api.randomPKCECodeVerifier(),
        s: inState ? outcome.binding! : api.randomState(),
        n: api.randomNonce(),
        r: outcome.returnTo,
        b: inState,
      };
      const header = transaction.serialize(Buffer.from(JSON.stringify(tx)).toString('base64url'), epochSeconds() + TRANSACTION_LIFETIME);
      if (header === undefined) throw new InvalidRequestError('The login request is too large.');
      ctx.append('Set-Cookie', header);
      const own = typeof extra === 'function' ? extra(ctx) : (extra ?? {});
      const url = api.buildAuthorizationUrl(options.config, {
        scope,
        ...own,
        redirect_uri: callbackUrl.href,
        code_challenge: await api.calculatePKCECodeChallenge(tx.v),
        code_challenge_method: 'S256',
        state: tx.s,
        nonce: tx.n,
      });
      ctx.set('Cache-Control', 'no-store');
      ctx.redirect(url.href);
    },
    callback: async function openIdClientLoginCallback(ctx: Context, next: Next): Promise<void> {
      const tx = readTransaction(transaction.read(ctx.get('cookie') || undefined));
      ctx.append('Set-Cookie', transaction.clear());
      if (tx === undefined) throw new InvalidRequestError('The login expired or was not started in this browser: start it again.');
      // The callback URL as registered, with the provider's answer: never the Host header's idea of it.
      const currentUrl = new URL(callbackUrl.href);
      currentUrl.search = ctx.querystring;
      let tokens: T;
      try {
        tokens = await api.authorizationCodeGrant(options.config, currentUrl, {
          pkceCodeVerifier: tx.v,
          expectedState: tx.s,
          expectedNonce: tx.n,
        });
      } catch (error) {
        throw loginCallbackError(error);
      }
      const claims = tokens.claims();
      if (claims === undefined) throw new InvalidRequestError('The identity provider returned no ID token: start the login again.');
      ctx.state.idTokenClaims = claims;
      const user = await options.getUser(claims, ctx, tokens);
      const outcome = await finishLogin({
        headers: ctx.headers,
        ip: ctx.ip,
        user,
        // With the binding in the state, a login that started without a guest has none: never fall
        // back to a binding cookie (which could have been planted with a session of its own).
        loginBinding: bindingIn === 'state' ? (tx.b ? tx.s : '') : undefined,
        sessionToken: ctx.state.anonymousSessionToken,
        flow: flowOf(options.flow, ctx),
      });
      applyFinish(ctx, outcome);
      ctx.state.anonymousReturnTo = safeRedirectTarget(tx.r);
      await next();
    },
  };
}
