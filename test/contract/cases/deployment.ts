/**
 * Deployable as documented (issue 11, items 2–4): behind a reverse proxy that rewrites `Host` and
 * sends `X-Forwarded-Host/Proto/For`, under a mount prefix, and with CORS for every documented
 * client form (a static list or a resolver), on Express and Koa alike.
 */
import type { Response } from 'supertest';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import type { JWK } from 'jose';
import {
  CLIENT_ID,
  expectError,
  expectTokens,
  ISSUER,
  LOGOUT_PATH,
  parseSetCookie,
  SESSION_PATH,
  sessionSetCookie,
  setCookies,
  TOKEN_PATH,
  tokenRequest,
} from '../assertions.js';
import { buildApp, type ContractApp, type ContractAppOptions, type Framework, type PageBody } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function deploymentCases(framework: Framework): void {
  const quickStart = (options?: ContractAppOptions): Promise<ContractApp> => buildApp(framework, options);

  describe('behind a reverse proxy (nginx: Host rewritten to the upstream, X-Forwarded-*)', () => {
    const SITE = 'https://shop.example.com';
    /** What nginx sends upstream when `proxy_set_header Host` is left at its default ($proxy_host). */
    const NGINX = {
      Host: '127.0.0.1:3000',
      'X-Forwarded-Host': 'shop.example.com',
      'X-Forwarded-Proto': 'https',
      'X-Forwarded-For': '203.0.113.7',
      'X-Real-IP': '203.0.113.7',
    };
    /** A page of the real site, as a browser sends it through the proxy. */
    const fromSite = { ...NGINX, Origin: SITE, 'Sec-Fetch-Site': 'same-origin' };
    /** The README's proxy settings: one trusted proxy (Express `trust proxy` 1, Koa `proxy` + `maxIpsCount` 1). */
    const behindProxy = (options: ContractAppOptions = {}) => quickStart({ trustProxy: 1, engine: { cookie: { secure: 'auto' } }, ...options });

    it('with the README’s proxy trust, the site’s own cookie requests succeed: token, session, logout', async () => {
      const { app, anon } = await behindProxy();
      const created = await request(app).post(TOKEN_PATH).set(fromSite).send(tokenRequest());
      const tokens = expectTokens(created);
      const cookie = parseSetCookie(sessionSetCookie(created));
      expect(cookie.attributes.secure).toBe(true); // secure: 'auto' sees HTTPS through the proxy
      expect(created.headers['access-control-allow-origin']).toBeUndefined(); // same-origin: no CORS needed

      const continued = await request(app).post(TOKEN_PATH).set(fromSite).set('Cookie', `anon=${tokens.session_token}`).send(tokenRequest());
      const sessionId = async (token: string) => (await anon.verifySessionToken(token)).session_id;
      expect(await sessionId(expectTokens(continued).session_token)).toBe(await sessionId(tokens.session_token));
      const session = await request(app).get(SESSION_PATH).set({ ...NGINX, 'Sec-Fetch-Site': 'same-origin' }).set('Cookie', `anon=${tokens.session_token}`);
      expect(session.status, session.text).toBe(200);
      const logout = await request(app).post(LOGOUT_PATH).set(fromSite).set('Cookie', `anon=${tokens.session_token}`).send({ client_id: CLIENT_ID });
      expect(logout.status, logout.text).toBe(204);
      expect(parseSetCookie(sessionSetCookie(logout)).attributes.secure).toBe(true);
    });

    it('the cookie extractor moves a query token into the cookie through the proxy', async () => {
      const { app, anon } = await behindProxy();
      const token = (await anon.issueToken(tokenRequest())).response.session_token;
      const res = await request(app).get('/page').set({ ...NGINX, 'Sec-Fetch-Site': 'same-origin' }).query({ anonymous_session_token: token });
      expect(res.status).toBe(303);
      expect(parseSetCookie(sessionSetCookie(res)).attributes.secure).toBe(true);
    });

    it('the per-address limit counts the client the proxy saw, not the proxy', async () => {
      const { app } = await behindProxy({ engine: { rateLimit: { createPerMinute: 1, continuePerMinute: 60 }, cookie: { secure: 'auto' } } });
      expectTokens(await request(app).post(TOKEN_PATH).set(fromSite).send(tokenRequest()));
      // A second client behind the same proxy has its own bucket …
      expectTokens(await request(app).post(TOKEN_PATH).set({ ...fromSite, 'X-Forwarded-For': '198.51.100.9' }).send(tokenRequest()));
      // … and the first one's forged entry does not open a new one.
      const again = await request(app).post(TOKEN_PATH).set({ ...fromSite, 'X-Forwarded-For': '192.0.2.1, 203.0.113.7' }).send(tokenRequest());
      expectError(again, 429, 'too_many_requests');
    });

    it('the same headers without proxy trust: 403, with a description that points at the proxy settings, and one warning', async () => {
      const { app, logger } = await quickStart({ engine: { cookie: { secure: 'auto' } } });
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const res = await request(app).post(TOKEN_PATH).set(fromSite).send(tokenRequest());
        expectError(res, 403, 'access_denied');
        expect(setCookies(res)).toEqual([]);
        const { error_description: description } = res.body as { error_description: string };
        expect(description).toMatch(/^Cross-site request refused/);
        expect(description).toMatch(/proxy/);
        expect(description).toMatch(/X-Forwarded-Host/);
        expect(description).toMatch(/trust proxy/);
        expect(description).toMatch(/app\.proxy/);
        expect(description).toMatch(/trustProxy/); // the fetch binding's setting, named beside the frameworks'
      }
      const warnings = logger.warn.mock.calls.map(([message]) => message).filter((message) => message.includes('refused as cross-site'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('http://127.0.0.1:3000');
      expect(warnings[0]).toMatch(/trust proxy/);
      expect(warnings[0]).toMatch(/trustProxy: 1/);
    });

    it('a client forging X-Forwarded-Host/Proto to the app directly (no proxy trust) cannot pass a cross-site request', async () => {
      const { app } = await quickStart();
      const forged = await request(app)
        .post(TOKEN_PATH)
        .set({ Host: 'shop.test', 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https', Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' })
        .send(tokenRequest());
      expectError(forged, 403, 'access_denied');
      expect(setCookies(forged)).toEqual([]);
    });

    it('behind a trusted proxy, another site is still refused (Origin, scheme and Sec-Fetch-Site)', async () => {
      const { app } = await behindProxy();
      for (const headers of [
        { ...NGINX, Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' },
        { ...NGINX, Origin: 'http://shop.example.com' }, // the http origin of the same host
        { ...NGINX, Origin: 'https://blog.shop.example.com', 'Sec-Fetch-Site': 'same-site' },
        { ...NGINX, 'Sec-Fetch-Site': 'cross-site' },
      ]) {
        const res = await request(app).post(TOKEN_PATH).set(headers).send(tokenRequest());
        expectError(res, 403, 'access_denied');
        expect(setCookies(res)).toEqual([]);
      }
    });

    it('a proxy that keeps Host ($host) and sends only X-Forwarded-Proto works too', async () => {
      const { app } = await behindProxy();
      const res = await request(app)
        .post(TOKEN_PATH)
        .set({ Host: 'shop.example.com', 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '203.0.113.7', Origin: SITE, 'Sec-Fetch-Site': 'same-origin' })
        .send(tokenRequest());
      expectTokens(res);
    });
  });

  describe('under a mount prefix', () => {
    const MOUNT = '/auth';
    const SITE = new URL(ISSUER).origin;

    /** Fetches a URL the discovery document names, through the app (its path only). */
    const follow = (url: string) => {
      const { origin, pathname } = new URL(url);
      expect(origin).toBe(SITE);
      return pathname;
    };

    it.each([['/.well-known/openid-configuration'], ['/.well-known/oauth-authorization-server']])(
      'discovery (%s) under the prefix names URLs under the prefix, and each of them answers',
      async (document) => {
        const { app, logger } = await quickStart({ mountPath: MOUNT });
        const res = await request(app).get(`${MOUNT}${document}`);
        expect(res.status).toBe(200);
        const body = res.body as Record<string, string>;
        expect(body.issuer).toBe(ISSUER); // the issuer stays the configured one
        expect(body.jwks_uri).toBe(`${SITE}${MOUNT}/.well-known/jwks.json`);
        expect(body.anonymous_token_endpoint).toBe(`${SITE}${MOUNT}/anonymous/token`);

        const jwks = await request(app).get(follow(body.jwks_uri!));
        expect(jwks.status).toBe(200);
        expect((jwks.body as { keys: JWK[] }).keys.length).toBeGreaterThan(0);
        expectTokens(await request(app).post(follow(body.anonymous_token_endpoint!)).send(tokenRequest()));
        expectError(await request(app).get(follow(body.anonymous_session_endpoint!)), 401, 'invalid_session_token');
        expectError(await request(app).post(follow(body.anonymous_logout_endpoint!)).send({ client_id: CLIENT_ID }), 400, 'invalid_request');

        // The issuer's path (/) is not where the router is: said once, in the log.
        await request(app).get(`${MOUNT}${document}`);
        const warnings = logger.warn.mock.calls.map(([message]) => message).filter((message) => message.includes('mounted at /auth'));
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain(`${SITE}${MOUNT}/`);
      },
    );

    it('the rule: an issuer whose path is the mount path publishes the issuer’s own URLs, with no warning', async () => {
      const issuer = `${SITE}${MOUNT}/`;
      const { app, logger } = await quickStart({ mountPath: MOUNT, engine: { issuer } });
      const body = (await request(app).get(`${MOUNT}/.well-known/openid-configuration`)).body as Record<string, string>;
      expect(body).toMatchObject({
        issuer,
        jwks_uri: `${issuer}.well-known/jwks.json`,
        anonymous_token_endpoint: `${issuer}anonymous/token`,
      });
      // Where a discovery client given the issuer looks: issuer + .well-known/openid-configuration.
      expect(follow(`${issuer}.well-known/openid-configuration`)).toBe(`${MOUNT}/.well-known/openid-configuration`);
      expect(logger.warn.mock.calls.filter(([message]) => message.includes('mounted at'))).toEqual([]);
      // The mount matches case-insensitively, as the routes do: the same document.
      expect((await request(app).get('/AUTH/.well-known/openid-configuration')).body).toEqual(body);
    });

    it('a router at the root keeps the issuer’s URLs (a proxy that strips the issuer’s path in front)', async () => {
      const issuer = `${SITE}${MOUNT}/`;
      const { app } = await quickStart({ engine: { issuer } });
      const body = (await request(app).get('/.well-known/openid-configuration')).body as Record<string, string>;
      expect(body.jwks_uri).toBe(`${issuer}.well-known/jwks.json`);
    });

    it('an explicit jwksUri is published as configured', async () => {
      const jwksUri = 'https://keys.shop.example/jwks.json';
      const { app } = await quickStart({ mountPath: MOUNT, engine: { jwksUri } });
      expect(((await request(app).get(`${MOUNT}/.well-known/openid-configuration`)).body as { jwks_uri: string }).jwks_uri).toBe(jwksUri);
    });

    it('the Host of the request never reaches the published URLs', async () => {
      const { app } = await quickStart({ mountPath: MOUNT, trustProxy: 1 });
      const res = await request(app).get(`${MOUNT}/.well-known/openid-configuration`).set('Host', 'evil.example').set('X-Forwarded-Host', 'evil.example');
      expect(res.text).not.toContain('evil.example');
    });
  });

  describe('CORS for every documented client form', () => {
    const SHOP = 'https://shop.example.com';
    const PARTNER = 'https://partner.example';
    const EVIL = 'https://evil.example';
    const resolver = async (clientId: string) =>
      clientId === CLIENT_ID ? { clientId, canCreateAnonymousSessions: true, allowedOrigins: [SHOP] } : undefined;

    const preflight = (app: ContractApp['app'], origin: string, path = TOKEN_PATH) =>
      request(app).options(path).set('Origin', origin).set('Access-Control-Request-Method', 'POST').set('Access-Control-Request-Headers', 'content-type');

    function expectGranted(res: Response, origin: string): void {
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(res.headers['access-control-allow-methods']).toMatch(/\bPOST\b/);
      expect(res.headers['access-control-allow-headers']).toMatch(/content-type/i);
    }

    function expectNotGranted(res: Response): void {
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers['access-control-allow-methods']).toBeUndefined();
    }

    it.each([
      ['a list', [SHOP]],
      ['a function', (origin: string) => origin === SHOP],
      ['an async function', async (origin: string) => origin === SHOP],
    ])('clients as a resolver, allowedOrigins as %s: the preflight is granted, and the browser’s POST is served with CORS', async (_form, allowedOrigins) => {
      const { app } = await quickStart({ engine: { clients: resolver, allowedOrigins } });
      for (const path of [TOKEN_PATH, LOGOUT_PATH, SESSION_PATH]) expectGranted(await preflight(app, SHOP, path), SHOP);
      const res = await request(app).post(TOKEN_PATH).set('Origin', SHOP).send(tokenRequest());
      expectTokens(res);
      expect(res.headers['access-control-allow-origin']).toBe(SHOP);
      sessionSetCookie(res);
    });

    it('clients as a resolver without allowedOrigins: no preflight is granted (the origin cannot be known)', async () => {
      const { app } = await quickStart({ engine: { clients: resolver } });
      expectNotGranted(await preflight(app, SHOP));
    });

    it('an origin allowed only for preflights gets no grant for a client that does not list it', async () => {
      const { app } = await quickStart({ engine: { clients: resolver, allowedOrigins: [SHOP, PARTNER] } });
      expectGranted(await preflight(app, PARTNER), PARTNER);
      const res = await request(app).post(TOKEN_PATH).set('Origin', PARTNER).send(tokenRequest());
      expectError(res, 403, 'access_denied'); // (readable by that origin, as every error is: it says why)
      expect(setCookies(res)).toEqual([]);
      // Cookies off: served, but the tokens are not readable by that origin.
      const cookieless = await quickStart({ engine: { clients: resolver, allowedOrigins: [SHOP, PARTNER] }, router: { cookie: false } });
      const served = await request(cookieless.app).post(TOKEN_PATH).set('Origin', PARTNER).send(tokenRequest());
      expectTokens(served);
      expect(served.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('a foreign origin gets no grant, whatever the form; a check that throws grants nothing', async () => {
      const listed = await quickStart({ engine: { clients: resolver, allowedOrigins: [SHOP] } });
      expectNotGranted(await preflight(listed.app, EVIL));
      expectNotGranted(await preflight(listed.app, 'null'));
      const throwing = await quickStart({
        engine: {
          clients: resolver,
          allowedOrigins: () => {
            throw new Error('origin table unavailable');
          },
        },
      });
      const res = await preflight(throwing.app, SHOP);
      expect(res.status).toBe(204);
      expectNotGranted(res);
    });

    it('static clients keep working as before, and the engine list adds to them', async () => {
      const { app } = await quickStart({
        engine: { clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true, allowedOrigins: [SHOP] }], allowedOrigins: [PARTNER] },
      });
      expectGranted(await preflight(app, SHOP), SHOP);
      expectGranted(await preflight(app, PARTNER), PARTNER);
      expectNotGranted(await preflight(app, EVIL));
    });

    it('allowedOrigins takes exact origins only: a ConfigError otherwise', async () => {
      await expect(quickStart({ engine: { allowedOrigins: ['https://*.shop.example'] } })).rejects.toThrow(/allowedOrigins\[0\]/);
      await expect(quickStart({ engine: { allowedOrigins: ['https://shop.example/'] } })).rejects.toThrow(/allowedOrigins\[0\]/);
    });

    it.each([['/.well-known/jwks.json'], ['/.well-known/openid-configuration'], ['/.well-known/oauth-authorization-server']])(
      '%s may be read from any origin, without credentials',
      async (path) => {
        const { app } = await quickStart();
        for (const origin of [EVIL, SHOP, undefined]) {
          const req = request(app).get(path);
          const res = await (origin === undefined ? req : req.set('Origin', origin));
          expect(res.status).toBe(200);
          expect(res.headers['access-control-allow-origin']).toBe('*');
          expect(res.headers['access-control-allow-credentials']).toBeUndefined();
          expect(res.headers['set-cookie']).toBeUndefined();
        }
      },
    );

    it('the cookie-reading session endpoint stays closed to a foreign origin', async () => {
      const { app, anon } = await quickStart({ engine: { clients: resolver, allowedOrigins: [SHOP] } });
      const token = (await anon.issueToken(tokenRequest())).response.session_token;
      const evil = await request(app).get(SESSION_PATH).set('Origin', EVIL).set('Cookie', `anon=${token}`);
      expectError(evil, 403, 'access_denied');
      const shop = await request(app).get(SESSION_PATH).set('Origin', SHOP).set('Cookie', `anon=${token}`);
      expect(shop.status).toBe(200);
      expect(shop.headers['access-control-allow-origin']).toBe(SHOP);
      expect((shop.body as PageBody['session'])?.session_id).toEqual(expect.any(String));
    });
  });
}
