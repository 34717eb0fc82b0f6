import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAnonymousClient, type AnonymousClientOptions } from '@anonymous-sessions/client';
import { AUDIENCE, CLIENT_ID, rejectionOf, sentPatches, startServer, type TestServer } from './helpers.js';

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
});

const client = (overrides: Partial<AnonymousClientOptions> = {}) =>
  createAnonymousClient({ baseUrl: server.baseUrl, clientId: CLIENT_ID, audience: AUDIENCE, mode: 'token', ...overrides });

describe('batched metadata updates', () => {
  it('sends N patches made in one tick as ONE request, merged in order, null deleting', async () => {
    const anon = client();
    await anon.createSession({ metadata: { language: 'en', cart: [{ sku: 'mug', qty: 1 }], prefs: { theme: 'light', font: 'serif' } } });
    server.reset();

    const outcomes = await Promise.all([
      anon.updateSession({ metadata: { cart: [{ sku: 'tee', qty: 1 }] } }),
      anon.updateSession({ metadata: { prefs: { theme: 'dark' } } }),
      anon.updateSession({ metadata: { language: null, currency: 'EUR' } }),
      anon.updateSession({ metadata: { cart: [{ sku: 'tee', qty: 2 }], prefs: { font: null } } }),
      anon.updateSession({ metadata: { currency: 'USD', consent: { analytics: false } } }),
    ]);

    expect(outcomes).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
    expect(server.summary()).toEqual(['POST /anonymous/token 200']);
    expect(sentPatches(server)).toEqual([
      {
        cart: [{ sku: 'tee', qty: 2 }],
        prefs: { theme: 'dark', font: null },
        language: null,
        currency: 'USD',
        consent: { analytics: false },
      },
    ]);
    expect((await anon.getSession()).metadata).toEqual({
      cart: [{ sku: 'tee', qty: 2 }],
      prefs: { theme: 'dark' },
      currency: 'USD',
      consent: { analytics: false },
    });
  });

  it('sends updates from separate ticks separately when there is no window', async () => {
    const anon = client();
    await anon.updateSession({ metadata: { a: 1 } });
    await anon.updateSession({ metadata: { b: 2 } });
    expect(sentPatches(server)).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('collects updates over batchWindowMs into one request', async () => {
    const anon = client({ batchWindowMs: 100 });
    const first = anon.updateSession({ metadata: { a: 1 } });
    await new Promise((resolve) => setTimeout(resolve, 20)); // a later tick, inside the window
    const second = anon.updateSession({ metadata: { b: 2, a: null } });
    expect(anon.hasPendingUpdates()).toBe(true);
    expect(await Promise.all([first, second])).toEqual(['sent', 'sent']);
    expect(sentPatches(server)).toEqual([{ b: 2, a: null }]);
    expect(anon.hasPendingUpdates()).toBe(false);
  });

  it('keeps exact semantics when patches cannot be composed: replace-then-merge goes out in order', async () => {
    const anon = client();
    await anon.createSession({ metadata: { profile: { name: 'Ada', city: 'London' } } });
    server.reset();

    // "delete profile" then "merge {name} into profile" must end without the old city: two requests.
    await Promise.all([
      anon.updateSession({ metadata: { profile: null } }),
      anon.updateSession({ metadata: { profile: { name: 'Bob' } } }),
      anon.updateSession({ metadata: { profile: { age: 36 } } }),
    ]);
    expect(sentPatches(server)).toEqual([{ profile: null }, { profile: { name: 'Bob', age: 36 } }]);
    expect((await anon.getSession()).metadata).toEqual({ profile: { name: 'Bob', age: 36 } });
  });

  it('getSession sends pending updates first, so it reads its own writes', async () => {
    const anon = client({ batchWindowMs: 10_000 });
    await anon.getSession();
    server.reset();
    const update = anon.updateSession({ metadata: { cart: ['tee'] } });
    const session = await anon.getSession();
    expect(session.metadata).toEqual({ cart: ['tee'] });
    expect(await update).toBe('sent');
    expect(server.summary()).toEqual(['POST /anonymous/token 200', 'GET /anonymous/session 200']);
  });

  it('rejects every caller of a batch the server refuses, and drops it', async () => {
    const anon = client();
    await anon.createSession({ metadata: { kept: true } });
    const results = await Promise.allSettled([
      anon.updateSession({ metadata: { small: 'ok' } }),
      anon.updateSession({ metadata: { huge: 'x'.repeat(3000) } }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    for (const result of results) {
      expect((result as PromiseRejectedResult).reason).toMatchObject({ code: 'metadata_too_large', status: 413 });
    }
    expect(anon.hasPendingUpdates()).toBe(false);
    expect((await anon.getSession()).metadata).toEqual({ kept: true });
  });

  it('refuses a patch that is not a JSON object before sending anything', async () => {
    const anon = client();
    const error = await rejectionOf(anon.updateSession({ metadata: ['not', 'an', 'object'] as never }));
    expect(error).toBeInstanceOf(TypeError);
    expect(server.requests).toEqual([]);
  });
});

describe('logout and pending updates', () => {
  it('rejects updates still in the batch window with logged_out and never sends them', async () => {
    const anon = client({ batchWindowMs: 10_000 });
    await anon.getSession();
    server.reset();
    const pending = anon.updateSession({ metadata: { cart: ['tee'] } });
    await anon.logout();
    expect(await rejectionOf(pending)).toMatchObject({ code: 'logged_out', status: 0 });
    expect(server.summary()).toEqual(['POST /anonymous/logout 204']);
    expect(anon.hasPendingUpdates()).toBe(false);
  });
});
