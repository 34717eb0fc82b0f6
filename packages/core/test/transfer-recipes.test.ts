/**
 * The ready-made transfer hooks: `sumCartsBySku`, `mergeCart`, `linkSessions`, `copyPreferences`,
 * the declarative `mergeMetadata`, and `composeHooks`, called directly with an event and a
 * recording `api`, so each rule (which side wins, what is dropped, when nothing is written) shows.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  composeHooks,
  copyPreferences,
  linkSessions,
  mergeCart,
  mergeMetadata,
  sumCartsBySku,
  type JsonObject,
  type JsonValue,
  type TransferApi,
  type TransferEvent,
  type TransferHook,
  type TransferUser,
} from '@anonymous-sessions/core';
import { MAX_CART_ITEMS } from '../src/transfer/transfer-recipes.js';
import { T0 } from './fixtures.js';

/** What a hook wrote through the api. */
interface Recorded {
  api: TransferApi;
  app_metadata: JsonObject;
  user_metadata: JsonObject;
  custom_claims: Record<string, unknown>;
  /** Every set call, in order. */
  calls: string[];
}

function recorder(): Recorded {
  const recorded: Recorded = {
    app_metadata: {},
    user_metadata: {},
    custom_claims: {},
    calls: [],
    api: {
      user: {
        setAppMetadata: (key, value) => {
          recorded.calls.push(`app:${key}`);
          recorded.app_metadata[key] = value;
        },
        setUserMetadata: (key, value) => {
          recorded.calls.push(`user:${key}`);
          recorded.user_metadata[key] = value;
        },
      },
      accessToken: {
        setCustomClaim: (name, value) => {
          recorded.calls.push(`claim:${name}`);
          recorded.custom_claims[name] = value;
        },
      },
    },
  };
  return recorded;
}

function event(guest: JsonObject, user: Partial<TransferUser> = {}): TransferEvent {
  return {
    anonymous_session: {
      user_id: 'anon|2b1c0e7e-0000-4000-8000-000000000001',
      session_id: 'sess_guest1',
      created_at: '2029-12-31T00:00:00.000Z',
      expires_at: '2030-01-30T00:00:00.000Z',
      metadata: guest,
    },
    user: { user_id: 'auth0|u1', app_metadata: {}, user_metadata: {}, ...user },
    request: { ip: '203.0.113.9', user_agent: 'vitest' },
    transaction: { flow: 'login' },
  };
}

async function run(hook: TransferHook, guest: JsonObject, user: Partial<TransferUser> = {}): Promise<Recorded> {
  const recorded = recorder();
  const input = event(guest, user);
  const before = structuredClone(input);
  await hook(input, recorded.api);
  expect(input, 'a recipe never mutates the event').toEqual(before);
  return recorded;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('sumCartsBySku', () => {
  it('sums qty by sku: account lines first, then the guest’s new lines; other fields from the first occurrence', () => {
    const user = [
      { sku: 'mug', qty: 1, color: 'white' },
      { sku: 'cap', qty: 2 },
    ];
    const guest = [
      { sku: 'tee', qty: 1, size: 'M' },
      { sku: 'mug', qty: 2, color: 'black' },
      { sku: 'tee', qty: 2, size: 'L' },
    ];
    expect(sumCartsBySku(user, guest)).toEqual([
      { sku: 'mug', qty: 3, color: 'white' },
      { sku: 'cap', qty: 2 },
      { sku: 'tee', qty: 3, size: 'M' },
    ]);
  });

  it('does not mutate its inputs', () => {
    const user = [{ sku: 'mug', qty: 1 }];
    const guest = [{ sku: 'mug', qty: 2 }];
    sumCartsBySku(user, guest);
    expect(user).toEqual([{ sku: 'mug', qty: 1 }]);
    expect(guest).toEqual([{ sku: 'mug', qty: 2 }]);
  });

  it('drops malformed lines from either side', () => {
    const malformed: JsonValue[] = [
      null,
      'mug',
      42,
      ['mug', 1],
      { qty: 1 },
      { sku: '', qty: 1 },
      { sku: 7, qty: 1 },
      { sku: 'x'.repeat(257), qty: 1 },
      { sku: 'zero', qty: 0 },
      { sku: 'negative', qty: -2 },
      { sku: 'fraction', qty: 1.5 },
      { sku: 'text', qty: '2' },
      { sku: 'missing' },
    ];
    expect(sumCartsBySku(malformed, [...malformed, { sku: 'ok', qty: 1 }])).toEqual([{ sku: 'ok', qty: 1 }]);
    expect(sumCartsBySku([{ sku: 'x'.repeat(256), qty: 1 }], [])).toHaveLength(1);
  });

  it('treats anything that is not an array as an empty cart', () => {
    expect(sumCartsBySku(undefined, { sku: 'mug', qty: 1 })).toEqual([]);
    expect(sumCartsBySku('cart', [{ sku: 'mug', qty: 1 }])).toEqual([{ sku: 'mug', qty: 1 }]);
  });

  it(`caps the result at ${MAX_CART_ITEMS} lines (the account’s first), but still sums lines already in`, () => {
    expect(MAX_CART_ITEMS).toBe(100);
    const user = Array.from({ length: 99 }, (_, i) => ({ sku: `own-${i}`, qty: 1 }));
    const guest = [{ sku: 'new-a', qty: 1 }, { sku: 'new-b', qty: 1 }, { sku: 'own-5', qty: 2 }];
    const merged = sumCartsBySku(user, guest);
    expect(merged).toHaveLength(100);
    expect(merged[99]).toEqual({ sku: 'new-a', qty: 1 });
    expect(merged.find((line) => line.sku === 'new-b')).toBeUndefined();
    expect(merged[5]).toEqual({ sku: 'own-5', qty: 3 });

    const huge = Array.from({ length: 250 }, (_, i) => ({ sku: `g-${i}`, qty: 1 }));
    expect(sumCartsBySku([], huge)).toHaveLength(100);
    expect(sumCartsBySku([], huge, 3).map((line) => line.sku)).toEqual(['g-0', 'g-1', 'g-2']);
  });

  it('caps each quantity at one million', () => {
    expect(sumCartsBySku([{ sku: 'mug', qty: 999_999 }], [{ sku: 'mug', qty: 5 }])).toEqual([{ sku: 'mug', qty: 1_000_000 }]);
    expect(sumCartsBySku([], [{ sku: 'mug', qty: 1e12 }])).toEqual([{ sku: 'mug', qty: 1_000_000 }]);
  });
});

describe('mergeCart', () => {
  it('merges metadata.cart into user_metadata.cart by default', async () => {
    const recorded = await run(mergeCart(), { cart: [{ sku: 'mug', qty: 2 }] }, { user_metadata: { cart: [{ sku: 'mug', qty: 1 }] } });
    expect(recorded.user_metadata).toEqual({ cart: [{ sku: 'mug', qty: 3 }] });
    expect(recorded.calls).toEqual(['user:cart']);
  });

  it('takes from, into, target and maxItems', async () => {
    const recorded = await run(
      mergeCart({ from: 'basket', into: 'saved_cart', target: 'app_metadata', maxItems: 2 }),
      { basket: [{ sku: 'a', qty: 1 }, { sku: 'b', qty: 1 }, { sku: 'c', qty: 1 }], cart: [{ sku: 'ignored', qty: 1 }] },
      { app_metadata: { saved_cart: [{ sku: 'z', qty: 1 }] } },
    );
    expect(recorded.app_metadata).toEqual({ saved_cart: [{ sku: 'z', qty: 1 }, { sku: 'a', qty: 1 }] });
    expect(recorded.user_metadata).toEqual({});
  });

  it.each<[string, JsonObject]>([
    ['no cart', {}],
    ['an empty cart', { cart: [] }],
    ['a cart of malformed lines', { cart: [{ sku: 1, qty: 1 }, { sku: 'x', qty: 0 }] }],
    ['a cart that is not an array', { cart: { sku: 'mug', qty: 1 } }],
  ])('%s from the guest: writes nothing, even when the account cart has malformed lines', async (_label, guest) => {
    const recorded = await run(mergeCart(), guest, { user_metadata: { cart: [{ sku: 'mug', qty: 1 }, 'junk'] } });
    expect(recorded.calls).toEqual([]);
  });
});

describe('linkSessions', () => {
  it('appends { session_id, user_id, linked_at } to app_metadata.linked_sessions', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
    const existing = { session_id: 'sess_old', user_id: 'anon|old-guest-000', linked_at: '2029-01-01T00:00:00.000Z' };
    const recorded = await run(linkSessions(), {}, { app_metadata: { linked_sessions: [existing] } });
    expect(recorded.app_metadata).toEqual({
      linked_sessions: [existing, { session_id: 'sess_guest1', user_id: 'anon|2b1c0e7e-0000-4000-8000-000000000001', linked_at: T0.toISOString() }],
    });
  });

  it('links a session once: already linked, nothing is written', async () => {
    const recorded = await run(linkSessions(), {}, { app_metadata: { linked_sessions: [{ session_id: 'sess_guest1' }] } });
    expect(recorded.calls).toEqual([]);
  });

  it('keeps the newest `max` links, drops malformed entries, and takes target and key', async () => {
    const old = Array.from({ length: 3 }, (_, i) => ({ session_id: `sess_${i}` }));
    const recorded = await run(linkSessions({ target: 'user_metadata', key: 'guests', max: 2 }), {}, { user_metadata: { guests: ['junk', ...old] } });
    expect((recorded.user_metadata.guests as JsonObject[]).map((link) => link.session_id)).toEqual(['sess_2', 'sess_guest1']);
  });
});

describe('copyPreferences', () => {
  it('by default the account’s preferences win and the guest’s fill the gaps', async () => {
    const recorded = await run(copyPreferences(), { preferences: { theme: 'dark', language: 'fr' } }, { user_metadata: { preferences: { theme: 'light' } } });
    expect(recorded.user_metadata).toEqual({ preferences: { theme: 'light', language: 'fr' } });
  });

  it('overwrite: true lets the guest’s choices win', async () => {
    const recorded = await run(copyPreferences({ overwrite: true }), { preferences: { theme: 'dark' } }, { user_metadata: { preferences: { theme: 'light', currency: 'EUR' } } });
    expect(recorded.user_metadata).toEqual({ preferences: { theme: 'dark', currency: 'EUR' } });
  });

  it('a new account gets the guest’s preferences; from, into and target are honoured', async () => {
    const recorded = await run(copyPreferences({ from: 'prefs', into: 'ui', target: 'app_metadata' }), { prefs: { theme: 'dark' } });
    expect(recorded.app_metadata).toEqual({ ui: { theme: 'dark' } });
  });

  it('writes nothing for guest preferences that are missing, not an object, or add nothing', async () => {
    const account = { user_metadata: { preferences: { theme: 'light', currency: 'EUR' } } };
    expect((await run(copyPreferences(), {}, account)).calls).toEqual([]);
    expect((await run(copyPreferences(), { preferences: 'dark' }, account)).calls).toEqual([]);
    expect((await run(copyPreferences(), { preferences: ['dark'] }, account)).calls).toEqual([]);
    expect((await run(copyPreferences(), { preferences: { currency: 'USD', theme: 'dark' } }, account)).calls).toEqual([]);
  });
});

describe('mergeMetadata', () => {
  const spec = { cart: 'sumBySku', preferences: 'keepUser', recentlyViewed: 'union', consents: 'keepGuest' } as const;

  it('applies each key’s strategy into user_metadata and leaves other keys alone', async () => {
    const recorded = await run(
      mergeMetadata(spec),
      {
        cart: [{ sku: 'mug', qty: 2 }, { sku: 'tee', qty: 1 }],
        preferences: { theme: 'dark', language: 'fr' },
        recentlyViewed: ['p2', 'p3', { id: 'p4' }],
        consents: { marketing: false },
        notInSpec: true,
      },
      {
        user_metadata: {
          cart: [{ sku: 'mug', qty: 1 }],
          preferences: { theme: 'light' },
          recentlyViewed: ['p1', 'p2', { id: 'p4' }],
          consents: { marketing: true, analytics: true },
        },
      },
    );
    expect(recorded.user_metadata).toEqual({
      cart: [{ sku: 'mug', qty: 3 }, { sku: 'tee', qty: 1 }],
      preferences: { theme: 'light', language: 'fr' },
      recentlyViewed: ['p1', 'p2', { id: 'p4' }, 'p3'],
      consents: { marketing: false, analytics: true },
    });
    expect(recorded.app_metadata).toEqual({});
  });

  it('a new account takes the guest’s values as they are (carts still cleaned)', async () => {
    const recorded = await run(mergeMetadata(spec), {
      cart: [{ sku: 'mug', qty: 1 }, { sku: 'bad' }],
      preferences: { theme: 'dark' },
      recentlyViewed: ['p1', 'p1'],
      consents: { marketing: true },
    });
    expect(recorded.user_metadata).toEqual({
      cart: [{ sku: 'mug', qty: 1 }],
      preferences: { theme: 'dark' },
      recentlyViewed: ['p1'],
      consents: { marketing: true },
    });
  });

  it('keepUser keeps a non-object account value whole; keepGuest replaces one', async () => {
    const recorded = await run(mergeMetadata({ tier: 'keepUser', locale: 'keepGuest' }), { tier: 'gold', locale: 'fr' }, { user_metadata: { tier: 'silver', locale: 'en' } });
    expect(recorded.user_metadata).toEqual({ locale: 'fr' });
  });

  it('a function strategy gets (guest, user, event); undefined writes nothing', async () => {
    const strategy = vi.fn((guest: JsonValue | undefined, user: JsonValue | undefined, ev: TransferEvent): JsonValue | undefined =>
      ev.transaction.flow === 'login' ? Math.max(Number(guest), Number(user ?? 0)) : undefined,
    );
    const recorded = await run(mergeMetadata({ points: strategy, skipped: () => undefined }), { points: 7, skipped: 1 }, { user_metadata: { points: 3 } });
    expect(recorded.user_metadata).toEqual({ points: 7 });
    expect(strategy).toHaveBeenCalledWith(7, 3, expect.objectContaining({ user: expect.objectContaining({ user_id: 'auth0|u1' }) }));
  });

  it('target: app_metadata', async () => {
    const recorded = await run(mergeMetadata({ cart: 'sumBySku' }, { target: 'app_metadata' }), { cart: [{ sku: 'a', qty: 1 }] }, { app_metadata: { cart: [{ sku: 'a', qty: 1 }] } });
    expect(recorded.app_metadata).toEqual({ cart: [{ sku: 'a', qty: 2 }] });
    expect(recorded.user_metadata).toEqual({});
  });

  it.each<[string, JsonObject]>([
    ['nothing from the guest', {}],
    ['empty values', { cart: [], preferences: {}, recentlyViewed: [], consents: {} }],
    ['malformed values', { cart: [{ sku: 1 }], preferences: 'dark', recentlyViewed: 'p1', consents: {} }],
    ['values the account already has (in another key order)', { preferences: { currency: 'EUR', theme: 'light' }, recentlyViewed: ['p1'], consents: { analytics: true } }],
  ])('%s: nothing is written to an existing account', async (_label, guest) => {
    const recorded = await run(mergeMetadata(spec), guest, {
      user_metadata: {
        cart: [{ sku: 'mug', qty: 1 }],
        preferences: { theme: 'light', currency: 'EUR' },
        recentlyViewed: ['p1'],
        consents: { analytics: true },
      },
    });
    expect(recorded.calls).toEqual([]);
  });
});

describe('composeHooks', () => {
  it('runs every hook in order on the same event and api, awaiting each', async () => {
    const order: string[] = [];
    const slow: TransferHook = async (_event, api) => {
      await new Promise((resolve) => setImmediate(resolve));
      order.push('slow');
      api.accessToken.setCustomClaim('https://shop.example/slow', true);
    };
    const recorded = await run(
      composeHooks(slow, mergeCart(), linkSessions(), (_event, api) => {
        order.push('last');
        api.user.setAppMetadata('done', true);
      }),
      { cart: [{ sku: 'mug', qty: 1 }] },
    );
    expect(order).toEqual(['slow', 'last']);
    expect(recorded.calls).toEqual(['claim:https://shop.example/slow', 'user:cart', 'app:linked_sessions', 'app:done']);
  });

  it('stops at the first failing hook', async () => {
    const after = vi.fn<TransferHook>();
    await expect(
      composeHooks(() => {
        throw new Error('boom');
      }, after)(event({}), recorder().api),
    ).rejects.toThrow('boom');
    expect(after).not.toHaveBeenCalled();
  });
});
