import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createAnonymousClient,
  localStorageAdapter,
  memoryStorage,
  type AnonymousClientOptions,
  type AnonymousClientStorage,
  type WebStorageLike,
} from '@anonymous-sessions/client';
import {
  AUDIENCE,
  CLIENT_ID,
  PENDING_KEY,
  rejectionOf,
  sentPatches,
  startServer,
  switchableFetch,
  TOKEN_KEY,
  type SwitchableFetch,
  type TestServer,
} from './helpers.js';

let server: TestServer;
let network: SwitchableFetch;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
  network = switchableFetch();
});
afterEach(() => {
  vi.unstubAllGlobals();
});

function client(overrides: Partial<AnonymousClientOptions> = {}) {
  const storage = overrides.storage ?? memoryStorage();
  const anon = createAnonymousClient({
    baseUrl: server.baseUrl,
    clientId: CLIENT_ID,
    audience: AUDIENCE,
    mode: 'token',
    fetch: network.fetch,
    ...overrides,
    storage,
  });
  return { anon, storage };
}

/** A Web Storage stand-in (what `localStorage` is), shared between "page loads". */
function fakeLocalStorage(): WebStorageLike & { entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return {
    entries,
    getItem: (key) => entries.get(key) ?? null,
    setItem: (key, value) => void entries.set(key, value),
    removeItem: (key) => void entries.delete(key),
  };
}

describe('the offline queue', () => {
  it('keeps patches made offline, merged and persisted, and sends them as ONE request on sync', async () => {
    const { anon, storage } = client();
    await anon.createSession({ metadata: { cart: [], language: 'en' } });
    server.reset();

    network.online = false;
    expect(await anon.updateSession({ metadata: { cart: [{ sku: 'tee', qty: 1 }] } })).toBe('queued');
    expect(await anon.updateSession({ metadata: { language: null, prefs: { theme: 'dark' } } })).toBe('queued');
    expect(await anon.updateSession({ metadata: { cart: [{ sku: 'tee', qty: 2 }], prefs: { font: 'mono' } } })).toBe('queued');

    expect(server.requests).toEqual([]); // nothing reached the server
    expect(network.failedAttempts).toBeGreaterThan(0);
    expect(anon.hasPendingUpdates()).toBe(true);
    const merged = { cart: [{ sku: 'tee', qty: 2 }], language: null, prefs: { theme: 'dark', font: 'mono' } };
    expect(JSON.parse((await storage.getItem(PENDING_KEY)) as string)).toEqual([merged]);

    // Still offline: a sync keeps them.
    expect(await anon.syncPendingUpdates()).toBe('queued');
    expect(server.requests).toEqual([]);

    network.online = true;
    expect(await anon.syncPendingUpdates()).toBe('sent');
    expect(server.summary()).toEqual(['POST /anonymous/token 200']);
    expect(sentPatches(server)).toEqual([merged]);
    expect(anon.hasPendingUpdates()).toBe(false);
    expect(await storage.getItem(PENDING_KEY)).toBeUndefined();
    expect((await anon.getSession()).metadata).toEqual({ cart: [{ sku: 'tee', qty: 2 }], prefs: { theme: 'dark', font: 'mono' } });

    expect(await anon.syncPendingUpdates()).toBe('empty');
  });

  it('sends the queue when the browser fires "online"', async () => {
    const events = new EventTarget();
    vi.stubGlobal('addEventListener', events.addEventListener.bind(events));
    vi.stubGlobal('removeEventListener', events.removeEventListener.bind(events));
    const { anon } = client();
    await anon.getSession();
    server.reset();

    network.online = false;
    expect(await anon.updateSession({ metadata: { a: 1 } })).toBe('queued');
    expect(await anon.updateSession({ metadata: { b: 2 } })).toBe('queued');
    network.online = true;
    events.dispatchEvent(new Event('online'));

    await vi.waitFor(() => expect(anon.hasPendingUpdates()).toBe(false));
    expect(sentPatches(server)).toEqual([{ a: 1, b: 2 }]);

    // After dispose() the event no longer triggers a sync (which would try the network again).
    anon.dispose();
    network.online = false;
    await anon.updateSession({ metadata: { c: 3 } });
    const attempts = network.failedAttempts;
    events.dispatchEvent(new Event('online'));
    await new Promise((resolve) => setTimeout(resolve, 0)); // a sync would have failed by now: it never leaves the process
    expect(network.failedAttempts).toBe(attempts);
    expect(anon.hasPendingUpdates()).toBe(true);
  });

  it('reports a sync the server refuses through onSyncError, and drops the patch', async () => {
    const events = new EventTarget();
    vi.stubGlobal('addEventListener', events.addEventListener.bind(events));
    const onSyncError = vi.fn();
    const { anon } = client({ onSyncError });
    await anon.getSession();

    network.online = false;
    await anon.updateSession({ metadata: { huge: 'x'.repeat(3000) } });
    network.online = true;
    events.dispatchEvent(new Event('online'));
    await vi.waitFor(() => expect(onSyncError).toHaveBeenCalledTimes(1));
    expect(onSyncError.mock.calls[0]![0]).toMatchObject({ code: 'metadata_too_large', status: 413 });
    expect(anon.hasPendingUpdates()).toBe(false);
  });

  it('does not even try while the browser says it is offline', async () => {
    vi.stubGlobal('navigator', { onLine: false });
    const { anon } = client();
    expect(await anon.updateSession({ metadata: { a: 1 } })).toBe('queued');
    expect(network.failedAttempts).toBe(0);
    expect(server.requests).toEqual([]);

    vi.stubGlobal('navigator', { onLine: true });
    expect(await anon.syncPendingUpdates()).toBe('sent');
    expect(sentPatches(server)).toEqual([{ a: 1 }]);
  });

  it('sends the held patches with the next update once the network is back', async () => {
    const { anon } = client();
    await anon.getSession();
    server.reset();
    network.online = false;
    await anon.updateSession({ metadata: { offline: true } });
    network.online = true;

    expect(await anon.updateSession({ metadata: { online: true } })).toBe('sent');
    expect(sentPatches(server)).toEqual([{ offline: true, online: true }]);
    expect(anon.hasPendingUpdates()).toBe(false);
  });

  it('survives a reload: a new client on the same localStorage sends what the old one kept', async () => {
    const local = fakeLocalStorage();
    const before = client({ storage: localStorageAdapter(local) });
    const session = await before.anon.getSession();
    network.online = false;
    await before.anon.updateSession({ metadata: { cart: ['tee'] } });
    await before.anon.updateSession({ metadata: { cart: ['tee', 'mug'] } });
    expect(JSON.parse(local.entries.get(PENDING_KEY)!)).toEqual([{ cart: ['tee', 'mug'] }]);
    before.anon.dispose();

    // The "next page load", back online.
    network.online = true;
    server.reset();
    const after = client({ storage: localStorageAdapter(local) });
    expect(after.anon.hasPendingUpdates()).toBe(false); // not loaded until the client is used
    expect(await after.anon.syncPendingUpdates()).toBe('sent');
    expect(sentPatches(server)).toEqual([{ cart: ['tee', 'mug'] }]);
    expect(local.entries.has(PENDING_KEY)).toBe(false);
    const current = await after.anon.getSession();
    expect(current.session_id).toBe(session.session_id);
    expect(current.metadata).toEqual({ cart: ['tee', 'mug'] });
  });

  it('keeps the queue in memory when the storage refuses to write it', async () => {
    const entries = new Map<string, string>();
    const refusing: AnonymousClientStorage = {
      getItem: (key) => entries.get(key),
      setItem: (key, value) => {
        if (key === PENDING_KEY) throw new Error('QuotaExceededError');
        entries.set(key, value);
      },
      removeItem: (key) => void entries.delete(key),
    };
    const { anon } = client({ storage: refusing });
    await anon.getSession();
    server.reset();
    network.online = false;
    expect(await anon.updateSession({ metadata: { a: 1 } })).toBe('queued');
    expect(entries.has(PENDING_KEY)).toBe(false);
    network.online = true;
    expect(await anon.syncPendingUpdates()).toBe('sent');
    expect(sentPatches(server)).toEqual([{ a: 1 }]);
  });

  it('ignores an unreadable persisted queue', async () => {
    const storage = memoryStorage({ [PENDING_KEY]: '{not json' });
    const { anon } = client({ storage });
    expect(await anon.syncPendingUpdates()).toBe('empty');
    expect(await storage.getItem(PENDING_KEY)).toBeUndefined();
  });

  it('logout discards patches kept for the session it ends, but only once it succeeded', async () => {
    const { anon, storage } = client();
    await anon.getSession();
    network.online = false;
    await anon.updateSession({ metadata: { cart: ['tee'] } });
    expect(await rejectionOf(anon.logout())).toMatchObject({ code: 'network_error', status: 0 });
    expect(await storage.getItem(TOKEN_KEY)).toEqual(expect.any(String)); // nothing was ended
    expect(anon.hasPendingUpdates()).toBe(true);

    network.online = true;
    server.reset();
    await anon.logout();
    // What was queued belonged to the session that ends: it is discarded, not sent.
    expect(server.summary()).toEqual(['POST /anonymous/logout 204']);
    expect(anon.hasPendingUpdates()).toBe(false);
    expect(await storage.getItem(PENDING_KEY)).toBeUndefined();
    expect(await storage.getItem(TOKEN_KEY)).toBeUndefined();
  });
});

describe('reading while updates are held', () => {
  it('getSession sends held patches first once the network is back, so it reads its own writes', async () => {
    const { anon } = client();
    await anon.getSession();
    network.online = false;
    expect(await anon.updateSession({ metadata: { cart: ['tee'] } })).toBe('queued');
    expect(await rejectionOf(anon.getSession())).toMatchObject({ code: 'network_error' });
    network.online = true;
    server.reset();

    expect((await anon.getSession()).metadata).toEqual({ cart: ['tee'] });
    expect(server.summary()).toEqual(['POST /anonymous/token 200', 'GET /anonymous/session 200']);
    expect(anon.hasPendingUpdates()).toBe(false);
  });
});
