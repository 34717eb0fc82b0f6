/**
 * The access token: an RFC 9068 JWT (`typ: "at+jwt"`) that any OAuth resource server verifies with
 * the public JWKS. Never accepted as a session token, and a session token is never accepted here.
 *
 * @packageDocumentation
 */
import { SignJWT, errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { InvalidTokenError } from '../errors/errors.js';
import { epochSeconds } from '../internal/epoch-seconds.js';
import type { KeyRing } from '../keys/keys.js';
import { signatureKeyResolver } from '../keys/key-resolvers.js';
import { ANONYMOUS_USER_ID } from './session-token.js';

/** The JWT `typ` of an access token (RFC 9068). */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/** The claims of an anonymous access token. */
export interface AccessTokenClaims extends JWTPayload {
  /** Our issuer. */
  iss: string;
  /** The anonymous `user_id`. */
  sub: string;
  /** The API's audience. */
  aud: string;
  iat: number;
  exp: number;
  /** A unique token id. */
  jti: string;
  /** The client that asked for the token. */
  client_id: string;
  /** Space-separated granted scopes. */
  scope: string;
  /** The anonymous `session_id`. */
  sid: string;
  /** The store's epoch marker when the token was issued (see `revocationLoss`); absent without one. */
  store_epoch?: string;
  /** Claims from the resource server's claims mapping. */
  [claim: string]: unknown;
}

/**
 * The claims every anonymous access token from our issuer carries, checked after its signature, by
 * the engine and by a guard trusting a remote anonymous issuer alike: `sub` is an `anon|…` id;
 * `sid`, `jti`, `client_id` and `scope` are strings; `iat` and `exp` are numbers and `iat` is not
 * in the future by more than `clockTolerance` seconds. A token failing any of them is invalid,
 * never a guest: whether a caller is a guest is decided by the issuer, and our issuer only ever
 * issues guests.
 *
 * @param payload - claims whose signature, issuer, audience and `exp` were already verified.
 * @param clockTolerance - seconds of clock skew allowed for `iat`.
 * @throws InvalidTokenError (401 `invalid_token`) naming the claim in its `cause`.
 */
export function assertAnonymousAccessClaims(payload: JWTPayload, clockTolerance: number): asserts payload is AccessTokenClaims {
  if (typeof payload.sub !== 'string' || !ANONYMOUS_USER_ID.test(payload.sub)) refuseClaims('"sub" is not an anonymous user id (anon|…)');
  if (!isNonEmptyString(payload.sid)) refuseClaims('"sid" is not a non-empty string');
  if (!isNonEmptyString(payload.jti)) refuseClaims('"jti" is not a non-empty string');
  if (!isNonEmptyString(payload.client_id)) refuseClaims('"client_id" is not a non-empty string');
  if (typeof payload.scope !== 'string') refuseClaims('"scope" is not a string');
  if (typeof payload.exp !== 'number') refuseClaims('"exp" is not a number');
  if (typeof payload.iat !== 'number') refuseClaims('"iat" is not a number');
  if (payload.iat > epochSeconds() + clockTolerance) refuseClaims('"iat" is in the future');
}

const isNonEmptyString = (value: unknown): boolean => typeof value === 'string' && value.length > 0;

/** Refuses an access token for `reason` (kept in the error's `cause`, never shown to the client). */
function refuseClaims(reason: string): never {
  throw new InvalidTokenError('The access token is invalid.', { cause: new Error(reason) });
}

/** Why jose refused an access token, as the error the guard answers with. */
function refuseToken(error: unknown): never {
  if (error instanceof errors.JWTExpired) throw new InvalidTokenError('The access token expired.', { cause: error });
  throw new InvalidTokenError('The access token is invalid.', { cause: error });
}

/** What the access-token module needs from the configuration. */
export interface AccessTokenSettings {
  issuer: string;
  clockTolerance: number;
}

/** Signs and verifies access tokens with one key ring. */
export interface AccessTokenSigner {
  /** Signs the claims with the current signing key. */
  sign(claims: Omit<AccessTokenClaims, 'iss'>): Promise<string>;
  /**
   * Verifies a token this engine issued for `audience`: pinned algorithms and `typ`, strict
   * `iss`/`aud`/`exp`, and the claims of {@link assertAnonymousAccessClaims}. Every failure is an
   * {@link InvalidTokenError}.
   */
  verify(token: string, audience: string | readonly string[]): Promise<AccessTokenClaims>;
}

/** Builds the access-token signer and verifier. */
export function accessTokenSigner(ring: KeyRing, settings: AccessTokenSettings): AccessTokenSigner {
  const getKey = signatureKeyResolver(ring);
  const algorithms = [...ring.signingAlgorithms];
  const requiredClaims = ['sub', 'exp', 'iat', 'jti', 'client_id', 'sid'];
  // The options for each audience are built once, not on every verification (bounded: audiences
  // come from configuration, not from tokens).
  const optionsByAudience = new Map<string, JWTVerifyOptions>();
  const verifyOptions = (audience: string | readonly string[]): JWTVerifyOptions => {
    const key = typeof audience === 'string' ? audience : audience.join('\n');
    let options = optionsByAudience.get(key);
    if (options === undefined) {
      options = {
        issuer: settings.issuer,
        audience: typeof audience === 'string' ? audience : [...audience],
        algorithms,
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance: settings.clockTolerance,
        requiredClaims,
      };
      if (optionsByAudience.size < 64) optionsByAudience.set(key, options);
    }
    return options;
  };
  return {
    sign(claims) {
      const key = ring.signingKeys[0]!;
      return new SignJWT({ ...claims, iss: settings.issuer })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE })
        .sign(key.privateKey);
    },

    verify(token, audience) {
      return jwtVerify(token, getKey, verifyOptions(audience)).then(({ payload }) => {
        assertAnonymousAccessClaims(payload, settings.clockTolerance);
        return payload;
      }, refuseToken);
    },
  };
}
