/**
 * Auth0's Management API shape, converted. A team moving off Auth0 pastes its tenant, client and
 * resource-server JSON and gets our options back; the field names are Auth0's.
 *
 * @packageDocumentation
 */
import type { AnonymousSessionsOptions, ClientInput, ResourceServerInput } from './config.js';

/** Auth0 tenant settings (`PATCH /api/v2/tenants/settings`), the anonymous-session fields. */
export interface Auth0TenantSettings {
  /** Session lifetime in seconds. */
  anonymous_session_lifetime?: number;
  /** `jwe` or `jwt`. */
  anonymous_session_token_format?: 'jwe' | 'jwt';
}

/** An Auth0 client (`/api/v2/clients`), the fields that matter here. */
export interface Auth0Client {
  client_id: string;
  can_create_anonymous_sessions?: boolean;
  /** Auth0's CORS list; copied to `allowedOrigins`. */
  allowed_origins?: string[];
  web_origins?: string[];
}

/** An Auth0 resource server (`/api/v2/resource-servers`), the fields that matter here. */
export interface Auth0ResourceServer {
  identifier: string;
  allow_anonymous_access?: boolean;
  token_lifetime_for_anonymous_access?: number;
  /**
   * The scopes guests may ask for, becoming `anonymousScopes`. The API's own `scopes` are never
   * granted to guests implicitly: without this field guests get `anon` only.
   */
  anonymous_scopes?: string[];
}

/** Everything {@link fromAuth0Settings} reads. */
export interface Auth0Settings {
  tenant?: Auth0TenantSettings;
  clients?: Auth0Client[];
  resource_servers?: Auth0ResourceServer[];
}

/** The options {@link fromAuth0Settings} produces: merge them with `issuer`, `keys` and `store`. */
export type ConvertedAuth0Options = Pick<AnonymousSessionsOptions, 'sessionLifetime' | 'sessionTokenFormat'> & {
  clients: ClientInput[];
  resourceServers: ResourceServerInput[];
};

/**
 * Converts Auth0 Management API JSON into anonymous-sessions options. Fields it does not know are
 * ignored; the result is validated by `createAnonymousSessions` like any other options.
 *
 * @example
 * ```ts
 * const anon = await createAnonymousSessions({ issuer, keys, ...fromAuth0Settings(auth0Json) });
 * ```
 */
export function fromAuth0Settings(settings: Auth0Settings): ConvertedAuth0Options {
  const tenant = settings.tenant ?? {};
  return {
    ...(tenant.anonymous_session_lifetime === undefined ? {} : { sessionLifetime: tenant.anonymous_session_lifetime }),
    ...(tenant.anonymous_session_token_format === undefined
      ? {}
      : { sessionTokenFormat: tenant.anonymous_session_token_format }),
    clients: (settings.clients ?? []).map((client) => ({
      clientId: client.client_id,
      canCreateAnonymousSessions: client.can_create_anonymous_sessions ?? false,
      allowedOrigins: [...new Set([...(client.allowed_origins ?? []), ...(client.web_origins ?? [])])],
    })),
    resourceServers: (settings.resource_servers ?? []).map((api) => ({
      audience: api.identifier,
      allowAnonymousAccess: api.allow_anonymous_access ?? false,
      ...(api.token_lifetime_for_anonymous_access === undefined
        ? {}
        : { tokenLifetimeForAnonymousAccess: api.token_lifetime_for_anonymous_access }),
      ...(api.anonymous_scopes === undefined ? {} : { anonymousScopes: api.anonymous_scopes }),
    })),
  };
}
