/**
 * The authorization server metadata document (RFC 8414) served at
 * `/.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`: a pure function
 * of the configuration and the signing algorithms, built once when the engine starts, and the
 * engine's documents per mount path ({@link DiscoveryDocuments}).
 *
 * @packageDocumentation
 */
import type { Logger } from '../internal/logger.js';
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

/** A mount path the discovery document may name: path segments of URL path characters, no dot segments. */
const MOUNT_PATH = /^(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9\-._~!$&'()*+,;=:@%]+)+$/;
/** How many mount paths' discovery documents are kept (a parameterised mount could name many). */
const MAX_MOUNTED_DOCUMENTS = 16;

/** The settings the documents read from the resolved configuration. */
export type DiscoverySettings = Pick<ResolvedConfig, 'issuer' | 'jwksUri' | 'resourceServers'> & { logger: Logger };

/**
 * The engine's discovery documents: the issuer's, built once, and those of routers mounted
 * elsewhere (kept for up to {@link MAX_MOUNTED_DOCUMENTS} mount paths), with a warning, once, that
 * such a mount is not where discovery clients look.
 */
export class DiscoveryDocuments {
  readonly #settings: DiscoverySettings;
  readonly #signingAlgorithms: readonly string[];
  readonly #issuerDocument: AuthorizationServerMetadata;
  /** Discovery documents for routers mounted elsewhere than the issuer's path, by mount path. */
  readonly #mounted = new Map<string, AuthorizationServerMetadata>();
  #warnedMountPath = false;

  constructor(settings: DiscoverySettings, signingAlgorithms: readonly string[]) {
    this.#settings = settings;
    this.#signingAlgorithms = signingAlgorithms;
    this.#issuerDocument = this.#build(settings.issuer.endsWith('/') ? settings.issuer : `${settings.issuer}/`);
  }

  /** The document for a router mounted at `mountPath` (see `AnonymousSessions.metadataDocument`). */
  forMount(mountPath?: string): AuthorizationServerMetadata {
    const { issuer, logger } = this.#settings;
    const issuerPath = new URL(issuer).pathname.replace(/\/+$/, '');
    const mounted = (mountPath ?? '').replace(/\/+$/, '');
    if (mounted === '' || mounted.toLowerCase() === issuerPath.toLowerCase() || !MOUNT_PATH.test(mounted)) {
      return this.#issuerDocument;
    }
    const base = `${new URL(issuer).origin}${mounted}/`;
    let document = this.#mounted.get(mounted);
    if (document === undefined) {
      document = this.#build(base);
      if (this.#mounted.size < MAX_MOUNTED_DOCUMENTS) this.#mounted.set(mounted, document);
    }
    if (!this.#warnedMountPath) {
      this.#warnedMountPath = true;
      logger.warn(
        `The token router is mounted at ${mounted}, but the issuer ${issuer} has the path ${issuerPath || '/'}: discovery and the JWKS are served under ${mounted}/.well-known/, where clients given the issuer (issuerBaseURL) do not look. Mount the router at the issuer's path, or make the issuer ${base}.`,
      );
    }
    return document;
  }

  #build(base: string): AuthorizationServerMetadata {
    const resourceServers = Array.isArray(this.#settings.resourceServers) ? this.#settings.resourceServers : undefined;
    return discoveryDocument(this.#settings, resourceServers, this.#signingAlgorithms, base);
  }
}
