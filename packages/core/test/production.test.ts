/**
 * Production mode (`NODE_ENV=production`, or the `production` option): no throwaway keys unless
 * asked for by name, and one warning that `memoryStore()` is per process.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CLIENT_ID,
  buildEngine,
  expectConfigError,
  issuePaths,
  quickStartOptions,
  silentLogger,
} from './fixtures.js';
import {
  createAnonymousSessions,
  DEVELOPMENT_KEYS,
  generateKeySet,
  memoryStore,
  type PrivateJwkSet,
  type SessionStore,
} from '@anonymous-sessions/core';
import { resolveConfig } from '../src/engine/config.js';

let keys: PrivateJwkSet;

beforeAll(async () => {
  keys = await generateKeySet({ algorithm: 'ES256' });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

const PER_PROCESS = /memoryStore\(\) is per process/;

describe('NODE_ENV=production without keys', () => {
  it('rejects createAnonymousSessions with a ConfigError on keys', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    const issues = await expectConfigError(createAnonymousSessions(quickStartOptions()));
    expect(issuePaths(issues)).toEqual(['keys']);
    expect(issues[0]?.message).toMatch(/required in production/);
    expect(issues[0]?.message).toMatch(/keys generate/);
    expect(issues[0]?.message).toMatch(/keys: 'development'/);
  });

  it('lists the missing keys alongside the other bad fields', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    const issues = await expectConfigError(createAnonymousSessions(quickStartOptions({ clockTolerance: -1, rateLimit: { createPerMinute: 0 } })));
    expect(issuePaths(issues)).toEqual(['clockTolerance', 'rateLimit.createPerMinute', 'keys']);
  });

  it('starts on throwaway keys only with an explicit keys: "development", and still warns', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    const logger = silentLogger();
    const anon = await createAnonymousSessions(quickStartOptions({ keys: DEVELOPMENT_KEYS, logger, developmentSigningAlgorithm: 'ES256' }));
    expect(logger.warn.mock.calls.map(([message]) => message)).toEqual([
      expect.stringMatching(/ephemeral development keys/),
      expect.stringMatching(PER_PROCESS),
    ]);
    const { response } = await anon.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' });
    await expect(anon.verifySessionToken(response.session_token)).resolves.toMatchObject({ metadata: {} });
  });

  it('follows an explicit production option over NODE_ENV, both ways', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    const { anon } = await buildEngine({ production: false, developmentSigningAlgorithm: 'ES256' });
    expect(anon.config.production).toBe(false);
    vi.stubEnv('NODE_ENV', 'development');
    const issues = await expectConfigError(createAnonymousSessions(quickStartOptions({ production: true })));
    expect(issuePaths(issues)).toEqual(['keys']);
  });

  it('reads NODE_ENV when the engine is created, and only "production" counts', async () => {
    for (const value of ['test', 'development', 'Production', 'prod', '']) {
      vi.stubEnv('NODE_ENV', value);
      expect(resolveConfig(quickStartOptions()).production).toBe(false);
    }
    vi.stubEnv('NODE_ENV', 'production');
    expect(resolveConfig(quickStartOptions({ keys })).production).toBe(true);
  });

  it('still accepts development keys outside production (the demo and the tests)', async () => {
    vi.stubEnv('NODE_ENV', 'development');
    const { logger } = await buildEngine({ developmentSigningAlgorithm: 'ES256' });
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]?.[0]).toMatch(/ephemeral development keys/);
  });

  it('treats keys: "development" like no keys outside production', async () => {
    const { anon, logger } = await buildEngine({ keys: DEVELOPMENT_KEYS, developmentSigningAlgorithm: 'ES256' });
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(anon.jwks().keys[0]?.alg).toBe('ES256');
  });
});

describe('memoryStore() in production', () => {
  it('warns once per store that it is per process', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    const store = memoryStore();
    const first = await buildEngine({ keys, store });
    expect(first.logger.warn).toHaveBeenCalledTimes(1);
    expect(first.logger.warn.mock.calls[0]?.[0]).toMatch(PER_PROCESS);
    expect(first.logger.warn.mock.calls[0]?.[0]).toMatch(/@anonymous-sessions\/redis/);
    const second = await buildEngine({ keys, store });
    expect(second.logger.warn).not.toHaveBeenCalled();
  });

  it('warns for the default store too', async () => {
    const { logger } = await buildEngine({ keys, store: undefined, production: true });
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]?.[0]).toMatch(PER_PROCESS);
  });

  it('does not warn outside production, nor for another store', async () => {
    const quiet = await buildEngine({ keys, store: memoryStore() });
    expect(quiet.logger.warn).not.toHaveBeenCalled();
    const inner = memoryStore();
    const shared: SessionStore = {
      revokeSession: (id, at) => inner.revokeSession(id, at),
      isSessionRevoked: (id) => inner.isSessionRevoked(id),
      markOnce: (key, at) => inner.markOnce(key, at),
      increment: (key, window) => inner.increment(key, window),
      epoch: () => inner.epoch!(), // with an epoch marker, so no other start-up warning is due either
    };
    const custom = await buildEngine({ keys, store: shared, production: true });
    expect(custom.logger.warn).not.toHaveBeenCalled();
  });
});
