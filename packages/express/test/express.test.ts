/**
 * What only Express has: the router is an Express `Router`, and the app's host for the same-origin
 * check follows Express's `trust proxy` function peer by peer. Everything both frameworks share is
 * in the contract suite (test/contract); Express 4 is in test/express4.test.ts.
 */
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { anonymousTokenRouter, getAuth, isAnonymous, requireAnonymousOrUser, requireUser } from '@anonymous-sessions/express';
import { AUDIENCE, CLIENT_ID, expectError, expectTokens, quickStart, TOKEN_PATH, tokenRequest } from './helpers.js';

describe('Express specifics', () => {
  it('anonymousTokenRouter returns an Express Router', async () => {
    const { anon } = await quickStart();
    expect(anonymousTokenRouter(anon)).toBeInstanceOf(express.Router);
  });

  it('honours X-Forwarded-Host only from a peer the trust proxy setting trusts', async () => {
    const viaProxy = (app: express.Express, token: string) =>
      request(app)
        .post(TOKEN_PATH)
        .set('Host', 'internal.local:3000')
        .set('X-Forwarded-Host', 'shop.test, internal.local')
        .set('X-Forwarded-Proto', 'https, http')
        .set('Origin', 'https://shop.test')
        .set('Cookie', `anon=${token}`)
        .send({ client_id: CLIENT_ID });

    // supertest connects from loopback: trusting only another address ignores the header…
    const elsewhere = await quickStart({ before: (app) => app.set('trust proxy', '10.0.0.1') });
    const token = expectTokens(await request(elsewhere.app).post(TOKEN_PATH).send(tokenRequest())).session_token;
    expectError(await viaProxy(elsewhere.app, token), 403, 'access_denied');

    // …trusting loopback takes its first value.
    const loopback = await quickStart({ before: (app) => app.set('trust proxy', 'loopback') });
    expectTokens(await viaProxy(loopback.app, token));
  });

  it('getAuth reads the guard’s result in full; a req.auth some other middleware set is not taken for ours', async () => {
    const { app } = await quickStart({
      routes: (host, anon) => {
        const guard = requireAnonymousOrUser({ anonymous: anon, audience: AUDIENCE });
        host.get('/ours', guard, (req, res) => {
          const auth = getAuth(req);
          res.json({ isAnonymous: auth?.isAnonymous, sub: auth?.payload.sub, typ: auth?.header.typ, guest: isAnonymous(req) });
        });
        // express-oauth2-jwt-bearer's shape: token, header, payload, no isAnonymous.
        host.get(
          '/theirs',
          (req, _res, next) => {
            req.auth = { token: 't', header: { alg: 'RS256' }, payload: { sub: 'auth0|x' } };
            next();
          },
          (req, res) => res.json({ found: getAuth(req) !== undefined, guest: isAnonymous(req) }),
        );
        host.get('/none', (req, res) => res.json({ found: getAuth(req) !== undefined }));
        // requireUser after a foreign req.auth behaves as before (the token is not a guest's).
        host.get(
          '/theirs-user',
          (req, _res, next) => {
            req.auth = { token: 't', header: { alg: 'RS256' }, payload: { sub: 'auth0|x' } };
            next();
          },
          requireUser(),
          (_req, res) => res.json({ ok: true }),
        );
      },
    });
    const tokens = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest()));
    const ours = await request(app).get('/ours').set('Authorization', `Bearer ${tokens.access_token}`);
    expect(ours.status).toBe(200);
    expect(ours.body).toMatchObject({ isAnonymous: true, typ: 'at+jwt', guest: true });
    expect(typeof ours.body.sub).toBe('string');
    expect((await request(app).get('/theirs')).body).toEqual({ found: false, guest: false });
    expect((await request(app).get('/none')).body).toEqual({ found: false });
    expect((await request(app).get('/theirs-user')).body).toEqual({ ok: true });
  });

  it('requireUser challenges with the realm of the last guard the request went through (the default one included)', async () => {
    const { app } = await quickStart({
      routes: (host, anon) => {
        const shop = requireAnonymousOrUser({ anonymous: anon, audience: AUDIENCE, realm: 'shop' });
        const plain = requireAnonymousOrUser({ anonymous: anon, audience: AUDIENCE });
        host.get('/shop', shop, requireUser(), (_req, res) => res.json({ ok: true }));
        host.get('/plain', plain, requireUser(), (_req, res) => res.json({ ok: true }));
        host.get('/both', shop, plain, requireUser(), (_req, res) => res.json({ ok: true }));
      },
    });
    const { access_token } = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest()));
    const realmOf = async (path: string) => (await request(app).get(path).set('Authorization', `Bearer ${access_token}`)).headers['www-authenticate'];
    expect(await realmOf('/shop')).toMatch(/^Bearer realm="shop"/);
    expect(await realmOf('/plain')).toMatch(/^Bearer realm="api"/);
    expect(await realmOf('/both')).toMatch(/^Bearer realm="api"/);
  });
});
