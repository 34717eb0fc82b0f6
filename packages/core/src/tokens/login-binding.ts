/**
 * The login binding: a short-lived signed token, made when a login starts, naming the anonymous
 * session that login carries. The callback transfers only that session, so a session token planted
 * in the victim's browser after the login began (or a callback replayed from another browser, which
 * lacks the binding cookie) transfers nothing. Its `typ` makes it useless as any other token.
 *
 * A binding belongs to one login: the first callback that transfers with it uses it up (a once-mark
 * on its `jti` in the store, kept until the binding expires), so the same binding replayed into
 * another account's callback, or into the same one again, transfers nothing.
 *
 * @packageDocumentation
 */
import { SignJWT, jwtVerify } from 'jose';
import type { KeyRing } from '../keys/keys.js';
import { signatureKeyResolver } from '../keys/key-resolvers.js';
import { randomId } from '../internal/random.js';
import { epochSeconds } from '../internal/epoch-seconds.js';

/** The JWT `typ` of a login binding. */
export const LOGIN_BINDING_TYPE = 'anon-login-binding+jwt';

/** How long a login may take, in seconds, before its binding expires. */
export const LOGIN_BINDING_LIFETIME = 600;

/** Creates a binding for `sessionId`. */
export async function signLoginBinding(ring: KeyRing, issuer: string, sessionId: string): Promise<string> {
  const key = ring.signingKeys[0]!;
  return new SignJWT({ sid: sessionId })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: LOGIN_BINDING_TYPE })
    .setIssuer(issuer)
    .setIssuedAt()
    .setExpirationTime(epochSeconds() + LOGIN_BINDING_LIFETIME)
    .setJti(randomId(12))
    .sign(key.privateKey);
}

/** What a valid binding says. */
export interface LoginBindingClaims {
  /** The `session_id` of the anonymous session the login carries. */
  sid: string;
  /** The binding's own random id: the key of its single-use mark. */
  jti: string;
  /** When the binding expires (epoch seconds). */
  exp: number;
}

/**
 * Opens a binding: its claims, or `undefined` for anything invalid or expired (wrong key, issuer or
 * `typ`, a missing `sid`, `jti` or `exp`). Says nothing about whether it was already used: that is
 * the transfer's single-use mark in the store.
 */
export async function openLoginBinding(
  ring: KeyRing,
  issuer: string,
  token: string,
  clockTolerance: number,
): Promise<LoginBindingClaims | undefined> {
  try {
    const { payload } = await jwtVerify(token, signatureKeyResolver(ring), {
      issuer,
      typ: LOGIN_BINDING_TYPE,
      algorithms: [...ring.signingAlgorithms],
      clockTolerance,
      requiredClaims: ['exp', 'sid', 'jti'],
    });
    const { sid, jti, exp } = payload;
    if (typeof sid !== 'string' || typeof jti !== 'string' || jti.length === 0 || typeof exp !== 'number') return undefined;
    return { sid, jti, exp };
  } catch {
    return undefined;
  }
}

/** The session id a valid binding names, or `undefined` for anything invalid or expired. */
export async function verifyLoginBinding(ring: KeyRing, issuer: string, token: string, clockTolerance: number): Promise<string | undefined> {
  return (await openLoginBinding(ring, issuer, token, clockTolerance))?.sid;
}
