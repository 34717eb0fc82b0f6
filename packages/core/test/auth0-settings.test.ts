import { beforeAll, describe, expect, it } from 'vitest';
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
          clients: [{ client_id: 'c', web_origins: ['https://*.shop.example.com'] }],
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
});
