/**
 * Guard parity with `express-oauth2-jwt-bearer` (issue 11, items 5 and 10):
 *
 * - a resource server in another service finds our anonymous issuer by discovery
 *   (`anonymous: { issuerBaseURL }`), with the timeout, cooldown and 503 rules of the `user`
 *   option, and a malformed remote issuer is a `ConfigError` at start-up;
 * - `authRequired: false`: no token → the route runs without `auth`; a bad token is still a 401;
 * - `claimEquals`, `claimIncludes`, `claimCheck` after the guard.
 */
import express, { type ErrorRequestHandler } from 'express';
import { auth } from 'express-oauth2-jwt-bearer';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createAnonymousSessions, generateKeySet, memoryStore, type AnonymousSessions } from '@anonymous-sessions/core';
import { AUDIENCE, CLIENT_ID, expectError, silentLogger, tokenRequest } from '../assertions.js';
import { close, listen, startFaultyIssuer, type Listening } from '../guard-helpers.js';
import { BINDINGS, buildApp, type ClaimRouteCheck, type EchoBody, type Framework, type GuardDescription } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function guardParityCases(framework: Framework): void {
  const challenge = (description: string): string => `Bearer realm="api", error="invalid_token", error_description="${description}"`;

  /** Our issuer on a real port, its router mounted at the issuer's path `/auth` (the documented rule), on this framework. */
  let issuerServer: Listening;
  let issuer: string;
  let anon: AnonymousSessions;
  const store = memoryStore();

  beforeAll(async () => {
    issuerServer = await listen();
    issuer = `${issuerServer.origin}/auth/`;
    anon = await createAnonymousSessions({
      issuer,
      keys: await generateKeySet(),
      clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
      resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: ['anon', 'read:products', 'write:cart'] }],
      store,
      rateLimit: false,
      logger: silentLogger(),
    });
    const { app } = await buildApp(framework, { anon, mountPath: '/auth' });
    issuerServer.server.on('request', app);
  });

  afterAll(async () => {
    if (issuerServer) await close(issuerServer.server);
  });

  const guardedApp = async (guard: GuardDescription, claimRoutes?: Record<string, ClaimRouteCheck>) =>
    (await buildApp(framework, { router: false, guard, ...(claimRoutes ? { claimRoutes } : {}) })).app;
  const guestToken = async (scope?: string) => (await anon.issueToken(tokenRequest(scope ? { scope } : {}))).response;

  describe('item 5: anonymous: { issuerBaseURL } by discovery', () => {
    it('a remote resource server given only the issuer’s URL accepts its guests’ access tokens', async () => {
      for (const issuerBaseURL of [issuer, issuer.replace(/\/$/, '')]) {
        const app = await guardedApp({ anonymous: { issuerBaseURL }, audience: AUDIENCE });
        const res = await request(app).get('/api').set('Authorization', `Bearer ${(await guestToken()).access_token}`);
        expect(res.status, res.text).toBe(200);
        expect((res.body as EchoBody).guest).toBe(true);
        expect((res.body as EchoBody).auth.payload.iss).toBe(issuer);
      }
    });

    it('with the issuer’s store, a logout reaches it (checkRevocation on by default)', async () => {
      const app = await guardedApp({ anonymous: { issuerBaseURL: issuer, store }, audience: AUDIENCE });
      const tokens = await guestToken();
      expect((await request(app).get('/api').set('Authorization', `Bearer ${tokens.access_token}`)).status).toBe(200);
      await anon.logout({ clientId: CLIENT_ID, sessionToken: tokens.session_token });
      const res = await request(app).get('/api').set('Authorization', `Bearer ${tokens.access_token}`);
      expectError(res, 401, 'invalid_token');
      expect(res.headers['www-authenticate']).toBe(challenge('The session behind this access token has ended.'));
    });

    it('express-oauth2-jwt-bearer’s auth({ issuerBaseURL }) finds the same issuer: discovery answers at the issuer’s path', async () => {
      const api = express();
      api.use(auth({ issuerBaseURL: issuer, audience: AUDIENCE }));
      api.get('/api', (req, res) => {
        res.json({ sub: req.auth?.payload.sub });
      });
      const renderErrors: ErrorRequestHandler = (error: { status?: number }, _req, res, _next) => {
        res.status(error.status ?? 500).end();
      };
      api.use(renderErrors);
      const res = await request(api).get('/api').set('Authorization', `Bearer ${(await guestToken()).access_token}`);
      expect(res.status, res.text).toBe(200);
      expect((res.body as { sub: string }).sub).toMatch(/^anon\|/);
    });

    it('forgeries are 401: another key under the same iss, no iss, an iss that only looks alike', async () => {
      const app = await guardedApp({ anonymous: { issuerBaseURL: issuer }, audience: AUDIENCE });
      const impostor = await createAnonymousSessions({
        issuer,
        keys: await generateKeySet(),
        clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true }],
        resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true }],
        logger: silentLogger(),
      });
      const forged = (await impostor.issueToken(tokenRequest())).response.access_token;
      expectError(await request(app).get('/api').set('Authorization', `Bearer ${forged}`), 401, 'invalid_token');
      const [header, payload, signature] = (await guestToken()).access_token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
      for (const iss of [undefined, `${issuer}x`, issuer.toUpperCase()]) {
        const edited = Buffer.from(JSON.stringify({ ...claims, iss })).toString('base64url');
        expectError(await request(app).get('/api').set('Authorization', `Bearer ${header}.${edited}.${signature}`), 401, 'invalid_token');
      }
    });

    it('discovery that fails is a 503 with Retry-After, fetched at most once per cooldown', async () => {
      const faulty = await startFaultyIssuer();
      try {
        faulty.mode.discovery = 'error500';
        const app = await guardedApp({ anonymous: { issuerBaseURL: faulty.issuer }, audience: AUDIENCE, checkRevocation: false, logger: silentLogger() });
        const now = Math.floor(Date.now() / 1000);
        const token = await faulty.sign({
          iss: faulty.issuer, sub: 'anon|remote-guest-1', aud: AUDIENCE, iat: now, exp: now + 60,
          sid: 'sess_1', jti: 'j1', client_id: CLIENT_ID, scope: 'anon',
        });
        for (let attempt = 0; attempt < 3; attempt += 1) {
          const res = await request(app).get('/api').set('Authorization', `Bearer ${token}`);
          expectError(res, 503, 'temporarily_unavailable');
          expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
        }
        expect(faulty.hits.discovery).toBe(1);
        // A discovered issuer's token must also carry the anonymous claims: a healthy issuer, a bare token → 401.
        const healthy = await startFaultyIssuer();
        try {
          const strict = await guardedApp({ anonymous: { issuerBaseURL: healthy.issuer }, audience: AUDIENCE, checkRevocation: false });
          expect((await request(strict).get('/api').set('Authorization', `Bearer ${await healthy.sign({ iss: healthy.issuer, sub: 'anon|x1234567', aud: AUDIENCE, iat: now, exp: now + 60, sid: 's', jti: 'j', client_id: CLIENT_ID, scope: 'anon' })}`)).status).toBe(200);
          expectError(await request(strict).get('/api').set('Authorization', `Bearer ${await healthy.sign({ iss: healthy.issuer, sub: 'user-1', aud: AUDIENCE, exp: now + 60 })}`), 401, 'invalid_token');
        } finally {
          await healthy.close();
        }
      } finally {
        await faulty.close();
      }
    });

    it('a discovery document naming another issuer is refused (503, logged), never trusted', async () => {
      const liar = await listen((req, res) => {
        const origin = `http://${req.headers.host!}`;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: 'https://evil.example/', jwks_uri: `${origin}/jwks.json` }));
      });
      try {
        const logger = silentLogger();
        const app = await guardedApp({ anonymous: { issuerBaseURL: liar.origin }, audience: AUDIENCE, logger });
        const token = (await guestToken()).access_token;
        const [header, payload, signature] = token.split('.') as [string, string, string];
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
        const pointed = `${header}.${Buffer.from(JSON.stringify({ ...claims, iss: liar.origin })).toString('base64url')}.${signature}`;
        expectError(await request(app).get('/api').set('Authorization', `Bearer ${pointed}`), 503, 'temporarily_unavailable');
        expect(logger.warn.mock.calls.map(([message]) => message).join('\n')).toContain('is not issuerBaseURL');
      } finally {
        await close(liar.server);
      }
    });

    it.each([
      [{ issuerBaseURL: 'not a url' }, 'anonymous.issuerBaseURL'],
      [{ issuerBaseURL: 'ftp://shop.example/' }, 'anonymous.issuerBaseURL'],
      [{ issuerBaseURL: 'https://shop.example/', jwksUri: 'https://shop.example/jwks' }, 'anonymous.jwksUri'],
      [{ issuerBaseURL: 'https://shop.example/', issuer: 'https://shop.example/' }, 'anonymous.issuer'],
      [{ issuer: 'shop', jwksUri: 'https://shop.example/jwks' }, 'anonymous.issuer'],
      [{ issuer: 'https://shop.example/', jwksUri: '/jwks.json' }, 'anonymous.jwksUri'],
      [{ issuer: 'https://shop.example/' }, 'anonymous.jwksUri'],
      [{}, 'anonymous.issuer'],
    ])('a malformed remote issuer %j is a ConfigError naming %s, not a TypeError', (anonymous, path) => {
      let thrown: unknown;
      try {
        BINDINGS[framework].requireAnonymousOrUser({ anonymous: anonymous as never, audience: AUDIENCE });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).issues.map((issue) => issue.path)).toContain(path);
    });
  });

  describe('item 10: authRequired: false', () => {
    it('no token: the route runs without auth; requireUser after it still refuses', async () => {
      const app = await guardedApp({ anonymous: { issuerBaseURL: issuer }, audience: AUDIENCE, authRequired: false });
      const res = await request(app).get('/api');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ guest: false });
      const user = await request(app).get('/api/user');
      expectError(user, 401, 'invalid_token');
      expect(user.headers['www-authenticate']).toBe('Bearer realm="api"');
      // A non-Bearer Authorization (Basic) is no access token either.
      expect((await request(app).get('/api').set('Authorization', 'Basic dXNlcjpwYXNz')).status).toBe(200);
    });

    it('a token is verified as always: a guest gets auth; a bad, malformed or doubled token is refused', async () => {
      const { anon: local, app } = await buildApp(framework, { router: false, guard: { audience: AUDIENCE, authRequired: false } });
      const good = (await local.issueToken(tokenRequest())).response.access_token;
      const ok = await request(app).get('/api').set('Authorization', `Bearer ${good}`);
      expect((ok.body as EchoBody).guest).toBe(true);
      expectError(await request(app).get('/api').set('Authorization', 'Bearer abc.def.ghi'), 401, 'invalid_token');
      expectError(await request(app).get('/api').set('Authorization', 'Bearer'), 400, 'invalid_request');
      expectError(await request(app).get('/api').query({ access_token: good }).set('Authorization', `Bearer ${good}`), 400, 'invalid_request');
      expectError(await request(app).get('/api').set('Authorization', `Bearer ${(await guestToken()).access_token}`), 401, 'invalid_token');
      // A logged-out session's token is refused, not treated as "no token".
      const tokens = (await local.issueToken(tokenRequest())).response;
      await local.logout({ clientId: CLIENT_ID, sessionToken: tokens.session_token });
      expectError(await request(app).get('/api').set('Authorization', `Bearer ${tokens.access_token}`), 401, 'invalid_token');
    });

    it('an unreachable issuer is still a 503 for a token that needs it', async () => {
      const faulty = await startFaultyIssuer();
      try {
        faulty.mode.discovery = 'error500';
        const app = await guardedApp({ anonymous: { issuerBaseURL: faulty.issuer }, audience: AUDIENCE, authRequired: false, logger: silentLogger() });
        const token = await faulty.sign({ iss: faulty.issuer, sub: 'anon|x', aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 60 });
        expectError(await request(app).get('/api').set('Authorization', `Bearer ${token}`), 503, 'temporarily_unavailable');
        expect((await request(app).get('/api')).status).toBe(200);
      } finally {
        await faulty.close();
      }
    });

    it('authRequired must be a boolean', () => {
      expect(() => BINDINGS[framework].requireAnonymousOrUser({ anonymous: anon, audience: AUDIENCE, authRequired: 'no' as never })).toThrow(ConfigError);
    });
  });

  describe('item 10: claimEquals, claimIncludes, claimCheck', () => {
    const routes: Record<string, ClaimRouteCheck> = {
      client: { equals: ['client_id', CLIENT_ID] },
      'other-client': { equals: ['client_id', 'admin-app'] },
      missing: { equals: ['org_id', 'acme'] },
      scopes: { includes: ['scope', 'anon', 'read:products'] },
      'more-scopes': { includes: ['scope', 'anon', 'admin'] },
      'guests-only': { check: [(_payload, result) => result.isAnonymous, 'Guests only'] },
      'users-only': { check: [(_payload, result) => !result.isAnonymous] },
    };
    let app: Awaited<ReturnType<typeof guardedApp>>;
    let token: string;

    beforeAll(async () => {
      app = await guardedApp({ anonymous: { issuerBaseURL: issuer }, audience: AUDIENCE, authRequired: false }, routes);
      token = (await guestToken()).access_token;
    });

    const call = (name: string) => request(app).get(`/api/claims/${name}`).set('Authorization', `Bearer ${token}`);

    it('passing checks let the request through', async () => {
      for (const name of ['client', 'scopes', 'guests-only']) {
        const res = await call(name);
        expect(res.status, `${name}: ${res.text}`).toBe(200);
        expect((res.body as EchoBody).guest).toBe(true);
      }
    });

    it.each([
      ['other-client', "Unexpected 'client_id' value"],
      ['missing', "Missing 'org_id' claim"],
      ['more-scopes', "Unexpected 'scope' value"],
      ['users-only', 'Unexpected claim value'],
    ])('%s refuses with 401 invalid_token: %s', async (name, description) => {
      const res = await call(name);
      expectError(res, 401, 'invalid_token');
      expect((res.body as { error_description: string }).error_description).toBe(description);
      expect(res.headers['www-authenticate']).toBe(challenge(description));
    });

    it('without a token (authRequired: false), every claim check answers 401 with the bare challenge', async () => {
      for (const name of Object.keys(routes)) {
        const res = await request(app).get(`/api/claims/${name}`);
        expectError(res, 401, 'invalid_token');
        expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
      }
    });

    it('bad arguments are a ConfigError at start-up', () => {
      const b = BINDINGS[framework];
      expect(() => b.claimEquals('', 'x')).toThrow(ConfigError);
      expect(() => b.claimEquals('org', { nested: true } as never)).toThrow(ConfigError);
      expect(() => b.claimIncludes('scope')).toThrow(ConfigError);
      expect(() => b.claimCheck('not a function' as never)).toThrow(ConfigError);
    });
  });
}
