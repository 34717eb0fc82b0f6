/**
 * Auth0's Management API shape, converted. A team moving off Auth0 pastes its tenant, client and
 * resource-server JSON and gets our options back; the field names are Auth0's.
 *
 * Origins are the one place where the two differ in kind: Auth0 accepts subdomain wildcards
 * (`https://*.shop.example.com`) in `allowed_origins` and `web_origins`, while anonymous-sessions
 * allows exact origins only (a wildcard would let any subdomain — one taken over, or a user's
 * page on a shared host — make credentialed requests). A wildcard is therefore never converted
 * silently: it is a {@link ConfigError} that names it and says what to do, unless the caller maps it
 * to the exact origins it stands for, or drops it ({@link FromAuth0SettingsOptions.wildcardOrigins}).
 *
 * @packageDocumentation
 */
import type { AnonymousSessionsOptions, ClientInput, ResourceServerInput } from './config.js';
import { ConfigError, type ConfigIssue } from '../errors/errors.js';

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

/** Options of {@link fromAuth0Settings}. */
export interface FromAuth0SettingsOptions {
  /**
   * What becomes of Auth0 wildcard origins such as `https://*.shop.example.com`, which
   * anonymous-sessions does not support (`allowedOrigins` match exactly):
   *
   * - left out (the default): {@link fromAuth0Settings} throws a {@link ConfigError} naming every
   *   wildcard origin, its client and field, and these two ways out;
   * - a record from each wildcard origin, exactly as written in Auth0, to the exact origins it
   *   should stand for, e.g. `{ 'https://*.shop.example.com': ['https://eu.shop.example.com'] }`.
   *   Each must match its wildcard (same scheme and port; `*` stands for one DNS label), and every
   *   key must be a wildcard origin of the settings — anything else is a `ConfigError`;
   * - `'drop'`: leave wildcard origins out; the sites they covered lose cross-origin access.
   */
  wildcardOrigins?: 'drop' | Readonly<Record<string, readonly string[]>>;
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
 * Origins: `allowed_origins` and `web_origins` together become `allowedOrigins`, each written as
 * the exact origin a browser sends (`https://Shop.example.com:443/`, which Auth0 accepts, becomes
 * `https://shop.example.com`).
 * Wildcard origins follow `options.wildcardOrigins`; by default they are an error.
 *
 * @example
 * ```ts
 * const anon = await createAnonymousSessions({ issuer, keys, ...fromAuth0Settings(auth0Json) });
 * ```
 *
 * @param settings - the tenant, clients and resource servers as the Management API returns them.
 * @param options - what to do with wildcard origins.
 * @throws ConfigError - for a wildcard origin without a mapping, or a bad mapping; every problem at once.
 */
export function fromAuth0Settings(settings: Auth0Settings, options: FromAuth0SettingsOptions = {}): ConvertedAuth0Options {
  const tenant = settings.tenant ?? {};
  const issues: ConfigIssue[] = [];
  const wildcards = new Set<string>();
  const clients = (settings.clients ?? []).map((client, index): ClientInput => {
    const origins: string[] = [];
    for (const field of ['allowed_origins', 'web_origins'] as const) {
      for (const [position, value] of (client[field] ?? []).entries()) {
        if (typeof value !== 'string' || !value.includes('*')) {
          origins.push(typeof value === 'string' ? normalizedOrigin(value) : value);
          continue;
        }
        wildcards.add(value);
        const mapped = mapWildcard(value, options.wildcardOrigins, `clients[${index}].${field}[${position}]`, client.client_id, issues);
        origins.push(...mapped);
      }
    }
    return {
      clientId: client.client_id,
      canCreateAnonymousSessions: client.can_create_anonymous_sessions ?? false,
      allowedOrigins: [...new Set(origins)],
    };
  });
  if (typeof options.wildcardOrigins === 'object' && options.wildcardOrigins !== null) {
    for (const pattern of Object.keys(options.wildcardOrigins)) {
      if (!wildcards.has(pattern)) {
        issues.push({
          path: `wildcardOrigins[${JSON.stringify(pattern)}]`,
          message: 'no client lists this wildcard origin in allowed_origins or web_origins (check the spelling)',
        });
      }
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);

  return {
    ...(tenant.anonymous_session_lifetime === undefined ? {} : { sessionLifetime: tenant.anonymous_session_lifetime }),
    ...(tenant.anonymous_session_token_format === undefined
      ? {}
      : { sessionTokenFormat: tenant.anonymous_session_token_format }),
    clients,
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

/**
 * An http(s) origin as Auth0 accepts it — with a trailing slash, upper-case letters or the default
 * port (`https://Shop.example.com:443/`) — as the exact origin a browser sends
 * (`https://shop.example.com`). Anything with a path, query, fragment or credentials is left as
 * it is, for the config to report.
 */
function normalizedOrigin(value: string): string {
  try {
    const url = new URL(value);
    const plain = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
    const bare = !/[?#]/.test(value) && /^[a-z]+:\/\/[^/]*\/?$/i.test(value);
    return plain && bare && (url.protocol === 'https:' || url.protocol === 'http:') ? url.origin : value;
  } catch {
    return value;
  }
}

/** The exact origins a wildcard origin stands for, or an issue saying what to do. */
function mapWildcard(
  pattern: string,
  choice: FromAuth0SettingsOptions['wildcardOrigins'],
  path: string,
  clientId: string,
  issues: ConfigIssue[],
): string[] {
  if (choice === 'drop') return [];
  const mapped = choice?.[pattern];
  if (mapped === undefined) {
    const example = exampleOrigin(pattern);
    issues.push({
      path,
      message:
        `Auth0 wildcard origin "${pattern}" (client "${clientId}") has no equivalent: allowed origins match exactly here. ` +
        `List the origins it should cover — fromAuth0Settings(settings, { wildcardOrigins: { ${JSON.stringify(pattern)}: [${JSON.stringify(example)}] } }) — ` +
        `or leave it out with { wildcardOrigins: 'drop' }.`,
    });
    return [];
  }
  const matcher = wildcardMatcher(pattern);
  const origins: string[] = [];
  for (const [index, origin] of mapped.entries()) {
    const where = `wildcardOrigins[${JSON.stringify(pattern)}][${index}]`;
    if (matcher === undefined) {
      issues.push({ path: where, message: `"${pattern}" is not a wildcard origin this converter can check (scheme://*.host[:port])` });
      break;
    }
    if (typeof origin !== 'string' || origin.includes('*') || !isExactOrigin(origin)) {
      issues.push({ path: where, message: `must be an exact origin such as ${JSON.stringify(exampleOrigin(pattern))}` });
    } else if (!matcher.test(origin)) {
      issues.push({ path: where, message: `"${origin}" does not match "${pattern}"` });
    } else {
      origins.push(origin);
    }
  }
  return origins;
}

function isExactOrigin(value: string): boolean {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}

/**
 * A pattern for the origins a wildcard origin covers: scheme and port exactly, and `*` one DNS
 * label. `undefined` when the wildcard is somewhere else (the scheme, the port, a path).
 */
function wildcardMatcher(pattern: string): RegExp | undefined {
  const match = /^(https?):\/\/([a-z0-9*.-]+)(:\d{1,5})?\/?$/i.exec(pattern);
  if (!match) return undefined;
  const [, scheme, host, port = ''] = match as unknown as [string, string, string, string | undefined];
  const labels = host.toLowerCase().split('.');
  if (labels.some((label) => label.length === 0 || (label.includes('*') && label !== '*'))) return undefined;
  const hostPattern = labels.map((label) => (label === '*' ? '[a-z0-9](?:[a-z0-9-]*[a-z0-9])?' : escapeRegExp(label))).join('\\.');
  const defaultPort = scheme.toLowerCase() === 'https' ? ':443' : ':80';
  const portPattern = port === '' || port === defaultPort ? '' : escapeRegExp(port);
  return new RegExp(`^${scheme.toLowerCase()}://${hostPattern}${portPattern}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `https://*.shop.example.com` → `https://www.shop.example.com`, for messages. */
function exampleOrigin(pattern: string): string {
  return pattern.replace(/\/$/, '').replace(/\*/g, 'www');
}
