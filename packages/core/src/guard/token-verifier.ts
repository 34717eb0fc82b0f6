/**
 * Verifies one bearer token and says whose it is. A token is only ever accepted under the key set
 * of the issuer it names: anonymous tokens under our engine's keys (or a remote anonymous issuer's
 * JWKS), user tokens under the host's identity provider. Whether the caller is a guest is decided
 * by that issuer, never by the `sub` claim.
 *
 * With the local engine the usual token is verified on the way in: its protected header names one
 * of our signing keys (`kid` and `alg`, keys imported once when the engine started), so the engine
 * verifies it at once, our issuer pinned — its payload is decoded once, inside jose. Only a token
 * that is not ours (or fails our verification) has its payload decoded here, to send it to the
 * issuer it names.
 *
 * @packageDocumentation
 */
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTHeaderParameters, type JWTPayload, type JWTVerifyGetKey, type ProtectedHeaderParameters } from 'jose';
import { AnonymousSessionError, InvalidTokenError, TemporarilyUnavailableError } from '../errors/errors.js';
import type { AnonymousSessions, VerifyAccessTokenOptions } from '../engine/engine.js';
import { deepFreeze } from '../internal/deep-freeze.js';
import { IssuerUnavailableError } from '../internal/remote-documents.js';
import { ACCESS_TOKEN_TYPE, assertAnonymousAccessClaims } from '../tokens/access-token.js';
import { ASYMMETRIC_ALGORITHMS, type RemoteVerifier } from './remote-verifiers.js';

/** What a guard puts on `req.auth` / `ctx.state.auth` (the shape express-oauth2-jwt-bearer uses). */
export interface AuthResult {
  /** The raw access token. Never log it. */
  token: string;
  /** Its protected header. */
  header: JWTHeaderParameters;
  /** Its verified claims. */
  payload: JWTPayload;
  /** True for our anonymous issuer's tokens; false for the host's identity provider's. */
  isAnonymous: boolean;
}

/** Everything the verifier needs, resolved from the guard's options. */
export interface TokenVerifierSettings {
  realm: string;
  audiences: string[];
  clockTolerance: number;
  /** The local engine, when `anonymous` is one. */
  engine: AnonymousSessions | undefined;
  /** Our (or the remote) anonymous issuer, when known without discovery. */
  anonymousIssuer: string | undefined;
  /** A remote anonymous issuer's JWKS. */
  remoteAnonymousKeys: JWTVerifyGetKey | undefined;
  /** A remote anonymous issuer found by discovery. */
  discoveredAnonymous: RemoteVerifier | undefined;
  /** The host's identity provider. */
  userVerifier: RemoteVerifier | undefined;
  allowIdTokens: boolean;
}

/** An issuer that could not be reached: 503, with `Retry-After` when the next fetch will be tried. */
function unavailable(error: IssuerUnavailableError): TemporarilyUnavailableError {
  return new TemporarilyUnavailableError({ cause: error, headers: { 'Retry-After': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) } });
}

/** How many decoded headers of our own tokens a verifier keeps (a handful in practice: one per signing key). */
const MAX_OWN_HEADERS = 16;

/** Verifies tokens for one guard. */
export class TokenVerifier {
  readonly #settings: TokenVerifierSettings;
  /**
   * The decoded protected headers of tokens our engine signed, by their encoded segment: every token
   * one key signs carries the same header, so it is decoded once, not on every request. Only headers
   * naming one of our keys are kept, and at most {@link MAX_OWN_HEADERS} (a token cannot grow it);
   * whether a header still names one of our keys is asked again on every request.
   */
  readonly #ownHeaders = new Map<string, ProtectedHeaderParameters>();

  /** The engine's verification options for this guard's audiences, made once. */
  readonly #ownVerification: VerifyAccessTokenOptions;

  constructor(settings: TokenVerifierSettings) {
    this.#settings = settings;
    this.#ownVerification = { audience: settings.audiences };
  }

  /** Whether the local engine has a signing key of this header's `kid`, for its `alg`. */
  #signedByUs(header: ProtectedHeaderParameters): boolean {
    const { engine } = this.#settings;
    return engine !== undefined && typeof header.kid === 'string' && engine.keys.signingKeyById.get(header.kid)?.alg === header.alg;
  }

  #invalid(description: string, cause?: unknown): InvalidTokenError {
    return InvalidTokenError.forBearer(this.#settings.realm, description, cause);
  }

  #expiredOrInvalid(error: unknown): InvalidTokenError {
    const expired = error instanceof joseErrors.JWTExpired || (error instanceof InvalidTokenError && /expired/.test(error.description));
    return this.#invalid(expired ? 'The access token expired.' : 'The access token is invalid.', error);
  }

  /** The token's protected header, decoded (or known: see {@link TokenVerifier.#ownHeaders}). */
  #header(token: string): ProtectedHeaderParameters {
    const dot = token.indexOf('.');
    const segment = dot > 0 ? token.slice(0, dot) : undefined;
    const known = segment === undefined ? undefined : this.#ownHeaders.get(segment);
    if (known !== undefined) return known;
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(token);
    } catch (error) {
      throw this.#invalid('The access token is malformed.', error);
    }
    if (segment !== undefined && this.#signedByUs(header)) {
      if (this.#ownHeaders.size >= MAX_OWN_HEADERS) this.#ownHeaders.clear();
      this.#ownHeaders.set(segment, deepFreeze(header));
    }
    return header;
  }

  /** Verifies `token`, or rejects with the RFC 6750 error to answer with (503 when an issuer is down). */
  verify(token: string): Promise<AuthResult> {
    let header: JWTHeaderParameters;
    try {
      header = this.#header(token) as JWTHeaderParameters;
    } catch (error) {
      return Promise.reject(error);
    }
    // Ours, by kid and alg: verified at once, our issuer pinned. Any failure goes on to the issuer
    // the token names (a foreign key may share a kid with ours).
    if (!this.#signedByUs(header)) return this.#byIssuer(token, header, undefined);
    return this.#settings.engine!.verifyAccessToken(token, this.#ownVerification).then(
      (payload): AuthResult => ({ token, header, payload, isAnonymous: true }),
      (error: unknown) => this.#byIssuer(token, header, error),
    );
  }

  /** A token sent to the issuer it names (`oursFailed`: why our own verification refused it, if it ran). */
  async #byIssuer(token: string, header: JWTHeaderParameters, oursFailed: unknown): Promise<AuthResult> {
    let issuer: unknown;
    try {
      issuer = decodeJwt(token).iss;
    } catch (error) {
      throw this.#invalid('The access token is malformed.', error);
    }
    const payload =
      (await this.#anonymous(token, issuer, oursFailed)) ?? (await this.#discovered(token, issuer)) ?? (await this.#user(token, issuer));
    if (payload === undefined) throw this.#invalid('The access token is invalid.', new Error('token from an untrusted issuer'));
    return { token, header, ...payload };
  }

  /** A token naming our (or the remote) anonymous issuer: verified under its keys only. */
  async #anonymous(token: string, issuer: unknown, oursFailed: unknown): Promise<Omit<AuthResult, 'token' | 'header'> | undefined> {
    const { anonymousIssuer, engine, audiences, clockTolerance, remoteAnonymousKeys } = this.#settings;
    if (anonymousIssuer === undefined || issuer !== anonymousIssuer) return undefined;
    if (oursFailed !== undefined) throw this.#expiredOrInvalid(oursFailed);
    let payload: JWTPayload;
    try {
      if (engine) {
        payload = await engine.verifyAccessToken(token, { audience: audiences });
      } else {
        ({ payload } = await jwtVerify(token, remoteAnonymousKeys!, { issuer: anonymousIssuer, audience: audiences, typ: ACCESS_TOKEN_TYPE, algorithms: ASYMMETRIC_ALGORITHMS, clockTolerance }));
        assertAnonymousAccessClaims(payload, clockTolerance);
      }
    } catch (error) {
      if (error instanceof IssuerUnavailableError) throw unavailable(error);
      throw this.#expiredOrInvalid(error);
    }
    return { payload, isAnonymous: true };
  }

  /** A token from a remote anonymous issuer found by discovery. */
  async #discovered(token: string, issuer: unknown): Promise<Omit<AuthResult, 'token' | 'header'> | undefined> {
    const { discoveredAnonymous } = this.#settings;
    if (discoveredAnonymous === undefined || typeof issuer !== 'string') return undefined;
    let payload: JWTPayload | undefined;
    try {
      payload = await discoveredAnonymous(token, issuer);
    } catch (error) {
      if (error instanceof IssuerUnavailableError) throw unavailable(error);
      throw this.#expiredOrInvalid(error);
    }
    return payload === undefined ? undefined : { payload, isAnonymous: true };
  }

  /** A token from the host's identity provider (never an ID token unless allowed). */
  async #user(token: string, issuer: unknown): Promise<Omit<AuthResult, 'token' | 'header'> | undefined> {
    const { userVerifier, allowIdTokens } = this.#settings;
    if (userVerifier === undefined || typeof issuer !== 'string') return undefined;
    let payload: JWTPayload | undefined;
    try {
      payload = await userVerifier(token, issuer);
    } catch (error) {
      // The identity provider could not be reached: fail closed, but say so (503), so clients
      // do not throw their users out during an outage.
      if (error instanceof IssuerUnavailableError) throw unavailable(error);
      if (error instanceof AnonymousSessionError && error.status === 503) throw error;
      throw this.#expiredOrInvalid(error);
    }
    if (payload === undefined) return undefined;
    if (payload.nonce !== undefined && !allowIdTokens) {
      throw this.#invalid('The access token is invalid.', new Error('an ID token (it carries "nonce") is not an access token'));
    }
    return { payload, isAnonymous: false };
  }
}
