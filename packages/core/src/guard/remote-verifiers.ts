/**
 * The verifiers of tokens from remote issuers: a remote anonymous issuer found by discovery, and the
 * host's identity provider (by discovery, or a host-written verifier). Discovery documents and JWKS
 * are fetched with a deadline, cached and cooled down (`internal/remote-documents`).
 *
 * @packageDocumentation
 */
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ACCESS_TOKEN_TYPE, assertAnonymousAccessClaims } from '../tokens/access-token.js';
import { RemoteDocument, remoteKeySet, type RemoteDocumentOptions } from '../internal/remote-documents.js';
import { isCustomVerifier, isHttpUrl, type CustomUserVerifier, type UserIssuerOptions } from './guard-options.js';

/** Asymmetric algorithms accepted from remote issuers; symmetric ones never are. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** A remote verifier: the claims, `undefined` when the token names another issuer, or a throw. */
export type RemoteVerifier = (token: string, issuer: string) => Promise<JWTPayload | undefined>;

const withSlash = (url: string): string => (url.endsWith('/') ? url : `${url}/`);

/** What discovery tells the guard. */
interface Discovery {
  issuer: string;
  jwksUri: URL;
  algorithms: string[];
}

/**
 * Reads an OpenID / RFC 8414 discovery document; throws when it is not one. The algorithms are the
 * configured ones, else those the document advertises in `advertisedIn` (asymmetric only).
 */
function parseDiscovery(
  json: unknown,
  configured: string[] | undefined,
  advertisedIn: 'id_token_signing_alg_values_supported' | 'access_token_signing_alg_values_supported' = 'id_token_signing_alg_values_supported',
): Discovery {
  const document = json as ({ issuer?: unknown; jwks_uri?: unknown } & Record<string, unknown>) | null;
  if (typeof document !== 'object' || document === null || typeof document.issuer !== 'string' || !isHttpUrl(document.jwks_uri)) {
    throw new Error('the answer is not a discovery document with issuer and jwks_uri');
  }
  const list = document[advertisedIn] ?? document.id_token_signing_alg_values_supported;
  const advertised = Array.isArray(list) ? list.filter((alg): alg is string => typeof alg === 'string') : ASYMMETRIC_ALGORITHMS;
  return {
    issuer: document.issuer,
    jwksUri: new URL(document.jwks_uri as string),
    algorithms: (configured ?? advertised).filter((alg) => ASYMMETRIC_ALGORITHMS.includes(alg)),
  };
}

/** An issuer URL without its trailing slashes, for comparing `issuerBaseURL` with an `iss`. */
const withoutSlash = (url: string): string => url.replace(/\/+$/, '');

/**
 * A verifier for a remote anonymous issuer found by discovery (`anonymous: { issuerBaseURL }`).
 * Returns `undefined` for a token whose `iss` is not that issuer (so discovery is only fetched for
 * tokens that claim it), the claims when valid, and throws when invalid — an
 * {@link IssuerUnavailableError} when discovery or the JWKS cannot be had (503). The discovery
 * document's `issuer` must be `issuerBaseURL` (a trailing slash aside), and the token's `iss` must
 * be exactly that `issuer`; the token is then checked as every anonymous access token is (`typ:
 * at+jwt`, asymmetric algorithms the document advertises, audience, strict anonymous claims).
 */
export function discoveredIssuerVerifier(
  issuerBaseURL: string,
  audiences: string[],
  fetching: RemoteDocumentOptions,
  clockTolerance: number,
): RemoteVerifier {
  const expected = withoutSlash(issuerBaseURL);
  const discovery = new RemoteDocument(
    new URL('.well-known/openid-configuration', withSlash(issuerBaseURL)),
    (json) => {
      const found = parseDiscovery(json, undefined, 'access_token_signing_alg_values_supported');
      if (withoutSlash(found.issuer) !== expected) {
        throw new Error(`the document's issuer ${JSON.stringify(found.issuer)} is not issuerBaseURL ${JSON.stringify(issuerBaseURL)}`);
      }
      return found;
    },
    fetching,
  );
  let keys: { url: string; getKey: JWTVerifyGetKey } | undefined;
  return async (token, issuer) => {
    if (withoutSlash(issuer) !== expected) return undefined;
    const found = await discovery.get();
    if (issuer !== found.issuer) throw new Error(`iss ${JSON.stringify(issuer)} is not the discovered issuer ${JSON.stringify(found.issuer)}`);
    if (keys?.url !== found.jwksUri.href) keys = { url: found.jwksUri.href, getKey: remoteKeySet(found.jwksUri, fetching) };
    const { payload } = await jwtVerify(token, keys.getKey, {
      issuer: found.issuer,
      audience: audiences,
      typ: ACCESS_TOKEN_TYPE,
      algorithms: found.algorithms,
      clockTolerance,
    });
    assertAnonymousAccessClaims(payload, clockTolerance);
    return payload;
  };
}

/**
 * A verifier for the host's user tokens. Returns `undefined` when the token names another issuer
 * (so it is never checked against these keys), the claims when valid, and throws when invalid — an
 * {@link IssuerUnavailableError} when discovery or the JWKS cannot be had.
 */
export function userTokenVerifier(
  user: UserIssuerOptions | CustomUserVerifier,
  defaultAudiences: string[],
  fetching: RemoteDocumentOptions,
  clockTolerance: number,
): RemoteVerifier {
  if (isCustomVerifier(user)) {
    const custom = user;
    return async (token) => custom.verify(token);
  }
  const audience = user.audience ?? defaultAudiences;
  const discovery = new RemoteDocument(
    new URL('.well-known/openid-configuration', withSlash(user.issuerBaseURL)),
    (json) => parseDiscovery(json, user.algorithms),
    fetching,
  );
  let keys: { url: string; getKey: JWTVerifyGetKey } | undefined;
  return async (token, issuer) => {
    const found = await discovery.get();
    if (issuer !== found.issuer) return undefined;
    if (keys?.url !== found.jwksUri.href) keys = { url: found.jwksUri.href, getKey: remoteKeySet(found.jwksUri, fetching) };
    const { payload } = await jwtVerify(token, keys.getKey, { issuer: found.issuer, audience, algorithms: found.algorithms, clockTolerance });
    return payload;
  };
}
