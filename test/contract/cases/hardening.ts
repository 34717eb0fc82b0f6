/**
 * Smaller hardening (issue 10, item 12): the body cap holds for a chunked body a host parser
 * already read; session tokens on the Bearer and cookie paths have a length cap before any
 * decryption; `X-Content-Type-Options: nosniff` on every JSON response, ours and the errors the
 * bindings' error handlers render.
 */
import { once } from 'node:events';
import http, { type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EncryptJWT, importJWK, type JWK } from 'jose';
import type { Response } from 'supertest';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { MAX_COOKIE_BYTES, MAX_SESSION_TOKEN_LENGTH } from '@anonymous-sessions/core/http';
import {
  AUDIENCE,
  CLIENT_ID,
  expectError,
  expectTokens,
  ISSUER,
  LOGOUT_PATH,
  SESSION_PATH,
  setCookies,
  testKeys,
  TOKEN_PATH,
  tokenRequest,
} from '../assertions.js';
import { buildApp, type ContractApp, type ContractAppOptions, type Framework, type PageBody } from '../apps.js';

/** The contract cases of this area, against `framework`. */
export function hardeningCases(framework: Framework): void {
  const quickStart = (options?: ContractAppOptions): Promise<ContractApp> => buildApp(framework, options);

  /** POSTs `body` with `Transfer-Encoding: chunked` (no Content-Length), in 1 KiB chunks. */
  async function postChunked(app: RequestListener, contentType: string, body: string): Promise<{ status: number; text: string }> {
    const server = http.createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      return await new Promise((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port, method: 'POST', path: TOKEN_PATH, headers: { 'Content-Type': contentType } },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          },
        );
        req.on('error', reject);
        for (let offset = 0; offset < body.length; offset += 1024) req.write(body.slice(offset, offset + 1024));
        req.end();
      });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }

  /**
   * A genuinely valid session token (our issuer, our encryption key) whose metadata makes it about
   * `length` characters long: only a length cap can refuse it.
   */
  async function validTokenOfLength(length: number): Promise<string> {
    const secret = (await testKeys()).keys.find((key) => key.use === 'enc')!;
    const now = Math.floor(Date.now() / 1000);
    const key = await importJWK(secret as JWK, 'A256GCM');
    const seal = (padding: number) =>
      new EncryptJWT({
        user_id: 'anon|padded-session',
        session_id: 'sess_paddedsession0001',
        created_at: new Date(now * 1000).toISOString(),
        metadata: { pad: 'p'.repeat(padding) },
      })
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: secret.kid })
        .setIssuer(ISSUER)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .encrypt(key);
    const overhead = (await seal(0)).length;
    const token = await seal(Math.max(0, Math.floor(((length - overhead) * 3) / 4)));
    expect(Math.abs(token.length - length)).toBeLessThan(8);
    return token;
  }

  /** A server that accepts large headers (Node's default is 16 KiB), so only our cap is tested. */
  const largeHeaders = (app: RequestListener) => http.createServer({ maxHeaderSize: 256 * 1024 }, app);

  describe('the body cap holds when a host parser already read a chunked body', () => {
    it('JSON: 413 invalid_request for 20 KiB without Content-Length; under the cap it is served', async () => {
      const { app } = await quickStart({ hostBodyParser: 'json' });
      const large = await postChunked(app, 'application/json', JSON.stringify(tokenRequest({ padding: 'p'.repeat(20 * 1024) })));
      expect(large.status, large.text).toBe(413);
      expect(JSON.parse(large.text)).toMatchObject({ error: 'invalid_request' });
      expect(large.text).not.toContain('"session_token"');

      const small = await postChunked(app, 'application/json', JSON.stringify(tokenRequest({ padding: 'p'.repeat(4 * 1024) })));
      expect(small.status, small.text).toBe(200);
    });

    it('forms: the same', async () => {
      const { app } = await quickStart({ hostBodyParser: 'form' });
      const form = (size: number) => new URLSearchParams({ client_id: CLIENT_ID, audience: AUDIENCE, padding: 'p'.repeat(size) }).toString();
      const large = await postChunked(app, 'application/x-www-form-urlencoded', form(20 * 1024));
      expect(large.status, large.text).toBe(413);
      expect((await postChunked(app, 'application/x-www-form-urlencoded', form(1024))).status).toBe(200);
    });
  });

  describe('session tokens have a length cap before any decryption', () => {
    it('the cookie path: a valid token longer than a browser keeps in a cookie is no session', async () => {
      const { app, anon } = await quickStart();
      const short = await validTokenOfLength(1500);
      const long = await validTokenOfLength(MAX_COOKIE_BYTES + 500);
      // Both are genuine: the engine itself verifies them.
      expect((await anon.verifySessionToken(long)).session_id).toBe('sess_paddedsession0001');
      expect((await request(app).get(SESSION_PATH).set('Cookie', `anon=${short}`)).status).toBe(200);

      expectError(await request(app).get(SESSION_PATH).set('Cookie', `anon=${long}`), 401, 'invalid_session_token');
      expect(((await request(app).get('/page').set('Cookie', `anon=${long}`)).body as PageBody).session).toBeNull();
      // The token endpoint starts a new session instead of continuing the over-long one.
      const res = expectTokens(await request(app).post(TOKEN_PATH).set('Cookie', `anon=${long}`).send(tokenRequest()));
      expect((await anon.verifySessionToken(res.session_token)).session_id).not.toBe('sess_paddedsession0001');
      expect((await request(app).post(LOGOUT_PATH).set('Cookie', `anon=${long}`).send({ client_id: CLIENT_ID })).status).toBe(400);
    });

    it(`the Bearer path: a valid session token over ${MAX_SESSION_TOKEN_LENGTH} characters is 401 invalid_session_token`, async () => {
      const { app, anon } = await quickStart();
      const server = largeHeaders(app);
      const under = await validTokenOfLength(MAX_SESSION_TOKEN_LENGTH - 100);
      const over = await validTokenOfLength(MAX_SESSION_TOKEN_LENGTH + 100);
      expect((await request(server).get(SESSION_PATH).set('Authorization', `Bearer ${under}`)).status).toBe(200);
      expectError(await request(server).get(SESSION_PATH).set('Authorization', `Bearer ${over}`), 401, 'invalid_session_token');
      // The engine's own verification holds the same cap, whatever path the token came by.
      await expect(anon.verifySessionToken(over)).rejects.toMatchObject({ code: 'invalid_session_token' });
      expect((await anon.verifySessionToken(under)).session_id).toBe('sess_paddedsession0001');
    });
  });

  describe('X-Content-Type-Options: nosniff on every JSON response', () => {
    const expectNosniff = (res: Response): void => {
      expect(res.headers['content-type'], `${res.status} ${res.text}`).toMatch(/^application\/json/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    };

    it('the endpoints, successes and errors', async () => {
      const { app } = await quickStart();
      const created = await request(app).post(TOKEN_PATH).send(tokenRequest());
      expectNosniff(created);
      const token = expectTokens(created).session_token;
      expectNosniff(await request(app).post(TOKEN_PATH).send(tokenRequest({ scope: 'admin' })));
      expectNosniff(await request(app).post(TOKEN_PATH).set('Content-Type', 'text/plain').send('x'));
      expectNosniff(await request(app).get(SESSION_PATH).set('Authorization', `Bearer ${token}`));
      expectNosniff(await request(app).get(SESSION_PATH));
      expectNosniff(await request(app).post(LOGOUT_PATH).send({}));
      expectNosniff(await request(app).get('/.well-known/jwks.json'));
      expectNosniff(await request(app).get('/.well-known/openid-configuration'));
      expectNosniff(await request(app).get('/.well-known/oauth-authorization-server'));
      expectNosniff(await request(app).post(TOKEN_PATH).set('Origin', 'https://evil.example').send(tokenRequest()));
    });

    it('errors the bindings’ error handlers render: guards, the cookie extractor', async () => {
      // (A host route's crash is the host's to render: anonymousErrorHandler passes it on.)
      const { app } = await quickStart({ guard: { audience: AUDIENCE } });
      expectNosniff(await request(app).get('/api'));
      expectNosniff(await request(app).get('/api').set('Authorization', 'Bearer abc.def.ghi'));
      expectNosniff(await request(app).get('/user'));
      const a = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest())).session_token;
      const b = expectTokens(await request(app).post(TOKEN_PATH).send(tokenRequest())).session_token;
      const clash = await request(app).get(`/page?anonymous_session_token=${b}`).set('Cookie', `anon=${a}`);
      expectError(clash, 400, 'invalid_request');
      expectNosniff(clash);
      expect(setCookies(clash)).toEqual([]);
    });
  });
}
