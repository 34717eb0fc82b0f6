/**
 * What only Express has: the router is an Express `Router`, and the app's host for the same-origin
 * check follows Express's `trust proxy` function peer by peer. Everything both frameworks share is
 * in the contract suite (test/contract); Express 4 is in test/express4.test.ts.
 */
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { anonymousTokenRouter } from '@anonymous-sessions/express';
import { CLIENT_ID, expectError, expectTokens, quickStart, TOKEN_PATH, tokenRequest } from './helpers.js';

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
});
