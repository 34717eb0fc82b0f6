/** Every factory refuses an option it does not know, naming it: a typo is never a silent default. */
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, type AnonymousSessions } from '@anonymous-sessions/core';
import { cookieCodec, createBearerGuard, createCookieExtractor, createEndpoints, createSessionExtractor } from '@anonymous-sessions/core/http';
import { AUDIENCE, buildEngine } from './fixtures.js';

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
});
