/**
 * A store that loses its data (issue: nothing silently lost). The engine-level rules on
 * memoryStore(): the `revocationLoss` option, tokens stamped with the store's epoch marker, tokens
 * from before the marker existed, a store without `epoch()` or `seedMetadata()`, the bearer guard's
 * revocation check, and that a store outage makes the cached marker stale at once. The same loss on
 * Redis and PostgreSQL runs in test/support/store-mode-suite.ts.
 */
import { decodeJwt } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createAnonymousSessions,
  generateKeySet,
  memoryStore,
  type AnonymousSessions,
  type PrivateJwkSet,
  type SessionStore,
} from '@anonymous-sessions/core';
import { createBearerGuard } from '@anonymous-sessions/core/http';
import { withStoreTimeout } from '../src/store/with-timeout.js';
import { AUDIENCE, CLIENT_ID, expectAnonymousError, expectConfigError, issuePaths, quickStartOptions, silentLogger } from './fixtures.js';

/** A memoryStore() that can be wiped (a new one behind the same object) and taken down. */
function lossyStore(): { store: SessionStore; wipe: () => void; down: (isDown: boolean) => void } {
  let inner = memoryStore();
  let unavailable = false;
  const call = <T>(operation: () => Promise<T>): Promise<T> =>
    unavailable ? Promise.reject(new Error('connect ECONNREFUSED')) : operation();
  const store: SessionStore = {
    revokeSession: (...args) => call(() => inner.revokeSession(...args)),
    isSessionRevoked: (...args) => call(() => inner.isSessionRevoked(...args)),
    markOnce: (...args) => call(() => inner.markOnce(...args)),
    increment: (...args) => call(() => inner.increment(...args)),
    readMetadata: (...args) => call(() => inner.readMetadata!(...args)),
    mergeMetadata: (...args) => call(() => inner.mergeMetadata!(...args)),
    seedMetadata: (...args) => call(() => inner.seedMetadata!(...args)),
    epoch: () => call(() => inner.epoch!()),
  };
  return {
    store,
    wipe: () => {
      inner = memoryStore();
    },
    down: (isDown) => {
      unavailable = isDown;
    },
  };
}

/** The store without the named optional operations (a host's own, older adapter). */
function without(store: SessionStore, ...names: (keyof SessionStore)[]): SessionStore {
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(store)) {
    if (!names.includes(name as keyof SessionStore)) copy[name] = typeof value === 'function' ? value.bind(store) : value;
  }
  return copy as unknown as SessionStore;
}

describe('revocationLoss', () => {
  it("defaults to 'accept'; 'reject' and 'accept' are the only values", async () => {
    const anon = await createAnonymousSessions(quickStartOptions());
    expect(anon.config.revocationLoss).toBe('accept');
    const issues = await expectConfigError(createAnonymousSessions(quickStartOptions({ revocationLoss: 'refuse' as 'reject' })));
    expect(issuePaths(issues)).toEqual(['revocationLoss']);
  });

  it("'reject' with a store that has no epoch() is a ConfigError: the loss could never be noticed", async () => {
    const issues = await expectConfigError(
      createAnonymousSessions(quickStartOptions({ store: without(memoryStore(), 'epoch'), revocationLoss: 'reject' })),
    );
    expect(issues).toEqual([{ path: 'revocationLoss', message: expect.stringContaining('epoch()') }]);
  });

  it('a store without epoch() works as before, with a start-up warning; its tokens carry no marker', async () => {
    const logger = silentLogger();
    const anon = await createAnonymousSessions(quickStartOptions({ store: without(memoryStore(), 'epoch'), logger }));
    expect(logger.warn.mock.calls.map(([message]) => message)).toContainEqual(expect.stringContaining('no epoch()'));
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    expect(decodeJwt(response.access_token)).not.toHaveProperty('store_epoch');
    await anon.logout({ clientId: CLIENT_ID, sessionToken: response.session_token });
    await expectAnonymousError(anon.verifySessionToken(response.session_token), 'invalid_session_token', 401);
  });

  it("a store whose epoch() answers no usable marker fails requests with server_error, never a token that could not be read back", async () => {
    const store: SessionStore = { ...memoryStore(), epoch: async () => 'x'.repeat(65) };
    const anon = await createAnonymousSessions(quickStartOptions({ store }));
    await expectAnonymousError(anon.issueToken({ client_id: CLIENT_ID }), 'server_error', 500);
  });

  it('memoryStore() logs no such warning', async () => {
    const logger = silentLogger();
    await createAnonymousSessions(quickStartOptions({ logger }));
    expect(logger.warn.mock.calls.map(([message]) => message)).not.toContainEqual(expect.stringContaining('epoch'));
  });
});

describe('a store that lost its data', () => {
  let keys: PrivateJwkSet;
  beforeAll(async () => {
    keys = await generateKeySet();
  });
  const engine = (store: SessionStore, overrides: Parameters<typeof quickStartOptions>[0] = {}): Promise<AnonymousSessions> =>
    createAnonymousSessions(quickStartOptions({ keys, store, rateLimit: false, ...overrides }));

  it("a token issued before the store had an epoch() (no marker) cannot be judged and is accepted, even with 'reject'", async () => {
    const { store, wipe } = lossyStore();
    const legacy = await engine(without(store, 'epoch'));
    const { response } = await legacy.issueToken({ client_id: CLIENT_ID, metadata: { cart: ['A'] } });
    wipe();
    const logger = silentLogger();
    const current = await engine(store, { revocationLoss: 'reject', logger });
    await expect(current.verifySessionToken(response.session_token)).resolves.toMatchObject({ metadata: { cart: ['A'] } });
    expect(logger.error).not.toHaveBeenCalled();
    // Continuing it stamps the current marker: from now on a loss is noticed for this session too.
    const continued = await current.issueToken({ client_id: CLIENT_ID, session_token: response.session_token });
    expect(decodeJwt(continued.response.access_token).store_epoch).toBe(await store.epoch!());
  });

  it("the bearer guard's checkRevocation applies the policy to access tokens from before the loss", async () => {
    const { store, wipe } = lossyStore();
    const before = await engine(store, { revocationLoss: 'reject' });
    const { response } = await before.issueToken({ client_id: CLIENT_ID });
    wipe();
    const after = await engine(store, { revocationLoss: 'reject' });
    const request = { headers: { authorization: `Bearer ${response.access_token}` } };
    await expect(createBearerGuard({ anonymous: after, audience: AUDIENCE, checkRevocation: false }).authenticate(request)).resolves.toMatchObject({
      isAnonymous: true,
    });
    // checkRevocation is on by default with a local engine, so the default guard applies the policy.
    await expect(createBearerGuard({ anonymous: after, audience: AUDIENCE }).authenticate(request)).rejects.toMatchObject({
      code: 'invalid_token',
    });
    await expect(createBearerGuard({ anonymous: after, audience: AUDIENCE, checkRevocation: true }).authenticate(request)).rejects.toMatchObject({
      code: 'invalid_token',
    });
    const accepting = await engine(store);
    await expect(
      createBearerGuard({ anonymous: accepting, audience: AUDIENCE, checkRevocation: true }).authenticate(request),
    ).resolves.toMatchObject({ isAnonymous: true });
  });

  it('an outage makes the cached marker stale: the first check after an empty restart sees the loss, no waiting', async () => {
    const { store, wipe, down } = lossyStore();
    const logger = silentLogger();
    const anon = await engine(store, { revocationLoss: 'reject', logger, storeTimeoutMs: 200 });
    const { response } = await anon.issueToken({ client_id: CLIENT_ID });
    await anon.logout({ clientId: CLIENT_ID, sessionToken: response.session_token });
    await expectAnonymousError(anon.verifySessionToken(response.session_token), 'invalid_session_token', 401);
    down(true);
    await expectAnonymousError(anon.verifySessionToken(response.session_token), 'temporarily_unavailable', 503);
    wipe();
    down(false);
    // Well within the one-second re-check interval, yet the marker is read again.
    await expectAnonymousError(anon.verifySessionToken(response.session_token), 'invalid_session_token', 401);
    expect(logger.error.mock.calls.filter(([message]) => message.includes('lost its data'))).toHaveLength(1);
  });

  it("metadataStorage 'store' with a store that has no seedMetadata(): the document is re-seeded by a merge, with a warning", async () => {
    const { store, wipe } = lossyStore();
    const logger = silentLogger();
    const anon = await engine(without(store, 'seedMetadata'), { metadataStorage: 'store', logger });
    const first = await anon.issueToken({ client_id: CLIENT_ID, metadata: { cart: ['A'] } });
    const second = await anon.issueToken({ client_id: CLIENT_ID, session_token: first.response.session_token, metadata: { theme: 'dark' } });
    wipe();
    const after = await engine(without(store, 'seedMetadata'), { metadataStorage: 'store', logger });
    const continued = await after.issueToken({ client_id: CLIENT_ID, session_token: second.response.session_token, metadata: { n: 1 } });
    expect(continued.session.metadata).toEqual({ cart: ['A'], theme: 'dark', n: 1 });
    expect(logger.warn.mock.calls.filter(([message]) => message.includes('Re-seeded'))).toHaveLength(1);
  });

  it("'reject' through the cookie: a fresh session that carries the token-mode metadata, and a refused user_id", async () => {
    const { store, wipe } = lossyStore();
    const before = await engine(store);
    const old = await before.issueToken({ client_id: CLIENT_ID, metadata: { cart: [{ sku: 'A', qty: 1 }] } });
    wipe();
    const after = await engine(store, { revocationLoss: 'reject' });
    const fresh = await after.issueToken({ client_id: CLIENT_ID }, { cookieSessionToken: old.response.session_token });
    expect(fresh.session.session_id).not.toBe(old.session.session_id);
    expect(fresh.session.metadata).toEqual({ cart: [{ sku: 'A', qty: 1 }] });
    await expectAnonymousError(
      after.issueToken({ client_id: CLIENT_ID, session_token: old.response.session_token, user_id: 'anon|chosen-by-client' }),
      'invalid_request',
      400,
    );
  });
});

describe('storeTimeoutMs bounds a request, not just each call', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('with a budget, a call after a slow one gets only what is left: 503 at storeTimeoutMs from the first call', async () => {
    vi.useFakeTimers();
    const slow = memoryStore();
    const store: SessionStore = {
      ...slow,
      // Answers after 200 ms: slow, but within the timeout.
      isSessionRevoked: () => new Promise((resolve) => setTimeout(() => resolve(false), 200)),
      // Never answers: the store froze.
      readMetadata: () => new Promise(() => undefined),
    };
    const failures: number[] = [];
    const bounded = withStoreTimeout(store, 300, () => failures.push(Date.now()), {});
    const started = Date.now();
    const first = bounded.isSessionRevoked('sess_x');
    await vi.advanceTimersByTimeAsync(200);
    await expect(first).resolves.toBe(false);
    // 200 ms of the 300 are spent.
    const read = bounded.readMetadata!('sess_x').catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(99);
    expect(failures).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await read).toMatchObject({ code: 'temporarily_unavailable' });
    expect(failures).toEqual([started + 300]);
    // Past the deadline a further call fails at once.
    const late = bounded.isSessionRevoked('sess_y').catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(0);
    expect(await late).toMatchObject({ code: 'temporarily_unavailable' });
  });

  it('without a budget (the engine’s public `store`), each call has the whole timeout', async () => {
    vi.useFakeTimers();
    const store: SessionStore = {
      ...memoryStore(),
      isSessionRevoked: () => new Promise((resolve) => setTimeout(() => resolve(false), 200)),
      readMetadata: () => new Promise(() => undefined),
    };
    const bounded = withStoreTimeout(store, 300);
    const first = bounded.isSessionRevoked('sess_x');
    await vi.advanceTimersByTimeAsync(200);
    await expect(first).resolves.toBe(false);
    const read = bounded.readMetadata!('sess_x').catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(299);
    let settled = false;
    void read.then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await read).toMatchObject({ code: 'temporarily_unavailable' });
  });
});
