/**
 * A store that lost its data, over HTTP: with `revocationLoss: 'reject'` a session issued before
 * the loss is refused by `GET /anonymous/session` and by a guard with `checkRevocation`, and the
 * token endpoint continues it, from the body or the cookie, as a fresh session carrying its
 * metadata; with the default `'accept'` it is accepted again and the loss is logged.
 */
import type { RequestListener } from 'node:http';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { memoryStore, type AnonymousSessionsOptions, type SessionStore } from '@anonymous-sessions/core';
import {
  AUDIENCE,
  expectError,
  expectTokens,
  LOGOUT_PATH,
  parseSetCookie,
  SESSION_PATH,
  sessionSetCookie,
  TOKEN_PATH,
  tokenRequest,
  CLIENT_ID,
  type TokenBody,
} from '../assertions.js';
import { buildApp, type ContractApp, type Framework } from '../apps.js';

/** A memoryStore() behind one object that `wipe()` replaces: the store coming back empty. */
function wipeableStore(): { store: SessionStore; wipe: () => void } {
  let inner = memoryStore();
  const store: SessionStore = {
    revokeSession: (...args) => inner.revokeSession(...args),
    isSessionRevoked: (...args) => inner.isSessionRevoked(...args),
    markOnce: (...args) => inner.markOnce(...args),
    increment: (...args) => inner.increment(...args),
    readMetadata: (...args) => inner.readMetadata!(...args),
    mergeMetadata: (...args) => inner.mergeMetadata!(...args),
    seedMetadata: (...args) => inner.seedMetadata!(...args),
    epoch: () => inner.epoch!(),
  };
  return {
    store,
    wipe: () => {
      inner = memoryStore();
    },
  };
}

/** The contract cases of this area, against `framework`. */
export function storeLossCases(framework: Framework): void {
  /** Two apps on one store: `before` issues and logs out, then the store is wiped, then `after` (a fresh instance) answers. */
  async function beforeAndAfter(engine: Partial<AnonymousSessionsOptions>): Promise<{
    before: ContractApp;
    after: () => Promise<ContractApp>;
  }> {
    const { store, wipe } = wipeableStore();
    const guard = { audience: AUDIENCE, checkRevocation: true };
    const before = await buildApp(framework, { engine: { store, ...engine }, guard });
    return {
      before,
      after: async () => {
        wipe();
        return buildApp(framework, { engine: { store, ...engine }, guard });
      },
    };
  }

  const create = async (app: RequestListener, fields: Record<string, unknown>): Promise<TokenBody> =>
    expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest(fields)));
  const logOut = async (app: RequestListener, token: string): Promise<void> => {
    expect((await request(app).post(LOGOUT_PATH).send({ client_id: CLIENT_ID, session_token: token })).status).toBe(204);
  };

  describe("revocationLoss 'reject'", () => {
    it('refuses a logged-out session from before the loss on GET /anonymous/session and on a revocation-checking guard', async () => {
      const { before, after } = await beforeAndAfter({ revocationLoss: 'reject' });
      const tokens = await create(before.app, { metadata: { cart: ['sku-1'] } });
      await logOut(before.app, tokens.session_token);
      const { app, logger } = await after();
      expectError(await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${tokens.session_token}`), 401, 'invalid_session_token');
      expectError(await request(app).get('/api').set('Authorization', `Bearer ${tokens.access_token}`), 401, 'invalid_token');
      expect(logger.error).toHaveBeenCalledWith(expect.stringContaining('lost its data'));
      expect(logger.error.mock.calls.filter(([message]) => message.includes('lost its data'))).toHaveLength(1);
    });

    it('continues a session from before the loss, in the body or the cookie, as a fresh session that carries its metadata', async () => {
      const { before, after } = await beforeAndAfter({ revocationLoss: 'reject' });
      const inBody = await create(before.app, { metadata: { cart: ['sku-1'] } });
      const created = await request(before.app).post(TOKEN_PATH).send(tokenRequest({ metadata: { cart: ['sku-2'] } }));
      const cookie = parseSetCookie(sessionSetCookie(created));
      const { app, anon } = await after();

      const fromBody = await create(app, { session_token: inBody.session_token, metadata: { theme: 'dark' } });
      const freshFromBody = await anon.verifySessionToken(fromBody.session_token);
      expect(freshFromBody.metadata).toEqual({ cart: ['sku-1'], theme: 'dark' });
      expect(freshFromBody.session_id).not.toBe((await before.anon.verifySessionToken(inBody.session_token)).session_id);

      const fromCookie = await request(app).post(TOKEN_PATH).set('Cookie', `anon=${cookie.value}`).send(tokenRequest());
      const tokens = expectTokens(fromCookie);
      expect((await anon.verifySessionToken(tokens.session_token)).metadata).toEqual({ cart: ['sku-2'] });
      // The new cookie holds the fresh session, which the guard and the session endpoint accept.
      expect(parseSetCookie(sessionSetCookie(fromCookie)).value).toBe(tokens.session_token);
      expect((await request(app).get('/api').set('Authorization', `Bearer ${tokens.access_token}`)).status).toBe(200);
      const session = await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${tokens.session_token}`);
      expect(session.status).toBe(200);
      expect(session.body.metadata).toEqual({ cart: ['sku-2'] });
    });
  });

  describe("revocationLoss 'accept' (the default)", () => {
    it('accepts a session logged out before the loss, as documented, and logs the loss once', async () => {
      const { before, after } = await beforeAndAfter({});
      const tokens = await create(before.app, {});
      await logOut(before.app, tokens.session_token);
      expectError(await request(before.app).get('/api').set('Authorization', `Bearer ${tokens.access_token}`), 401, 'invalid_token');
      const { app, logger } = await after();
      expect((await request(app).get('/api').set('Authorization', `Bearer ${tokens.access_token}`)).status).toBe(200);
      expect((await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${tokens.session_token}`)).status).toBe(200);
      const lost = logger.error.mock.calls.filter(([message]) => message.includes('lost its data'));
      expect(lost).toHaveLength(1);
      expect(lost[0]![0]).toContain("'accept'");
    });
  });
}
