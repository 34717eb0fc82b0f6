import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import {
  advanceDate,
  AUDIENCE,
  CLIENT_ID,
  DEFAULT_SESSION_LIFETIME,
  expectError,
  expectTokens,
  freezeDate,
  ISSUER,
  LOGOUT_PATH,
  parseSetCookie,
  SESSION_PATH,
  sessionSetCookie,
  setCookies,
  TOKEN_PATH,
  tokenRequest,
} from '../assertions.js';
import { buildApp, type ContractApp, type ContractAppOptions, type Framework, type HostErrorBody } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function tokenEndpointCases(framework: Framework): void {
  const quickStart = (options?: ContractAppOptions): Promise<ContractApp> => buildApp(framework, options);

  describe('POST /anonymous/token: the quick start', () => {
    it('creates a session with scope "anon", then continues it with metadata', async () => {
      // Exactly the README quick start: development keys (with their warning), memory store.
      const { app, anon, logger } = await quickStart({ engine: { keys: undefined } });
      expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('ephemeral development keys'));

      const first = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest({ scope: 'anon' })));
      expect(first.scope).toBe('anon');
      expect(first.expires_in).toBe(86_400);

      expect(decodeProtectedHeader(first.session_token)).toEqual({ alg: 'dir', enc: 'A256GCM', kid: expect.any(String) });
      expect(decodeProtectedHeader(first.access_token)).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: expect.any(String) });

      const created = await anon.verifySessionToken(first.session_token);
      expect(created.user_id).toMatch(/^anon\|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(created.session_id).toMatch(/^sess_[A-Za-z0-9_-]{22}$/);
      expect(new Date(created.created_at).toISOString()).toBe(created.created_at);
      expect(Date.parse(created.expires_at!) - Date.parse(created.created_at)).toBe(DEFAULT_SESSION_LIFETIME * 1000);
      expect(created.metadata).toEqual({});

      const claims = decodeJwt(first.access_token);
      expect(claims).toMatchObject({
        iss: ISSUER,
        sub: created.user_id,
        aud: AUDIENCE,
        client_id: CLIENT_ID,
        scope: 'anon',
        sid: created.session_id,
      });
      expect(claims.jti).toEqual(expect.any(String));
      expect(claims.exp! - claims.iat!).toBe(86_400);

      const second = expectTokens(
        await request(app)
          .post(TOKEN_PATH)
          .send(tokenRequest({ scope: 'anon', session_token: first.session_token, metadata: { language: 'en', country: 'US' } })),
      );
      expect(second.session_token).not.toBe(first.session_token);
      expect(second.access_token).not.toBe(first.access_token);

      const continued = await anon.verifySessionToken(second.session_token);
      expect(continued).toEqual({ ...created, metadata: { language: 'en', country: 'US' } });

      const viaHttp = await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${second.session_token}`);
      expect(viaHttp.status).toBe(200);
      expect(viaHttp.body).toEqual({
        user_id: created.user_id,
        session_id: created.session_id,
        created_at: created.created_at,
        expires_at: created.expires_at,
        metadata: { language: 'en', country: 'US' },
      });
      expect(decodeJwt(second.access_token)).toMatchObject({ sub: created.user_id, sid: created.session_id });

      // JSON Merge Patch: null deletes a key, other keys stay.
      const third = expectTokens(
        await request(app)
          .post(TOKEN_PATH)
          .send(tokenRequest({ session_token: second.session_token, metadata: { country: null, cart: { sku1: 2 } } })),
      );
      expect((await anon.verifySessionToken(third.session_token)).metadata).toEqual({ language: 'en', cart: { sku1: 2 } });
    });

    it('grants every anonymous scope when none is asked for, and defaults the audience when there is one API', async () => {
      const { app } = await quickStart();
      const body = expectTokens(await request(app).post(TOKEN_PATH).send({ client_id: CLIENT_ID }));
      expect(body.scope).toBe('anon read:products write:cart');
      expect(decodeJwt(body.access_token).aud).toBe(AUDIENCE);
    });

    it('accepts a client-chosen user_id on creation from a client with allowUserId', async () => {
      const { app, anon } = await quickStart({ engine: { clients: [{ clientId: CLIENT_ID, canCreateAnonymousSessions: true, allowUserId: true }] } });
      const body = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest({ user_id: 'anon|device_1234-abc' })));
      expect((await anon.verifySessionToken(body.session_token)).user_id).toBe('anon|device_1234-abc');
      expect(decodeJwt(body.access_token).sub).toBe('anon|device_1234-abc');
    });

    it('serves the endpoints under a mount path', async () => {
      const { app } = await quickStart({ mountPath: '/auth' });
      expectTokens(await request(app).post(`/auth${TOKEN_PATH}`).send(tokenRequest()));
      expect((await request(app).get('/auth/.well-known/jwks.json')).status).toBe(200);
      expect((await request(app).post(TOKEN_PATH).send(tokenRequest())).status).toBe(404);
      expect((await request(app).post(`/authx${TOKEN_PATH}`).send(tokenRequest())).status).toBe(404);
    });

    it('leaves other paths and methods to the host, and matches paths as Express’s router does', async () => {
      const { app } = await quickStart();
      expect((await request(app).get(TOKEN_PATH)).status).toBe(404);
      expect((await request(app).put(LOGOUT_PATH).send({})).status).toBe(404);
      expect((await request(app).post(SESSION_PATH).send({})).status).toBe(404);
      expect((await request(app).get('/anonymous/other')).status).toBe(404);
      expect((await request(app).options('/.well-known/jwks.json')).status).toBe(404);
      // A host route behind the router still answers.
      expect((await request(app).get('/page')).status).toBe(200);

      const head = await request(app).head('/.well-known/jwks.json');
      expect(head.status).toBe(200);
      expect(head.headers['cache-control']).toBe('public, max-age=300');
      expect(head.text ?? '').toBe('');
      expectTokens(await request(app).post(`${TOKEN_PATH}/`).send(tokenRequest()));
      expectTokens(await request(app).post(TOKEN_PATH.toUpperCase()).send(tokenRequest()));
    });
  });

  describe('POST /anonymous/token: bodies', () => {
    it('accepts a form body whose metadata is JSON text', async () => {
      const { app, anon } = await quickStart();
      const form = new URLSearchParams({
        client_id: CLIENT_ID,
        audience: AUDIENCE,
        scope: 'anon write:cart',
        metadata: JSON.stringify({ language: 'fr', cart: [{ sku: 'A1', qty: 1 }] }),
      });
      const created = expectTokens(await request(app).post(TOKEN_PATH).type('form').send(form.toString()));
      expect(created.scope).toBe('anon write:cart');
      const session = await anon.verifySessionToken(created.session_token);
      expect(session.metadata).toEqual({ language: 'fr', cart: [{ sku: 'A1', qty: 1 }] });

      const next = new URLSearchParams({
        client_id: CLIENT_ID,
        session_token: created.session_token,
        metadata: '{"language":"de"}',
      });
      const continued = expectTokens(await request(app).post(TOKEN_PATH).type('form').send(next.toString()));
      const after = await anon.verifySessionToken(continued.session_token);
      expect(after.session_id).toBe(session.session_id);
      expect(after.metadata).toEqual({ language: 'de', cart: [{ sku: 'A1', qty: 1 }] });
    });

    it('accepts JSON with a charset parameter and +json media types', async () => {
      const { app } = await quickStart();
      const text = JSON.stringify(tokenRequest());
      expectTokens(await request(app).post(TOKEN_PATH).set('Content-Type', 'application/json; charset=utf-8').send(text));
      expectTokens(await request(app).post(TOKEN_PATH).set('Content-Type', 'application/vnd.api+json').send(text));
    });

    it('refuses a body over 16 KiB with 413 invalid_request', async () => {
      const { app } = await quickStart();
      const res = await request(app)
        .post(TOKEN_PATH)
        .send(tokenRequest({ metadata: { blob: 'x'.repeat(17 * 1024) } }));
      expectError(res, 413, 'invalid_request');
      expect(setCookies(res)).toEqual([]);

      // Just under the cap the body is read (and then refused for its metadata, not its size).
      const under = await request(app)
        .post(TOKEN_PATH)
        .send(tokenRequest({ metadata: { blob: 'x'.repeat(15 * 1024) } }));
      expectError(under, 413, 'metadata_too_large');
    });

    it('honours a smaller bodyLimit', async () => {
      const { app } = await quickStart({ router: { cookie: { secure: false }, bodyLimit: 100 } });
      expectError(await request(app).post(TOKEN_PATH).send(tokenRequest({ scope: 'a'.repeat(200) })), 413, 'invalid_request');
    });

    it('refuses an over-limit chunked body (no Content-Length) with 413 while it streams in', async () => {
      const { app } = await quickStart();
      const server = http.createServer(app).listen(0, '127.0.0.1');
      await once(server, 'listening');
      try {
        const { port } = server.address() as AddressInfo;
        const result = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = http.request(
            { host: '127.0.0.1', port, method: 'POST', path: TOKEN_PATH, headers: { 'Content-Type': 'application/json' } },
            (res) => {
              let body = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (body += chunk));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            },
          );
          req.on('error', reject);
          // Keep streaming until the server answers: the refusal must come while the body still flows.
          let answered = false;
          let chunks = 0;
          req.on('response', () => (answered = true));
          req.write('{"client_id":"shop-web","metadata":{"blob":"');
          const pump = (): void => {
            if (answered || chunks >= 256) {
              req.end('"}}');
              return;
            }
            chunks += 1;
            req.write('y'.repeat(1024));
            setImmediate(pump);
          };
          pump();
        });
        expect(result.status).toBe(413);
        expect(JSON.parse(result.body)).toMatchObject({ error: 'invalid_request' });
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });

    it('works behind a host JSON body parser mounted before the router', async () => {
      const { app, anon } = await quickStart({ hostBodyParser: 'json' });
      const created = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest({ metadata: { a: 1 } })));
      const continued = expectTokens(
        await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: created.session_token, metadata: { b: 2 } })),
      );
      expect((await anon.verifySessionToken(continued.session_token)).metadata).toEqual({ a: 1, b: 2 });

      // A form body is not parsed by a JSON parser: the router reads the stream itself.
      const form = new URLSearchParams({ client_id: CLIENT_ID, metadata: '{"c":3}' });
      const viaForm = expectTokens(await request(app).post(TOKEN_PATH).type('form').send(form.toString()));
      expect((await anon.verifySessionToken(viaForm.session_token)).metadata).toEqual({ c: 3 });

      // The router's body cap still holds when the host parser (limit 100 KB) read the body.
      const large = await request(app)
        .post(TOKEN_PATH)
        .send(tokenRequest({ scope: 'anon', padding: 'p'.repeat(17 * 1024) }));
      expectError(large, 413, 'invalid_request');

      // Metadata rules hold for bodies the host parsed, too.
      expectError(
        await request(app)
          .post(TOKEN_PATH)
          .set('Content-Type', 'application/json')
          .send('{"client_id":"shop-web","metadata":{"cart":[{"prototype":1}]}}'),
        400,
        'invalid_metadata',
      );
      // A `__proto__` key is refused either way: by our metadata rules (Express's JSON.parse keeps
      // it as an own key) or already by the host parser (co-body's parser rejects it).
      const poisoned = await request(app)
        .post(TOKEN_PATH)
        .set('Content-Type', 'application/json')
        .send('{"client_id":"shop-web","metadata":{"__proto__":{"polluted":true}}}');
      if ((poisoned.body as Partial<HostErrorBody>).handled_by === 'host') expect(poisoned.status).toBe(400);
      else expectError(poisoned, 400, 'invalid_metadata');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();

      // The host parser's own failures are the host's errors: anonymousErrorHandler passes them on
      // to the host's error handler (issue 11, item 6), which answers with their status.
      const malformed = await request(app).post(TOKEN_PATH).set('Content-Type', 'application/json').send('{"client_id":');
      expect(malformed.status).toBe(400);
      expect(malformed.body).toEqual({ handled_by: 'host' } satisfies HostErrorBody);
      // What the host parser lets through is ours to refuse: an array is not a token request.
      expectError(await request(app).post(TOKEN_PATH).set('Content-Type', 'application/json').send('[1,2]'), 400, 'invalid_request');
    });

    it('works behind a host form body parser mounted before the router', async () => {
      const { app, anon } = await quickStart({ hostBodyParser: 'form' });
      const form = new URLSearchParams({ client_id: CLIENT_ID, scope: 'anon', metadata: '{"language":"en"}' });
      const created = expectTokens(await request(app).post(TOKEN_PATH).type('form').send(form.toString()));
      expect(created.scope).toBe('anon');
      expect((await anon.verifySessionToken(created.session_token)).metadata).toEqual({ language: 'en' });

      // JSON still reaches the router's own reader.
      expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: created.session_token })));
      // A repeated parameter is still refused.
      expectError(
        await request(app).post(TOKEN_PATH).type('form').send('client_id=shop-web&client_id=other'),
        400,
        'invalid_request',
      );
    });
  });

  describe('POST /anonymous/token: caching headers and the session cookie', () => {
    it('sends Cache-Control: no-store and Pragma: no-cache', async () => {
      const { app } = await quickStart();
      const res = await request(app).post(TOKEN_PATH).send(tokenRequest());
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers.pragma).toBe('no-cache');
    });

    it('sets anon=<session token>; HttpOnly; SameSite=Lax; Path=/; Max-Age = the remaining session life', async () => {
      freezeDate('2030-01-01T00:00:00.000Z');
      const { app } = await quickStart();
      const created = await request(app).post(TOKEN_PATH).send(tokenRequest());
      const body = expectTokens(created);
      const cookie = parseSetCookie(sessionSetCookie(created));
      expect(cookie.name).toBe('anon');
      expect(cookie.value).toBe(body.session_token);
      expect(cookie.attributes).toEqual({
        'max-age': String(DEFAULT_SESSION_LIFETIME),
        path: '/',
        httponly: true,
        samesite: 'Lax',
      });

      // Absolute expiry: ten days later the cookie lives twenty more days, not thirty.
      advanceDate(10 * 86_400);
      const continued = await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: body.session_token }));
      expectTokens(continued);
      expect(parseSetCookie(sessionSetCookie(continued)).attributes['max-age']).toBe(String(20 * 86_400));
    });

    it('renews Max-Age on each continue with slidingExpiration', async () => {
      freezeDate();
      const { app } = await quickStart({ engine: { slidingExpiration: true, sessionLifetime: 3600 } });
      const created = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest()));
      advanceDate(1800);
      const continued = await request(app).post(TOKEN_PATH).send(tokenRequest({ session_token: created.session_token }));
      expectTokens(continued);
      expect(parseSetCookie(sessionSetCookie(continued)).attributes['max-age']).toBe('3600');
    });

    it('gives a never-expiring session (sessionLifetime 0) the longest Max-Age browsers keep', async () => {
      const { app, anon, logger } = await quickStart({ engine: { sessionLifetime: 0 } });
      expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('never expire'));
      const res = await request(app).post(TOKEN_PATH).send(tokenRequest());
      const body = expectTokens(res);
      expect(parseSetCookie(sessionSetCookie(res)).attributes['max-age']).toBe(String(400 * 86_400));
      expect((await anon.verifySessionToken(body.session_token)).expires_at).toBeNull();
    });

    it('marks the cookie Secure by default', async () => {
      const { app } = await quickStart({ engine: { cookie: {} } });
      const res = await request(app).post(TOKEN_PATH).send(tokenRequest());
      expectTokens(res);
      expect(parseSetCookie(sessionSetCookie(res)).attributes).toMatchObject({ secure: true, httponly: true, samesite: 'Lax' });
    });

    it('uses the configured cookie name and sets no cookie when cookies are off', async () => {
      const named = await quickStart({ router: { cookie: { secure: false, name: 'guest' } } });
      const res = await request(named.app).post(TOKEN_PATH).send(tokenRequest());
      expect(parseSetCookie(sessionSetCookie(res, 'guest')).value).toBe(expectTokens(res).session_token);

      const off = await quickStart({ router: { cookie: false } });
      const noCookie = await request(off.app).post(TOKEN_PATH).send(tokenRequest());
      expectTokens(noCookie);
      expect(setCookies(noCookie)).toEqual([]);
    });

    it('continues the session from the cookie alone', async () => {
      const { app, anon } = await quickStart();
      const agent = request.agent(app);
      const created = expectTokens(await agent.post(TOKEN_PATH).send(tokenRequest({ metadata: { step: 1 } })));
      const first = await anon.verifySessionToken(created.session_token);

      const continued = expectTokens(await agent.post(TOKEN_PATH).send(tokenRequest({ metadata: { step: 2 } })));
      const second = await anon.verifySessionToken(continued.session_token);
      expect(second).toEqual({ ...first, metadata: { step: 2 } });

      const manual = expectTokens(
        await request(app).post(TOKEN_PATH).set('Cookie', `anon=${continued.session_token}`).send(tokenRequest()),
      );
      expect((await anon.verifySessionToken(manual.session_token)).session_id).toBe(first.session_id);
    });

    it('prefers session_token in the body over the cookie', async () => {
      const { app, anon } = await quickStart();
      const a = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest()));
      const b = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest()));
      const res = expectTokens(
        await request(app)
          .post(TOKEN_PATH)
          .set('Cookie', `anon=${a.session_token}`)
          .send(tokenRequest({ session_token: b.session_token })),
      );
      expect((await anon.verifySessionToken(res.session_token)).session_id).toBe(
        (await anon.verifySessionToken(b.session_token)).session_id,
      );
    });

    it('starts a new session when the cookie token is expired or invalid, instead of failing', async () => {
      freezeDate();
      const { app, anon } = await quickStart({ engine: { sessionLifetime: 3600 } });
      const old = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest({ metadata: { old: true } })));
      const oldSession = await anon.verifySessionToken(old.session_token);

      advanceDate(3600 + 60);
      const afterExpiry = await request(app).post(TOKEN_PATH).set('Cookie', `anon=${old.session_token}`).send(tokenRequest());
      const fresh = expectTokens(afterExpiry);
      const freshSession = await anon.verifySessionToken(fresh.session_token);
      expect(freshSession.user_id).not.toBe(oldSession.user_id);
      expect(freshSession.session_id).not.toBe(oldSession.session_id);
      expect(freshSession.metadata).toEqual({});
      expect(parseSetCookie(sessionSetCookie(afterExpiry)).value).toBe(fresh.session_token);

      const garbage = await request(app).post(TOKEN_PATH).set('Cookie', 'anon=not-a-token').send(tokenRequest());
      const replaced = expectTokens(garbage);
      expect(parseSetCookie(sessionSetCookie(garbage)).value).toBe(replaced.session_token);
    });

    it('refuses a session token whose cookie would pass 4096 bytes with 413 metadata_too_large and sets no cookie', async () => {
      const { app } = await quickStart({ engine: { metadata: { maxBytes: 8000 } } });
      const metadata = { notes: Array.from({ length: 70 }, (_, index) => `${index}-${'abcdefghij'.repeat(5)}`).join(',') };
      expect(JSON.stringify(metadata).length).toBeGreaterThan(3500);

      const res = await request(app).post(TOKEN_PATH).send(tokenRequest({ metadata }));
      expectError(res, 413, 'metadata_too_large');
      expect(setCookies(res)).toEqual([]);

      // Without the cookie the same session token is fine: the limit is the browser's, not the engine's.
      const cookieless = await quickStart({ engine: { metadata: { maxBytes: 8000 } }, router: { cookie: false } });
      const ok = expectTokens(await request(cookieless.app).post(TOKEN_PATH).send(tokenRequest({ metadata })));
      expect(ok.session_token.length).toBeGreaterThan(4096);
    });

    it('keeps the default 2 KiB of metadata well inside the cookie limit', async () => {
      const { app } = await quickStart();
      const metadata = { blob: 'z'.repeat(2048 - '{"blob":""}'.length) };
      const res = await request(app).post(TOKEN_PATH).send(tokenRequest({ metadata }));
      expectTokens(res);
      expect(sessionSetCookie(res).length).toBeLessThanOrEqual(4096);
    });
  });

}
