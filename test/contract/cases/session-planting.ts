/**
 * Session planting (issue 10, items 1 and 2): a page on another site must not be able to put its
 * own guest session into a visitor's browser — neither with a cross-site form `POST` to the token
 * or logout endpoint (whatever carries the token), nor with a link carrying
 * `?anonymous_session_token=`. Browsers are described by the headers they send: `Origin` and
 * `Sec-Fetch-Site`, which no page can forge.
 */
import type { RequestListener } from 'node:http';
import type { Response } from 'supertest';
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
import { buildApp, type ContractApp, type ContractAppOptions, type Framework, type PageBody } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function sessionPlantingCases(framework: Framework): void {
  const APP_HOST = 'shop.test';
  const APP = `http://${APP_HOST}`;
  const EVIL = 'https://evil.example';
  const PARTNER = 'https://partner.example';
  const OTHER_PARTNER = 'https://other-partner.example';
  const SIBLING = 'http://blog.shop.test';

  const engine = {
    clients: [
      { clientId: CLIENT_ID, canCreateAnonymousSessions: true, allowedOrigins: [PARTNER] },
      { clientId: 'other-app', canCreateAnonymousSessions: true, allowedOrigins: [OTHER_PARTNER] },
    ],
  };
  const quickStart = (options: ContractAppOptions = {}): Promise<ContractApp> => buildApp(framework, { engine, ...options });

  async function create(app: RequestListener, fields: Record<string, unknown> = {}): Promise<TokenBody> {
    return expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest(fields)));
  }

  const sessionIdOf = async (anon: ContractApp['anon'], token: string): Promise<string> => (await anon.verifySessionToken(token)).session_id;

  /** A browser's cross-site top-level form POST from `origin` (the cookie, SameSite=Lax, stays home). */
  const crossSitePost = (app: RequestListener, path: string, origin = EVIL) =>
    request(app).post(path).set('Host', APP_HOST).set('Origin', origin).set('Sec-Fetch-Site', 'cross-site');

  function expectRefused(res: Response): void {
    expectError(res, 403, 'access_denied');
    expect(setCookies(res)).toEqual([]);
  }

  describe('item 1: no cookie write or clear from a cross-site request', () => {
    it('an auto-submitted cross-site form POST /anonymous/token carrying the attacker’s session_token: 403, no Set-Cookie', async () => {
      const { app } = await quickStart();
      const attacker = await create(app, { metadata: { cart: [{ sku: 'spy', qty: 1 }] } });
      const form = new URLSearchParams({ client_id: CLIENT_ID, session_token: attacker.session_token });
      expectRefused(await crossSitePost(app, TOKEN_PATH).type('form').send(form.toString()));
      // The same without Sec-Fetch-Site (an older browser): the Origin alone decides.
      expectRefused(await request(app).post(TOKEN_PATH).set('Host', APP_HOST).set('Origin', EVIL).type('form').send(form.toString()));
      // And without an Origin (Sec-Fetch-Site alone).
      expectRefused(await request(app).post(TOKEN_PATH).set('Host', APP_HOST).set('Sec-Fetch-Site', 'cross-site').type('form').send(form.toString()));
    });

    it('a cross-site form creating a fresh session (no token at all): 403, no Set-Cookie', async () => {
      const { app } = await quickStart();
      expectRefused(await crossSitePost(app, TOKEN_PATH).type('form').send(`client_id=${CLIENT_ID}`));
    });

    it('a cross-site text/plain POST (a form with enctype=text/plain) is 403, not a 400 about its body', async () => {
      const { app } = await quickStart();
      const attacker = await create(app);
      const body = `{"client_id":"${CLIENT_ID}","session_token":"${attacker.session_token}","x":"="}`;
      expectRefused(await crossSitePost(app, TOKEN_PATH).set('Content-Type', 'text/plain').send(body));
      expectRefused(await crossSitePost(app, LOGOUT_PATH).set('Content-Type', 'text/plain').send(body));
      // From the app itself the same body is a plain 400 about its content type.
      const own = await request(app).post(TOKEN_PATH).set('Host', APP_HOST).set('Origin', APP).set('Content-Type', 'text/plain').send(body);
      expectError(own, 400, 'invalid_request');
    });

    it('a cross-site POST /anonymous/logout clears no cookie and ends no session, whatever carries the token', async () => {
      const { app } = await quickStart();
      const victim = await create(app);
      const form = new URLSearchParams({ client_id: CLIENT_ID, session_token: victim.session_token });
      expectRefused(await crossSitePost(app, LOGOUT_PATH).type('form').send(form.toString()));
      expectRefused(await crossSitePost(app, LOGOUT_PATH).set('Cookie', `anon=${victim.session_token}`).type('form').send(`client_id=${CLIENT_ID}`));
      expect((await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${victim.session_token}`)).status).toBe(200);
    });

    it('Sec-Fetch-Site: same-site (a sibling subdomain) is cross-site unless its Origin is allowed for the client', async () => {
      const { app } = await quickStart();
      const attacker = await create(app);
      const form = new URLSearchParams({ client_id: CLIENT_ID, session_token: attacker.session_token }).toString();
      const fromSibling = (origin: string | undefined) => {
        const req = request(app).post(TOKEN_PATH).set('Host', APP_HOST).set('Sec-Fetch-Site', 'same-site');
        return (origin === undefined ? req : req.set('Origin', origin)).type('form').send(form);
      };
      expectRefused(await fromSibling(SIBLING));
      expectRefused(await fromSibling(undefined));

      const allowing = await quickStart({
        engine: { clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true, allowedOrigins: [SIBLING] }] },
      });
      const res = await request(allowing.app)
        .post(TOKEN_PATH)
        .set('Host', APP_HOST)
        .set('Origin', SIBLING)
        .set('Sec-Fetch-Site', 'same-site')
        .send(tokenRequest());
      expectTokens(res);
      expect(res.headers['access-control-allow-origin']).toBe(SIBLING);
      sessionSetCookie(res);
    });

    it('the same-origin check includes the scheme: https://host is not http://host', async () => {
      const { app } = await quickStart();
      // supertest speaks plain http: the app's own origin is http://shop.test.
      expectRefused(await request(app).post(TOKEN_PATH).set('Host', APP_HOST).set('Origin', `https://${APP_HOST}`).send(tokenRequest()));
      const own = await request(app).post(TOKEN_PATH).set('Host', APP_HOST).set('Origin', APP).send(tokenRequest());
      expectTokens(own);
      sessionSetCookie(own);

      // Behind a trusted TLS proxy the framework reports https (X-Forwarded-Proto), and http is the foreign one.
      const proxied = await quickStart({ trustProxy: true });
      const viaProxy = (origin: string) =>
        request(proxied.app).post(TOKEN_PATH).set('Host', APP_HOST).set('X-Forwarded-Proto', 'https').set('Origin', origin).send(tokenRequest());
      expectTokens(await viaProxy(`https://${APP_HOST}`));
      expectRefused(await viaProxy(APP));
      // An untrusted proxy's X-Forwarded-Proto is ignored.
      const untrusted = await request(app).post(TOKEN_PATH).set('Host', APP_HOST).set('X-Forwarded-Proto', 'https').set('Origin', `https://${APP_HOST}`).send(tokenRequest());
      expectRefused(untrusted);
    });

    it('an origin allowed for one client is not accepted for a request naming another client', async () => {
      const { app, anon } = await quickStart();
      const victim = await create(app);
      const ridingOnCookie = (origin: string, clientId: string) =>
        request(app).post(TOKEN_PATH).set('Origin', origin).set('Sec-Fetch-Site', 'cross-site').set('Cookie', `anon=${victim.session_token}`).send({ client_id: clientId, audience: AUDIENCE });
      expectRefused(await ridingOnCookie(OTHER_PARTNER, CLIENT_ID));
      expectRefused(await ridingOnCookie(PARTNER, 'other-app'));
      expectRefused(await crossSitePost(app, LOGOUT_PATH, OTHER_PARTNER).send({ client_id: CLIENT_ID, session_token: victim.session_token }));

      const own = await ridingOnCookie(PARTNER, CLIENT_ID);
      expect(await sessionIdOf(anon, expectTokens(own).session_token)).toBe(await sessionIdOf(anon, victim.session_token));
      expect(own.headers['access-control-allow-origin']).toBe(PARTNER);
      expect((await ridingOnCookie(OTHER_PARTNER, 'other-app')).headers['access-control-allow-origin']).toBe(OTHER_PARTNER);
    });

    it('same-origin pages, allowed CORS origins (cookie and token mode) and non-browser callers keep working', async () => {
      const { app, anon } = await quickStart();
      // The app's own page: a fetch() sends Origin (on POST) and Sec-Fetch-Site: same-origin.
      const own = await request(app).post(TOKEN_PATH).set('Host', APP_HOST).set('Origin', APP).set('Sec-Fetch-Site', 'same-origin').send(tokenRequest());
      const created = expectTokens(own);
      expect(parseSetCookie(sessionSetCookie(own)).value).toBe(created.session_token);
      const sameOriginGet = await request(app).get(SESSION_PATH).set('Host', APP_HOST).set('Sec-Fetch-Site', 'same-origin').set('Cookie', `anon=${created.session_token}`);
      expect(sameOriginGet.status).toBe(200);

      // An allowed origin in token mode: the token in the body, the browser says cross-site.
      const tokenMode = await crossSitePost(app, TOKEN_PATH, PARTNER).send(tokenRequest({ session_token: created.session_token }));
      expect(await sessionIdOf(anon, expectTokens(tokenMode).session_token)).toBe(await sessionIdOf(anon, created.session_token));
      expect(tokenMode.headers['access-control-allow-origin']).toBe(PARTNER);
      // …and in cookie mode, riding on the cookie.
      const cookieMode = await crossSitePost(app, TOKEN_PATH, PARTNER).set('Cookie', `anon=${created.session_token}`).send(tokenRequest());
      expectTokens(cookieMode);
      const logout = await crossSitePost(app, LOGOUT_PATH, PARTNER).set('Cookie', `anon=${created.session_token}`).send({ client_id: CLIENT_ID });
      expect(logout.status).toBe(204);
      expect(parseSetCookie(sessionSetCookie(logout)).value).toBe('');

      // curl and servers send neither Origin nor Sec-Fetch-Site.
      const curl = await request(app).post(TOKEN_PATH).send(tokenRequest());
      sessionSetCookie(curl);
    });

    it('a session token on the Authorization header is no cookie: /anonymous/session answers any origin (CORS decides who reads it)', async () => {
      const { app } = await quickStart();
      const tokens = await create(app);
      const res = await request(app).get(SESSION_PATH).set('Origin', EVIL).set('Sec-Fetch-Site', 'cross-site').set('Authorization', `Bearer ${tokens.session_token}`);
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('GET /anonymous/session riding on the cookie from another site: 403 and the cookie is not cleared, even a dead one', async () => {
      const { app } = await quickStart();
      const tokens = await create(app);
      const fromEvil = (cookie: string) => request(app).get(SESSION_PATH).set('Sec-Fetch-Site', 'cross-site').set('Cookie', `anon=${cookie}`);
      expectRefused(await fromEvil(tokens.session_token));
      expectRefused(await fromEvil('dead'));
      // From the app itself a dead cookie is still cleared.
      const own = await request(app).get(SESSION_PATH).set('Sec-Fetch-Site', 'same-origin').set('Cookie', 'anon=dead');
      expectError(own, 401, 'invalid_session_token');
      expect(parseSetCookie(sessionSetCookie(own)).value).toBe('');
    });

    it('with cookies off there is no cookie to plant: a cross-site request with the token in the body is served', async () => {
      const { app } = await quickStart({ router: { cookie: false } });
      const tokens = await create(app);
      const res = await crossSitePost(app, TOKEN_PATH).send(tokenRequest({ session_token: tokens.session_token }));
      expectTokens(res);
      expect(setCookies(res)).toEqual([]);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  describe('item 2: a query-string token never replaces a live cookie session', () => {
    const page = (app: RequestListener, query: string) => request(app).get(`/page?${query}`);

    function expectStripped(res: Response, location: string): void {
      expect(res.status, res.text).toBe(303);
      expect(res.headers.location).toBe(location);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cache-control']).toBe('no-store');
    }

    it('the cookie and the query name different live sessions: 400 invalid_request, no cookie, the page does not run', async () => {
      const { app, seenTokens } = await quickStart();
      const victim = await create(app);
      const attacker = await create(app);
      for (const site of [undefined, 'same-origin', 'cross-site']) {
        const req = page(app, `anonymous_session_token=${attacker.session_token}`).set('Cookie', `anon=${victim.session_token}`);
        const res = await (site === undefined ? req : req.set('Sec-Fetch-Site', site));
        expectError(res, 400, 'invalid_request');
        expect(setCookies(res)).toEqual([]);
        expect(res.headers['referrer-policy']).toBe('no-referrer');
        expect(res.text).not.toContain(attacker.session_token);
      }
      expect(seenTokens).toEqual([]);
      // The victim's own session is untouched.
      const own = await request(app).get('/page').set('Cookie', `anon=${victim.session_token}`);
      expect((own.body as PageBody).session).not.toBeNull();
    });

    it('a link from another site (Sec-Fetch-Site: cross-site or same-site) is redirected without the token and writes no cookie', async () => {
      const { app, seenTokens } = await quickStart();
      const attacker = await create(app);
      for (const site of ['cross-site', 'same-site']) {
        const res = await page(app, `anonymous_session_token=${attacker.session_token}`).set('Sec-Fetch-Site', site);
        expectStripped(res, '/page');
        expect(setCookies(res)).toEqual([]);
      }
      expect(seenTokens).toEqual([]);
    });

    it('the app’s own link (same-origin, typed or non-browser) moves the token into the cookie, then the clean URL has the session', async () => {
      const { app, anon } = await quickStart();
      const tokens = await create(app);
      for (const site of ['same-origin', 'none', undefined]) {
        const req = page(app, `anonymous_session_token=${tokens.session_token}`);
        const res = await (site === undefined ? req : req.set('Sec-Fetch-Site', site));
        expectStripped(res, '/page');
        const cookie = parseSetCookie(sessionSetCookie(res));
        expect(cookie.value).toBe(tokens.session_token);
        expect(res.text).not.toContain(tokens.session_token);
        const followed = await request(app).get(res.headers.location!).set('Cookie', `anon=${cookie.value}`);
        expect((followed.body as PageBody).session?.session_id).toBe(await sessionIdOf(anon, tokens.session_token));
      }
    });

    it('the redirect keeps every other parameter byte for byte and drops every spelling of the token’s', async () => {
      const { app } = await quickStart();
      const tokens = await create(app);
      expectStripped(await page(app, `a=1&anonymous_session_token=${tokens.session_token}&b=%20c+d&e`), '/page?a=1&b=%20c+d&e');
      expectStripped(await page(app, `anonymous%5Fsession_token=${tokens.session_token}&x=1`), '/page?x=1');
      // Repeated: no token (nothing is written), but both leave the URL.
      const twice = await page(app, `anonymous_session_token=${tokens.session_token}&anonymous_session_token=other`);
      expectStripped(twice, '/page');
      expect(setCookies(twice)).toEqual([]);
      // Empty: nothing to move, the URL is cleaned all the same.
      expectStripped(await page(app, 'anonymous_session_token='), '/page');
    });

    it('HEAD is redirected like GET', async () => {
      const { app } = await quickStart();
      const tokens = await create(app);
      const res = await request(app).head(`/page?anonymous_session_token=${tokens.session_token}`);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/page');
    });
  });
}
