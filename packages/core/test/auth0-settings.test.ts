import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@anonymous-sessions/core';
import {
  createAnonymousSessions,
  fromAuth0Settings,
  generateKeySet,
  memoryStore,
  type Auth0Settings,
  type PrivateJwkSet,
} from '@anonymous-sessions/core';
import {
  ISSUER,
  expectAnonymousError,
  expectConfigError,
  issuePaths,
  readJws,
  silentLogger,
} from './fixtures.js';

/** Management API JSON as a team would paste it, with the many fields we do not read. */
const AUTH0_JSON = `{
  "tenant": {
    "friendly_name": "Shop",
    "anonymous_session_lifetime": 604800,
    "anonymous_session_token_format": "jwt",
    "session_lifetime": 168
  },
  "clients": [
    {
      "client_id": "AbC123shopWeb",
      "name": "Shop SPA",
      "app_type": "spa",
      "callbacks": ["https://shop.example.com/callback"],
      "can_create_anonymous_sessions": true,
      "allowed_origins": ["https://shop.example.com"],
      "web_origins": ["https://shop.example.com", "https://www.shop.example.com"]
    },
    { "client_id": "M2mBackOffice", "name": "Back office", "app_type": "non_interactive" }
  ],
  "resource_servers": [
    {
      "id": "5f1c",
      "name": "Shop API",
      "identifier": "https://api.shop.example",
      "signing_alg": "RS256",
      "scopes": [{ "value": "read:orders", "description": "Read orders" }],
      "allow_anonymous_access": true,
      "token_lifetime_for_anonymous_access": 3600,
      "anonymous_scopes": ["anon", "read:products"]
    },
    { "identifier": "https://admin.shop.example", "name": "Admin API", "token_lifetime": 86400 }
  ]
}`;

let keys: PrivateJwkSet;

beforeAll(async () => {
  keys = await generateKeySet({ algorithm: 'ES256' });
});

describe('fromAuth0Settings', () => {
  it('converts the Management API fields to our options', () => {
    expect(fromAuth0Settings(JSON.parse(AUTH0_JSON) as Auth0Settings)).toEqual({
      sessionLifetime: 604_800,
      sessionTokenFormat: 'jwt',
      clients: [
        {
          clientId: 'AbC123shopWeb',
          canCreateAnonymousSessions: true,
          allowedOrigins: ['https://shop.example.com', 'https://www.shop.example.com'],
        },
        { clientId: 'M2mBackOffice', canCreateAnonymousSessions: false, allowedOrigins: [] },
      ],
      resourceServers: [
        {
          audience: 'https://api.shop.example',
          allowAnonymousAccess: true,
          tokenLifetimeForAnonymousAccess: 3600,
          anonymousScopes: ['anon', 'read:products'],
        },
        { audience: 'https://admin.shop.example', allowAnonymousAccess: false },
      ],
    });
  });

  it('leaves out what Auth0 did not set, so our defaults apply', () => {
    const converted = fromAuth0Settings({ resource_servers: [{ identifier: 'https://api' }] });
    expect(converted).toEqual({
      clients: [],
      resourceServers: [{ audience: 'https://api', allowAnonymousAccess: false }],
    });
    expect(converted).not.toHaveProperty('sessionLifetime');
    expect(converted).not.toHaveProperty('sessionTokenFormat');
  });

  it('never grants the API’s own scopes to guests', () => {
    const converted = fromAuth0Settings(JSON.parse(AUTH0_JSON) as Auth0Settings);
    expect(JSON.stringify(converted)).not.toContain('read:orders');
  });

  it('produces options createAnonymousSessions accepts, and they behave like the Auth0 tenant', async () => {
    const anon = await createAnonymousSessions({
      issuer: ISSUER,
      keys,
      store: memoryStore(),
      logger: silentLogger(),
      ...fromAuth0Settings(JSON.parse(AUTH0_JSON) as Auth0Settings),
    });
    const { response, session } = await anon.issueToken({ client_id: 'AbC123shopWeb', audience: 'https://api.shop.example' });
    expect(response).toMatchObject({ expires_in: 3600, scope: 'anon read:products' });
    const sessionToken = readJws(response.session_token);
    expect(sessionToken.header.typ).toBe('anon-session+jwt');
    expect(Number(sessionToken.payload.exp) - Number(sessionToken.payload.iat)).toBe(604_800);
    expect(Date.parse(session.expires_at!) - Date.parse(session.created_at)).toBe(604_800_000);
    await expect(anon.isAllowedOrigin('https://www.shop.example.com', 'AbC123shopWeb')).resolves.toBe(true);

    await expectAnonymousError(
      anon.issueToken({ client_id: 'AbC123shopWeb', audience: 'https://api.shop.example', scope: 'read:orders' }),
      'invalid_scope',
      400,
    );
    await expectAnonymousError(
      anon.issueToken({ client_id: 'M2mBackOffice', audience: 'https://api.shop.example' }),
      'unauthorized_client',
      403,
    );
    await expectAnonymousError(
      anon.issueToken({ client_id: 'AbC123shopWeb', audience: 'https://admin.shop.example' }),
      'access_denied',
      403,
    );
  });

  it('lets createAnonymousSessions report bad Auth0 values by our option paths', async () => {
    const issues = await expectConfigError(
      createAnonymousSessions({
        issuer: ISSUER,
        keys,
        ...fromAuth0Settings({
          tenant: { anonymous_session_lifetime: -1 },
          clients: [{ client_id: 'c', web_origins: ['https://shop.example.com/cart'] }],
          resource_servers: [{ identifier: 'https://api', token_lifetime_for_anonymous_access: 0 }],
        }),
      }),
    );
    expect(issuePaths(issues)).toEqual([
      'sessionLifetime',
      'clients[0].allowedOrigins[0]',
      'resourceServers[0].tokenLifetimeForAnonymousAccess',
    ]);
  });

  describe('wildcard origins (Auth0 allows https://*.host; we match origins exactly)', () => {
    const settings: Auth0Settings = {
      clients: [
        { client_id: 'spa', can_create_anonymous_sessions: true, allowed_origins: ['https://shop.example.com'], web_origins: ['https://*.shop.example.com'] },
        { client_id: 'admin', allowed_origins: ['http://*.admin.example.com:8080'] },
      ],
    };
    const thrown = (run: () => unknown): ConfigError => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return error as ConfigError;
      }
      throw new Error('expected a ConfigError');
    };

    it('refuses them by default with a message naming the origin, the client and the way out', () => {
      const error = thrown(() => fromAuth0Settings(settings));
      expect(issuePaths(error.issues)).toEqual(['clients[0].web_origins[0]', 'clients[1].allowed_origins[0]']);
      const message = error.issues[0]!.message;
      expect(message).toContain('Auth0 wildcard origin "https://*.shop.example.com" (client "spa")');
      expect(message).toContain('wildcardOrigins: { "https://*.shop.example.com": ["https://www.shop.example.com"] }');
      expect(message).toContain("{ wildcardOrigins: 'drop' }");
      expect(error.message).toContain('clients[1].allowed_origins[0]: Auth0 wildcard origin "http://*.admin.example.com:8080"');
    });

    it('maps each wildcard to the exact origins the caller lists, and they work as allowed origins', async () => {
      const converted = fromAuth0Settings(settings, {
        wildcardOrigins: {
          'https://*.shop.example.com': ['https://eu.shop.example.com', 'https://us.shop.example.com'],
          'http://*.admin.example.com:8080': ['http://staff.admin.example.com:8080'],
        },
      });
      expect(converted.clients).toEqual([
        {
          clientId: 'spa',
          canCreateAnonymousSessions: true,
          allowedOrigins: ['https://shop.example.com', 'https://eu.shop.example.com', 'https://us.shop.example.com'],
        },
        { clientId: 'admin', canCreateAnonymousSessions: false, allowedOrigins: ['http://staff.admin.example.com:8080'] },
      ]);
      const anon = await createAnonymousSessions({
        issuer: ISSUER,
        keys,
        logger: silentLogger(),
        ...converted,
        resourceServers: [{ audience: 'https://api', allowAnonymousAccess: true }],
      });
      await expect(anon.isAllowedOrigin('https://eu.shop.example.com', 'spa')).resolves.toBe(true);
      // the wildcard itself never becomes a pattern: other subdomains stay refused
      await expect(anon.isAllowedOrigin('https://evil.shop.example.com', 'spa')).resolves.toBe(false);
      await expect(anon.isAllowedOrigin('https://*.shop.example.com', 'spa')).resolves.toBe(false);
    });

    it('refuses a mapping to an origin the wildcard does not cover, or that is not exact', () => {
      const error = thrown(() =>
        fromAuth0Settings(settings, {
          wildcardOrigins: {
            'https://*.shop.example.com': [
              'https://evil.example.net',        // another site
              'http://eu.shop.example.com',      // another scheme
              'https://a.b.shop.example.com',    // * is one label
              'https://eu.shop.example.com/',    // not an exact origin
              'https://*.shop.example.com',      // a wildcard again
              'https://eu.shop.example.com:8443', // another port
            ],
            'http://*.admin.example.com:8080': ['http://staff.admin.example.com'],
          },
        }),
      );
      expect(issuePaths(error.issues)).toEqual([
        'wildcardOrigins["https://*.shop.example.com"][0]',
        'wildcardOrigins["https://*.shop.example.com"][1]',
        'wildcardOrigins["https://*.shop.example.com"][2]',
        'wildcardOrigins["https://*.shop.example.com"][3]',
        'wildcardOrigins["https://*.shop.example.com"][4]',
        'wildcardOrigins["https://*.shop.example.com"][5]',
        'wildcardOrigins["http://*.admin.example.com:8080"][0]',
      ]);
      expect(error.issues[0]!.message).toBe('"https://evil.example.net" does not match "https://*.shop.example.com"');
    });

    it('refuses a mapping for a wildcard no client lists (a typo would otherwise go unnoticed)', () => {
      const error = thrown(() =>
        fromAuth0Settings(settings, {
          wildcardOrigins: {
            'https://*.shop.example.com': ['https://eu.shop.example.com'],
            'http://*.admin.example.com:8080': [],
            'https://*.shop.exmaple.com': ['https://eu.shop.exmaple.com'],
          },
        }),
      );
      expect(issuePaths(error.issues)).toEqual(['wildcardOrigins["https://*.shop.exmaple.com"]']);
    });

    it("'drop' leaves wildcard origins out and keeps the exact ones", () => {
      const converted = fromAuth0Settings(settings, { wildcardOrigins: 'drop' });
      expect(converted.clients.map((client) => client.allowedOrigins)).toEqual([['https://shop.example.com'], []]);
    });

    it('writes origins Auth0 accepts (trailing slash, upper case, default port) as the exact origin', () => {
      const converted = fromAuth0Settings({
        clients: [
          {
            client_id: 'c',
            allowed_origins: ['https://shop.example.com/', 'https://Shop.example.com:443/', 'http://localhost:3000/'],
            web_origins: ['https://shop.example.com', 'https://shop.example.com/cart', 'https://user@shop.example.com/'],
          },
        ],
      });
      // a path or credentials are not an origin: left as they are for createAnonymousSessions to report
      expect(converted.clients[0]!.allowedOrigins).toEqual([
        'https://shop.example.com',
        'http://localhost:3000',
        'https://shop.example.com/cart',
        'https://user@shop.example.com/',
      ]);
    });
  });
});
