import type { RequestListener } from 'node:http';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import {
  AUDIENCE,
  CLIENT_ID,
  expectError,
  expectTokens,
  LOGOUT_PATH,
  parseSetCookie,
  SESSION_PATH,
  sessionSetCookie,
  setCookies,
  TOKEN_PATH,
  tokenRequest,
  type TokenBody,
} from '../assertions.js';
import { buildApp, type ContractApp, type ContractAppOptions, type Framework } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function logoutSessionCases(framework: Framework): void {
  const quickStart = (options?: ContractAppOptions): Promise<ContractApp> => buildApp(framework, options);

  async function create(app: RequestListener, fields: Record<string, unknown> = {}): Promise<TokenBody> {
    return expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest(fields)));
  }

  /** A `Set-Cookie` that deletes the cookie: empty value, Max-Age=0, an Expires in the past. */
  function expectCleared(header: string): void {
    const cookie = parseSetCookie(header);
    expect(cookie.name).toBe('anon');
    expect(cookie.value).toBe('');
    expect(cookie.attributes['max-age']).toBe('0');
    expect(Date.parse(String(cookie.attributes.expires))).toBe(0);
    expect(cookie.attributes).toMatchObject({ path: '/', httponly: true, samesite: 'Lax' });
  }

  describe('POST /anonymous/logout', () => {
    it('answers 204, clears the cookie, and the same token is refused afterwards', async () => {
      const { app, anon } = await quickStart();
      const tokens = await create(app, { metadata: { cart: ['sku-1'] } });

      const res = await request(app).post(LOGOUT_PATH).send({ client_id: CLIENT_ID, session_token: tokens.session_token });
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect(res.headers['cache-control']).toBe('no-store');
      expectCleared(sessionSetCookie(res));

      expectError(
        await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: tokens.session_token })),
        401,
        'invalid_session_token',
      );
      expectError(
        await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${tokens.session_token}`),
        401,
        'invalid_session_token',
      );
      await expect(anon.verifySessionToken(tokens.session_token)).rejects.toMatchObject({ code: 'invalid_session_token' });

      // Access tokens are self-contained; a resource server that asks for revocation refuses them.
      await expect(anon.verifyAccessToken(tokens.access_token, { audience: AUDIENCE })).resolves.toMatchObject({ sub: expect.any(String) });
      await expect(
        anon.verifyAccessToken(tokens.access_token, { audience: AUDIENCE, checkRevocation: true }),
      ).rejects.toMatchObject({ code: 'invalid_token', status: 401 });
    });

    it('ends only that session', async () => {
      const { app } = await quickStart();
      const ended = await create(app);
      const other = await create(app);
      expect((await request(app).post(LOGOUT_PATH).send({ client_id: CLIENT_ID, session_token: ended.session_token })).status).toBe(204);
      expect((await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${other.session_token}`)).status).toBe(200);
    });

    it('also ends every later token of the same session', async () => {
      const { app } = await quickStart();
      const first = await create(app);
      const second = await create(app, { session_token: first.session_token });
      expect((await request(app).post(LOGOUT_PATH).send({ client_id: CLIENT_ID, session_token: first.session_token })).status).toBe(204);
      expectError(
        await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: second.session_token })),
        401,
        'invalid_session_token',
      );
    });

    it('takes the session from the cookie; the dead cookie then starts a new session', async () => {
      const { app, anon } = await quickStart();
      const agent = request.agent(app);
      const tokens = expectTokens(await agent.post(TOKEN_PATH).send(tokenRequest()));
      const before = await anon.verifySessionToken(tokens.session_token);

      const res = await agent.post(LOGOUT_PATH).send({ client_id: CLIENT_ID });
      expect(res.status).toBe(204);
      expectCleared(sessionSetCookie(res));

      // The browser dropped the cookie; a stale copy of it is refused by /session and cleared again…
      const stale = await request(app).get(SESSION_PATH).set('Cookie', `anon=${tokens.session_token}`);
      expectError(stale, 401, 'invalid_session_token');
      expectCleared(sessionSetCookie(stale));

      // …and on the token endpoint it starts a fresh session rather than failing.
      const fresh = expectTokens(
        await request(app).post(TOKEN_PATH).set('Cookie', `anon=${tokens.session_token}`).send(tokenRequest()),
      );
      const after = await anon.verifySessionToken(fresh.session_token);
      expect(after.session_id).not.toBe(before.session_id);
      expect(after.user_id).not.toBe(before.user_id);
    });

    it('accepts a form body', async () => {
      const { app } = await quickStart();
      const tokens = await create(app);
      const form = new URLSearchParams({ client_id: CLIENT_ID, session_token: tokens.session_token });
      expect((await request(app).post(LOGOUT_PATH).type('form').send(form.toString())).status).toBe(204);
      expectError(await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${tokens.session_token}`), 401, 'invalid_session_token');
    });

    it('is idempotent', async () => {
      const { app } = await quickStart();
      const tokens = await create(app);
      const body = { client_id: CLIENT_ID, session_token: tokens.session_token };
      expect((await request(app).post(LOGOUT_PATH).send(body)).status).toBe(204);
      expect((await request(app).post(LOGOUT_PATH).send(body)).status).toBe(204);
    });

    it('sets no cookie when cookies are off', async () => {
      const { app } = await quickStart({ router: { cookie: false } });
      const tokens = await create(app);
      const res = await request(app).post(LOGOUT_PATH).send({ client_id: CLIENT_ID, session_token: tokens.session_token });
      expect(res.status).toBe(204);
      expect(setCookies(res)).toEqual([]);
    });
  });

  describe('GET /anonymous/session', () => {
    it('returns the session from the cookie and from a Bearer header', async () => {
      const { app, anon } = await quickStart();
      const tokens = await create(app, { metadata: { language: 'en' } });
      const expected = await anon.verifySessionToken(tokens.session_token);

      const fromCookie = await request(app).get(SESSION_PATH).set('Cookie', `anon=${tokens.session_token}`);
      expect(fromCookie.status).toBe(200);
      expect(fromCookie.headers['cache-control']).toBe('no-store');
      expect(fromCookie.body).toEqual({
        user_id: expected.user_id,
        session_id: expected.session_id,
        created_at: expected.created_at,
        expires_at: expected.expires_at,
        metadata: { language: 'en' },
      });
      expect(fromCookie.text).not.toContain(tokens.session_token);

      const fromBearer = await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${tokens.session_token}`);
      expect(fromBearer.status).toBe(200);
      expect(fromBearer.body).toEqual(fromCookie.body);
      expect(setCookies(fromBearer)).toEqual([]);
    });

    it('prefers the Authorization header over the cookie', async () => {
      const { app, anon } = await quickStart();
      const a = await create(app);
      const b = await create(app);
      const res = await request(app)
        .get(SESSION_PATH)
        .set('Cookie', `anon=${a.session_token}`)
        .set('Authorization', `Bearer ${b.session_token}`);
      expect(res.status).toBe(200);
      expect((res.body as { session_id: string }).session_id).toBe((await anon.verifySessionToken(b.session_token)).session_id);
    });

    it('answers 401 invalid_session_token without a token', async () => {
      const { app } = await quickStart();
      const res = await request(app).get(SESSION_PATH);
      expectError(res, 401, 'invalid_session_token');
      expect(setCookies(res)).toEqual([]);
      expectError(await request(app).get(SESSION_PATH).set('Authorization', 'Basic dXNlcjpwYXNz'), 401, 'invalid_session_token');
      expectError(await request(app).get(SESSION_PATH).set('Cookie', 'other=1'), 401, 'invalid_session_token');
    });

    it('ignores the cookie when cookies are off', async () => {
      const { app } = await quickStart({ router: { cookie: false } });
      const tokens = await create(app);
      expectError(await request(app).get(SESSION_PATH).set('Cookie', `anon=${tokens.session_token}`), 401, 'invalid_session_token');
      expect((await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${tokens.session_token}`)).status).toBe(200);
    });
  });

}
