import type { Response } from 'supertest';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CLIENT_ID,
  expectError,
  expectTokens,
  LOGOUT_PATH,
  SESSION_PATH,
  TOKEN_PATH,
  tokenRequest,
} from '../assertions.js';
import { buildApp, type ContractApp, type ContractAppOptions, type Framework } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function corsCsrfCases(framework: Framework): void {
  const quickStart = (options?: ContractAppOptions): Promise<ContractApp> => buildApp(framework, options);

  const SHOP = 'https://shop.example.com';
  const EVIL = 'https://evil.example';

  function expectCors(res: Response, origin: string): void {
    expect(res.headers['access-control-allow-origin']).toBe(origin);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(String(res.headers.vary)).toMatch(/\bOrigin\b/i);
  }

  function expectNoCors(res: Response): void {
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  }

  let setup: ContractApp;
  let withoutCookie: ContractApp;

  const engine = { clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true, allowedOrigins: [SHOP] }] };

  beforeAll(async () => {
    setup = await quickStart({ engine });
    withoutCookie = await quickStart({ engine, router: { cookie: false } });
  });

  async function sessionToken(): Promise<string> {
    return expectTokens(await request(setup.app).post(TOKEN_PATH).send(tokenRequest())).session_token;
  }

  describe('a clients resolver runs once per request', () => {
    // The origin decision is made once and shared by the cross-site rule and CORS, and the token
    // endpoint looks the client up once: one database query per request, not three.
    function countingEngine(): { calls: () => number; engine: ContractAppOptions['engine'] } {
      let calls = 0;
      return {
        calls: () => calls,
        engine: {
          clients: async (id: string) => {
            calls += 1;
            return id === CLIENT_ID ? { clientId: CLIENT_ID, canCreateAnonymousSessions: true, allowedOrigins: [SHOP] } : undefined;
          },
        },
      };
    }

    it('once on a cross-origin create and once on a cookie continue', async () => {
      const counting = countingEngine();
      const { app } = await quickStart({ engine: counting.engine });
      const created = await request(app).post(TOKEN_PATH).set('Origin', SHOP).send(tokenRequest());
      expectTokens(created);
      expectCors(created, SHOP);
      expect(counting.calls()).toBe(1);

      const cookie = String(created.headers['set-cookie']).split(';')[0]!;
      const continued = await request(app).post(TOKEN_PATH).set('Origin', SHOP).set('Cookie', cookie).send(tokenRequest());
      expectTokens(continued);
      expectCors(continued, SHOP);
      expect(counting.calls()).toBe(2);
    });

    it('once on a refused request from a foreign origin', async () => {
      const counting = countingEngine();
      const { app } = await quickStart({ engine: counting.engine });
      expectError(await request(app).post(TOKEN_PATH).set('Origin', EVIL).send(tokenRequest()), 403, 'access_denied');
      expect(counting.calls()).toBe(1);
    });

    it('once on a failing create that an allowed origin may read', async () => {
      const counting = countingEngine();
      const { app } = await quickStart({ engine: counting.engine });
      const res = await request(app).post(TOKEN_PATH).set('Origin', SHOP).send(tokenRequest({ audience: 'https://nowhere.example' }));
      expect(res.status).toBeGreaterThanOrEqual(400);
      expectCors(res, SHOP);
      expect(counting.calls()).toBe(1);
    });
  });

  describe('CORS for clients[].allowedOrigins', () => {
    it('echoes exactly the allowed origin, with credentials, on the token endpoint', async () => {
      const res = await request(setup.app).post(TOKEN_PATH).set('Origin', SHOP).send(tokenRequest());
      expectTokens(res);
      expectCors(res, SHOP);
    });

    it.each([
      [EVIL],
      ['null'],
      ['http://shop.example.com'],
      ['https://shop.example.com:8443'],
      ['https://shop.example.com.evil.example'],
      ['https://evil-shop.example.com'],
      ['https://SHOP.example.com/'],
      ['*'],
    ])('never reflects the origin %s', async (origin) => {
      // With the session cookie on, a request from a foreign origin may not set it: 403, no CORS.
      const res = await request(setup.app).post(TOKEN_PATH).set('Origin', origin).send(tokenRequest());
      expectError(res, 403, 'access_denied');
      expect(res.headers['set-cookie']).toBeUndefined();
      expectNoCors(res);
      expect(JSON.stringify(res.headers)).not.toContain(origin === '*' ? '"*"' : origin);

      // With cookies off the request is served, and the origin is still never reflected.
      const served = await request(withoutCookie.app).post(TOKEN_PATH).set('Origin', origin).send(tokenRequest());
      expectTokens(served);
      expectNoCors(served);
      expect(JSON.stringify(served.headers)).not.toContain(origin === '*' ? '"*"' : origin);
    });

    it('sends no CORS headers without an Origin', async () => {
      expectNoCors(await request(setup.app).post(TOKEN_PATH).send(tokenRequest()));
    });

    it('adds CORS headers to error responses for an allowed origin, so the app can read them', async () => {
      const res = await request(setup.app).post(TOKEN_PATH).set('Origin', SHOP).send(tokenRequest({ scope: 'admin' }));
      expectError(res, 400, 'invalid_scope');
      expectCors(res, SHOP);
    });

    it('covers the session and logout endpoints', async () => {
      const token = await sessionToken();
      const session = await request(setup.app).get(SESSION_PATH).set('Origin', SHOP).set('Authorization', `Bearer ${token}`);
      expect(session.status).toBe(200);
      expectCors(session, SHOP);

      const evil = await request(setup.app).get(SESSION_PATH).set('Origin', EVIL).set('Authorization', `Bearer ${token}`);
      expectNoCors(evil);

      const logout = await request(setup.app).post(LOGOUT_PATH).set('Origin', SHOP).send({ client_id: CLIENT_ID, session_token: token });
      expect(logout.status).toBe(204);
      expectCors(logout, SHOP);
    });

    it.each([[TOKEN_PATH], [LOGOUT_PATH], [SESSION_PATH]])('answers the preflight on %s', async (path) => {
      const res = await request(setup.app)
        .options(path)
        .set('Origin', SHOP)
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'content-type, authorization');
      expect(res.status).toBe(204);
      expectCors(res, SHOP);
      expect(res.headers['access-control-allow-methods']).toMatch(/\bPOST\b/);
      expect(res.headers['access-control-allow-headers']).toMatch(/content-type/i);
      expect(res.headers['access-control-allow-headers']).toMatch(/authorization/i);
      expect(Number(res.headers['access-control-max-age'])).toBeGreaterThan(0);
    });

    it('gives a foreign origin a preflight without any CORS grant', async () => {
      const res = await request(setup.app)
        .options(TOKEN_PATH)
        .set('Origin', EVIL)
        .set('Access-Control-Request-Method', 'POST');
      expect(res.status).toBe(204);
      expectNoCors(res);
      expect(res.headers['access-control-allow-methods']).toBeUndefined();
    });

    it('allows no origin at all when no client lists one', async () => {
      const plain = await quickStart();
      expectNoCors(await request(plain.app).post(TOKEN_PATH).set('Origin', SHOP).send(tokenRequest()));
      expectNoCors(await request(plain.app).options(TOKEN_PATH).set('Origin', SHOP).set('Access-Control-Request-Method', 'POST'));
    });
  });

  describe('CSRF: requests riding on the session cookie', () => {
    it('refuses a foreign Origin with 403 access_denied, on token and logout', async () => {
      const token = await sessionToken();
      const res = await request(setup.app).post(TOKEN_PATH).set('Origin', EVIL).set('Cookie', `anon=${token}`).send(tokenRequest());
      expectError(res, 403, 'access_denied');
      expect(res.headers['set-cookie']).toBeUndefined();

      expectError(
        await request(setup.app).post(LOGOUT_PATH).set('Origin', EVIL).set('Cookie', `anon=${token}`).send({ client_id: CLIENT_ID }),
        403,
        'access_denied',
      );
      // The cross-site logout did not end the session.
      expect((await request(setup.app).get(SESSION_PATH).set('Authorization', `Bearer ${token}`)).status).toBe(200);
    });

    it('refuses Sec-Fetch-Site: cross-site when there is no Origin', async () => {
      const token = await sessionToken();
      expectError(
        await request(setup.app).post(TOKEN_PATH).set('Sec-Fetch-Site', 'cross-site').set('Cookie', `anon=${token}`).send(tokenRequest()),
        403,
        'access_denied',
      );
    });

    it('accepts the app’s own origin (Origin matching Host)', async () => {
      const token = await sessionToken();
      const res = await request(setup.app)
        .post(TOKEN_PATH)
        .set('Host', 'app.example.test:8080')
        .set('Origin', 'http://app.example.test:8080')
        .set('Cookie', `anon=${token}`)
        .send(tokenRequest());
      expectTokens(res);
      expectNoCors(res);
      const other = await setup.anon.verifySessionToken(token);
      expect((await setup.anon.verifySessionToken(expectTokens(res).session_token)).session_id).toBe(other.session_id);

      expect(
        (
          await request(setup.app)
            .post(LOGOUT_PATH)
            .set('Host', 'app.example.test:8080')
            .set('Origin', 'http://app.example.test:8080')
            .set('Cookie', `anon=${token}`)
            .send({ client_id: CLIENT_ID })
        ).status,
      ).toBe(204);
    });

    it('takes the app’s own host from X-Forwarded-Host only when the host trusts the proxy', async () => {
      const token = await sessionToken();
      const viaProxy = (app: ContractApp['app']) =>
        request(app)
          .post(TOKEN_PATH)
          .set('Host', 'internal.local:3000')
          .set('X-Forwarded-Host', 'shop.test')
          .set('X-Forwarded-Proto', 'https')
          .set('Origin', 'https://shop.test')
          .set('Cookie', `anon=${token}`)
          .send(tokenRequest());
      expectError(await viaProxy(setup.app), 403, 'access_denied');
      const trusted = await quickStart({ engine, trustProxy: true });
      const res = await viaProxy(trusted.app);
      expectTokens(res);
      expectNoCors(res);
    });

    it('refuses an origin on another port of the same host', async () => {
      const token = await sessionToken();
      expectError(
        await request(setup.app)
          .post(TOKEN_PATH)
          .set('Host', 'app.example.test:8080')
          .set('Origin', 'http://app.example.test:9090')
          .set('Cookie', `anon=${token}`)
          .send(tokenRequest()),
        403,
        'access_denied',
      );
    });

    it('accepts an allowed origin, with CORS', async () => {
      const token = await sessionToken();
      const res = await request(setup.app).post(TOKEN_PATH).set('Origin', SHOP).set('Cookie', `anon=${token}`).send(tokenRequest());
      expectTokens(res);
      expectCors(res, SHOP);
    });

    it('applies to a session token sent in the body too: the response would set the cookie', async () => {
      const token = await sessionToken();
      const res = await request(setup.app).post(TOKEN_PATH).set('Origin', EVIL).send(tokenRequest({ session_token: token }));
      expectError(res, 403, 'access_denied');
      expect(res.headers['set-cookie']).toBeUndefined();
      expectNoCors(res);
    });
  });

}
