/**
 * An authorization code + PKCE login with `openid-client` (v6), the guest session bound to the
 * login that started it: the options' checks, the transaction cookie (PKCE verifier, `state`,
 * `nonce`, `returnTo`) and both steps, written once for every binding (Koa's `openIdClientLogin`,
 * the fetch binding's and its Hono middleware). `openid-client` is passed in by the host and matched
 * structurally, never imported; the binding only reads its request and writes the answer.
 *
 * @packageDocumentation
 */
import { base64url } from 'jose';
import type { AnonymousSessions } from '../engine/engine.js';
import { cookieCodec } from '../engine/session-cookie.js';
import { ConfigError, InvalidRequestError, type ConfigIssue } from '../errors/errors.js';
import type { HttpHeaders } from '../exchange/http-exchange.js';
import { epochSeconds } from '../internal/epoch-seconds.js';
import type { AnonymousSession } from '../tokens/session-token.js';
import type { AuthenticatedUser } from './login-flow.js';
import {
  assertLoginStackOptions,
  createLoginFinish,
  createLoginStart,
  loginCallbackError,
  type IdTokenClaims,
  type LoginFinishOutcome,
  type LoginStackOptions,
  type LoginStartOutcome,
} from './login-stack.js';
import { safeRedirectTarget } from './redirect.js';

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

/** Who authenticated, from the stack's point of view; `undefined` = nobody, nothing transfers. */
type MaybeUser = AuthenticatedUser | undefined | Promise<AuthenticatedUser | undefined>;

/**
 * Options of an `openid-client` login, over the binding's request type `R` (Koa's `Context`, a
 * fetch `Request`, Hono's `Context`): what `authorizationParams`, `getUser` and `flow` are given.
 */
export interface OpenIdClientLoginOptions<C, T extends OpenIdTokens, R> extends LoginStackOptions {
  /** The `openid-client` module. */
  client: OpenIdClientApi<C, T>;
  /** Its configuration for your client, from `client.discovery(…)`. */
  config: C;
  /** The callback's absolute URL, as registered at the provider. */
  redirectUri: string | URL;
  /** Default `openid email`. */
  scope?: string;
  /** Extra authorization request parameters (e.g. `{ screen_hint: 'signup' }`), or a function of the request. */
  authorizationParams?: Record<string, string> | ((request: R) => Record<string, string>);
  /**
   * Maps the verified ID token's claims to the account and whether it is new — typically the
   * just-in-time provisioning of your local user record. `tokens` is the whole token response.
   */
  getUser: (claims: IdTokenClaims, request: R, tokens: T) => MaybeUser;
  /** The flow of the callback (`'login'`/`'signup'` by default, from `isNewUser`), or a function of the request. */
  flow?: string | ((request: R) => string);
  /**
   * Where the binding travels: `'state'` (default) — it is the OAuth `state` itself, checked
   * against this browser's transaction cookie by `openid-client` — or `'cookie'` (its own cookie,
   * and a random `state`).
   */
  bindingIn?: 'state' | 'cookie';
  /** The transaction cookie (PKCE verifier, state, nonce, returnTo). Default `anon_oidc_tx`. */
  transactionCookieName?: string;
}

/** What the login start reads of the request. */
export interface OpenIdLoginStartRequest {
  /** Request headers, names in lower case. */
  headers: HttpHeaders;
  /** The query parameters (`returnTo`, `anonymous_session_token`). */
  query: Readonly<Record<string, unknown>>;
  /** The session a cookie extractor already found, if any. */
  session?: AnonymousSession | undefined;
  /** The app's own origin as the browser reached it, for the same-origin `returnTo`. */
  origin?: string | undefined;
}

/** What the login start answers: a redirect to the provider. */
export interface OpenIdLoginStartOutcome {
  /** The provider's authorization URL, with PKCE, `state` and `nonce`. */
  location: string;
  /** The binding, when a guest session was bound. */
  binding?: string;
  /** The same-origin path to come back to. */
  returnTo: string;
  /** Headers to set (`Cache-Control: no-store`, the login start's own). */
  headers: Record<string, string>;
  /** `Set-Cookie` headers to add: the login start's and the transaction cookie. */
  setCookies: string[];
}

/** What the callback reads of the request. */
export interface OpenIdCallbackRequest {
  /** Request headers, names in lower case. */
  headers: HttpHeaders;
  /** The query string of the callback, with or without its `?`: the provider's answer. */
  search: string;
  /** The client address (the transfer's audit). */
  ip?: string | undefined;
  /** The raw session token a cookie extractor already found, if any. */
  sessionToken?: string | undefined;
}

/** What the callback did. */
export interface OpenIdCallbackOutcome<T> {
  /** The verified ID token's claims. */
  claims: IdTokenClaims;
  /** The whole token response. */
  tokens: T;
  /** What moved from the guest session. */
  transfer?: LoginFinishOutcome['transfer'];
  /** The same-origin path kept at the start. */
  returnTo: string;
  /** `Set-Cookie` headers to add (the login's cookies cleared). */
  setCookies: string[];
}

/** The two steps; the binding reads its request and writes what they return. */
export interface OpenIdClientLoginSteps<T, R> {
  /** `Set-Cookie` clearing the transaction cookie: add it on every callback, refused or not. */
  clearTransaction(): string;
  /** The login start: binds the guest session and builds the redirect to the provider. */
  start(request: R, facts: OpenIdLoginStartRequest): Promise<OpenIdLoginStartOutcome>;
  /** The callback: redeems the code, checks `state` and `nonce`, transfers the bound guest session once. */
  callback(request: R, facts: OpenIdCallbackRequest): Promise<OpenIdCallbackOutcome<T>>;
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

const TRANSACTION_LIFETIME = 600;
const OPTION_KEYS = ['getUser', 'flow', 'client', 'config', 'redirectUri', 'scope', 'authorizationParams', 'bindingIn', 'transactionCookieName'];
const CLIENT_FUNCTIONS = ['buildAuthorizationUrl', 'authorizationCodeGrant', 'randomPKCECodeVerifier', 'calculatePKCECodeChallenge', 'randomState', 'randomNonce'] as const;

function readTransaction(value: string | undefined): LoginTransaction | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(new TextDecoder().decode(base64url.decode(value))) as Partial<LoginTransaction>;
    return typeof parsed.v === 'string' && typeof parsed.s === 'string' && typeof parsed.n === 'string' && typeof parsed.r === 'string'
      ? { v: parsed.v, s: parsed.s, n: parsed.n, r: parsed.r, b: parsed.b === true }
      : undefined;
  } catch {
    return undefined;
  }
}

/** Every bad option at once, as a `ConfigError`; the callback URL when all is well. */
function assertOpenIdClientOptions<C, T extends OpenIdTokens, R>(options: OpenIdClientLoginOptions<C, T, R>): URL {
  assertLoginStackOptions(options, OPTION_KEYS);
  const issues: ConfigIssue[] = [];
  if (options.flow !== undefined && typeof options.flow !== 'string' && typeof options.flow !== 'function') {
    issues.push({ path: 'flow', message: 'must be a string or a function of the request' });
  }
  let redirectUri: URL | undefined;
  try {
    redirectUri = new URL(options.redirectUri);
  } catch {
    issues.push({ path: 'redirectUri', message: 'must be an absolute URL' });
  }
  const client = options.client as Partial<OpenIdClientApi<C, T>> | undefined;
  if (typeof client !== 'object' || client === null || CLIENT_FUNCTIONS.some((name) => typeof client[name] !== 'function')) {
    issues.push({ path: 'client', message: 'must be the openid-client module (v6)' });
  }
  if (options.config === undefined || options.config === null) issues.push({ path: 'config', message: "is required: openid-client's Configuration" });
  if (options.bindingIn !== undefined && options.bindingIn !== 'state' && options.bindingIn !== 'cookie') {
    issues.push({ path: 'bindingIn', message: 'must be "state" or "cookie"' });
  }
  if (options.scope !== undefined && (typeof options.scope !== 'string' || !/\bopenid\b/.test(options.scope))) {
    issues.push({ path: 'scope', message: 'must be a string containing "openid"' });
  }
  const extra = options.authorizationParams;
  if (extra !== undefined && typeof extra !== 'function' && (typeof extra !== 'object' || extra === null)) {
    issues.push({ path: 'authorizationParams', message: 'must be an object or a function of the request' });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return redirectUri!;
}

/**
 * The steps of an `openid-client` login for a binding.
 *
 * @throws ConfigError for unknown or ill-typed options, at start-up.
 */
export function createOpenIdClientLogin<C, T extends OpenIdTokens, R>(
  anon: AnonymousSessions,
  options: OpenIdClientLoginOptions<C, T, R>,
): OpenIdClientLoginSteps<T, R> {
  const callbackUrl = assertOpenIdClientOptions(options);
  const api = options.client;
  const extra = options.authorizationParams;
  const bindingIn = options.bindingIn ?? 'state';
  const scope = options.scope ?? 'openid email';
  const transaction = cookieCodec({ ...options.cookie, name: options.transactionCookieName ?? 'anon_oidc_tx' });
  const begin = createLoginStart(anon, options);
  const end = createLoginFinish(anon, options);

  async function start(request: R, facts: OpenIdLoginStartRequest): Promise<OpenIdLoginStartOutcome> {
    const outcome: LoginStartOutcome = await begin({ ...facts, returnTo: facts.query.returnTo, bindingIn });
    const inState = bindingIn === 'state' && outcome.binding !== undefined;
    const tx: LoginTransaction = { v: api.randomPKCECodeVerifier(), s: inState ? outcome.binding! : api.randomState(), n: api.randomNonce(), r: outcome.returnTo, b: inState };
    const header = transaction.serialize(base64url.encode(JSON.stringify(tx)), epochSeconds() + TRANSACTION_LIFETIME);
    if (header === undefined) throw new InvalidRequestError('The login request is too large.');
    const own = typeof extra === 'function' ? extra(request) : (extra ?? {});
    const url = api.buildAuthorizationUrl(options.config, {
      scope,
      ...own,
      redirect_uri: callbackUrl.href,
      code_challenge: await api.calculatePKCECodeChallenge(tx.v),
      code_challenge_method: 'S256',
      state: tx.s,
      nonce: tx.n,
    });
    return {
      location: url.href,
      ...(outcome.binding === undefined ? {} : { binding: outcome.binding }),
      returnTo: outcome.returnTo,
      headers: { ...outcome.headers, 'Cache-Control': 'no-store' },
      setCookies: [...outcome.setCookies, header],
    };
  }

  async function callback(request: R, facts: OpenIdCallbackRequest): Promise<OpenIdCallbackOutcome<T>> {
    const cookieHeader = facts.headers.cookie;
    const tx = readTransaction(transaction.read((Array.isArray(cookieHeader) ? cookieHeader.join('; ') : cookieHeader) || undefined));
    if (tx === undefined) throw new InvalidRequestError('The login expired or was not started in this browser: start it again.');
    // The callback URL as registered, with the provider's answer: never the Host header's idea of it.
    const currentUrl = new URL(callbackUrl.href);
    currentUrl.search = facts.search;
    let tokens: T;
    try {
      tokens = await api.authorizationCodeGrant(options.config, currentUrl, { pkceCodeVerifier: tx.v, expectedState: tx.s, expectedNonce: tx.n });
    } catch (error) {
      throw loginCallbackError(error);
    }
    const claims = tokens.claims();
    if (claims === undefined) throw new InvalidRequestError('The identity provider returned no ID token: start the login again.');
    const user = await options.getUser(claims, request, tokens);
    const outcome = await end({
      headers: facts.headers,
      ip: facts.ip,
      user,
      // With the binding in the state, a login that started without a guest has none: never fall
      // back to a binding cookie (which could have been planted with a session of its own).
      loginBinding: bindingIn === 'state' ? (tx.b ? tx.s : '') : undefined,
      sessionToken: facts.sessionToken,
      flow: typeof options.flow === 'function' ? options.flow(request) : options.flow,
    });
    return {
      claims,
      tokens,
      ...(outcome.transfer === undefined ? {} : { transfer: outcome.transfer }),
      returnTo: safeRedirectTarget(tx.r),
      setCookies: outcome.setCookies,
    };
  }

  return { clearTransaction: () => transaction.clear(), start, callback };
}
