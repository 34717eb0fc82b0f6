/**
 * `@anonymous-sessions/core/testing`: the conformance kit for {@link SessionStore} adapters. One
 * call registers vitest cases that check an adapter against the whole storage contract (packages/core/README.md, Stores):
 * revocations with expiry, exactly-once marks under concurrency, rate-limit windows, atomic
 * metadata merges with their limits, create-if-absent metadata seeds, the epoch marker (and, given a
 * way to empty the store, that it changes when the store loses its data), the linked-session
 * registry, and that every entry expires.
 *
 * memoryStore(), `@anonymous-sessions/redis` and `@anonymous-sessions/postgres` run this same suite
 * against real servers; a host runs it against its own adapter:
 *
 * ```ts
 * // my-store.test.ts
 * import { runSessionStoreConformance } from '@anonymous-sessions/core/testing';
 * runSessionStoreConformance('my store', () => myStore({ client }), { teardown: () => client.quit() });
 * ```
 *
 * The cases use real time (never fake timers: the backend's own clock decides expiry), random keys
 * (so runs and parallel files never collide), and wait for expiry by polling with a deadline.
 *
 * This entry point imports `vitest`, an optional peer dependency of `@anonymous-sessions/core`;
 * nothing else in the package does.
 *
 * @packageDocumentation
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonByteLength, jsonDepth, mergePatch, type JsonObject } from './metadata/metadata.js';
import type { LinkedSession, MetadataMergeOptions, SessionStore, StoredMetadata } from './store/store.js';

/** Options of {@link runSessionStoreConformance}. */
export interface SessionStoreConformanceOptions {
  /**
   * Run the metadata cases (`readMetadata`, `mergeMetadata`: `metadataStorage: 'store'`). Default
   * true; pass `false` for a store meant only for the default `'token'` mode.
   */
  metadata?: boolean;
  /** Run the linked-session registry cases (`recordLink`, `listLinks`). Default true. */
  links?: boolean;
  /** Run the `releaseMark` case. Default true; pass `false` for a store without it. */
  releaseMark?: boolean;
  /**
   * Run the `seedMetadata` cases (with the metadata cases). Default true; pass `false` for a store
   * without it (the engine then re-seeds a lost document with `mergeMetadata`).
   */
  seedMetadata?: boolean;
  /**
   * Run the `epoch` cases. Default true; pass `false` for a store without it (the engine then cannot
   * notice that the store lost its data, and refuses `revocationLoss: 'reject'`).
   */
  epoch?: boolean;
  /**
   * Empties the store under test the way a loss would (a Redis restart without persistence, a
   * flushed prefix, truncated rows): every entry it holds, and nothing else's. Given, the kit checks
   * that the epoch marker changes after it. Only ever delete what the factory's store owns (its
   * key prefix, its own table), never a whole shared server.
   */
  wipe?: (store: SessionStore) => void | Promise<void>;
  /** How many concurrent calls the concurrency cases make. Default 50. */
  concurrency?: number;
  /**
   * How long, in milliseconds, an expiry case waits at most for an entry to disappear after its
   * `expiresAt`. Default 5000. Raise it for a backend that expires lazily on a slow timer.
   */
  expiryGraceMs?: number;
  /** Called once after the cases with the store the factory made: close clients, drop tables. */
  teardown?: (store: SessionStore) => void | Promise<void>;
}

/** Creates the store under test; called once, before the cases. */
export type SessionStoreFactory = () => SessionStore | Promise<SessionStore>;

/** Seconds an entry that must expire during a case lives (at least 1, at most 2 wall seconds). */
const SHORT_LIFE = 2;
/** Seconds an entry that must outlive a case lives. */
const LONG_LIFE = 600;
const POLL_MS = 50;

const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const randomSuffix = (): string => crypto.randomUUID().replaceAll('-', '');
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it answers true, failing after `timeoutMs`. */
async function eventually(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await delay(POLL_MS);
  }
}

/**
 * Registers the conformance cases for a {@link SessionStore} adapter in the current vitest file,
 * inside `describe(\`SessionStore conformance: ${name}\`)`.
 *
 * @param name - the adapter's name, shown in the test report.
 * @param factory - makes the store under test (connected, migrated); called once before the cases.
 * @param options - which optional parts to check, concurrency, expiry grace and teardown.
 */
export function runSessionStoreConformance(
  name: string,
  factory: SessionStoreFactory,
  options: SessionStoreConformanceOptions = {},
): void {
  const concurrency = options.concurrency ?? 50;
  const grace = options.expiryGraceMs ?? 5000;
  /** Time to wait for a SHORT_LIFE entry to be gone. */
  const expiryWait = SHORT_LIFE * 1000 + grace;
  const expiryTimeout = expiryWait + 10_000;
  const run = randomSuffix().slice(0, 12);
  let counter = 0;
  /** A key unique to this run and call; a `sess_` id when `prefix` is omitted. */
  const unique = (prefix = 'sess_conf'): string => `${prefix}${run}${(counter += 1)}`;

  describe(`SessionStore conformance: ${name}`, () => {
    let store: SessionStore;

    beforeAll(async () => {
      store = await factory();
    });

    afterAll(async () => {
      if (store !== undefined) await options.teardown?.(store);
    });

    const metadataStore = (): Required<Pick<SessionStore, 'readMetadata' | 'mergeMetadata'>> => {
      const { readMetadata, mergeMetadata } = store;
      if (typeof readMetadata !== 'function' || typeof mergeMetadata !== 'function') {
        throw new Error(`${name} does not implement readMetadata and mergeMetadata; pass { metadata: false } to skip these cases`);
      }
      return {
        readMetadata: (sessionId) => readMetadata.call(store, sessionId),
        mergeMetadata: (sessionId, patch, mergeOptions) => mergeMetadata.call(store, sessionId, patch, mergeOptions),
      };
    };
    const seedStore = (): Required<Pick<SessionStore, 'readMetadata' | 'mergeMetadata' | 'seedMetadata'>> => {
      const { seedMetadata } = store;
      if (typeof seedMetadata !== 'function') {
        throw new Error(`${name} does not implement seedMetadata; pass { seedMetadata: false } to skip these cases`);
      }
      return { ...metadataStore(), seedMetadata: (sessionId, document, expiresAt) => seedMetadata.call(store, sessionId, document, expiresAt) };
    };
    const epochOf = (): Promise<string> => {
      const { epoch } = store;
      if (typeof epoch !== 'function') throw new Error(`${name} does not implement epoch; pass { epoch: false } to skip these cases`);
      return epoch.call(store);
    };
    const linkStore = (): Required<Pick<SessionStore, 'recordLink' | 'listLinks'>> => {
      const { recordLink, listLinks } = store;
      if (typeof recordLink !== 'function' || typeof listLinks !== 'function') {
        throw new Error(`${name} does not implement recordLink and listLinks; pass { links: false } to skip these cases`);
      }
      return {
        recordLink: (link, expiresAt) => recordLink.call(store, link, expiresAt),
        listLinks: (userId) => listLinks.call(store, userId),
      };
    };

    describe('revokeSession / isSessionRevoked', () => {
      it('answers true for a revoked session and false (a miss, not an error) for any other', async () => {
        const revoked = unique();
        await store.revokeSession(revoked, nowSeconds() + LONG_LIFE);
        expect(await store.isSessionRevoked(revoked)).toBe(true);
        expect(await store.isSessionRevoked(unique())).toBe(false);
      });

      it('records nothing for an expiresAt already past', async () => {
        const past = unique();
        await store.revokeSession(past, nowSeconds() - 5);
        expect(await store.isSessionRevoked(past)).toBe(false);
      });

      it(
        'ends the revocation at expiresAt; keeps the later expiry when revoked twice; undefined is forever',
        async () => {
          const short = unique();
          const extended = unique();
          const forever = unique();
          const expiresAt = nowSeconds() + SHORT_LIFE;
          await store.revokeSession(short, expiresAt);
          await store.revokeSession(extended, expiresAt);
          await store.revokeSession(extended, nowSeconds() + LONG_LIFE);
          await store.revokeSession(extended, expiresAt); // an earlier expiry never shortens it
          await store.revokeSession(forever, undefined);
          expect(await store.isSessionRevoked(short)).toBe(true);
          await eventually('the short revocation expired', expiryWait, async () => !(await store.isSessionRevoked(short)));
          expect(Date.now()).toBeGreaterThanOrEqual((expiresAt - 1) * 1000);
          expect(await store.isSessionRevoked(extended)).toBe(true);
          expect(await store.isSessionRevoked(forever)).toBe(true);
          // Expired means gone: revoking again starts a new entry.
          await store.revokeSession(short, nowSeconds() + LONG_LIFE);
          expect(await store.isSessionRevoked(short)).toBe(true);
        },
        expiryTimeout,
      );
    });

    describe('markOnce', () => {
      it(`gives exactly one winner among ${concurrency} concurrent calls, and false afterwards`, async () => {
        const key = unique('transfer:sess_conf');
        const results = await Promise.all(
          Array.from({ length: concurrency }, () => store.markOnce(key, nowSeconds() + LONG_LIFE)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.markOnce(key, nowSeconds() + LONG_LIFE)).toBe(false);
      });

      it('keeps keys apart, whatever characters they hold', async () => {
        const base = unique('transfer:{sess}:auth0|é ');
        expect(await store.markOnce(`${base}:a`, nowSeconds() + LONG_LIFE)).toBe(true);
        expect(await store.markOnce(`${base}:b`, nowSeconds() + LONG_LIFE)).toBe(true);
        expect(await store.markOnce(`${base}:a`, nowSeconds() + LONG_LIFE)).toBe(false);
        expect(await store.markOnce(`${base}:forever`, undefined)).toBe(true);
        expect(await store.markOnce(`${base}:forever`, undefined)).toBe(false);
      });

      it.skipIf(options.releaseMark === false)('can be set again after releaseMark', async () => {
        expect(store.releaseMark).toBeTypeOf('function');
        const key = unique('transfer:released');
        expect(await store.markOnce(key, nowSeconds() + LONG_LIFE)).toBe(true);
        await store.releaseMark!(key);
        expect(await store.markOnce(key, nowSeconds() + LONG_LIFE)).toBe(true);
        expect(await store.markOnce(key, nowSeconds() + LONG_LIFE)).toBe(false);
        await store.releaseMark!(unique('transfer:never-marked')); // a missing mark is not an error
      });

      it(
        'can be set again once the mark has expired',
        async () => {
          const key = unique('transfer:');
          expect(await store.markOnce(key, nowSeconds() + SHORT_LIFE)).toBe(true);
          expect(await store.markOnce(key, nowSeconds() + SHORT_LIFE)).toBe(false);
          let again = false;
          await eventually('the mark expired', expiryWait, async () => {
            again = await store.markOnce(key, nowSeconds() + LONG_LIFE);
            return again;
          });
          expect(again).toBe(true);
          expect(await store.markOnce(key, nowSeconds() + LONG_LIFE)).toBe(false);
        },
        expiryTimeout,
      );
    });

    describe('increment', () => {
      it('counts 1, 2, 3 within one fixed window that later increments do not extend', async () => {
        const key = unique('create:198.51.100.');
        const before = nowSeconds();
        const first = await store.increment(key, 60);
        const second = await store.increment(key, 60);
        const third = await store.increment(key, 60);
        expect([first.count, second.count, third.count]).toEqual([1, 2, 3]);
        expect(first.resetAt).toBeGreaterThanOrEqual(before + 59);
        expect(first.resetAt).toBeLessThanOrEqual(nowSeconds() + 61);
        expect(second.resetAt).toBe(first.resetAt);
        expect(third.resetAt).toBe(first.resetAt);
        await store.increment(unique('create:other'), 60);
        expect((await store.increment(key, 60)).count).toBe(4);
      });

      it(`never loses a count: ${concurrency} concurrent increments return 1 to ${concurrency}, each once`, async () => {
        const key = unique('create:203.0.113.');
        const states = await Promise.all(Array.from({ length: concurrency }, () => store.increment(key, 60)));
        expect(states.map((state) => state.count).sort((a, b) => a - b)).toEqual(
          Array.from({ length: concurrency }, (_, index) => index + 1),
        );
        expect(new Set(states.map((state) => state.resetAt)).size).toBe(1);
        expect((await store.increment(key, 60)).count).toBe(concurrency + 1);
      });

      it(
        'starts a new window from 1 once resetAt has passed',
        async () => {
          const key = unique('create:192.0.2.');
          const first = await store.increment(key, 1);
          expect(first.count).toBe(1);
          expect((await store.increment(key, 1)).count).toBe(2);
          let fresh = { count: 0, resetAt: 0 };
          await eventually('the window ended', expiryWait, async () => {
            fresh = await store.increment(key, 1);
            return fresh.count === 1;
          });
          expect(Date.now()).toBeGreaterThanOrEqual((first.resetAt - 1) * 1000);
          expect(fresh.resetAt).toBeGreaterThan(first.resetAt - 1);
        },
        expiryTimeout,
      );
    });

    describe.skipIf(options.metadata === false)('readMetadata / mergeMetadata', () => {
      const limits = (overrides: Partial<MetadataMergeOptions> = {}): MetadataMergeOptions => ({
        expiresAt: nowSeconds() + LONG_LIFE,
        maxBytes: 2048,
        maxDepth: 8,
        ...overrides,
      });
      const merged = async (sessionId: string, patch: JsonObject, mergeOptions = limits()): Promise<StoredMetadata> => {
        const result = await metadataStore().mergeMetadata(sessionId, patch, mergeOptions);
        if (!result.ok) throw new Error(`merge refused: ${result.reason}`);
        return { version: result.version, metadata: result.metadata };
      };

      it('reads a miss as undefined', async () => {
        expect(await metadataStore().readMetadata(unique())).toBeUndefined();
      });

      it('applies RFC 7396 merge patches exactly, preserving every JSON value', async () => {
        const sessionId = unique();
        const tricky: JsonObject = {
          empty_array: [],
          empty_object: {},
          nested_arrays: [[], [{}], [1, [2, [3]]]],
          precise: 0.30000000000000004,
          big: 12345678901234568,
          tiny: 5e-324,
          huge: 1.7976931348623157e308,
          negative: -0.5,
          text: 'é😀 "quoted" back\\slash a/b \n\t\u0000\u2028 {braces}',
          flags: [true, false, null],
        };
        let expected: JsonObject = {};
        const patches: JsonObject[] = [
          { cart: [{ sku: 'A', qty: 1 }], prefs: { theme: 'dark', lang: 'en' }, ...tricky },
          { prefs: { theme: null, font: { size: 12 } }, cart: [{ sku: 'B', qty: 2 }], gone: null },
          { prefs: 'now a string', empty_object: { filled: true }, text: null },
          { prefs: { again: { an: 'object' } }, empty_array: [] },
        ];
        for (const [index, patch] of patches.entries()) {
          expected = mergePatch(expected, patch);
          const result = await merged(sessionId, patch);
          expect(result).toEqual({ version: index + 1, metadata: expected });
          expect(await metadataStore().readMetadata(sessionId)).toEqual({ version: index + 1, metadata: expected });
        }
        expect(expected).toMatchObject({ empty_array: [], nested_arrays: [[], [{}], [1, [2, [3]]]], precise: 0.30000000000000004 });
        expect(jsonByteLength((await metadataStore().readMetadata(sessionId))!.metadata)).toBe(jsonByteLength(expected));
      });

      it('counts versions up by exactly one per merge (an empty patch too); other sessions are untouched', async () => {
        const sessionId = unique();
        const other = unique();
        await merged(other, { mine: true });
        const versions: number[] = [];
        for (const patch of [{ a: 1 }, {}, { a: null }, { b: [1] }] as JsonObject[]) versions.push((await merged(sessionId, patch)).version);
        expect(versions).toEqual([1, 2, 3, 4]);
        expect(await metadataStore().readMetadata(sessionId)).toEqual({ version: 4, metadata: { b: [1] } });
        expect(await metadataStore().readMetadata(other)).toEqual({ version: 1, metadata: { mine: true } });
      });

      it(`applies ${concurrency} concurrent merges one after the other: all ${concurrency} keys, versions 1 to ${concurrency}`, async () => {
        const sessionId = unique();
        const results = await Promise.all(
          Array.from({ length: concurrency }, (_, index) => merged(sessionId, { [`key${index}`]: index, shared: { [`k${index}`]: true } })),
        );
        expect(results.map((result) => result.version).sort((a, b) => a - b)).toEqual(
          Array.from({ length: concurrency }, (_, index) => index + 1),
        );
        // Each merge saw every earlier one: the result of version v holds exactly v keys.
        for (const result of results) {
          expect(Object.keys(result.metadata).filter((key) => key.startsWith('key'))).toHaveLength(result.version);
        }
        const final = await metadataStore().readMetadata(sessionId);
        expect(final?.version).toBe(concurrency);
        for (let index = 0; index < concurrency; index += 1) {
          expect(final?.metadata[`key${index}`]).toBe(index);
          expect((final?.metadata.shared as JsonObject)[`k${index}`]).toBe(true);
        }
      });

      it('refuses a merge over maxBytes (UTF-8 bytes of the JSON text) and leaves the document, version and all, unchanged', async () => {
        const sessionId = unique();
        const maxBytes = 256;
        const start: JsonObject = { note: 'é😀 "q" \n a/b \u0000' };
        await merged(sessionId, start, limits({ maxBytes }));
        // Pad to exactly maxBytes: accepted. One byte more: refused.
        const padFor = (bytes: number): JsonObject => {
          const empty = jsonByteLength(mergePatch(start, { pad: '' }));
          return { pad: 'x'.repeat(bytes - empty) };
        };
        const over = await metadataStore().mergeMetadata(sessionId, padFor(maxBytes + 1), limits({ maxBytes }));
        expect(over).toEqual({ ok: false, reason: 'max_bytes' });
        expect(await metadataStore().readMetadata(sessionId)).toEqual({ version: 1, metadata: start });
        const exact = await merged(sessionId, padFor(maxBytes), limits({ maxBytes }));
        expect(jsonByteLength(exact.metadata)).toBe(maxBytes);
        expect(exact.version).toBe(2);
        // A tiny patch onto a document already over a lowered limit: the merged document counts.
        const lowered = await metadataStore().mergeMetadata(sessionId, { a: 1 }, limits({ maxBytes: maxBytes - 10 }));
        expect(lowered).toEqual({ ok: false, reason: 'max_bytes' });
        expect(await metadataStore().readMetadata(sessionId)).toEqual(exact);
        // A refused merge creates nothing for a session without a document.
        const fresh = unique();
        expect(await metadataStore().mergeMetadata(fresh, padFor(maxBytes * 2), limits({ maxBytes }))).toEqual({
          ok: false,
          reason: 'max_bytes',
        });
        expect(await metadataStore().readMetadata(fresh)).toBeUndefined();
      });

      it('refuses a merge over maxDepth (arrays count) and leaves the document unchanged', async () => {
        const sessionId = unique();
        const start: JsonObject = { a: { b: { c: 1 } } };
        expect(jsonDepth(start)).toBe(3);
        await merged(sessionId, start, limits({ maxDepth: 3 }));
        for (const patch of [{ a: { b: { c: { d: 1 } } } }, { x: [[[1]]] }, { x: [{}, [[]]] }] as JsonObject[]) {
          expect(await metadataStore().mergeMetadata(sessionId, patch, limits({ maxDepth: 3 }))).toEqual({
            ok: false,
            reason: 'max_depth',
          });
        }
        expect(await metadataStore().readMetadata(sessionId)).toEqual({ version: 1, metadata: start });
        expect((await merged(sessionId, { x: [1] }, limits({ maxDepth: 3 }))).version).toBe(2);
        expect(await metadataStore().mergeMetadata(sessionId, { y: 1 }, limits({ maxDepth: 2 }))).toEqual({
          ok: false,
          reason: 'max_depth',
        });
        expect((await metadataStore().readMetadata(sessionId))?.version).toBe(2);
      });

      it(
        'expires the document at expiresAt (a merge never shortens it); a merge after expiry starts at version 1',
        async () => {
          const short = unique();
          const kept = unique();
          await merged(short, { a: 1 }, limits({ expiresAt: nowSeconds() + SHORT_LIFE }));
          await merged(kept, { a: 1 }, limits({ expiresAt: nowSeconds() + LONG_LIFE }));
          await merged(kept, { b: 2 }, limits({ expiresAt: nowSeconds() + SHORT_LIFE }));
          expect(await metadataStore().readMetadata(short)).toEqual({ version: 1, metadata: { a: 1 } });
          await eventually('the document expired', expiryWait, async () => (await metadataStore().readMetadata(short)) === undefined);
          expect(await metadataStore().readMetadata(kept)).toEqual({ version: 2, metadata: { a: 1, b: 2 } });
          expect(await merged(short, { c: 3 })).toEqual({ version: 1, metadata: { c: 3 } });
        },
        expiryTimeout,
      );
    });

    describe.skipIf(options.metadata === false || options.seedMetadata === false)('seedMetadata', () => {
      const mergeOptions = (): MetadataMergeOptions => ({ expiresAt: nowSeconds() + LONG_LIFE, maxBytes: 2048, maxDepth: 8 });

      it('stores the given version and document when there is none, and keeps a live one untouched', async () => {
        const sessionId = unique();
        const document: StoredMetadata = { version: 7, metadata: { cart: [{ sku: 'A', qty: 2 }], empty: [], nested: { deep: {} } } };
        expect(await seedStore().seedMetadata(sessionId, document, nowSeconds() + LONG_LIFE)).toEqual({ seeded: true, ...document });
        expect(await seedStore().readMetadata(sessionId)).toEqual(document);
        // A later seed (an older snapshot from another tab) changes nothing and answers the live one.
        expect(await seedStore().seedMetadata(sessionId, { version: 3, metadata: { cart: [] } }, nowSeconds() + LONG_LIFE)).toEqual({
          seeded: false,
          ...document,
        });
        // Merges go on from the seeded version.
        const merged = await seedStore().mergeMetadata(sessionId, { theme: 'dark' }, mergeOptions());
        expect(merged).toEqual({ ok: true, version: 8, metadata: { ...document.metadata, theme: 'dark' } });
        expect(await seedStore().seedMetadata(sessionId, document, nowSeconds() + LONG_LIFE)).toMatchObject({ seeded: false, version: 8 });
      });

      it(`gives exactly one of ${concurrency} concurrent seeds the write; all answer the same document`, async () => {
        const sessionId = unique();
        const results = await Promise.all(
          Array.from({ length: concurrency }, (_, index) =>
            seedStore().seedMetadata(sessionId, { version: 5, metadata: { writer: index } }, nowSeconds() + LONG_LIFE),
          ),
        );
        const winners = results.filter((result) => result.seeded);
        expect(winners).toHaveLength(1);
        for (const result of results) expect(result).toEqual({ ...winners[0], seeded: result.seeded });
        expect(await seedStore().readMetadata(sessionId)).toEqual({ version: 5, metadata: winners[0]!.metadata });
      });

      it('does not check the limits (the document met them when it was first written)', async () => {
        const sessionId = unique();
        const big = { text: 'x'.repeat(4096), deep: { a: { b: { c: { d: {} } } } } };
        expect(await seedStore().seedMetadata(sessionId, { version: 2, metadata: big }, nowSeconds() + LONG_LIFE)).toMatchObject({
          seeded: true,
          version: 2,
        });
        expect((await seedStore().readMetadata(sessionId))?.metadata).toEqual(big);
      });

      it(
        'keeps the document until expiresAt; an expiresAt already past stores nothing; an expired document counts as absent',
        async () => {
          const past = unique();
          expect(await seedStore().seedMetadata(past, { version: 1, metadata: { a: 1 } }, nowSeconds() - 5)).toMatchObject({ seeded: true });
          expect(await seedStore().readMetadata(past)).toBeUndefined();
          const short = unique();
          await seedStore().seedMetadata(short, { version: 4, metadata: { a: 1 } }, nowSeconds() + SHORT_LIFE);
          expect(await seedStore().readMetadata(short)).toEqual({ version: 4, metadata: { a: 1 } });
          await eventually('the seeded document expired', expiryWait, async () => (await seedStore().readMetadata(short)) === undefined);
          expect(await seedStore().seedMetadata(short, { version: 9, metadata: { b: 2 } }, nowSeconds() + LONG_LIFE)).toEqual({
            seeded: true,
            version: 9,
            metadata: { b: 2 },
          });
        },
        expiryTimeout,
      );
    });

    describe.skipIf(options.epoch === false)('epoch', () => {
      it(`answers one marker (a string of 1 to 64 characters) to repeated and ${concurrency} concurrent calls`, async () => {
        const first = await epochOf();
        expect(typeof first).toBe('string');
        expect(first.length).toBeGreaterThan(0);
        expect(first.length).toBeLessThanOrEqual(64);
        const again = await Promise.all(Array.from({ length: concurrency }, () => epochOf()));
        expect(new Set(again)).toEqual(new Set([first]));
      });

      it.skipIf(options.wipe === undefined)(
        'answers a new marker once the store lost its data (wiped), the same one to every caller, and keeps it',
        async () => {
          const sessionId = unique();
          await store.revokeSession(sessionId, nowSeconds() + LONG_LIFE);
          const before = await epochOf();
          await options.wipe?.(store);
          // The loss the marker stands for: the revocation is gone too.
          expect(await store.isSessionRevoked(sessionId)).toBe(false);
          const after = await Promise.all(Array.from({ length: concurrency }, () => epochOf()));
          expect(new Set(after).size).toBe(1);
          expect(after[0]).not.toBe(before);
          expect(await epochOf()).toBe(after[0]);
        },
      );
    });

    describe.skipIf(options.links === false)('recordLink / listLinks', () => {
      const link = (userId: string, sessionId: string, linkedAt: number, userAgent: string | null = 'Mozilla/5.0'): LinkedSession => ({
        session_id: sessionId,
        anonymous_user_id: `anon|${sessionId.slice(5)}`,
        user_id: userId,
        linked_at: new Date(linkedAt * 1000).toISOString(),
        user_agent: userAgent,
      });

      it('lists an account’s links oldest first, only that account’s, and a miss as []', async () => {
        const user = unique('auth0|{odd} user:é ');
        const other = unique('google-oauth2|');
        const base = nowSeconds();
        const second = link(user, unique(), base - 20, null);
        const first = link(user, unique(), base - 30);
        const third = link(user, unique(), base - 10, 'curl/8');
        for (const entry of [second, first, third]) await linkStore().recordLink(entry, base + LONG_LIFE);
        await linkStore().recordLink(link(other, unique(), base), base + LONG_LIFE);
        expect(await linkStore().listLinks(user)).toEqual([first, second, third]);
        expect(await linkStore().listLinks(other)).toHaveLength(1);
        expect(await linkStore().listLinks(unique('nobody|'))).toEqual([]);
      });

      it('replaces the entry when the same (user, session) is recorded again', async () => {
        const user = unique('auth0|');
        const sessionId = unique();
        const base = nowSeconds();
        await linkStore().recordLink(link(user, sessionId, base - 5, 'old agent'), base + LONG_LIFE);
        const replacement = link(user, sessionId, base, 'new agent');
        await linkStore().recordLink(replacement, base + LONG_LIFE);
        expect(await linkStore().listLinks(user)).toEqual([replacement]);
      });

      it(
        'drops an entry at its expiresAt and keeps the others; an expiresAt already past records nothing',
        async () => {
          const user = unique('auth0|');
          const base = nowSeconds();
          const kept = link(user, unique(), base - 1);
          const short = link(user, unique(), base);
          await linkStore().recordLink(kept, base + LONG_LIFE);
          await linkStore().recordLink(short, nowSeconds() + SHORT_LIFE);
          await linkStore().recordLink(link(user, unique(), base), base - 5);
          expect(await linkStore().listLinks(user)).toEqual([kept, short]);
          await eventually('the short link expired', expiryWait, async () => (await linkStore().listLinks(user)).length === 1);
          expect(await linkStore().listLinks(user)).toEqual([kept]);
        },
        expiryTimeout,
      );
    });

    it(
      'expires every kind of entry with its expiresAt',
      async () => {
        const sessionId = unique();
        const markKey = unique('transfer:');
        const counterKey = unique('create:');
        const userId = unique('auth0|');
        const expiresAt = nowSeconds() + SHORT_LIFE;
        await store.revokeSession(sessionId, expiresAt);
        expect(await store.markOnce(markKey, expiresAt)).toBe(true);
        expect((await store.increment(counterKey, SHORT_LIFE)).count).toBe(1);
        const withMetadata = options.metadata !== false;
        const withLinks = options.links !== false;
        if (withMetadata) await metadataStore().mergeMetadata(sessionId, { a: 1 }, { expiresAt, maxBytes: 2048, maxDepth: 8 });
        if (withLinks) {
          await linkStore().recordLink(
            { session_id: sessionId, anonymous_user_id: 'anon|conformance', user_id: userId, linked_at: new Date().toISOString(), user_agent: null },
            expiresAt,
          );
        }
        expect(await store.isSessionRevoked(sessionId)).toBe(true);
        if (withMetadata) expect(await metadataStore().readMetadata(sessionId)).toBeDefined();
        if (withLinks) expect(await linkStore().listLinks(userId)).toHaveLength(1);

        await eventually('every entry expired', expiryWait, async () => {
          const revoked = await store.isSessionRevoked(sessionId);
          const documentLeft = withMetadata && (await metadataStore().readMetadata(sessionId)) !== undefined;
          const linksLeft = withLinks && (await linkStore().listLinks(userId)).length > 0;
          return !revoked && !documentLeft && !linksLeft;
        });
        expect(await store.markOnce(markKey, nowSeconds() + LONG_LIFE)).toBe(true);
        // The counter's window started a moment later than the others' expiresAt was computed.
        await eventually('the counter window ended', expiryWait, async () => (await store.increment(counterKey, SHORT_LIFE)).count === 1);
      },
      expiryTimeout,
    );
  });
}
