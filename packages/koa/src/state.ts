import type { AnonymousSession, AuthResult, IdTokenClaims, TransferResult } from '@anonymous-sessions/core/http';

/**
 * What the middlewares put on `ctx.state`. Koa's `DefaultState` is augmented with it, so
 * `ctx.state.auth` is typed in any app; with a typed `new Koa<MyState>()`, add it to `MyState`.
 */
export interface AnonymousSessionsState {
  /** The verified anonymous session, set by `anonCookieExtractor` when the visitor has one. */
  anonymousSession?: AnonymousSession;
  /** The raw session token behind `anonymousSession`. Never log it. */
  anonymousSessionToken?: string;
  /** Set by `requireAnonymousOrUser`: the verified token, guest or user. */
  auth?: AuthResult;
  /** Set by `sessionTransfer`: what moved from the guest session, and the custom claims. */
  anonymousTransfer?: TransferResult;
  /** Set by `anonymousLoginBinding`: the binding to carry in an OAuth `state`, if you prefer that to the cookie. */
  anonymousLoginBinding?: string;
  /** Set by the login-stack helpers: the same-origin path to go to after the login. */
  anonymousReturnTo?: string;
  /** Set by `openIdClientLogin`'s callback: the verified ID token's claims. */
  idTokenClaims?: IdTokenClaims;
}

declare module 'koa' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface DefaultState extends AnonymousSessionsState {}
}
