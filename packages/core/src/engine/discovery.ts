/**
 * The authorization server metadata document (RFC 8414) served at
 * `/.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`: a pure function
 * of the configuration and the signing algorithms, built once when the engine starts.
 *
 * @packageDocumentation
 */
import type { ResolvedConfig, ResourceServer } from './config.js';

/** RFC 8414 authorization-server metadata, plus the anonymous token endpoint. */
export interface AuthorizationServerMetadata {
  issuer: string;
  jwks_uri: string;
  anonymous_token_endpoint: string;
  anonymous_session_endpoint: string;
  anonymous_logout_endpoint: string;
  token_endpoint_auth_methods_supported: string[];
  grant_types_supported: string[];
  response_types_supported: string[];
  scopes_supported?: string[];
  id_token_signing_alg_values_supported: string[];
  access_token_signing_alg_values_supported: string[];
  [parameter: string]: unknown;
}

/**
 * Builds the discovery document.
 *
 * @param config - the issuer and the JWKS location.
 * @param resourceServers - the static APIs (their scopes are listed), or `undefined` with a resolver.
 * @param signingAlgorithms - the algorithms of the signing keys.
 * @param base - where the endpoints are served (the issuer, or the router's mount path on its origin).
 */
export function discoveryDocument(
  config: Pick<ResolvedConfig, 'issuer' | 'jwksUri'>,
  resourceServers: readonly ResourceServer[] | undefined,
  signingAlgorithms: readonly string[],
  base: string = config.issuer.endsWith('/') ? config.issuer : `${config.issuer}/`,
): AuthorizationServerMetadata {
  const { issuer } = config;
  const algorithms = [...signingAlgorithms];
  const scopes = resourceServers ? [...new Set(resourceServers.flatMap((api) => api.anonymousScopes))] : undefined;
  return Object.freeze({
    issuer,
    jwks_uri: config.jwksUri ?? `${base}.well-known/jwks.json`,
    anonymous_token_endpoint: `${base}anonymous/token`,
    anonymous_session_endpoint: `${base}anonymous/session`,
    anonymous_logout_endpoint: `${base}anonymous/logout`,
    token_endpoint_auth_methods_supported: ['none'],
    grant_types_supported: ['urn:anonymous-sessions:anonymous'],
    response_types_supported: ['token'],
    ...(scopes ? { scopes_supported: scopes } : {}),
    id_token_signing_alg_values_supported: algorithms,
    access_token_signing_alg_values_supported: algorithms,
  });
}
