/**
 * `metadataStorage: 'store'` end to end on one store: two engines (two app instances) sharing it,
 * no lost updates under 50 concurrent requests, no rollback by an old session token, the size limit
 * enforced inside the atomic merge, and the linked-session registry filled by transfers. Run
 * against memoryStore(), Redis and PostgreSQL.
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

    it('records every transfer in the linked-session registry, read from any instance', async () => {
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
      const links = await instanceB.linkedSessions(userId);
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
      expect(await instanceA.linkedSessions(userId)).toHaveLength(1);
    });
  });
}
