import type { Context, Middleware, Next } from 'koa';
import {
  createLoginBinder,
  createTransferHandler,
  type AnonymousSessions,
  type LoginFlowCookieOptions,
  type TransferHandlerOptions,
  type TransferRequestReaders,
} from '@anonymous-sessions/core/http';
import './state.js';

/** Options of {@link anonymousLoginBinding}: the binding cookie's name (the session cookie is the engine's `cookie`). */
export type AnonymousLoginBindingOptions = LoginFlowCookieOptions;

/**
 * On the route where a login or sign-up starts (the login page, or the redirect to `/authorize`):
 * records which anonymous session this login carries, in a short-lived HttpOnly cookie (and on
 * `ctx.state.anonymousLoginBinding` for an OAuth `state`). Put `anonCookieExtractor` before it, or
 * it reads the session cookie itself. A store outage is thrown (503).
 */
export function anonymousLoginBinding(anon: AnonymousSessions, options: AnonymousLoginBindingOptions = {}): Middleware {
  const bind = createLoginBinder(anon, options);
  return async function anonymousLoginBinding(ctx: Context, next: Next): Promise<void> {
    const outcome = await bind({ headers: ctx.headers, session: ctx.state.anonymousSession, protocol: ctx.protocol });
    if (outcome.binding !== undefined) ctx.state.anonymousLoginBinding = outcome.binding;
    for (const header of outcome.setCookies) ctx.append('Set-Cookie', header);
    await next();
  };
}

/** Options of {@link sessionTransfer}: `getUser`, `flow` and `getLoginBinding` are functions of the Koa context. */
export type SessionTransferOptions = TransferHandlerOptions & TransferRequestReaders<Context>;

/**
 * On login and sign-up callbacks, after the host authenticated the user: transfers the guest
 * session bound to this login into the account through the hooks, once; the binding (cookie or
 * `state`) is used up, so a replay of it transfers nothing (`not_bound`). Puts the result on
 * `ctx.state.anonymousTransfer` (with the custom claims for the host's own token) and always
 * continues; only a store outage (503) or a failing hook or user store is thrown (a failing hook or
 * user store applied nothing: the binding is handed back and its cookie kept, so the login can be
 * retried).
 */
export function sessionTransfer(anon: AnonymousSessions, options: SessionTransferOptions): Middleware {
  const handleTransfer = createTransferHandler(anon, options);
  return async function sessionTransfer(ctx: Context, next: Next): Promise<void> {
    const outcome = await handleTransfer(ctx, { headers: ctx.headers, ip: ctx.ip, protocol: ctx.protocol, sessionToken: ctx.state.anonymousSessionToken });
    if (outcome !== undefined) {
      ctx.state.anonymousTransfer = outcome.result;
      for (const header of outcome.setCookies) ctx.append('Set-Cookie', header);
    }
    await next();
  };
}
