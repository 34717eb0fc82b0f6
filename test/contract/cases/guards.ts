/**
 * `requireAnonymousOrUser`, `requireUser`, `requireScopes`, `isAnonymous` (docs/wire-contract.md, RFC 6750,
 * RFC 9470) against two independently keyed issuers, each serving its JWKS over HTTP on loopback:
 * our anonymous issuer (the token router on a real port) and the host's identity provider (a real
 * `oidc-provider` issuing JWT access tokens through the client-credentials grant).
 *
 * Every error is checked with its status, its exact `WWW-Authenticate` challenge and a JSON body
 * `{ error, error_description }` that leaks nothing.
 */
import { createServer, type RequestListener } from 'node:http';
import { createRemoteJWKSet, decodeJwt, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWTHeaderParameters } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  createAnonymousSessions,
  generateKeySet,
  memoryStore,
  type SessionStore,
} from '@anonymous-sessions/core';
import { type CounterState } from '@anonymous-sessions/core/http';
import { advanceDate, AUDIENCE, CLIENT_ID, expectError, freezeDate, silentLogger } from '../assertions.js';
import {
  hs256WithPublicKey,
  IDP_IMPOSTOR_CLIENT,
  startFaultyIssuer,
  type FaultMode,
  type FaultyDocument,
  type FaultyIssuer,
  OTHER_AUDIENCE,
  publicPart,
  signRs256,
  startAnonymousIssuer,
  startUserIdentityProvider,
  unsecuredToken,
  USER_SCOPES,
  type AnonymousIssuer,
  type UserIdentityProvider,
} from '../guard-helpers.js';
import { BINDINGS, buildApp, type ContractAppOptions, type EchoBody as Echo, type Framework, type GuardDescription } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function guardCases(framework: Framework): void {
  const { requireAnonymousOrUser } = BINDINGS[framework];

  const MISSING = 'Bearer realm="api"';
  const challenge = (error: string, description: string, extra = ''): string =>
    `Bearer realm="api", error="${error}", error_description="${description}"${extra}`;
  const INVALID = challenge('invalid_token', 'The access token is invalid.');
  const EXPIRED = challenge('invalid_token', 'The access token expired.');
  const MALFORMED = challenge('invalid_token', 'The access token is malformed.');
  const TWO_PLACES = challenge('invalid_request', 'The access token was sent in more than one place.');
  const BAD_HEADER = challenge('invalid_request', 'The Authorization header is malformed.');
  const NOT_A_USER = challenge('insufficient_user_authentication', 'A signed-in user is required.');
  const SESSION_ENDED = challenge('invalid_token', 'The session behind this access token has ended.');

  let idp: UserIdentityProvider;
  let anonymousIssuer: AnonymousIssuer;
  let api: RequestListener;
  let guestAccessToken: string;
  let userAccessToken: string;

  /**
   * The contract app with only its guarded routes: `GET /api` (and POST with a form body) behind the
   * guard, `/api/user` adding `requireUser()`, `/api/scoped` adding `requireScopes(...scopes)`.
   */
  const guardedApp = async (guard: GuardDescription, options: ContractAppOptions = {}): Promise<RequestListener> =>
    (await buildApp(framework, { anon: anonymousIssuer.anon, router: false, guard, ...options })).app;

  /** Asserts an RFC 6750 error: status, exact challenge, `{ error, error_description }` body, no leak. */
  function expectChallenge(res: request.Response, status: number, code: string, wwwAuthenticate: string): void {
    expectError(res, status, code);
    expect(res.headers['www-authenticate']).toBe(wwwAuthenticate);
  }

  /** GET /api on `app` with `Authorization: Bearer <token>`. */
  const callWith = (app: RequestListener, token: string, path = '/api'): request.Test => request(app).get(path).set('Authorization', `Bearer ${token}`);

  beforeAll(async () => {
    [idp, anonymousIssuer] = await Promise.all([startUserIdentityProvider(), startAnonymousIssuer()]);
    api = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE, user: { issuerBaseURL: idp.issuer } });
    guestAccessToken = (await anonymousIssuer.guestTokens()).access_token;
    userAccessToken = await idp.clientCredentialsToken();
  });

  afterAll(async () => {
    await Promise.all([idp?.close(), anonymousIssuer?.close()]);
  });

  describe('two independently keyed issuers', () => {
    it('serve different keys over HTTP, and the identity provider issues RFC 9068 JWT access tokens', async () => {
      const [anonKeys, idpKeys] = await Promise.all(
        [anonymousIssuer.jwksUri, idp.jwksUri].map(async (url) => ((await (await fetch(url)).json()) as { keys: { kid: string; n: string }[] }).keys),
      );
      expect(anonKeys!.map((key) => key.kid)).toEqual([anonymousIssuer.kid]);
      expect(idpKeys!.map((key) => key.kid)).toEqual([idp.kid]);
      expect(anonKeys![0]!.n).not.toBe(idpKeys![0]!.n);
      expect(decodeJwt(userAccessToken)).toMatchObject({ iss: idp.issuer, aud: AUDIENCE, scope: USER_SCOPES });
    });
  });

  describe('accepted tokens', () => {
    it('a guest access token from our engine: req.auth is the guest, isAnonymous true', async () => {
      const res = await callWith(api, guestAccessToken);
      expect(res.status, res.text).toBe(200);
      const body = res.body as Echo;
      expect(body.guest).toBe(true);
      expect(body.auth).toEqual({
        token: guestAccessToken,
        header: { alg: 'RS256', typ: 'at+jwt', kid: anonymousIssuer.kid },
        payload: expect.objectContaining({
          iss: anonymousIssuer.issuer,
          aud: AUDIENCE,
          sub: expect.stringMatching(/^anon\|/),
          sid: expect.stringMatching(/^sess_/),
          client_id: CLIENT_ID,
          scope: 'anon read:products write:cart',
        }),
        isAnonymous: true,
      });
    });

    it('a user token from the identity provider, found by discovery ({ issuerBaseURL }): isAnonymous false', async () => {
      const res = await callWith(api, userAccessToken);
      expect(res.status, res.text).toBe(200);
      const body = res.body as Echo;
      expect(body.guest).toBe(false);
      expect(body.auth).toEqual({
        token: userAccessToken,
        header: { alg: 'RS256', typ: 'at+jwt', kid: idp.kid },
        payload: expect.objectContaining({ iss: idp.issuer, aud: AUDIENCE, scope: USER_SCOPES }),
        isAnonymous: false,
      });
    });

    it('the Bearer scheme is case-insensitive (RFC 7235)', async () => {
      const res = await request(api).get('/api').set('Authorization', `bearer ${guestAccessToken}`);
      expect(res.status, res.text).toBe(200);
    });

    it('a token in the query (?access_token=) or a form body alone is accepted (RFC 6750 §2.2, §2.3)', async () => {
      const fromQuery = await request(api).get('/api').query({ access_token: guestAccessToken });
      expect(fromQuery.status, fromQuery.text).toBe(200);
      expect((fromQuery.body as Echo).guest).toBe(true);
      const fromBody = await request(api).post('/api').type('form').send({ access_token: userAccessToken });
      expect(fromBody.status, fromBody.text).toBe(200);
      expect((fromBody.body as Echo).guest).toBe(false);
    });

    it('a user token whose sub starts with "anon|" is a user, not a guest: the issuer decides', async () => {
      const impostor = await idp.clientCredentialsToken({ client: IDP_IMPOSTOR_CLIENT });
      expect(decodeJwt(impostor).sub).toBe('anon|impostor-client');
      const res = await callWith(api, impostor);
      expect(res.status, res.text).toBe(200);
      expect((res.body as Echo).guest).toBe(false);
      expect((res.body as Echo).auth.isAnonymous).toBe(false);

      expect((await callWith(api, impostor, '/api/user')).status).toBe(200);
    });

    it('a user token through a custom verify(token); guest tokens never reach it', async () => {
      const verify = vi.fn(async (token: string) => {
        const claims = decodeJwt(token);
        if (claims.iss !== idp.issuer) throw new Error('not ours');
        return (await jwtVerify(token, createRemoteJWKSet(new URL(idp.jwksUri)), { issuer: idp.issuer, audience: AUDIENCE })).payload;
      });
      const app = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE, user: { verify } });

      const user = await callWith(app, userAccessToken);
      expect(user.status, user.text).toBe(200);
      expect((user.body as Echo).auth).toMatchObject({ isAnonymous: false, payload: { iss: idp.issuer }, header: { kid: idp.kid } });
      expect(verify).toHaveBeenCalledWith(userAccessToken);

      const guest = await callWith(app, guestAccessToken);
      expect((guest.body as Echo).guest).toBe(true);
      expect(verify).toHaveBeenCalledTimes(1);

      // A token the host's verifier throws on is a 401 invalid_token, not a 500.
      const refused = await callWith(app, await idp.sign({ iss: idp.issuer, aud: OTHER_AUDIENCE, sub: 'u1', exp: Math.floor(Date.now() / 1000) + 60 }));
      expectChallenge(refused, 401, 'invalid_token', INVALID);
    });

    it('a remote anonymous issuer ({ issuer, jwksUri }) verifies guest tokens over its HTTP JWKS', async () => {
      const remote = await guardedApp({
        anonymous: { issuer: anonymousIssuer.issuer, jwksUri: anonymousIssuer.jwksUri },
        audience: AUDIENCE,
        user: { issuerBaseURL: idp.issuer },
      });
      const guest = await callWith(remote, guestAccessToken);
      expect(guest.status, guest.text).toBe(200);
      expect((guest.body as Echo).auth).toMatchObject({ isAnonymous: true, payload: { iss: anonymousIssuer.issuer }, token: guestAccessToken });
      const user = await callWith(remote, userAccessToken);
      expect((user.body as Echo).guest).toBe(false);

      // The remote issuer's keys are not the IdP's: an IdP-signed token claiming the anonymous issuer fails.
      const forged = await idp.sign({ iss: anonymousIssuer.issuer, aud: AUDIENCE, sub: 'anon|forged-guest', sid: 'sess_x', exp: Math.floor(Date.now() / 1000) + 60 });
      expectChallenge(await callWith(remote, forged), 401, 'invalid_token', INVALID);
      // A remote guest token for another API is refused.
      const other = (await anonymousIssuer.guestTokens({ audience: OTHER_AUDIENCE })).access_token;
      expectChallenge(await callWith(remote, other), 401, 'invalid_token', INVALID);
    });

    it('without `user`, only guests get in: a valid user token is 401', async () => {
      const guestsOnly = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE });
      expect((await callWith(guestsOnly, guestAccessToken)).status).toBe(200);
      expectChallenge(await callWith(guestsOnly, userAccessToken), 401, 'invalid_token', INVALID);
    });
  });

  describe('RFC 6750 / RFC 9470 errors, with the exact WWW-Authenticate', () => {
    it('no token: 401 with only the realm (no error code in the challenge)', async () => {
      expectChallenge(await request(api).get('/api'), 401, 'invalid_token', MISSING);
    });

    it('another scheme (Basic) is no bearer token at all: 401 with only the realm', async () => {
      expectChallenge(await request(api).get('/api').set('Authorization', 'Basic dXNlcjpwYXNz'), 401, 'invalid_token', MISSING);
    });

    it('the realm is configurable and used by every challenge, including requireUser and requireScopes', async () => {
      const app = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE, realm: 'shop' }, { scopes: ['read:orders'] });
      expectChallenge(await request(app).get('/api/user'), 401, 'invalid_token', 'Bearer realm="shop"');
      expectChallenge(
        await callWith(app, guestAccessToken, '/api/user'),
        403,
        'insufficient_user_authentication',
        'Bearer realm="shop", error="insufficient_user_authentication", error_description="A signed-in user is required."',
      );
      expectChallenge(
        await callWith(app, guestAccessToken, '/api/scoped'),
        403,
        'insufficient_scope',
        'Bearer realm="shop", error="insufficient_scope", error_description="Missing scope: read:orders.", scope="read:orders"',
      );
    });

    it('a token that is not a JWT: 401 invalid_token', async () => {
      expectChallenge(await callWith(api, 'not-a-jwt'), 401, 'invalid_token', MALFORMED);
      expectChallenge(await callWith(api, 'abc.def.ghi'), 401, 'invalid_token', MALFORMED);
    });

    it('a tampered signature: 401 invalid_token, for either issuer', async () => {
      for (const token of [guestAccessToken, userAccessToken]) {
        const [header, payload, signature] = token.split('.') as [string, string, string];
        const flipped = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
        expectChallenge(await callWith(api, flipped), 401, 'invalid_token', INVALID);
      }
    });

    it('a token in two places (header and ?access_token=): 400 invalid_request', async () => {
      const res = await request(api).get('/api').query({ access_token: guestAccessToken }).set('Authorization', `Bearer ${guestAccessToken}`);
      expectChallenge(res, 400, 'invalid_request', TWO_PLACES);
    });

    it('a token repeated in the query (?access_token=a&access_token=b): 400 invalid_request', async () => {
      const res = await request(api).get(`/api?access_token=${guestAccessToken}&access_token=${guestAccessToken}`);
      expectChallenge(
        res,
        400,
        'invalid_request',
        challenge('invalid_request', 'The access token was sent more than once.'),
      );
    });

    it('an identity provider that cannot be reached: 503 temporarily_unavailable, not a 401 that logs users out', async () => {
      const closed = await new Promise<number>((resolve) => {
        const probe = createServer().listen(0, '127.0.0.1', () => {
          const { port } = probe.address() as { port: number };
          probe.close(() => resolve(port));
        });
      });
      const unreachable = `http://127.0.0.1:${closed}/`;
      const app = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE, user: { issuerBaseURL: unreachable }, timeoutDuration: 500 });
      const forged = await new SignJWT({ scope: USER_SCOPES })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(unreachable)
        .setAudience(AUDIENCE)
        .setSubject('user-1')
        .setExpirationTime('5m')
        .sign((await generateKeyPair('ES256')).privateKey);
      const res = await callWith(app, forged);
      expectError(res, 503, 'temporarily_unavailable');
      // guests are unaffected by the identity provider's outage
      expect((await callWith(app, guestAccessToken)).status).toBe(200);
    });

    it('a token in two places (header and form body, or query and body): 400 invalid_request', async () => {
      const headerAndBody = await request(api)
        .post('/api')
        .set('Authorization', `Bearer ${guestAccessToken}`)
        .type('form')
        .send({ access_token: guestAccessToken });
      expectChallenge(headerAndBody, 400, 'invalid_request', TWO_PLACES);
      const queryAndBody = await request(api).post('/api').query({ access_token: guestAccessToken }).type('form').send({ access_token: guestAccessToken });
      expectChallenge(queryAndBody, 400, 'invalid_request', TWO_PLACES);
    });

    it.each([
      ['Bearer'],
      ['Bearer '],
      ['Bearer two tokens'],
      ['Bearer tok$en'],
      ['Bearer "quoted"'],
    ])('a malformed Authorization header %j: 400 invalid_request', async (authorization) => {
      expectChallenge(await request(api).get('/api').set('Authorization', authorization), 400, 'invalid_request', BAD_HEADER);
    });

    it('requireScopes: a token lacking a scope is 403 insufficient_scope, naming the scopes required', async () => {
      const orders = await guardedApp(
        { anonymous: anonymousIssuer.anon, audience: AUDIENCE, user: { issuerBaseURL: idp.issuer } },
        { scopes: ['read:products', 'read:orders'] },
      );
      expectChallenge(
        await callWith(orders, guestAccessToken, '/api/scoped'),
        403,
        'insufficient_scope',
        challenge('insufficient_scope', 'Missing scope: read:orders.', ', scope="read:products read:orders"'),
      );
      // The user's token has read:orders but not read:products.
      expectChallenge(
        await callWith(orders, userAccessToken, '/api/scoped'),
        403,
        'insufficient_scope',
        challenge('insufficient_scope', 'Missing scope: read:products.', ', scope="read:products read:orders"'),
      );
      const ordersOnly = await guardedApp(
        { anonymous: anonymousIssuer.anon, audience: AUDIENCE, user: { issuerBaseURL: idp.issuer } },
        { scopes: ['read:orders'] },
      );
      expect((await callWith(ordersOnly, userAccessToken, '/api/scoped')).status).toBe(200);
    });

    it('the guard’s own `scopes` option: 403 insufficient_scope for a token lacking one', async () => {
      const app = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE, scopes: ['write:cart'] });
      expect((await callWith(app, guestAccessToken)).status).toBe(200);
      const readOnly = (await anonymousIssuer.guestTokens({ scope: 'read:products' })).access_token;
      expectChallenge(
        await callWith(app, readOnly),
        403,
        'insufficient_scope',
        challenge('insufficient_scope', 'Missing scope: write:cart.', ', scope="write:cart"'),
      );
    });

    it('requireUser: a guest is 403 insufficient_user_authentication (RFC 9470); a user passes', async () => {
      expectChallenge(await callWith(api, guestAccessToken, '/api/user'), 403, 'insufficient_user_authentication', NOT_A_USER);
      const user = await callWith(api, userAccessToken, '/api/user');
      expect(user.status, user.text).toBe(200);
      expect((user.body as Echo).guest).toBe(false);
    });

    it('requireUser and requireScopes without a guard before them: 401 with the realm', async () => {
      const { app } = await buildApp(framework, { anon: anonymousIssuer.anon, router: false });
      expectChallenge(await request(app).get('/user'), 401, 'invalid_token', MISSING);
      expectChallenge(await request(app).get('/scoped'), 401, 'invalid_token', MISSING);
    });

    it('without the JSON error handler, the framework’s own error rendering (finalhandler, ctx.onerror) keeps status and challenge', async () => {
      const app = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE }, { errorHandler: false, hostErrorHandler: false });
      const missing = await request(app).get('/api');
      expect(missing.status).toBe(401);
      expect(missing.headers['www-authenticate']).toBe(MISSING);
      const forged = await callWith(app, 'abc.def.ghi');
      expect(forged.status).toBe(401);
      expect(forged.headers['www-authenticate']).toBe(MALFORMED);
      const twice = await request(app).get('/api').query({ access_token: guestAccessToken }).set('Authorization', `Bearer ${guestAccessToken}`);
      expect(twice.status).toBe(400);
      expect(twice.headers['www-authenticate']).toBe(TWO_PLACES);
      const guest = await callWith(app, guestAccessToken, '/api/user');
      expect(guest.status).toBe(403);
      expect(guest.headers['www-authenticate']).toBe(NOT_A_USER);
      const scoped = await callWith(app, guestAccessToken, '/api/admin');
      expect(scoped.status).toBe(403);
      expect(scoped.headers['www-authenticate']).toBe(challenge('insufficient_scope', 'Missing scope: admin.', ', scope="admin"'));
      // Unexpected errors stay a 500 there too, and a route that works is unaffected.
      expect((await request(app).get('/boom')).status).toBe(500);
      expect((await callWith(app, guestAccessToken)).status).toBe(200);
    });
  });

  describe('attacks replayed against the guard', () => {
    const now = (): number => Math.floor(Date.now() / 1000);
    const guestClaims = (): Record<string, unknown> => ({
      iss: anonymousIssuer.issuer,
      sub: 'anon|attacker-chosen-id',
      aud: AUDIENCE,
      iat: now(),
      exp: now() + 600,
      jti: 'forged-jti',
      client_id: CLIENT_ID,
      scope: 'anon read:products write:cart',
      sid: 'sess_forged',
    });
    const userClaims = (): Record<string, unknown> => ({
      iss: idp.issuer,
      sub: 'user-42',
      aud: AUDIENCE,
      iat: now(),
      exp: now() + 600,
      scope: USER_SCOPES,
      client_id: 'orders-service',
    });

    it('alg none, claiming either issuer (with a real kid)', async () => {
      expectChallenge(await callWith(api, unsecuredToken(guestClaims(), { kid: anonymousIssuer.kid })), 401, 'invalid_token', INVALID);
      expectChallenge(await callWith(api, unsecuredToken(userClaims(), { kid: idp.kid })), 401, 'invalid_token', INVALID);
    });

    it('HS256 keyed with the issuer’s own RSA public key (HS/RS confusion), for either issuer', async () => {
      const anonPublic = publicPart(anonymousIssuer.keys.keys.find((jwk) => jwk.use === 'sig')!);
      expectChallenge(await callWith(api, hs256WithPublicKey(anonPublic, guestClaims(), { kid: anonymousIssuer.kid })), 401, 'invalid_token', INVALID);
      expectChallenge(await callWith(api, hs256WithPublicKey(idp.publicJwk, userClaims(), { kid: idp.kid })), 401, 'invalid_token', INVALID);
    });

    it('cross-issuer key confusion: a token claiming our anonymous issuer but signed by the IdP’s key', async () => {
      // With the IdP's kid (a verifier pooling both key sets would find it) and with ours.
      expectChallenge(await callWith(api, await idp.sign(guestClaims())), 401, 'invalid_token', INVALID);
      expectChallenge(await callWith(api, await idp.sign(guestClaims(), { kid: anonymousIssuer.kid })), 401, 'invalid_token', INVALID);
    });

    it('cross-issuer key confusion: a token claiming the IdP but signed by our anonymous key', async () => {
      const byAnonKey = await signRs256(anonymousIssuer.signingKey, userClaims(), { kid: anonymousIssuer.kid });
      expectChallenge(await callWith(api, byAnonKey), 401, 'invalid_token', INVALID);
      const withIdpKid = await signRs256(anonymousIssuer.signingKey, userClaims(), { kid: idp.kid });
      expectChallenge(await callWith(api, withIdpKid), 401, 'invalid_token', INVALID);
      // Sanity: the same claims signed by the IdP's key pass, so the refusals above are about the key.
      expect((await callWith(api, await idp.sign(userClaims()))).status).toBe(200);
    });

    it('a third issuer nobody configured, with its own valid signature', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      const token = await signRs256(privateKey, { ...userClaims(), iss: 'https://evil.example/' }, { kid: 'evil' });
      expectChallenge(await callWith(api, token), 401, 'invalid_token', INVALID);
    });

    it('expired: a guest token past exp (+ clock tolerance) and a user token past exp', async () => {
      freezeDate(new Date().toISOString());
      const expiring = (await anonymousIssuer.guestTokens()).access_token;
      const exp = decodeJwt(expiring).exp!;
      const guestsOnly = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE });
      expect((await callWith(guestsOnly, expiring)).status).toBe(200);
      advanceDate(exp - now() + 16);
      expectChallenge(await callWith(guestsOnly, expiring), 401, 'invalid_token', EXPIRED);
      vi.useRealTimers();

      const expiredUser = await idp.sign({ ...userClaims(), iat: now() - 3600, exp: now() - 60 });
      expectChallenge(await callWith(api, expiredUser), 401, 'invalid_token', EXPIRED);
    });

    it('wrong audience: a guest token for another API, and a real IdP token for another resource', async () => {
      const otherGuest = (await anonymousIssuer.guestTokens({ audience: OTHER_AUDIENCE })).access_token;
      expectChallenge(await callWith(api, otherGuest), 401, 'invalid_token', INVALID);
      const otherUser = await idp.clientCredentialsToken({ resource: OTHER_AUDIENCE });
      expect(decodeJwt(otherUser).aud).toBe(OTHER_AUDIENCE);
      expectChallenge(await callWith(api, otherUser), 401, 'invalid_token', INVALID);
    });

    it('a session token presented as a Bearer access token (JWE, and the signed jwt format)', async () => {
      const { session_token } = await anonymousIssuer.guestTokens();
      expectChallenge(await callWith(api, session_token), 401, 'invalid_token', MALFORMED);

      const jwtFormat = await createAnonymousSessions({
        issuer: anonymousIssuer.issuer,
        keys: anonymousIssuer.keys,
        sessionTokenFormat: 'jwt',
        clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
        resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true }],
        rateLimit: false,
        logger: silentLogger(),
      });
      const signedSession = (await jwtFormat.issueToken({ client_id: CLIENT_ID, audience: AUDIENCE })).response.session_token;
      expect(decodeJwt(signedSession).iss).toBe(anonymousIssuer.issuer);
      expectChallenge(await callWith(api, signedSession), 401, 'invalid_token', INVALID);
      const jwtGuard = await guardedApp({ anonymous: jwtFormat, audience: AUDIENCE });
      expectChallenge(await callWith(jwtGuard, signedSession), 401, 'invalid_token', INVALID);
    });

    it('a login binding presented as an access token', async () => {
      const binding = await anonymousIssuer.anon.createLoginBinding('sess_whatever');
      expectChallenge(await callWith(api, binding), 401, 'invalid_token', INVALID);
    });

    it('an unknown kid, for our issuer (local and remote) and for the IdP', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      const remote = await guardedApp({ anonymous: { issuer: anonymousIssuer.issuer, jwksUri: anonymousIssuer.jwksUri }, audience: AUDIENCE });
      const unknownGuest = await signRs256(privateKey, guestClaims(), { kid: 'sig-unknown' });
      expectChallenge(await callWith(api, unknownGuest), 401, 'invalid_token', INVALID);
      expectChallenge(await callWith(remote, unknownGuest), 401, 'invalid_token', INVALID);
      expectChallenge(await callWith(api, await signRs256(privateKey, userClaims(), { kid: 'idp-unknown' })), 401, 'invalid_token', INVALID);
    });

    it('a key embedded in the header (jwk) is never used', async () => {
      const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
      const jwk = await exportJWK(publicKey);
      const guest = await new SignJWT(guestClaims()).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', jwk }).sign(privateKey);
      expectChallenge(await callWith(api, guest), 401, 'invalid_token', INVALID);
      const user = await new SignJWT(userClaims()).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', jwk }).sign(privateKey);
      expectChallenge(await callWith(api, user), 401, 'invalid_token', INVALID);
    });
  });

  describe('checkRevocation and the verified-token cache', () => {
    it('after POST /anonymous/logout the same access token is 401, although it was cached before', async () => {
      const anon = anonymousIssuer.anon;
      const app = await guardedApp({ anonymous: anon, audience: AUDIENCE, checkRevocation: true });
      const tokens = await anonymousIssuer.guestTokens();
      const verify = vi.spyOn(anon, 'verifyAccessToken');

      expect((await callWith(app, tokens.access_token)).status).toBe(200);
      expect((await callWith(app, tokens.access_token)).status).toBe(200);
      expect(verify).toHaveBeenCalledTimes(1); // the second call was served from the cache

      expect(await anonymousIssuer.logout(tokens.session_token)).toBe(204);
      expectChallenge(await callWith(app, tokens.access_token), 401, 'invalid_token', SESSION_ENDED);
      expectChallenge(await callWith(app, tokens.access_token), 401, 'invalid_token', SESSION_ENDED);

      // With checkRevocation: false an access token is stateless until its exp (documented opt-out).
      const plain = await guardedApp({ anonymous: anon, audience: AUDIENCE, checkRevocation: false });
      expect((await callWith(plain, tokens.access_token)).status).toBe(200);
      // Another guest's token is unaffected by that logout.
      expect((await callWith(app, (await anonymousIssuer.guestTokens()).access_token)).status).toBe(200);
    });

    it('checkRevocation fails closed with 503 when the store cannot answer', async () => {
      const keys = await generateKeySet();
      const working = memoryStore();
      const broken: SessionStore = {
        revokeSession: (id, at) => working.revokeSession(id, at),
        isSessionRevoked: () => Promise.reject(new Error('ECONNREFUSED')),
        markOnce: (key, at) => working.markOnce(key, at),
        increment: (key, window): Promise<CounterState> => working.increment(key, window),
      };
      const anon = await createAnonymousSessions({
        issuer: 'http://localhost:3000/',
        keys,
        clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
        resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true }],
        store: broken,
        rateLimit: false,
        logger: silentLogger(),
      });
      const token = (await anon.issueToken({ client_id: CLIENT_ID })).response.access_token;
      const res = await callWith(await guardedApp({ anonymous: anon, audience: AUDIENCE, checkRevocation: true }), token);
      expectError(res, 503, 'temporarily_unavailable');
      expect(res.headers['retry-after']).toBe('1');
    });

    it('the cache never serves a token past its exp', async () => {
      freezeDate('2030-01-01T00:00:00.000Z');
      const anon = await createAnonymousSessions({
        issuer: 'http://localhost:3000/',
        keys: anonymousIssuer.keys,
        clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
        resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, tokenLifetimeForAnonymousAccess: 60 }],
        clockTolerance: 0,
        rateLimit: false,
        logger: silentLogger(),
      });
      const token = (await anon.issueToken({ client_id: CLIENT_ID })).response.access_token;
      const verify = vi.spyOn(anon, 'verifyAccessToken');
      const app = await guardedApp({ anonymous: anon, audience: AUDIENCE });

      expect((await callWith(app, token)).status).toBe(200);
      advanceDate(59);
      expect((await callWith(app, token)).status).toBe(200);
      expect(verify).toHaveBeenCalledTimes(1);
      advanceDate(1); // now = exp
      expectChallenge(await callWith(app, token), 401, 'invalid_token', EXPIRED);
      expect(verify).toHaveBeenCalledTimes(2);
    });

    it('cache: false verifies every request', async () => {
      const anon = anonymousIssuer.anon;
      const app = await guardedApp({ anonymous: anon, audience: AUDIENCE, cache: false });
      const verify = vi.spyOn(anon, 'verifyAccessToken');
      for (let i = 0; i < 3; i += 1) expect((await callWith(app, guestAccessToken)).status).toBe(200);
      expect(verify).toHaveBeenCalledTimes(3);
    });

    it('the cache is bounded: the least recently used token is verified again', async () => {
      const anon = anonymousIssuer.anon;
      const app = await guardedApp({ anonymous: anon, audience: AUDIENCE, cache: { maxEntries: 1 } });
      const other = (await anonymousIssuer.guestTokens()).access_token;
      const verify = vi.spyOn(anon, 'verifyAccessToken');
      expect((await callWith(app, guestAccessToken)).status).toBe(200);
      expect((await callWith(app, guestAccessToken)).status).toBe(200);
      expect(verify).toHaveBeenCalledTimes(1);
      expect((await callWith(app, other)).status).toBe(200);
      expect((await callWith(app, guestAccessToken)).status).toBe(200);
      expect(verify).toHaveBeenCalledTimes(3);
    });

    it('each request gets its own auth result: a route mutating it cannot change what the cache serves next', async () => {
      const app = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE });
      expect((await callWith(app, guestAccessToken, '/api/escalate')).status).toBe(200);
      const admin = await callWith(app, guestAccessToken, '/api/admin');
      expect(admin.status).toBe(403);
      expect(admin.headers['www-authenticate']).toContain('error="insufficient_scope"');
      const again = await callWith(app, guestAccessToken);
      expect(again.status).toBe(200);
      expect((again.body as Echo).auth.payload.scope).toBe('anon read:products write:cart');
      expect((again.body as Echo).auth.header.kid).toBe(anonymousIssuer.kid);
    });

    it('a refused token is never cached: a fixed cache does not turn a 401 into a 200', async () => {
      const anon = anonymousIssuer.anon;
      const app = await guardedApp({ anonymous: anon, audience: AUDIENCE });
      const forged = unsecuredToken({ iss: anonymousIssuer.issuer, aud: AUDIENCE, sub: 'anon|x', exp: Math.floor(Date.now() / 1000) + 60 });
      expect((await callWith(app, forged)).status).toBe(401);
      expect((await callWith(app, forged)).status).toBe(401);
    });
  });

  describe('options are checked once, at start-up', () => {
    it('checkRevocation needs the local engine; an empty audience is refused', () => {
      expect(() =>
        requireAnonymousOrUser({ anonymous: { issuer: anonymousIssuer.issuer, jwksUri: anonymousIssuer.jwksUri }, audience: AUDIENCE, checkRevocation: true }),
      ).toThrow(ConfigError);
      expect(() => requireAnonymousOrUser({ anonymous: anonymousIssuer.anon, audience: '' })).toThrow(ConfigError);
      expect(() => requireAnonymousOrUser({ anonymous: anonymousIssuer.anon, audience: [] })).toThrow(ConfigError);
    });
  });

  describe('logout reaches access tokens by default (checkRevocation)', () => {
    it('with a local engine the store is asked by default: after logout the token is 401, although it was cached', async () => {
      const app = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE, user: { issuerBaseURL: idp.issuer } });
      const tokens = await anonymousIssuer.guestTokens();
      expect((await callWith(app, tokens.access_token)).status).toBe(200);
      expect((await callWith(app, tokens.access_token)).status).toBe(200);
      expect(await anonymousIssuer.logout(tokens.session_token)).toBe(204);
      expectChallenge(await callWith(app, tokens.access_token), 401, 'invalid_token', SESSION_ENDED);
      // Another guest, and a user, are unaffected.
      expect((await callWith(app, (await anonymousIssuer.guestTokens()).access_token)).status).toBe(200);
      expect((await callWith(app, userAccessToken)).status).toBe(200);
    });

    it('checkRevocation: false is the opt-out: the token then lives until its exp', async () => {
      const app = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE, checkRevocation: false });
      const tokens = await anonymousIssuer.guestTokens();
      expect(await anonymousIssuer.logout(tokens.session_token)).toBe(204);
      expect((await callWith(app, tokens.access_token)).status).toBe(200);
    });

    it('a remote guard given the issuer’s shared store ({ issuer, jwksUri, store }) refuses a logged-out session; without it the token lives until exp', async () => {
      const shared = memoryStore();
      const issuer = await startAnonymousIssuer({ store: shared });
      try {
        // The guard runs in "another service": it has the issuer's JWKS URL and the shared store, not the engine.
        const remote = await guardedApp({ anonymous: { issuer: issuer.issuer, jwksUri: issuer.jwksUri, store: shared }, audience: AUDIENCE });
        const storeless = await guardedApp({ anonymous: { issuer: issuer.issuer, jwksUri: issuer.jwksUri }, audience: AUDIENCE });
        const tokens = await issuer.guestTokens();
        const other = (await issuer.guestTokens()).access_token;
        expect((await callWith(remote, tokens.access_token)).status).toBe(200);
        expect((await callWith(storeless, tokens.access_token)).status).toBe(200);

        expect(await issuer.logout(tokens.session_token)).toBe(204);
        expectChallenge(await callWith(remote, tokens.access_token), 401, 'invalid_token', SESSION_ENDED);
        expectChallenge(await callWith(remote, tokens.access_token), 401, 'invalid_token', SESSION_ENDED);
        expect((await callWith(remote, other)).status).toBe(200);
        // Documented: without the store a remote guard cannot know; the token lives until its exp.
        expect((await callWith(storeless, tokens.access_token)).status).toBe(200);
      } finally {
        await issuer.close();
      }
    });

    it('a remote guard’s store that fails or hangs: 503 temporarily_unavailable, never a 200', async () => {
      const token = (await anonymousIssuer.guestTokens()).access_token;
      const working = memoryStore();
      const failing: SessionStore = { ...storeMethods(working), isSessionRevoked: () => Promise.reject(new Error('ECONNREFUSED')) };
      const hanging: SessionStore = { ...storeMethods(working), isSessionRevoked: () => new Promise<boolean>(() => undefined) };
      for (const store of [failing, hanging]) {
        const app = await guardedApp({
          anonymous: { issuer: anonymousIssuer.issuer, jwksUri: anonymousIssuer.jwksUri, store },
          audience: AUDIENCE,
          timeoutDuration: 300,
        });
        const res = await callWith(app, token);
        expectError(res, 503, 'temporarily_unavailable');
        expect(res.headers['retry-after']).toBe('1');
      }
    });

    it('options: the store must be a SessionStore, checkRevocation: true needs one, a misspelt key is refused by name', () => {
      const remote = { issuer: anonymousIssuer.issuer, jwksUri: anonymousIssuer.jwksUri };
      expect(() => requireAnonymousOrUser({ anonymous: { ...remote, store: {} as SessionStore }, audience: AUDIENCE })).toThrow(ConfigError);
      expect(() => requireAnonymousOrUser({ anonymous: remote, audience: AUDIENCE, checkRevocation: true })).toThrow(ConfigError);
      const misspelt = { ...remote, stor: memoryStore() } as unknown as typeof remote;
      expect(() => requireAnonymousOrUser({ anonymous: misspelt, audience: AUDIENCE })).toThrow(/anonymous\.stor\b/);
      const misspeltOption = { anonymous: anonymousIssuer.anon, audience: AUDIENCE, checkRevokation: false } as unknown as GuardDescription & { anonymous: typeof anonymousIssuer.anon };
      expect(() => requireAnonymousOrUser(misspeltOption)).toThrow(/checkRevokation/);
      expect(() => requireAnonymousOrUser({ anonymous: remote, audience: AUDIENCE, user: { issuerBaseURL: idp.issuer, allowIDTokens: true } as never })).toThrow(/user\.allowIDTokens/);
    });
  });

  describe('strict claims: our issuer’s tokens (local engine and remote issuer) and ID tokens from the identity provider', () => {
    const now = (): number => Math.floor(Date.now() / 1000);
    type Claims = Record<string, unknown>;
    const wellFormed = (): Claims => ({
      iss: anonymousIssuer.issuer,
      sub: 'anon|0f8fad5b-d9cb-469f-a165-70867728950e',
      aud: AUDIENCE,
      iat: now(),
      exp: now() + 600,
      jti: 'jti-strict-1',
      client_id: CLIENT_ID,
      scope: 'anon read:products',
      sid: 'sess_strictclaims0001',
    });
    /** Signed with our issuer's real key: only the claims can make it invalid. */
    const signed = (claims: Claims): Promise<string> => signRs256(anonymousIssuer.signingKey, claims, { kid: anonymousIssuer.kid });
    const without = (name: string) => (claims: Claims): Claims => Object.fromEntries(Object.entries(claims).filter(([key]) => key !== name));
    let remote: RequestListener;
    beforeAll(async () => {
      remote = await guardedApp({ anonymous: { issuer: anonymousIssuer.issuer, jwksUri: anonymousIssuer.jwksUri }, audience: AUDIENCE });
    });

    it('the baseline: a well-formed token signed with the issuer’s key is a guest on both (iat a little ahead is within the tolerance)', async () => {
      for (const app of [api, remote]) {
        const res = await callWith(app, await signed({ ...wellFormed(), iat: now() + 3 }));
        expect(res.status, res.text).toBe(200);
        expect((res.body as Echo).guest).toBe(true);
      }
    });

    it.each<[string, (claims: Claims) => Claims]>([
      ['sub is not an anon| id', (claims) => ({ ...claims, sub: 'user-42' })],
      ['sub is an auth0| id', (claims) => ({ ...claims, sub: 'auth0|5f7c8ec7c33c6c004bbafe82' })],
      ['sub is "anon|" and nothing valid', (claims) => ({ ...claims, sub: 'anon|' })],
      ['sub is a number', (claims) => ({ ...claims, sub: 42 })],
      ['sub is missing', without('sub')],
      ['sid is a number', (claims) => ({ ...claims, sid: 7 })],
      ['sid is missing', without('sid')],
      ['jti is an object', (claims) => ({ ...claims, jti: { id: 1 } })],
      ['jti is missing', without('jti')],
      ['client_id is an array', (claims) => ({ ...claims, client_id: [CLIENT_ID] })],
      ['client_id is missing', without('client_id')],
      ['scope is an array', (claims) => ({ ...claims, scope: ['anon'] })],
      ['scope is missing', without('scope')],
      ['iat is an hour in the future', (claims) => ({ ...claims, iat: now() + 3600 })],
      ['iat is a minute in the future', (claims) => ({ ...claims, iat: now() + 60 })],
      ['iat is a string', (claims) => ({ ...claims, iat: String(now()) })],
      ['iat is missing', without('iat')],
      ['exp is missing', without('exp')],
    ])('%s: 401 invalid_token from the local engine and from the remote issuer, never a guest', async (_name, change) => {
      const token = await signed(change(wellFormed()));
      for (const app of [api, remote]) expectChallenge(await callWith(app, token), 401, 'invalid_token', INVALID);
    });

    it('an ID token from the identity provider (it carries nonce) is refused unless user.allowIdTokens', async () => {
      const claims = { iss: idp.issuer, sub: 'user-42', aud: AUDIENCE, iat: now(), exp: now() + 600, auth_time: now() - 5 };
      const idToken = await idp.sign({ ...claims, nonce: 'n-0S6_WzA2Mj' }, { typ: 'JWT' });
      expectChallenge(await callWith(api, idToken), 401, 'invalid_token', INVALID);
      // The same claims without nonce pass: the refusal is about the ID token.
      expect((await callWith(api, await idp.sign(claims, { typ: 'JWT' }))).status).toBe(200);

      const optedIn = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE, user: { issuerBaseURL: idp.issuer, allowIdTokens: true } });
      const accepted = await callWith(optedIn, idToken);
      expect(accepted.status, accepted.text).toBe(200);
      expect((accepted.body as Echo).guest).toBe(false);

      // The rule holds for the claims a host's own verifier returns too.
      const verify = async (token: string) => (await jwtVerify(token, createRemoteJWKSet(new URL(idp.jwksUri)), { issuer: idp.issuer, audience: AUDIENCE })).payload;
      const custom = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE, user: { verify } });
      expectChallenge(await callWith(custom, idToken), 401, 'invalid_token', INVALID);
      const customOptedIn = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE, user: { verify, allowIdTokens: true } });
      expect((await callWith(customOptedIn, idToken)).status).toBe(200);
    });
  });

  describe('where a Bearer token is read (RFC 6750 §2): header, form-encoded non-GET body, query', () => {
    it('access_token in a JSON body is ignored: alone it is a missing token; beside a header it is no second place', async () => {
      const app = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE, user: { issuerBaseURL: idp.issuer } }, { hostBodyParser: 'json' });
      expectChallenge(await request(app).post('/api').send({ access_token: guestAccessToken }), 401, 'invalid_token', MISSING);
      const both = await request(app).post('/api').set('Authorization', `Bearer ${guestAccessToken}`).send({ access_token: userAccessToken });
      expect(both.status, both.text).toBe(200);
      expect((both.body as Echo).guest).toBe(true);
    });

    it('access_token in the body of a GET is ignored, even form-encoded (HEAD likewise: core unit test)', async () => {
      const app = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE }, { hostBodyParser: 'form-any-method' });
      const body = `access_token=${guestAccessToken}`;
      expectChallenge(await request(app).get('/api').type('form').send(body), 401, 'invalid_token', MISSING);
      const withHeader = await request(app).get('/api').set('Authorization', `Bearer ${guestAccessToken}`).type('form').send(body);
      expect(withHeader.status, withHeader.text).toBe(200);
    });

    it('a form-encoded POST body is read, with or without a charset parameter', async () => {
      const app = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE }, { hostBodyParser: 'form' });
      for (const type of ['application/x-www-form-urlencoded', 'Application/X-WWW-Form-Urlencoded; charset=UTF-8']) {
        const res = await request(app).post('/api').set('Content-Type', type).send(`access_token=${guestAccessToken}`);
        expect(res.status, `${type}: ${res.text}`).toBe(200);
      }
    });
  });

  describe('identity-provider and remote-issuer faults are 503, not 401', () => {
    const TIMEOUT = 300;
    const REMOTE_ISSUER_PATH = '/anon/';
    const now = (): number => Math.floor(Date.now() / 1000);
    let faulty: FaultyIssuer;
    beforeAll(async () => {
      faulty = await startFaultyIssuer();
    });
    afterAll(async () => {
      await faulty?.close();
    });
    const reset = (): void => {
      faulty.mode.discovery = 'ok';
      faulty.mode.jwks = 'ok';
    };

    type Kind = 'user' | 'remote';
    /** A guard whose identity provider (`user`) or remote anonymous issuer (`remote`) is the faulty server. */
    const faultyGuard = (kind: Kind, extra: Partial<GuardDescription> = {}): Promise<RequestListener> =>
      guardedApp(
        kind === 'user'
          ? { anonymous: anonymousIssuer.anon, audience: AUDIENCE, user: { issuerBaseURL: faulty.issuer }, timeoutDuration: TIMEOUT, ...extra }
          : { anonymous: { issuer: `${faulty.issuer}${REMOTE_ISSUER_PATH}`, jwksUri: faulty.jwksUri }, audience: AUDIENCE, timeoutDuration: TIMEOUT, ...extra },
      );
    /** A token the faulty server's key signs, for that guard: valid once its keys can be fetched. */
    const tokenFor = (kind: Kind, header: Partial<JWTHeaderParameters> = {}): Promise<string> =>
      kind === 'user'
        ? faulty.sign({ iss: faulty.issuer, sub: 'user-1', aud: AUDIENCE, iat: now(), exp: now() + 600, scope: USER_SCOPES }, header)
        : faulty.sign(
            {
              iss: `${faulty.issuer}${REMOTE_ISSUER_PATH}`,
              sub: 'anon|0f8fad5b-d9cb-469f-a165-70867728950e',
              aud: AUDIENCE,
              iat: now(),
              exp: now() + 600,
              jti: 'jti-faulty',
              client_id: CLIENT_ID,
              scope: 'anon',
              sid: 'sess_faulty',
            },
            header,
          );

    const TARGETS: [string, FaultyDocument, Kind][] = [
      ['the identity provider’s discovery', 'discovery', 'user'],
      ['the identity provider’s JWKS', 'jwks', 'user'],
      ['a remote anonymous issuer’s JWKS', 'jwks', 'remote'],
    ];
    const MODES: FaultMode[] = ['hang', 'trickle', 'error500', 'garbage', 'wrong-shape', 'close'];

    describe.each(TARGETS)('%s', (_target, document, kind) => {
      it.each(MODES)('%s: 503 temporarily_unavailable within the timeout (no 401, no 500); local guests are unaffected', async (mode) => {
        reset();
        faulty.mode[document] = mode;
        const app = await faultyGuard(kind);
        const token = await tokenFor(kind);
        const hits = faulty.hits[document];
        const abandoned = faulty.abandoned;
        const res = await callWith(app, token);
        expectError(res, 503, 'temporarily_unavailable');
        expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(res.headers['www-authenticate']).toBeUndefined();
        expect(faulty.hits[document] - hits).toBe(1);
        if (mode === 'hang' || mode === 'trickle') {
          // The guard gave up on its own (its timeout covers the body too): the server was still sending.
          await vi.waitFor(() => expect(faulty.abandoned).toBe(abandoned + 1));
        }
        if (kind === 'user') expect((await callWith(app, guestAccessToken)).status).toBe(200);
        reset();
      });

      it('cooldown: a failed fetch is not repeated for cooldownDuration (N requests, one fetch), then tried once; a recovered server is used', async () => {
        reset();
        freezeDate(new Date().toISOString());
        faulty.mode[document] = 'error500';
        const app = await faultyGuard(kind, { cooldownDuration: 10_000 });
        const token = await tokenFor(kind);
        const hits = faulty.hits[document];
        for (let i = 0; i < 5; i += 1) {
          const res = await callWith(app, token);
          expectError(res, 503, 'temporarily_unavailable');
          expect(res.headers['retry-after']).toBe('10');
        }
        expect(faulty.hits[document] - hits).toBe(1);
        advanceDate(6);
        expect((await callWith(app, token)).headers['retry-after']).toBe('4');
        expect(faulty.hits[document] - hits).toBe(1);
        advanceDate(5);
        expectError(await callWith(app, token), 503, 'temporarily_unavailable');
        expect(faulty.hits[document] - hits).toBe(2);

        faulty.mode[document] = 'ok';
        expectError(await callWith(app, token), 503, 'temporarily_unavailable'); // still cooling down
        expect(faulty.hits[document] - hits).toBe(2);
        advanceDate(11);
        const fresh = await tokenFor(kind);
        for (let i = 0; i < 5; i += 1) {
          const res = await callWith(app, fresh);
          expect(res.status, res.text).toBe(200);
        }
        expect(faulty.hits[document] - hits).toBe(3);
      });
    });

    it('an unknown kid refetches the JWKS at most once per cooldownDuration, and is a 401 (the JWKS answered)', async () => {
      reset();
      freezeDate(new Date().toISOString());
      const app = await faultyGuard('remote', { cooldownDuration: 10_000 });
      expect((await callWith(app, await tokenFor('remote'))).status).toBe(200);
      const hits = faulty.hits.jwks;
      for (let i = 0; i < 5; i += 1) {
        expectChallenge(await callWith(app, await tokenFor('remote', { kid: `rotated-${i}` })), 401, 'invalid_token', INVALID);
      }
      expect(faulty.hits.jwks).toBe(hits);
      advanceDate(11);
      for (let i = 0; i < 5; i += 1) {
        expectChallenge(await callWith(app, await tokenFor('remote', { kid: `later-${i}` })), 401, 'invalid_token', INVALID);
      }
      expect(faulty.hits.jwks).toBe(hits + 1);
    });

    it('the JWKS is fetched again after cacheMaxAge; a failure then is a 503 too', async () => {
      reset();
      freezeDate(new Date().toISOString());
      const app = await faultyGuard('remote', { cacheMaxAge: 60_000, cache: false });
      const hits = faulty.hits.jwks;
      expect((await callWith(app, await tokenFor('remote'))).status).toBe(200);
      advanceDate(30);
      expect((await callWith(app, await tokenFor('remote'))).status).toBe(200);
      expect(faulty.hits.jwks).toBe(hits + 1);
      advanceDate(31);
      faulty.mode.jwks = 'error500';
      expectError(await callWith(app, await tokenFor('remote')), 503, 'temporarily_unavailable');
      expect(faulty.hits.jwks).toBe(hits + 2);
      reset();
    });
  });

  describe('the cause of a refusal is logged at debug level, never the token', () => {
    const recordingLogger = () => ({
      warn: vi.fn<(message: string) => void>(),
      error: vi.fn<(message: string, error?: unknown) => void>(),
      debug: vi.fn<(message: string) => void>(),
    });
    type Recording = ReturnType<typeof recordingLogger>;
    /** Everything the logger received, as text. */
    const logged = (logger: Recording): string =>
      [...logger.debug.mock.calls, ...logger.warn.mock.calls, ...logger.error.mock.calls].map((call) => call.map(String).join(' ')).join('\n');
    const expectNoToken = (logger: Recording, token: string): void => {
      const text = logged(logger);
      for (const part of [token, ...token.split('.').filter((segment) => segment.length > 8)]) expect(text).not.toContain(part);
    };

    it('local engine and remote issuer: an expired token, a forged signature, a non-anonymous sub', async () => {
      const logger = recordingLogger();
      const local = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE, logger });
      const remote = await guardedApp({ anonymous: { issuer: anonymousIssuer.issuer, jwksUri: anonymousIssuer.jwksUri }, audience: AUDIENCE, logger });
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: anonymousIssuer.issuer, sub: 'anon|0f8fad5b-d9cb-469f', aud: AUDIENCE, iat: now - 700, exp: now - 100,
        jti: 'j', client_id: CLIENT_ID, scope: 'anon', sid: 'sess_logged',
      };
      const expired = await signRs256(anonymousIssuer.signingKey, claims, { kid: anonymousIssuer.kid });
      const notAGuest = await signRs256(anonymousIssuer.signingKey, { ...claims, exp: now + 600, sub: 'user-42' }, { kid: anonymousIssuer.kid });
      const [h, p, sig] = guestAccessToken.split('.') as [string, string, string];
      const forged = `${h}.${p}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
      for (const app of [local, remote]) {
        for (const token of [expired, notAGuest, forged]) {
          logger.debug.mockClear();
          expect((await callWith(app, token)).status).toBe(401);
          expect(logger.debug).toHaveBeenCalledTimes(1);
          expect(logger.debug.mock.calls[0]![0]).toMatch(/^Bearer token refused \(401 invalid_token\): /);
          expectNoToken(logger, token);
        }
      }
      logger.debug.mockClear();
      await callWith(local, expired);
      expect(logger.debug.mock.calls[0]![0]).toMatch(/exp/);
      logger.debug.mockClear();
      await callWith(local, notAGuest);
      expect(logger.debug.mock.calls[0]![0]).toMatch(/sub/);
      // A malformed request is logged too (400), and a missing token says so.
      logger.debug.mockClear();
      expect((await request(local).get('/api').set('Authorization', 'Bearer two tokens')).status).toBe(400);
      expect((await request(local).get('/api')).status).toBe(401);
      expect(logger.debug.mock.calls.map(([message]) => message)).toEqual([
        expect.stringMatching(/^Bearer token refused \(400 invalid_request\)/),
        expect.stringMatching(/^Bearer token refused \(401 invalid_token\): no access token/),
      ]);
      expect(logger.warn).not.toHaveBeenCalled();
      expect(logger.error).not.toHaveBeenCalled();
    });

    it('the engine’s own logger is the default; a host verifier’s message that quotes the token is redacted', async () => {
      const logger = recordingLogger();
      const anon = await createAnonymousSessions({
        issuer: anonymousIssuer.issuer,
        keys: anonymousIssuer.keys,
        clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
        resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true }],
        rateLimit: false,
        logger,
      });
      const verify = (token: string): never => {
        throw new Error(`no such user token: ${token} (claims ${token.split('.')[1]})`);
      };
      const app = await guardedApp({ anonymous: anon, audience: AUDIENCE, user: { verify } });
      expect((await callWith(app, userAccessToken)).status).toBe(401);
      expect(logger.debug).toHaveBeenCalledTimes(1);
      expect(logger.debug.mock.calls[0]![0]).toContain('no such user token: [token] (claims [token])');
      expectNoToken(logger, userAccessToken);
    });

    it('an identity-provider fault is logged once per failed fetch (warn), naming the URL, never a token', async () => {
      const faulty = await startFaultyIssuer();
      try {
        faulty.mode.discovery = 'error500';
        const logger = recordingLogger();
        const app = await guardedApp({ anonymous: anonymousIssuer.anon, audience: AUDIENCE, user: { issuerBaseURL: faulty.issuer }, logger });
        const token = await faulty.sign({ iss: faulty.issuer, sub: 'u', aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60 });
        for (let i = 0; i < 3; i += 1) expect((await callWith(app, token)).status).toBe(503);
        expect(logger.warn).toHaveBeenCalledTimes(1);
        expect(logger.warn.mock.calls[0]![0]).toContain(`${faulty.issuer}/.well-known/openid-configuration`);
        expect(logger.warn.mock.calls[0]![0]).toContain('500');
        expectNoToken(logger, token);
      } finally {
        await faulty.close();
      }
    });
  });
}

/** A store's four required operations, bound (to build a store whose one operation misbehaves). */
function storeMethods(store: SessionStore): SessionStore {
  return {
    revokeSession: (id, at) => store.revokeSession(id, at),
    isSessionRevoked: (id) => store.isSessionRevoked(id),
    markOnce: (key, at) => store.markOnce(key, at),
    increment: (key, window) => store.increment(key, window),
  };
}
