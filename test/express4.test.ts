/**
 * The Express binding on Express 4. `express` is mocked to the `express4` alias for this file's
 * whole module graph, so the binding's own `Router` and the helpers' `express()` are Express 4's.
 */
import express from 'express';
import express4 from 'express4';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { anonCookieExtractor, anonymousTokenRouter } from '@anonymous-sessions/express';
import {
  advanceDate,
  CLIENT_ID,
  expectError,
  expectTokens,
  freezeDate,
  LOGOUT_PATH,
  parseSetCookie,
  quickStart,
  SESSION_PATH,
  sessionSetCookie,
  setCookies,
  TOKEN_PATH,
  tokenRequest,
} from '../packages/express/test/helpers.js';

vi.mock('express', async () => {
  const { default: v4 } = await import('express4');
  return { default: v4, Router: v4.Router, json: v4.json, urlencoded: v4.urlencoded };
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Express 4', () => {
  it('is really Express 4 underneath the binding', async () => {
    expect(express).toBe(express4);
    expect(typeof (express4 as unknown as { query?: unknown }).query).toBe('function'); // removed in Express 5
    const { anon } = await quickStart();
    expect(Object.getPrototypeOf(anonymousTokenRouter(anon))).toBe(express4.Router);
  });

  it('runs the quick start: create with scope "anon", continue with metadata', async () => {
    const { app, anon } = await quickStart();
    const first = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest({ scope: 'anon' })));
    expect(first.scope).toBe('anon');
    const created = await anon.verifySessionToken(first.session_token);

    const second = expectTokens(
      await request(app)
        .post(TOKEN_PATH)
        .send(tokenRequest({ session_token: first.session_token, metadata: { language: 'en', country: 'US' } })),
    );
    expect(await anon.verifySessionToken(second.session_token)).toEqual({
      ...created,
      metadata: { language: 'en', country: 'US' },
    });
    const viaHttp = await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${second.session_token}`);
    expect(viaHttp.status).toBe(200);
    expect(viaHttp.body).toMatchObject({ user_id: created.user_id, metadata: { language: 'en', country: 'US' } });
  });

  it('sets, reads and clears the cookie', async () => {
    freezeDate('2030-01-01T00:00:00.000Z');
    const { app } = await quickStart({ engine: { sessionLifetime: 3600 } });
    const agent = request.agent(app);
    const created = await agent.post(TOKEN_PATH).send(tokenRequest());
    const body = expectTokens(created);
    expect(parseSetCookie(sessionSetCookie(created)).attributes).toEqual({
      'max-age': '3600',
      path: '/',
      httponly: true,
      samesite: 'Lax',
    });
    advanceDate(600);
    const continued = await agent.post(TOKEN_PATH).send(tokenRequest());
    expectTokens(continued);
    expect(parseSetCookie(sessionSetCookie(continued)).attributes['max-age']).toBe('3000');

    expect((await agent.get(SESSION_PATH)).status).toBe(200);
    const logout = await agent.post(LOGOUT_PATH).send({ client_id: CLIENT_ID });
    expect(logout.status).toBe(204);
    expect(parseSetCookie(sessionSetCookie(logout)).value).toBe('');
    expectError(
      await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: body.session_token })),
      401,
      'invalid_session_token',
    );
  });

  it('reads form bodies, and bodies a host express.json() / express.urlencoded() already parsed', async () => {
    const plain = await quickStart();
    const form = new URLSearchParams({ client_id: CLIENT_ID, metadata: '{"a":1}' }).toString();
    const viaForm = expectTokens(await request(plain.app).post(TOKEN_PATH).type('form').send(form));
    expect((await plain.anon.verifySessionToken(viaForm.session_token)).metadata).toEqual({ a: 1 });

    const parsed = await quickStart({
      before: (app) => {
        app.use(express.json());
        app.use(express.urlencoded({ extended: false }));
      },
    });
    const viaJson = expectTokens(await request(parsed.app).post(TOKEN_PATH).send(tokenRequest({ metadata: { b: 2 } })));
    expect((await parsed.anon.verifySessionToken(viaJson.session_token)).metadata).toEqual({ b: 2 });
    const viaParsedForm = expectTokens(await request(parsed.app).post(TOKEN_PATH).type('form').send(form));
    expect((await parsed.anon.verifySessionToken(viaParsedForm.session_token)).metadata).toEqual({ a: 1 });
    // The host parser's own 400 is the host's error: anonymousErrorHandler passes it on (issue 11,
    // item 6), and Express's final handler answers it with its status.
    const malformed = await request(parsed.app).post(TOKEN_PATH).set('Content-Type', 'application/json').send('{"client_id":');
    expect(malformed.status).toBe(400);
    expect(malformed.headers['content-type']).not.toMatch(/^application\/json/);
    // The router's 16 KiB cap holds even though the host parser (limit 100 KB) read the body.
    expectError(
      await request(parsed.app).post(TOKEN_PATH).send(tokenRequest({ padding: 'p'.repeat(17 * 1024) })),
      413,
      'invalid_request',
    );
  });

  it.each([
    ['malformed JSON', '{"client_id":', 400, 'invalid_request'],
    ['a JSON array', '[]', 400, 'invalid_request'],
    ['an unknown client', '{"client_id":"nobody"}', 401, 'invalid_client'],
    ['an unknown audience', '{"client_id":"shop-web","audience":"https://nope.example"}', 400, 'invalid_target'],
    ['a scope outside the anonymous scopes', '{"client_id":"shop-web","scope":"admin"}', 400, 'invalid_scope'],
    ['forbidden metadata keys', '{"client_id":"shop-web","metadata":{"__proto__":{}}}', 400, 'invalid_metadata'],
    ['a forged session token', '{"client_id":"shop-web","session_token":"forged"}', 401, 'invalid_session_token'],
  ])('error row: %s', async (_name, body, status, code) => {
    const { app } = await quickStart();
    expectError(await request(app).post(TOKEN_PATH).set('Content-Type', 'application/json').send(body), status, code);
  });

  it('error row: a body over 16 KiB', async () => {
    const { app } = await quickStart();
    expectError(
      await request(app).post(TOKEN_PATH).send(tokenRequest({ metadata: { blob: 'x'.repeat(17_000) } })),
      413,
      'invalid_request',
    );
  });

  it('error row: too_many_requests keys on req.ip', async () => {
    const { app } = await quickStart({ engine: { rateLimit: { createPerMinute: 1 } } });
    expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest()));
    const res = await request(app).post(TOKEN_PATH).send(tokenRequest());
    expectError(res, 429, 'too_many_requests');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('error row: server_error from a throwing resolver', async () => {
    const { app, logger } = await quickStart({
      engine: {
        clients: () => {
          throw new Error('boom');
        },
      },
    });
    const res = await request(app).post(TOKEN_PATH).send(tokenRequest());
    expectError(res, 500, 'server_error');
    expect(res.text).not.toContain('boom');
    expect(logger.error).toHaveBeenCalled();
  });

  it('answers CORS preflights and refuses cross-site cookie requests', async () => {
    const shop = 'https://shop.example.com';
    const { app } = await quickStart({
      engine: { clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true, allowedOrigins: [shop] }] },
    });
    const preflight = await request(app).options(TOKEN_PATH).set('Origin', shop).set('Access-Control-Request-Method', 'POST');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(shop);

    const tokens = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest()));
    expectError(
      await request(app).post(TOKEN_PATH).set('Origin', 'https://evil.example').set('Cookie', `anon=${tokens.session_token}`).send(tokenRequest()),
      403,
      'access_denied',
    );
  });

  it('anonCookieExtractor reads the cookie and moves a query token into it on a redirect', async () => {
    const { app } = await quickStart({
      routes: (host, anon) => {
        host.get('/login', anonCookieExtractor(anon, { cookie: { secure: false } }), (req, res) => {
          res.json({ user_id: req.anonymousSession?.user_id ?? null });
        });
      },
    });
    const tokens = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest()));
    const fromCookie = await request(app).get('/login').set('Cookie', `anon=${tokens.session_token}`);
    expect(fromCookie.body).toEqual({ user_id: expect.stringMatching(/^anon\|/) });
    expect(setCookies(fromCookie)).toEqual([]);

    // A query token is moved into the cookie on a redirect to the URL without it.
    const fromQuery = await request(app).get('/login?next=%2Fcart').query({ anonymous_session_token: tokens.session_token });
    expect(fromQuery.status).toBe(303);
    expect(fromQuery.headers.location).toBe('/login?next=%2Fcart');
    expect(fromQuery.headers['referrer-policy']).toBe('no-referrer');
    expect(parseSetCookie(sessionSetCookie(fromQuery)).value).toBe(tokens.session_token);

    expect((await request(app).get('/login').set('Cookie', 'anon=garbage')).body).toEqual({ user_id: null });
  });
});
