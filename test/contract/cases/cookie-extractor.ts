import type { RequestListener } from 'node:http';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { SessionStore } from '@anonymous-sessions/core';
import {
  advanceDate,
  CLIENT_ID,
  expectError,
  expectTokens,
  freezeDate,
  LOGOUT_PATH,
  parseSetCookie,
  sessionSetCookie,
  setCookies,
  TOKEN_PATH,
  tokenRequest,
} from '../assertions.js';
import { buildApp, type ContractAppOptions, type ExtractorDescription, type Framework, type PageBody as Seen } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function cookieExtractorCases(framework: Framework): void {
  /** The quick start plus the host page `GET /login` behind `anonCookieExtractor`, reporting what it saw. */
  const withPage = (extractor: ExtractorDescription = { cookie: { secure: false } }, options: ContractAppOptions = {}) =>
    buildApp(framework, { ...options, extractor });

  async function create(app: RequestListener, fields: Record<string, unknown> = {}) {
    return expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest(fields)));
  }

  describe('anonCookieExtractor', () => {
    it('puts the verified session on the request (req / ctx.state) with its raw token', async () => {
      const { app, anon, seenTokens } = await withPage();
      const tokens = await create(app, { metadata: { cart: ['a'] } });
      const expected = await anon.verifySessionToken(tokens.session_token);

      const res = await request(app).get('/page').set('Cookie', `anon=${tokens.session_token}`);
      expect(res.status).toBe(200);
      expect((res.body as Seen).session).toEqual({
        user_id: expected.user_id,
        session_id: expected.session_id,
        metadata: { cart: ['a'] },
      });
      expect(seenTokens).toEqual([tokens.session_token]);
      expect(setCookies(res)).toEqual([]);
    });

    it('lets the handler run without a session when there is no cookie', async () => {
      const { app, seenTokens } = await withPage();
      const res = await request(app).get('/page');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ session: null, hasToken: false });
      expect(seenTokens).toEqual([undefined]);
    });

    it('ignores a bad, a revoked or an expired token: the handler still runs, without a session', async () => {
      freezeDate();
      const { app, logger } = await withPage(undefined, { engine: { sessionLifetime: 3600 } });

      for (const bad of ['garbage', 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aaaa.bbbb.cccc']) {
        const res = await request(app).get('/page').set('Cookie', `anon=${bad}`);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ session: null, hasToken: false });
      }

      const revoked = await create(app);
      expect((await request(app).post(LOGOUT_PATH).send({ client_id: CLIENT_ID, session_token: revoked.session_token })).status).toBe(204);
      const afterLogout = await request(app).get('/page').set('Cookie', `anon=${revoked.session_token}`);
      expect(afterLogout.status).toBe(200);
      expect((afterLogout.body as Seen).session).toBeNull();

      const expiring = await create(app);
      advanceDate(3600 + 60);
      const expired = await request(app).get('/page').set('Cookie', `anon=${expiring.session_token}`);
      expect(expired.status).toBe(200);
      expect((expired.body as Seen).session).toBeNull();

      expect(logger.error).not.toHaveBeenCalled();
    });

    it('moves a query-parameter token into the cookie on a redirect to the URL without it, and never echoes it', async () => {
      freezeDate('2030-01-01T00:00:00.000Z');
      const { app, anon, seenTokens } = await withPage();
      const tokens = await create(app);
      advanceDate(100);

      const res = await request(app).get('/page').query({ anonymous_session_token: tokens.session_token });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/page');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.text).not.toContain(tokens.session_token);
      expect(seenTokens).toEqual([]);

      const cookie = parseSetCookie(sessionSetCookie(res));
      expect(cookie.value).toBe(tokens.session_token);
      expect(cookie.attributes).toEqual({ 'max-age': String(2_592_000 - 100), path: '/', httponly: true, samesite: 'Lax' });

      const followed = await request(app).get('/page').set('Cookie', `anon=${cookie.value}`);
      expect((followed.body as Seen).session?.session_id).toBe((await anon.verifySessionToken(tokens.session_token)).session_id);
    });

    it('marks the moved cookie Secure by default', async () => {
      const { app } = await withPage({}, { engine: { cookie: {} } });
      const tokens = await create(app);
      const res = await request(app).get('/page').query({ anonymous_session_token: tokens.session_token });
      expect(parseSetCookie(sessionSetCookie(res)).attributes).toMatchObject({ secure: true, httponly: true });
    });

    it('sets no cookie when the query token is already the cookie (the URL is cleaned all the same)', async () => {
      const { app } = await withPage();
      const tokens = await create(app);
      const res = await request(app)
        .get('/page')
        .set('Cookie', `anon=${tokens.session_token}`)
        .query({ anonymous_session_token: tokens.session_token });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/page');
      expect(setCookies(res)).toEqual([]);
    });

    it('keeps the cookie when the query token is bad, and does not store the bad one', async () => {
      const { app, anon } = await withPage();
      const tokens = await create(app);
      const res = await request(app)
        .get('/page')
        .set('Cookie', `anon=${tokens.session_token}`)
        .query({ anonymous_session_token: 'forged' });
      expect(res.status).toBe(303);
      expect(setCookies(res)).toEqual([]);
      const followed = await request(app).get(res.headers.location!).set('Cookie', `anon=${tokens.session_token}`);
      expect((followed.body as Seen).session?.session_id).toBe((await anon.verifySessionToken(tokens.session_token)).session_id);
    });

    it('ignores the query parameter when queryParam is false, and honours a custom cookie name', async () => {
      const { app } = await withPage({ queryParam: false, cookieName: 'guest', cookie: { secure: false } });
      const tokens = await create(app);
      const viaQuery = await request(app).get('/page').query({ anonymous_session_token: tokens.session_token });
      expect((viaQuery.body as Seen).session).toBeNull();
      expect(setCookies(viaQuery)).toEqual([]);

      expect((await request(app).get('/page').set('Cookie', `anon=${tokens.session_token}`)).body).toMatchObject({ session: null });
      expect((await request(app).get('/page').set('Cookie', `guest=${tokens.session_token}`)).body).toMatchObject({
        session: { user_id: expect.stringMatching(/^anon\|/) },
      });
    });

    it('fails closed (503) when the store cannot say whether the session was logged out', async () => {
      const { app } = await withPage(undefined, {
        engine: {
          storeTimeoutMs: 100,
          rateLimit: false,
          store: {
            revokeSession: () => Promise.reject(new Error('down')),
            isSessionRevoked: () => Promise.reject(new Error('down')),
            markOnce: () => Promise.reject(new Error('down')),
            increment: () => Promise.reject(new Error('down')),
          } satisfies SessionStore,
        },
      });
      // Creation needs no store when the rate limit is off.
      const tokens = await create(app);
      expectError(await request(app).get('/page').set('Cookie', `anon=${tokens.session_token}`), 503, 'temporarily_unavailable');
      // Without a token there is nothing to check.
      expect((await request(app).get('/page')).status).toBe(200);
    });
  });

}
