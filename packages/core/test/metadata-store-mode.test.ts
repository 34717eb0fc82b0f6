/**
 * `metadataStorage: 'store'` in the engine, on memoryStore() with frozen time: tokens carry a
 * snapshot and its `metadata_version`, the store's document is always the base, the host schema
 * judges the prospective merge, store refusals become the usual metadata errors, a 'token'-mode
 * token seeds the store, the document lives exactly as long as the session; and the transfer
 * log that every transfer fills.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  generateKeySet,
  memoryStore,
  type AnonymousSessions,
  type AnonymousSessionsOptions,
  type PrivateJwkSet,
  type SessionStore,
  type TransferUser,
} from '@anonymous-sessions/core';
import { AUDIENCE, CLIENT_ID, T0, T0_SECONDS, buildEngine, expectAnonymousError, openSessionToken } from './fixtures.js';

let keys: PrivateJwkSet;
let store: SessionStore;

beforeAll(async () => {
  keys = await generateKeySet();
});

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  store = memoryStore();
});

afterEach(() => {
  vi.useRealTimers();
});

const engine = async (overrides: Partial<AnonymousSessionsOptions> = {}): Promise<AnonymousSessions> =>
  (await buildEngine({ keys, store, metadataStorage: 'store', rateLimit: false, ...overrides })).anon;

const issue = async (anon: AnonymousSessions, fields: Record<string, unknown> = {}): Promise<{ token: string; metadata: unknown }> => {
  const { response, session } = await anon.issueToken({ client_id: CLIENT_ID, audience: AUDIENCE, ...fields }, { ip: '192.0.2.1' });
  return { token: response.session_token, metadata: session.metadata };
};

const claims = async (token: string): Promise<Record<string, unknown>> => (await openSessionToken(token, keys)).payload;

const sessionIdOf = async (token: string): Promise<string> => (await claims(token)).session_id as string;

describe("tokens in 'store' mode", () => {
  it('carry a snapshot of the document and its metadata_version; a session without metadata writes nothing', async () => {
    const anon = await engine();
    const bare = await issue(anon);
    expect(await claims(bare.token)).toMatchObject({ metadata: {}, metadata_version: 0 });
    expect(await store.readMetadata!(await sessionIdOf(bare.token))).toBeUndefined();

    const first = await issue(anon, { metadata: { cart: ['A'] } });
    expect(await claims(first.token)).toMatchObject({ metadata: { cart: ['A'] }, metadata_version: 1 });
    const second = await issue(anon, { session_token: first.token, metadata: { theme: 'dark' } });
    expect(await claims(second.token)).toMatchObject({ metadata: { cart: ['A'], theme: 'dark' }, metadata_version: 2 });
    expect(await store.readMetadata!(await sessionIdOf(first.token))).toEqual({ version: 2, metadata: { cart: ['A'], theme: 'dark' } });
  });

  it("carry no metadata_version in the default 'token' mode, and the store holds no metadata", async () => {
    const anon = await engine({ metadataStorage: 'token' });
    const issued = await issue(anon, { metadata: { cart: ['A'] } });
    expect(await claims(issued.token)).not.toHaveProperty('metadata_version');
    expect(await store.readMetadata!(await sessionIdOf(issued.token))).toBeUndefined();
  });

  it('are verified against the store: verifySessionToken returns the current document, not the snapshot', async () => {
    const anon = await engine();
    const old = await issue(anon, { metadata: { cart: ['A'] } });
    await issue(anon, { session_token: old.token, metadata: { cart: ['A', 'B'] } });
    expect((await anon.verifySessionToken(old.token)).metadata).toEqual({ cart: ['A', 'B'] });
  });

  it('never roll the document back: an old token continues from the store’s document', async () => {
    const anon = await engine();
    const old = await issue(anon, { metadata: { cart: ['A'], coupon: 'X' } });
    await issue(anon, { session_token: old.token, metadata: { cart: ['A', 'B'], coupon: null } });
    const replayed = await issue(anon, { session_token: old.token });
    expect(replayed.metadata).toEqual({ cart: ['A', 'B'] });
    expect(await claims(replayed.token)).toMatchObject({ metadata: { cart: ['A', 'B'] }, metadata_version: 2 });
  });
});

describe('validation in store mode', () => {
  it('checks the host schema against the prospective merge and leaves the store untouched when it fails', async () => {
    const schema = z.object({ cart: z.array(z.string()).max(2).optional(), theme: z.string().optional() }).strict();
    const anon = await engine({ metadata: { maxBytes: 2048, maxDepth: 8, schema } });
    const created = await issue(anon, { metadata: { cart: ['A', 'B'] } });
    const sessionId = await sessionIdOf(created.token);
    // Valid alone, invalid once merged with the stored document? Here: a third cart item.
    await expectAnonymousError(issue(anon, { session_token: created.token, metadata: { cart: ['A', 'B', 'C'] } }), 'invalid_metadata', 400);
    await expectAnonymousError(issue(anon, { session_token: created.token, metadata: { unknown: 1 } }), 'invalid_metadata', 400);
    expect(await store.readMetadata!(sessionId)).toEqual({ version: 1, metadata: { cart: ['A', 'B'] } });
    expect((await issue(anon, { session_token: created.token, metadata: { theme: 'dark' } })).metadata).toEqual({ cart: ['A', 'B'], theme: 'dark' });
  });

  it('refuses forbidden keys and over-deep or over-large patches before the store is asked', async () => {
    const mergeMetadata = vi.fn(store.mergeMetadata!);
    store = { ...store, mergeMetadata };
    const anon = await engine({ metadata: { maxBytes: 100, maxDepth: 2 } });
    const created = await issue(anon);
    await expectAnonymousError(issue(anon, { session_token: created.token, metadata: JSON.parse('{"__proto__":{"x":1}}') }), 'invalid_metadata', 400);
    await expectAnonymousError(issue(anon, { session_token: created.token, metadata: { a: { b: { c: 1 } } } }), 'invalid_metadata', 400);
    await expectAnonymousError(issue(anon, { session_token: created.token, metadata: { big: 'x'.repeat(200) } }), 'metadata_too_large', 413);
    expect(mergeMetadata).not.toHaveBeenCalled();
  });

  it.each([
    ['max_bytes', 'metadata_too_large', 413],
    ['max_depth', 'invalid_metadata', 400],
  ] as const)('turns a store refusal (%s, a concurrent update got there first) into %s', async (reason, code, status) => {
    store = { ...store, mergeMetadata: async () => ({ ok: false, reason }) };
    const anon = await engine();
    const created = await issue(anon);
    await expectAnonymousError(issue(anon, { session_token: created.token, metadata: { a: 1 } }), code, status);
  });
});

describe('switching from token to store mode', () => {
  it("seeds the store from a 'token'-mode token once, then the store's document rules", async () => {
    const tokenMode = await engine({ metadataStorage: 'token' });
    const legacy = await issue(tokenMode, { metadata: { cart: ['A'] } });
    const storeMode = await engine();
    expect((await storeMode.verifySessionToken(legacy.token)).metadata).toEqual({ cart: ['A'] });
    const continued = await issue(storeMode, { session_token: legacy.token, metadata: { theme: 'dark' } });
    expect(continued.metadata).toEqual({ cart: ['A'], theme: 'dark' });
    expect(await store.readMetadata!(await sessionIdOf(legacy.token))).toEqual({ version: 1, metadata: { cart: ['A'], theme: 'dark' } });
    // The legacy token again: the store's document, not its own snapshot.
    expect((await issue(storeMode, { session_token: legacy.token })).metadata).toEqual({ cart: ['A'], theme: 'dark' });
  });

  it('seeds the store even when the first store-mode request has no patch', async () => {
    const legacy = await issue(await engine({ metadataStorage: 'token' }), { metadata: { cart: ['A'] } });
    const storeMode = await engine();
    const continued = await issue(storeMode, { session_token: legacy.token });
    expect(await claims(continued.token)).toMatchObject({ metadata: { cart: ['A'] }, metadata_version: 1 });
    expect((await issue(storeMode, { session_token: continued.token })).metadata).toEqual({ cart: ['A'] });
  });
});

describe('the metadata document’s lifetime', () => {
  it('ends with the session (exp + clockTolerance), like its revocation would', async () => {
    const anon = await engine({ sessionLifetime: 3600, clockTolerance: 15 });
    const created = await issue(anon, { metadata: { a: 1 } });
    const sessionId = await sessionIdOf(created.token);
    vi.setSystemTime(new Date((T0_SECONDS + 3600 + 14) * 1000));
    expect(await store.readMetadata!(sessionId)).toBeDefined();
    vi.setSystemTime(new Date((T0_SECONDS + 3600 + 15) * 1000));
    expect(await store.readMetadata!(sessionId)).toBeUndefined();
  });

  it('is renewed on every continue with slidingExpiration, even without a patch', async () => {
    const anon = await engine({ sessionLifetime: 3600, clockTolerance: 15, slidingExpiration: true });
    const created = await issue(anon, { metadata: { a: 1 } });
    const sessionId = await sessionIdOf(created.token);
    vi.setSystemTime(new Date((T0_SECONDS + 3000) * 1000));
    const renewed = await issue(anon, { session_token: created.token });
    expect(renewed.metadata).toEqual({ a: 1 });
    vi.setSystemTime(new Date((T0_SECONDS + 3600 + 100) * 1000));
    expect(await store.readMetadata!(sessionId)).toMatchObject({ metadata: { a: 1 } });
    expect((await anon.verifySessionToken(renewed.token)).metadata).toEqual({ a: 1 });
  });

  it('never expires with sessionLifetime 0', async () => {
    const anon = await engine({ sessionLifetime: 0 });
    const created = await issue(anon, { metadata: { a: 1 } });
    vi.setSystemTime(new Date(T0.getTime() + 10 * 365 * 86_400_000));
    expect(await store.readMetadata!(await sessionIdOf(created.token))).toEqual({ version: 1, metadata: { a: 1 } });
  });
});

describe('the transfer log', () => {
  const users = (): { get: (id: string) => TransferUser; update: () => void } => ({
    get: (id) => ({ user_id: id, app_metadata: {}, user_metadata: {} }),
    update: () => undefined,
  });

  const transferInto = async (anon: AnonymousSessions, token: string, userId: string, userAgent?: string) =>
    anon.transfer({
      sessionToken: token,
      requireLoginBinding: false,
      userId,
      isNewUser: true,
      users: users(),
      ...(userAgent === undefined ? {} : { request: { ip: '192.0.2.1', user_agent: userAgent } }),
    });

  it('records every successful transfer: session id, anonymous user id, user id, time and user agent', async () => {
    const anon = await engine({ metadataStorage: 'token' });
    const first = await issue(anon);
    vi.setSystemTime(new Date((T0_SECONDS + 60) * 1000));
    const second = await issue(anon);
    expect((await transferInto(anon, second.token, 'auth0|alice', 'Mozilla/5.0')).transferred).toBe(true);
    vi.setSystemTime(new Date((T0_SECONDS + 30) * 1000));
    expect((await transferInto(anon, first.token, 'auth0|alice')).transferred).toBe(true);
    const [firstSession, secondSession] = [await anon.verifySessionToken(first.token), await anon.verifySessionToken(second.token)];
    expect(await anon.transferLog('auth0|alice')).toEqual([
      { session_id: firstSession.session_id, anonymous_user_id: firstSession.user_id, user_id: 'auth0|alice', linked_at: new Date((T0_SECONDS + 30) * 1000).toISOString(), user_agent: null },
      { session_id: secondSession.session_id, anonymous_user_id: secondSession.user_id, user_id: 'auth0|alice', linked_at: new Date((T0_SECONDS + 60) * 1000).toISOString(), user_agent: 'Mozilla/5.0' },
    ]);
    expect(await anon.transferLog('auth0|bob')).toEqual([]);
    // The deprecated name answers the same, for one release.
    expect(await anon.linkedSessions('auth0|alice')).toEqual(await anon.transferLog('auth0|alice'));
  });

  it('records nothing for a transfer that did not happen', async () => {
    const anon = await engine();
    const guest = await issue(anon);
    await transferInto(anon, guest.token, 'auth0|carol');
    expect((await transferInto(anon, guest.token, 'auth0|carol')).reason).toBe('already_transferred');
    const unbound = await anon.transfer({ sessionToken: (await issue(anon)).token, userId: 'auth0|carol', isNewUser: true, users: users() });
    expect(unbound.reason).toBe('not_bound');
    expect(await anon.transferLog('auth0|carol')).toHaveLength(1);
  });

  it('forgets entries after linkedSessionRetention, and records nothing when it is false', async () => {
    const anon = await engine({ linkedSessionRetention: 3600 });
    await transferInto(anon, (await issue(anon)).token, 'auth0|dave');
    vi.setSystemTime(new Date((T0_SECONDS + 3599) * 1000));
    expect(await anon.transferLog('auth0|dave')).toHaveLength(1);
    vi.setSystemTime(new Date((T0_SECONDS + 3600) * 1000));
    expect(await anon.transferLog('auth0|dave')).toEqual([]);

    const off = await engine({ linkedSessionRetention: false });
    expect((await transferInto(off, (await issue(off)).token, 'auth0|erin')).transferred).toBe(true);
    expect(await off.transferLog('auth0|erin')).toEqual([]);
  });

  it('keeps 90 days by default', async () => {
    const anon = await engine();
    await transferInto(anon, (await issue(anon)).token, 'auth0|frank');
    vi.setSystemTime(new Date((T0_SECONDS + 90 * 86_400 - 1) * 1000));
    expect(await anon.transferLog('auth0|frank')).toHaveLength(1);
    vi.setSystemTime(new Date((T0_SECONDS + 90 * 86_400) * 1000));
    expect(await anon.transferLog('auth0|frank')).toEqual([]);
  });

  it('logs, but does not fail, a transfer whose transfer-log entry cannot be written (it was already applied)', async () => {
    store = { ...store, recordLink: () => Promise.reject(new Error('ECONNRESET')) };
    const { anon, logger } = await buildEngine({ keys, store, rateLimit: false });
    const update = vi.fn();
    const result = await anon.transfer({
      sessionToken: (await issue(anon)).token,
      requireLoginBinding: false,
      userId: 'auth0|gina',
      isNewUser: true,
      users: { get: (id) => ({ user_id: id }), update },
      onPreRegistration: (_event, api) => api.user.setAppMetadata('migrated', true),
    });
    expect(result.transferred).toBe(true);
    expect(update).toHaveBeenCalledOnce();
    expect(logger.error).toHaveBeenCalledWith(expect.stringMatching(/transfer log/), expect.anything());
  });

  it('is unavailable (ConfigError) with a store that keeps no transfer log; transfers still work', async () => {
    const full = memoryStore();
    const minimal: SessionStore = {
      revokeSession: full.revokeSession,
      isSessionRevoked: full.isSessionRevoked,
      markOnce: full.markOnce,
      increment: full.increment,
    };
    const { anon } = await buildEngine({ keys, store: minimal, rateLimit: false });
    expect((await transferInto(anon, (await issue(anon)).token, 'auth0|hank')).transferred).toBe(true);
    await expect(anon.transferLog('auth0|hank')).rejects.toBeInstanceOf(ConfigError);
  });
});
