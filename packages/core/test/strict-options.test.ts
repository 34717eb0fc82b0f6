/** Every factory refuses an option it does not know, naming it: a typo is never a silent default. */
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createAnonymousSessions, type AnonymousSessions, type AnonymousSessionsOptions } from '@anonymous-sessions/core';
import {
  cookieCodec,
  createBearerGuard,
  createCookieExtractor,
  createEndpoints,
  createLoginBinder,
  createLoginFinish,
  createLoginStart,
  createSessionExtractor,
  createTransferRoute,
  createTransferStep,
  parseLoginStackOptions,
} from '@anonymous-sessions/core/http';
import { memoryStore } from '@anonymous-sessions/core';
import { z } from 'zod/mini';
import { AUDIENCE, buildEngine } from './fixtures.js';

const isFunction = (value: unknown): boolean => typeof value === 'function';
const users = { get: async () => undefined, update: async () => undefined };

function configIssues(build: () => unknown): { path: string; message: string }[] {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('strict options', () => {
  let anon: AnonymousSessions;
  beforeAll(async () => {
    ({ anon } = await buildEngine());
  });

  it.each([
    ['the router', () => createEndpoints(anon, { cookei: {} } as never), 'cookei'],
    ['the router’s cookie', () => createEndpoints(anon, { cookie: { nmae: 'sid' } } as never), 'cookie.nmae'],
    ['the cookie codec', () => cookieCodec({ sameSte: 'lax' } as never), 'cookie.sameSte'],
    ['the session extractor', () => createSessionExtractor(anon, { queryParm: false } as never), 'queryParm'],
    ['the session extractor’s cookie', () => createSessionExtractor(anon, { cookie: { nmae: 'sid' } } as never), 'cookie.nmae'],
    ['the cookie extractor', () => createCookieExtractor(anon, { cookiename: 'sid' } as never), 'cookiename'],
    ['the guard', () => createBearerGuard({ anonymous: anon, audience: AUDIENCE, scoeps: [] } as never), 'scoeps'],
    ['the guard’s cache', () => createBearerGuard({ anonymous: anon, audience: AUDIENCE, cache: { maxEntrys: 10 } } as never), 'cache.maxEntrys'],
    ['the memory store', () => memoryStore({ maxEntires: 10 } as never), 'memoryStore.maxEntires'],
    ['the login binder', () => createLoginBinder(anon, { bindingCookiName: 'x' } as never), 'bindingCookiName'],
    ['the transfer step', () => createTransferStep(anon, { users, onPostlogin: () => undefined } as never), 'onPostlogin'],
    ['the transfer route', () => createTransferRoute(anon, { users, getUser: () => undefined, getLoginBindng: () => 'x' } as never), 'getLoginBindng'],
    ['the login start', () => createLoginStart(anon, { seedCookiName: 'x' } as never), 'seedCookiName'],
    ['the login finish', () => createLoginFinish(anon, { users, returnToCookiName: 'x' } as never), 'returnToCookiName'],
    ['a binding’s login stack', () => parseLoginStackOptions({ users, getUser: () => undefined, stateKy: 'x' }, {}), 'stateKy'],
  ])('%s', (_name, build, path) => {
    expect(configIssues(build)).toContainEqual({ path, message: 'is not a known option' });
  });

  it('the guard’s cache size must be a positive integer', () => {
    expect(configIssues(() => createBearerGuard({ anonymous: anon, audience: AUDIENCE, cache: { maxEntries: 0 } }))).toContainEqual({
      path: 'cache.maxEntries',
      message: 'must be a positive integer',
    });
    expect(() => createBearerGuard({ anonymous: anon, audience: AUDIENCE, cache: { maxEntries: 5 } })).not.toThrow();
    expect(() => createCookieExtractor(anon, { cookieName: 'sid', queryParam: false })).not.toThrow();
  });

  it('the login flow checks what each known option holds, every problem at once', () => {
    expect(configIssues(() => createTransferRoute(anon, { users: {}, getUser: 'me', endAnonymousSession: 'yes', flow: 3 } as never))).toEqual([
      { path: 'users', message: 'must be an object with get(userId) and update(userId, changes)' },
      { path: 'endAnonymousSession', message: 'must be a boolean' },
      { path: 'getUser', message: 'must be a function' },
      { path: 'flow', message: 'must be a string or a function of the request' },
    ]);
    expect(configIssues(() => createTransferRoute(anon, { users } as never))).toEqual([{ path: 'getUser', message: 'is required: a function' }]);
    expect(configIssues(() => createLoginStart(anon, { queryParam: 'a b' }))).toEqual([{ path: 'queryParam', message: 'must be a query parameter name or false' }]);
    expect(configIssues(() => createSessionExtractor(anon, { queryParam: '' }))).toEqual([{ path: 'queryParam', message: 'must be a query parameter name or false' }]);
    expect(() => createTransferRoute(anon, { users, getUser: () => undefined, flow: () => 'login' })).not.toThrow();
    expect(() => createLoginFinish(anon, { users, queryParam: false, seedCookieName: 'seed' })).not.toThrow();
  });

  it('a binding’s extra login-stack options are validated once, then known to the login start and finish', () => {
    const extra = { getUser: z.custom(isFunction), stateKey: z.optional(z.string()) };
    const options = parseLoginStackOptions({ users, getUser: () => undefined, stateKey: 'anon', queryParam: false as const }, extra);
    expect(() => createLoginStart(anon, options)).not.toThrow();
    expect(() => createLoginFinish(anon, options)).not.toThrow();
    // A copy was never parsed with the binding's keys: for the login finish they are unknown.
    expect(configIssues(() => createLoginFinish(anon, { ...options }))).toEqual([
      { path: 'getUser', message: 'is not a known option' },
      { path: 'stateKey', message: 'is not a known option' },
    ]);
    expect(configIssues(() => parseLoginStackOptions({ users, stateKey: 7 }, extra))).toEqual([
      { path: 'getUser', message: 'Invalid input' },
      { path: 'stateKey', message: 'Invalid input: expected string, received number' },
    ]);
  });
});

/** A required option left out says what belongs there, never a bare "Invalid input". */
describe('required options', () => {
  const full = {
    issuer: 'https://shop.example.com/',
    keys: 'development',
    clients: [{ clientId: 'shop-web', canCreateAnonymousSessions: true }],
    resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true }],
  } as const;

  async function missing(key: keyof typeof full): Promise<ConfigError> {
    const options: Record<string, unknown> = { ...full };
    delete options[key];
    const error: unknown = await createAnonymousSessions(options as unknown as AnonymousSessionsOptions).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }

  it('clients', async () => {
    const error = await missing('clients');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.path).toBe('clients');
    expect(error.issues[0]!.message).toMatch(/^is required: a list of the apps that may create sessions, e\.g\. \[\{ clientId: 'shop-web', canCreateAnonymousSessions: true \}\], or a resolver function/);
    expect(error.message).toContain('clients: is required');
    expect(error.message).not.toContain('Invalid input');
  });

  it('resourceServers', async () => {
    const error = await missing('resourceServers');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.path).toBe('resourceServers');
    expect(error.issues[0]!.message).toMatch(/^is required: a list of the APIs guests may call, e\.g\. .*allowAnonymousAccess: true.*, or a resolver function/);
  });

  it('issuer', async () => {
    const error = await missing('issuer');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.path).toBe('issuer');
    expect(error.issues[0]!.message).toMatch(/^is required: the absolute URL of your token issuer/);
  });

  it('every missing one at once, and a present but bad value keeps its own message', async () => {
    const error: unknown = await createAnonymousSessions({} as unknown as AnonymousSessionsOptions).catch((thrown: unknown) => thrown);
    expect((error as ConfigError).issues.map((issue) => issue.path)).toEqual(['issuer', 'clients', 'resourceServers']);
    const bad: unknown = await createAnonymousSessions({ ...full, issuer: 'not a url', clients: 'shop-web', resourceServers: [] } as unknown as AnonymousSessionsOptions).catch(
      (thrown: unknown) => thrown,
    );
    const issues = (bad as ConfigError).issues;
    expect(issues).toContainEqual({ path: 'issuer', message: 'must be an absolute http(s) URL' });
    expect(issues).toContainEqual({ path: 'resourceServers', message: 'at least one resource server is required' });
    expect(issues.find((issue) => issue.path === 'clients')?.message).not.toMatch(/is required/);
  });
});

/** The messages are ours and English whatever the host set as zod's global configuration. */
describe('messages under the host’s zod configuration', () => {
  it('a host that switched zod to another locale still gets the same ConfigError messages', async () => {
    const { z: classic } = await import('zod');
    classic.config(classic.locales.fr());
    try {
      expect(configIssues(() => memoryStore({ maxEntries: 0 }))).toEqual([
        { path: 'memoryStore.maxEntries', message: 'Too small: expected number to be >0' },
      ]);
    } finally {
      classic.config(classic.locales.en());
    }
  });
});
