/**
 * `metadataStorage: 'store'` end to end on one store: two engines (two app instances) sharing it,
 * no lost updates under 50 concurrent requests, no rollback by an old session token, the size limit
 * enforced inside the atomic merge, the transfer log filled by transfers, and what
 * happens when the store loses its data mid-test (metadata re-seeded from the token, the lost
 * revocation list detected and `revocationLoss` applied). Run against memoryStore(), Redis and
 * PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnonymousSessionError,
  createAnonymousSessions,
  generateKeySet,
  type AnonymousSessions,
  type AnonymousSessionsOptions,
  type JsonObject,
  type PrivateJwkSet,
  type SessionStore,
} from '@anonymous-sessions/core';

const AUDIENCE = 'https://api.shop.example';
const CLIENT_ID = 'shop-web';
const silent = { warn: (): void => undefined, error: (): void => undefined };

/** What a store-mode suite needs: the shared store and how to clean it up. */
export interface StoreUnderTest {
  store: SessionStore;
  cleanup: () => Promise<void>;
  /**
   * Loses every entry of this store, as an empty restart would (Redis: this run's prefix flushed;
   * PostgreSQL: this run's table emptied; memory: a new memoryStore() behind the same object).
   */
  wipe: () => Promise<void>;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A logger that keeps what it is told. */
function recordingLogger(): { warnings: string[]; errors: string[]; warn: (message: string) => void; error: (message: string) => void } {
  const warnings: string[] = [];
  const errors: string[] = [];
  return { warnings, errors, warn: (message) => warnings.push(message), error: (message) => errors.push(message) };
}

/** Opens a session token's claims (the engine's own verification, then the raw payload). */
interface Issued {
  token: string;
  metadata: JsonObject;
}

export function runStoreModeSuite(name: string, factory: () => Promise<StoreUnderTest>): void {
  describe(`metadataStorage 'store' on ${name}`, () => {
    let subject: StoreUnderTest;
    let keys: PrivateJwkSet;
    let instanceA: AnonymousSessions;
    let instanceB: AnonymousSessions;

    const engine = (overrides: Partial<AnonymousSessionsOptions> = {}): Promise<AnonymousSessions> =>
      createAnonymousSessions({
        issuer: 'http://localhost:3000/',
        keys,
        clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
        resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: ['anon'] }],
        store: subject.store,
        metadataStorage: 'store',
        rateLimit: false,
        logger: silent,
        ...overrides,
      });

    const issue = async (anon: AnonymousSessions, fields: Record<string, unknown>): Promise<Issued> => {
      const { response, session } = await anon.issueToken({ client_id: CLIENT_ID, ...fields }, { ip: '127.0.0.1' });
      return { token: response.session_token, metadata: session.metadata };
    };
    const full = (anon: AnonymousSessions, fields: Record<string, unknown>) =>
      anon.issueToken({ client_id: CLIENT_ID, ...fields }, { ip: '127.0.0.1' });
    const refusal = (promise: Promise<unknown>): Promise<string> =>
      promise.then(
        () => 'accepted',
        (error: unknown) => (error instanceof AnonymousSessionError ? error.code : String(error)),
      );

    beforeAll(async () => {
      subject = await factory();
      keys = await generateKeySet();
      instanceA = await engine();
      instanceB = await engine();
    });

    afterAll(async () => {
      await subject?.cleanup();
    });

    it('shares one session between two instances: create on A, update on B, log out on A, refused on B', async () => {
      const created = await issue(instanceA, { metadata: { cart: ['A'] } });
      const updated = await issue(instanceB, { session_token: created.token, metadata: { theme: 'dark' } });
      expect(updated.metadata).toEqual({ cart: ['A'], theme: 'dark' });
      expect((await instanceA.verifySessionToken(created.token)).metadata).toEqual({ cart: ['A'], theme: 'dark' });
      await instanceA.logout({ clientId: CLIENT_ID, sessionToken: created.token });
      for (const token of [created.token, updated.token]) {
        const error = await instanceB.issueToken({ client_id: CLIENT_ID, session_token: token }).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(AnonymousSessionError);
        expect((error as AnonymousSessionError).code).toBe('invalid_session_token');
      }
    });

    it('loses no update: 50 concurrent requests (alternating instances), each adding its own key, leave all 50', async () => {
      const created = await issue(instanceA, {});
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          issue(index % 2 === 0 ? instanceA : instanceB, { session_token: created.token, metadata: { [`item${index}`]: index } }),
        ),
      );
      const final = (await instanceB.verifySessionToken(created.token)).metadata;
      expect(Object.keys(final).sort()).toEqual(Array.from({ length: 50 }, (_, index) => `item${index}`).sort());
      for (let index = 0; index < 50; index += 1) expect(final[`item${index}`]).toBe(index);
      // Each response carried the document as it stood right after its own merge.
      const sizes = results.map((result) => Object.keys(result.metadata).length).sort((a, b) => a - b);
      expect(sizes).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
    });

    it('never rolls metadata back when an old session token is used after a newer one', async () => {
      const first = await issue(instanceA, { metadata: { cart: ['A'] } });
      const second = await issue(instanceB, { session_token: first.token, metadata: { cart: ['A', 'B'], coupon: 'SAVE10' } });
      expect(second.metadata).toEqual({ cart: ['A', 'B'], coupon: 'SAVE10' });
      // The old token, with no patch: the store's document, not the token's snapshot.
      const replayed = await issue(instanceA, { session_token: first.token });
      expect(replayed.metadata).toEqual({ cart: ['A', 'B'], coupon: 'SAVE10' });
      // The old token with a patch: merged onto the store's document.
      const patched = await issue(instanceB, { session_token: first.token, metadata: { theme: 'dark' } });
      expect(patched.metadata).toEqual({ cart: ['A', 'B'], coupon: 'SAVE10', theme: 'dark' });
      expect((await instanceA.verifySessionToken(first.token)).metadata).toEqual(patched.metadata);
    });

    it('enforces maxBytes inside the atomic merge: concurrent patches that each fit but not together', async () => {
      const tight = await engine({ metadata: { maxBytes: 300, maxDepth: 8 } });
      const created = await issue(tight, {});
      // Each patch adds ~60 bytes: each passes the check against the document it read, but only
      // about four fit together.
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, (_, index) =>
          issue(tight, { session_token: created.token, metadata: { [`k${index}`]: 'x'.repeat(50) } }).then(
            () => 'ok',
            (error: unknown) => (error as AnonymousSessionError).code,
          ),
        ),
      );
      const final = (await tight.verifySessionToken(created.token)).metadata;
      expect(new TextEncoder().encode(JSON.stringify(final)).byteLength).toBeLessThanOrEqual(300);
      expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(Object.keys(final).length);
      expect(outcomes.filter((outcome) => outcome === 'metadata_too_large').length).toBeGreaterThan(0);
      expect(outcomes.every((outcome) => outcome === 'ok' || outcome === 'metadata_too_large')).toBe(true);
    });

    it('records every transfer in the transfer log, read from any instance', async () => {
      const guest = await issue(instanceA, { metadata: { cart: ['A'] } });
      const session = await instanceA.verifySessionToken(guest.token);
      const userId = `auth0|linked-${session.session_id}`;
      const users = {
        get: (id: string) => ({ user_id: id, app_metadata: {}, user_metadata: {} }),
        update: (): void => undefined,
      };
      const result = await instanceA.transfer({
        sessionToken: guest.token,
        requireLoginBinding: false,
        userId,
        isNewUser: true,
        users,
        request: { ip: '127.0.0.1', user_agent: 'Mozilla/5.0 (store-mode test)' },
        onPreRegistration: (event, api) => api.user.setAppMetadata('cart', event.anonymous_session.metadata.cart ?? null),
      });
      expect(result.transferred).toBe(true);
      const links = await instanceB.transferLog(userId);
      expect(links).toEqual([
        {
          session_id: session.session_id,
          anonymous_user_id: session.user_id,
          user_id: userId,
          linked_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
          user_agent: 'Mozilla/5.0 (store-mode test)',
        },
      ]);
      expect(Math.abs(Date.parse(links[0]!.linked_at) - Date.now())).toBeLessThan(60_000);
      // A repeated callback transfers nothing and records nothing new.
      const again = await instanceB.transfer({ sessionToken: guest.token, requireLoginBinding: false, userId, isNewUser: false, users });
      expect(again.reason).toBe('already_transferred');
      expect(await instanceA.transferLog(userId)).toHaveLength(1);
    });
    describe('when the store loses its data (wiped mid-test)', () => {
      it('a session with a cart survives: its document is re-seeded from the token, once, with one warning, and no update is lost', async () => {
        const log = recordingLogger();
        const a = await engine({ logger: log });
        const b = await engine({ logger: log });
        const cart = [{ sku: 'SKU-1', qty: 2 }];
        const created = await full(a, { metadata: { cart } });
        const updated = await issue(b, { session_token: created.response.session_token, metadata: { theme: 'dark' } });
        const sessionId = created.session.session_id;
        expect(await subject.store.readMetadata!(sessionId)).toEqual({ version: 2, metadata: { cart, theme: 'dark' } });
        await subject.wipe();
        expect(await subject.store.readMetadata!(sessionId)).toBeUndefined();
        // 20 concurrent continues on both instances, each adding its own key, with the last token.
        await Promise.all(
          Array.from({ length: 20 }, (_, index) =>
            issue(index % 2 === 0 ? a : b, { session_token: updated.token, metadata: { [`k${index}`]: index } }),
          ),
        );
        const expected: JsonObject = { cart, theme: 'dark' };
        for (let index = 0; index < 20; index += 1) expected[`k${index}`] = index;
        expect((await a.verifySessionToken(updated.token)).metadata).toEqual(expected);
        // Re-seeded at the snapshot's version, then one more per merge.
        expect(await subject.store.readMetadata!(sessionId)).toEqual({ version: 22, metadata: expected });
        const reseeded = log.warnings.filter((message) => message.includes('Re-seeded'));
        expect(reseeded).toHaveLength(1);
        expect(reseeded[0]).toContain(sessionId);
        expect(reseeded[0]).not.toContain(updated.token);
      });

      it('a document begun again after the loss (a write queued during the outage) gets the snapshot merged in', async () => {
        const log = recordingLogger();
        const a = await engine({ logger: log });
        const first = await full(a, { metadata: { cart: ['A'] } });
        const second = await issue(a, { session_token: first.response.session_token, metadata: { theme: 'dark' } });
        const third = await issue(a, { session_token: second.token, metadata: { coupon: 'SAVE10' } });
        await subject.wipe();
        // A patch that was sent before the loss and applied after it: version 1 of a new document.
        await subject.store.mergeMetadata!(first.session.session_id, { late: true }, { expiresAt: undefined, maxBytes: 2048, maxDepth: 8 });
        const continued = await issue(a, { session_token: third.token, metadata: { n: 1 } });
        expect(continued.metadata).toEqual({ cart: ['A'], theme: 'dark', coupon: 'SAVE10', late: true, n: 1 });
        expect(log.warnings.filter((message) => message.includes('Re-seeded'))).toHaveLength(1);
        // An older token of the session is not "ahead" of the store any more: nothing is merged again.
        expect((await issue(a, { session_token: second.token })).metadata).toEqual(continued.metadata);
        expect(log.warnings.filter((message) => message.includes('Re-seeded'))).toHaveLength(1);
      });

      it('a read re-seeds too; a session that never had metadata stays empty, without a warning', async () => {
        const log = recordingLogger();
        const a = await engine({ logger: log });
        const withCart = await issue(a, { metadata: { cart: ['A'] } });
        const bare = await issue(a, {});
        await subject.wipe();
        expect((await a.verifySessionToken(withCart.token)).metadata).toEqual({ cart: ['A'] });
        expect((await a.verifySessionToken(bare.token)).metadata).toEqual({});
        expect((await issue(a, { session_token: withCart.token })).metadata).toEqual({ cart: ['A'] });
        expect(log.warnings.filter((message) => message.includes('Re-seeded'))).toHaveLength(1);
      });

      it("revocationLoss 'accept' (the default): a session logged out before the loss is accepted again, and the loss is logged once", async () => {
        const before = await engine();
        const loggedOut = await full(before, { metadata: { cart: ['A'] } });
        await before.logout({ clientId: CLIENT_ID, sessionToken: loggedOut.response.session_token });
        expect(await refusal(before.verifySessionToken(loggedOut.response.session_token))).toBe('invalid_session_token');
        await subject.wipe();
        const log = recordingLogger();
        const after = await engine({ logger: log });
        expect(await refusal(after.verifySessionToken(loggedOut.response.session_token))).toBe('accepted');
        expect(await refusal(full(after, { session_token: loggedOut.response.session_token }))).toBe('accepted');
        expect(
          await after.isSessionEnded(loggedOut.session.session_id, (await after.verifyAccessToken(loggedOut.response.access_token, { audience: AUDIENCE })).store_epoch),
        ).toBe(false);
        const lost = log.errors.filter((message) => message.includes('lost its data'));
        expect(lost).toHaveLength(1);
        expect(lost[0]).toContain("'accept'");
      });

      it("revocationLoss 'reject': a logged-out session stays refused everywhere; a live one continues as a fresh session carrying its cart", async () => {
        const before = await engine({ revocationLoss: 'reject' });
        const loggedOut = await full(before, { metadata: { cart: ['OUT'] } });
        await before.logout({ clientId: CLIENT_ID, sessionToken: loggedOut.response.session_token });
        const live = await full(before, { metadata: { cart: ['A', 'B'] } });
        await subject.wipe();
        const log = recordingLogger();
        const after = await engine({ revocationLoss: 'reject', logger: log });
        // Every revocation check refuses a session issued before the loss.
        expect(await refusal(after.verifySessionToken(loggedOut.response.session_token))).toBe('invalid_session_token');
        expect(await refusal(after.verifySessionToken(live.response.session_token))).toBe('invalid_session_token');
        expect(
          await refusal(after.verifyAccessToken(loggedOut.response.access_token, { audience: AUDIENCE, checkRevocation: true })),
        ).toBe('invalid_token');
        // Without checkRevocation the access token is only verified, as before.
        expect(await refusal(after.verifyAccessToken(live.response.access_token, { audience: AUDIENCE }))).toBe('accepted');
        // At the token endpoint: a fresh session (new ids) that carries the metadata, plus the patch.
        const fresh = await full(after, { session_token: live.response.session_token, metadata: { theme: 'dark' } });
        expect(fresh.session.session_id).not.toBe(live.session.session_id);
        expect(fresh.session.user_id).not.toBe(live.session.user_id);
        expect(fresh.session.metadata).toEqual({ cart: ['A', 'B'], theme: 'dark' });
        expect(await subject.store.readMetadata!(fresh.session.session_id)).toEqual({ version: 1, metadata: { cart: ['A', 'B'], theme: 'dark' } });
        // The fresh session is an ordinary one: it continues, logs out, and stays logged out.
        const continued = await full(after, { session_token: fresh.response.session_token });
        expect(continued.session.session_id).toBe(fresh.session.session_id);
        expect(continued.session.metadata).toEqual({ cart: ['A', 'B'], theme: 'dark' });
        expect(await refusal(after.verifyAccessToken(continued.response.access_token, { audience: AUDIENCE, checkRevocation: true }))).toBe(
          'accepted',
        );
        // The logged-out token never continues its own session either.
        const replaced = await full(after, { session_token: loggedOut.response.session_token });
        expect(replaced.session.session_id).not.toBe(loggedOut.session.session_id);
        expect(await refusal(after.verifySessionToken(loggedOut.response.session_token))).toBe('invalid_session_token');
        const lost = log.errors.filter((message) => message.includes('lost its data'));
        expect(lost).toHaveLength(1);
        expect(lost[0]).toContain("'reject'");
      });

      it('an instance already running notices the loss at its next epoch re-check (at most a second later)', async () => {
        const log = recordingLogger();
        const running = await engine({ revocationLoss: 'reject', logger: log });
        const loggedOut = await issue(running, {});
        await running.logout({ clientId: CLIENT_ID, sessionToken: loggedOut.token });
        expect(await refusal(running.verifySessionToken(loggedOut.token))).toBe('invalid_session_token');
        await subject.wipe();
        // The cached marker is trusted for at most a second; after that the next check reads it.
        await delay(1100);
        expect(await refusal(running.verifySessionToken(loggedOut.token))).toBe('invalid_session_token');
        expect(log.errors.filter((message) => message.includes('lost its data'))).toHaveLength(1);
        const created = await issue(running, { metadata: { cart: ['new'] } });
        expect((await running.verifySessionToken(created.token)).metadata).toEqual({ cart: ['new'] });
      });
    });
  });
}
