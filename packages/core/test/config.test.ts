import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  createAnonymousSessions,
  generateKeySet,
  memoryStore,
  type PrivateJwkSet,
} from '@anonymous-sessions/core';
import { RESERVED_CLAIMS } from '@anonymous-sessions/core/http';
import { resolveConfig } from '../src/engine/config.js';
import {
  AUDIENCE,
  CLIENT_ID,
  T0,
  T0_SECONDS,
  buildEngine,
  expectConfigError,
  issuePaths,
  quickStartOptions,
  readJws,
  rejectionOf,
  signingJwk,
} from './fixtures.js';

let keys: PrivateJwkSet;

beforeAll(async () => {
  keys = await generateKeySet({ algorithm: 'ES256' });
});

afterEach(() => {
  vi.useRealTimers();
});

const withApi = (api: Record<string, unknown>) =>
  quickStartOptions({
    keys,
    resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, ...api }],
  });

describe('defaults', () => {
  it('resolves every documented default', () => {
    const config = resolveConfig(quickStartOptions({ keys }));
    expect(config.sessionLifetime).toBe(2_592_000);
    expect(config.sessionTokenFormat).toBe('jwe');
    expect(config.clockTolerance).toBe(15);
    expect(config.rateLimit).toEqual({ createPerMinute: 60, continuePerMinute: 60 });
    expect(config.storeTimeoutMs).toBe(2000);
    expect(config.slidingExpiration).toBe(false);
    expect(config.metadataStorage).toBe('token');
    expect(config.developmentSigningAlgorithm).toBe('RS256');
    expect(config.metadata).toEqual({ maxBytes: 2048, maxDepth: 8 });
    expect(config.clients).toEqual([{ clientId: CLIENT_ID, canCreateAnonymousSessions: true, allowedOrigins: [], allowUserId: false }]);
    expect(config.resourceServers).toEqual([
      {
        audience: AUDIENCE,
        allowAnonymousAccess: true,
        anonymousScopes: ['anon', 'read:products', 'write:cart'],
        tokenLifetimeForAnonymousAccess: 86_400,
        claimsMapping: {},
      },
    ]);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('defaults a bare client and API to the safe side (no creation, no guest access, scope anon)', () => {
    const config = resolveConfig(
      quickStartOptions({ clients: [{ clientId: 'c' }], resourceServers: [{ audience: 'https://api' }] }),
    );
    expect(config.clients).toEqual([{ clientId: 'c', canCreateAnonymousSessions: false, allowedOrigins: [], allowUserId: false }]);
    expect(config.resourceServers).toEqual([
      {
        audience: 'https://api',
        allowAnonymousAccess: false,
        anonymousScopes: ['anon'],
        tokenLifetimeForAnonymousAccess: 86_400,
        claimsMapping: {},
      },
    ]);
  });

  it('fills a partial rateLimit and a partial metadata block', () => {
    const config = resolveConfig(quickStartOptions({ rateLimit: {}, metadata: { maxBytes: 100 } }));
    expect(config.rateLimit).toEqual({ createPerMinute: 60, continuePerMinute: 60 });
    expect(config.metadata).toEqual({ maxBytes: 100, maxDepth: 8 });
  });

  it('uses a memory store when none is given', async () => {
    const config = resolveConfig({ ...quickStartOptions(), store: undefined });
    expect(typeof config.store.revokeSession).toBe('function');
    expect(await config.store.isSessionRevoked('sess_x')).toBe(false);
  });

  it('applies the default lifetimes to issued tokens (30 days and 86400 s)', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
    const { anon, logger } = await buildEngine({ keys });
    const { response, session } = await anon.issueToken({ client_id: CLIENT_ID }, { ip: '192.0.2.1' });
    expect(response.expires_in).toBe(86_400);
    expect(readJws(response.access_token).payload.exp).toBe(T0_SECONDS + 86_400);
    expect(session.expires_at).toBe(new Date((T0_SECONDS + 2_592_000) * 1000).toISOString());
    expect(response.session_token.split('.')).toHaveLength(5); // JWE by default
    expect(logger.warn).not.toHaveBeenCalled();
  });
});

describe('ConfigError', () => {
  it('lists every bad field at once, with dotted paths', async () => {
    const issues = await expectConfigError(
      createAnonymousSessions({
        issuer: 'not a url',
        sessionLifetime: -1,
        clients: [{ clientId: '' }, { clientId: 'ok', allowedOrigins: ['https://shop.example.com/'] }],
        resourceServers: [
          { audience: AUDIENCE, tokenLifetimeForAnonymousAccess: 0 },
          {
            audience: 'https://second.example',
            anonymousScopes: ['has space'],
            claimsMapping: { sub: 'anonymous_session.user_id', cart: 'metadata.cart_id' },
          },
        ],
        clockTolerance: 301,
        storeTimeoutMs: 0,
        metadata: { maxBytes: 0, maxDepth: 65 },
        keys,
      }),
    );
    expect(issuePaths(issues)).toEqual([
      'issuer',
      'sessionLifetime',
      'clients[0].clientId',
      'clients[1].allowedOrigins[0]',
      'resourceServers[0].tokenLifetimeForAnonymousAccess',
      'resourceServers[1].anonymousScopes[0]',
      'resourceServers[1].claimsMapping.sub',
      'resourceServers[1].claimsMapping.cart',
      'metadata.maxBytes',
      'metadata.maxDepth',
      'clockTolerance',
      'storeTimeoutMs',
    ]);
    for (const issue of issues) expect(issue.message.length).toBeGreaterThan(0);
  });

  it('points at a wrongly typed field inside a client or an API, not at the whole list', async () => {
    const issues = await expectConfigError(
      createAnonymousSessions({
        ...quickStartOptions({ keys }),
        clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: 'true' as never }],
        resourceServers: [{ audience: AUDIENCE, tokenLifetimeForAnonymousAccess: '86400' as never }],
      }),
    );
    expect(issuePaths(issues)).toEqual([
      'clients[0].canCreateAnonymousSessions',
      'resourceServers[0].tokenLifetimeForAnonymousAccess',
    ]);
  });

  it('points at a key without kty', async () => {
    const issues = await expectConfigError(createAnonymousSessions(quickStartOptions({ keys: { keys: [{} as never] } })));
    expect(issuePaths(issues)).toEqual(['keys.keys[0].kty']);
  });

  it('puts every issue in the message, one per line', async () => {
    const error = await rejectionOf(
      createAnonymousSessions({ ...quickStartOptions({ keys }), issuer: 'ftp://x', storeTimeoutMs: -5 }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/^Invalid anonymous-sessions configuration:/);
    expect(message).toContain('  - issuer: must be an absolute http(s) URL');
    expect(message).toMatch(/ {2}- storeTimeoutMs: /);
  });

  it('reports a missing issuer, clients and resourceServers', async () => {
    const issues = await expectConfigError(createAnonymousSessions({} as never));
    expect(issuePaths(issues)).toEqual(['issuer', 'clients', 'resourceServers']);
  });

  it('requires at least one resource server', async () => {
    const issues = await expectConfigError(createAnonymousSessions(quickStartOptions({ keys, resourceServers: [] })));
    expect(issues).toEqual([{ path: 'resourceServers', message: 'at least one resource server is required' }]);
  });

  it('names an unknown top-level option by its path', async () => {
    const issues = await expectConfigError(
      createAnonymousSessions({ ...quickStartOptions({ keys }), sesionLifetime: 60, bodyLimit: 100 } as never),
    );
    expect(issuePaths(issues)).toEqual(['sesionLifetime', 'bodyLimit']);
    expect(issues[0]?.message).toBe("is not a known option");
  });

  it('refuses a store that does not implement SessionStore', async () => {
    const issues = await expectConfigError(
      createAnonymousSessions(quickStartOptions({ keys, store: { revokeSession: async () => undefined } as never })),
    );
    expect(issues).toEqual([
      { path: 'store', message: 'must implement SessionStore (revokeSession, isSessionRevoked, markOnce, increment)' },
    ]);
  });

  it('refuses a logger without warn and error', async () => {
    const issues = await expectConfigError(
      createAnonymousSessions(quickStartOptions({ keys, logger: { warn: () => undefined } as never })),
    );
    expect(issuePaths(issues)).toEqual(['logger']);
  });

  it("refuses metadataStorage 'store' with a store that has no metadata operations, saying why", async () => {
    const full = memoryStore();
    const tokenOnly = {
      revokeSession: full.revokeSession,
      isSessionRevoked: full.isSessionRevoked,
      markOnce: full.markOnce,
      increment: full.increment,
    };
    const issues = await expectConfigError(
      createAnonymousSessions(quickStartOptions({ keys, metadataStorage: 'store', store: tokenOnly })),
    );
    expect(issuePaths(issues)).toEqual(['metadataStorage']);
    expect(issues[0]?.message).toMatch(/'store' needs a store with the metadata operations readMetadata and mergeMetadata/);
  });

  it("accepts metadataStorage 'store' with memoryStore(), and refuses an unknown mode", async () => {
    const anon = await createAnonymousSessions(quickStartOptions({ keys, metadataStorage: 'store' }));
    expect(anon.config.metadataStorage).toBe('store');
    const issues = await expectConfigError(
      createAnonymousSessions(quickStartOptions({ keys, metadataStorage: 'cookie' as never })),
    );
    expect(issues).toEqual([{ path: 'metadataStorage', message: "must be 'token' or 'store'" }]);
  });

  it('defaults linkedSessionRetention to 90 days and refuses a non-positive one', async () => {
    const anon = await createAnonymousSessions(quickStartOptions({ keys }));
    expect(anon.config.linkedSessionRetention).toBe(7_776_000);
    const off = await createAnonymousSessions(quickStartOptions({ keys, linkedSessionRetention: false }));
    expect(off.config.linkedSessionRetention).toBe(false);
    const issues = await expectConfigError(
      createAnonymousSessions(quickStartOptions({ keys, linkedSessionRetention: 0 })),
    );
    expect(issuePaths(issues)).toEqual(['linkedSessionRetention']);
  });

  it('refuses an unknown session token format and signing algorithm', async () => {
    const issues = await expectConfigError(
      createAnonymousSessions(
        quickStartOptions({ keys, sessionTokenFormat: 'jws' as never, developmentSigningAlgorithm: 'HS256' as never }),
      ),
    );
    expect(issuePaths(issues)).toEqual(['sessionTokenFormat', 'developmentSigningAlgorithm']);
  });

  it('refuses a non-positive rate limit but accepts false', async () => {
    for (const createPerMinute of [0, -1, '60']) {
      const issues = await expectConfigError(
        createAnonymousSessions(quickStartOptions({ keys, rateLimit: { createPerMinute: createPerMinute as number } })),
      );
      expect(issuePaths(issues)).toEqual(['rateLimit.createPerMinute']);
    }
    expect(resolveConfig(quickStartOptions({ rateLimit: false })).rateLimit).toBe(false);
  });

  it('lists key problems together with the other fields', async () => {
    const weak = { ...signingJwk(keys) };
    delete weak.kid;
    const issues = await expectConfigError(
      createAnonymousSessions({ ...quickStartOptions(), issuer: 'nope', keys: { keys: [weak] } }),
    );
    expect(issuePaths(issues)).toEqual(['issuer', 'keys.keys[0]', 'keys']);
    expect(issues[1]?.message).toMatch(/needs a "kid"/);
    expect(issues[2]?.message).toMatch(/encryption secret/);
  });
});

describe('resource server options', () => {
  it('requires tokenLifetimeForAnonymousAccess to be a positive integer of at most a year', async () => {
    for (const bad of [0, -1, 1.5, 31_536_001]) {
      const issues = await expectConfigError(createAnonymousSessions(withApi({ tokenLifetimeForAnonymousAccess: bad })));
      expect(issuePaths(issues)).toEqual(['resourceServers[0].tokenLifetimeForAnonymousAccess']);
    }
    expect(resolveConfig(withApi({ tokenLifetimeForAnonymousAccess: 31_536_000 }))).toBeDefined();
  });

  it.each([...RESERVED_CLAIMS])('refuses the reserved claim name %s in claimsMapping', async (name) => {
    const issues = await expectConfigError(
      createAnonymousSessions(withApi({ claimsMapping: { [name]: 'anonymous_session.user_id' } })),
    );
    expect(issues).toEqual([
      { path: `resourceServers[0].claimsMapping.${name}`, message: `"${name}" is a reserved claim and cannot be mapped` },
    ]);
  });

  it('allows 10 mapped claims and refuses 11', async () => {
    const mapping = (count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`claim_${i}`, `anonymous_session.metadata.k${i}`]));
    expect(resolveConfig(withApi({ claimsMapping: mapping(10) })).resourceServers).toHaveLength(1);
    const issues = await expectConfigError(createAnonymousSessions(withApi({ claimsMapping: mapping(11) })));
    expect(issues).toEqual([
      { path: 'resourceServers[0].claimsMapping', message: 'at most 10 claims may be mapped (got 11)' },
    ]);
  });

  it.each([
    'anonymous_session.metadata',
    'anonymous_session.foo',
    'anonymous_session.expires_at',
    'metadata.cart_id',
    'anonymous_session.metadata..cart',
    'anonymous_session.metadata.cart id',
    'anonymous_session.user_id.x',
    '',
  ])('refuses the claim path %j', async (path) => {
    const issues = await expectConfigError(createAnonymousSessions(withApi({ claimsMapping: { custom: path } })));
    expect(issuePaths(issues)).toEqual(['resourceServers[0].claimsMapping.custom']);
    expect(issues[0]?.message).toMatch(/dot path into anonymous_session/);
  });

  it('accepts every documented claim path', () => {
    const claimsMapping = {
      a: 'anonymous_session.user_id',
      b: 'anonymous_session.session_id',
      c: 'anonymous_session.created_at',
      d: 'anonymous_session.metadata.cart_id',
      e: 'anonymous_session.metadata.prefs.theme',
    };
    const config = resolveConfig(withApi({ claimsMapping }));
    expect(Array.isArray(config.resourceServers) && config.resourceServers[0]?.claimsMapping).toEqual(claimsMapping);
  });
});

describe('client options', () => {
  it('refuses a wildcard origin, which no browser would ever send', async () => {
    for (const origin of ['*', 'https://*.shop.example.com']) {
      const issues = await expectConfigError(
        createAnonymousSessions(quickStartOptions({ keys, clients: [{ clientId: CLIENT_ID, allowedOrigins: [origin] }] })),
      );
      expect(issues).toEqual([
        { path: 'clients[0].allowedOrigins[0]', message: 'wildcards are not supported: list each exact origin' },
      ]);
    }
  });

  it.each(['https://shop.example.com/', 'https://shop.example.com/path', 'shop.example.com', 'null', 'https://user@shop.example.com'])(
    'refuses the origin %j',
    async (origin) => {
      const issues = await expectConfigError(
        createAnonymousSessions(quickStartOptions({ keys, clients: [{ clientId: CLIENT_ID, allowedOrigins: [origin] }] })),
      );
      expect(issuePaths(issues)).toEqual(['clients[0].allowedOrigins[0]']);
      expect(issues[0]?.message).toMatch(/exact origin/);
    },
  );

  it('accepts exact origins with and without a port', () => {
    const allowedOrigins = ['https://shop.example.com', 'http://localhost:3000'];
    const config = resolveConfig(quickStartOptions({ clients: [{ clientId: CLIENT_ID, allowedOrigins }] }));
    expect(Array.isArray(config.clients) && config.clients[0]?.allowedOrigins).toEqual(allowedOrigins);
  });
});

describe('start-up warnings', () => {
  it('warns that sessionLifetime 0 means sessions never expire, and issues tokens without exp', async () => {
    const { anon, logger } = await buildEngine({ keys, sessionLifetime: 0, sessionTokenFormat: 'jwt' });
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]?.[0]).toMatch(/never expire/);
    const { response, session } = await anon.issueToken({ client_id: CLIENT_ID });
    expect(session.expires_at).toBeNull();
    expect(readJws(response.session_token).payload.exp).toBeUndefined();
    expect(response.expires_in).toBe(86_400);
  });

  it('generates development keys and warns when no keys are given', async () => {
    const logger = { warn: vi.fn<(message: string) => void>(), error: vi.fn() };
    const anon = await createAnonymousSessions(
      quickStartOptions({ logger, developmentSigningAlgorithm: 'ES256', store: memoryStore() }),
    );
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]?.[0]).toMatch(/ephemeral development keys/);
    expect(logger.warn.mock.calls[0]?.[0]).toMatch(/die on restart/);
    expect(anon.jwks().keys).toHaveLength(1);
    expect(anon.jwks().keys[0]?.alg).toBe('ES256');
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    await expect(anon.verifyAccessToken(response.access_token, { audience: AUDIENCE })).resolves.toMatchObject({
      aud: AUDIENCE,
    });
    await expect(anon.verifySessionToken(response.session_token)).resolves.toMatchObject({ metadata: {} });
  });

  it('development keys default to RS256 and differ on every start', async () => {
    const [first, second] = await Promise.all([buildEngine(), buildEngine()]);
    expect(first.anon.jwks().keys[0]?.alg).toBe('RS256');
    expect(first.anon.jwks().keys[0]?.kid).not.toBe(second.anon.jwks().keys[0]?.kid);
    const { response } = await first.anon.issueToken({ client_id: CLIENT_ID });
    const error = await rejectionOf(second.anon.verifySessionToken(response.session_token));
    expect(error).toMatchObject({ code: 'invalid_session_token', status: 401 });
  });

  it('does not warn when keys are given', async () => {
    const { logger } = await buildEngine({ keys });
    expect(logger.warn).not.toHaveBeenCalled();
  });
});

describe('misspelt options inside listed clients and resource servers', () => {
  it('are named as unknown options instead of silently keeping the default', async () => {
    const { createAnonymousSessions } = await import('@anonymous-sessions/core');
    const error = await createAnonymousSessions({
      issuer: 'https://shop.example.com/',
      clients: [{ clientId: 'shop-web', canCreateAnonymousSession: true } as never],
      resourceServers: [{ audience: 'https://api.shop.example', allowAnonymousAcess: true } as never],
      logger: { warn: () => undefined, error: () => undefined },
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['clients[0].canCreateAnonymousSession', 'resourceServers[0].allowAnonymousAcess']));
  });
});
