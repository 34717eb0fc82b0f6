/**
 * Interop with software we did not write: an API protected by express-oauth2-jwt-bearer, pointed
 * only at our issuer, accepts our access tokens through discovery; jose's remote JWKS verifies them.
 * The token server runs on a real port, so both libraries make real HTTP requests to it.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { auth, requiredScopes } from 'express-oauth2-jwt-bearer';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAnonymousSessions, generateKeySet, memoryStore, type AnonymousSessions } from '@anonymous-sessions/core';
import { anonymousErrorHandler, anonymousTokenRouter } from '@anonymous-sessions/express';

const AUDIENCE = 'https://api.shop.example';

let server: http.Server;
let issuer: string;
let anon: AnonymousSessions;
let api: Express;

interface Tokens {
  session_token: string;
  access_token: string;
}

async function issue(scope = 'anon'): Promise<Tokens> {
  const res = await fetch(`${issuer}anonymous/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_id: 'shop-web', audience: AUDIENCE, scope }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Tokens;
}

function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...claims, scope: 'anon admin' })).toString('base64url');
  return [header, forged, signature].join('.');
}

beforeAll(async () => {
  // Listen first, so the issuer can carry the real port.
  server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  issuer = `http://127.0.0.1:${port}/`;

  anon = await createAnonymousSessions({
    issuer,
    keys: await generateKeySet(),
    clients: [{ clientId: 'shop-web', canCreateAnonymousSessions: true }],
    resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: ['anon', 'read:products', 'write:cart'] }],
    store: memoryStore(),
    logger: { warn: vi.fn(), error: vi.fn() },
  });
  const app = express();
  app.use(anonymousTokenRouter(anon, { cookie: { secure: false } }));
  app.use(anonymousErrorHandler());
  server.on('request', app);

  // The second app: someone else's resource server, configured with nothing but our issuer.
  api = express();
  api.use(auth({ issuerBaseURL: issuer, audience: AUDIENCE }));
  api.get('/api/products', (req, res) => {
    res.json({ sub: req.auth?.payload.sub, scope: req.auth?.payload.scope });
  });
  api.post('/api/cart', requiredScopes('write:cart'), (_req, res) => {
    res.json({ ok: true });
  });
  const renderAuthErrors: ErrorRequestHandler = (error: { status?: number; headers?: Record<string, string> }, _req, res, _next) => {
    res.status(error.status ?? 500).set(error.headers ?? {}).end();
  };
  api.use(renderAuthErrors);
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

describe('express-oauth2-jwt-bearer', () => {
  it('accepts our access token through discovery alone', async () => {
    const tokens = await issue();
    const res = await request(api).get('/api/products').set('Authorization', `Bearer ${tokens.access_token}`);
    expect(res.status, res.text).toBe(200);
    const session = await anon.verifySessionToken(tokens.session_token);
    expect(res.body).toEqual({ sub: session.user_id, scope: 'anon' });
  });

  it('rejects a tampered access token with 401 invalid_token', async () => {
    const tokens = await issue();
    const res = await request(api).get('/api/products').set('Authorization', `Bearer ${tamper(tokens.access_token)}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="api", error="invalid_token"/);
  });

  it('rejects a session token', async () => {
    const tokens = await issue();
    const res = await request(api).get('/api/products').set('Authorization', `Bearer ${tokens.session_token}`);
    expect(res.status).toBe(401);
  });

  it('enforces scopes from our tokens', async () => {
    const guest = await issue('anon');
    expect((await request(api).post('/api/cart').set('Authorization', `Bearer ${guest.access_token}`)).status).toBe(403);
    const shopper = await issue('anon write:cart');
    expect((await request(api).post('/api/cart').set('Authorization', `Bearer ${shopper.access_token}`)).status).toBe(200);
  });
});

describe('jose createRemoteJWKSet', () => {
  it('verifies our access token with the discovered jwks_uri, issuer and audience', async () => {
    const discovery = (await (await fetch(`${issuer}.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    expect(discovery.issuer).toBe(issuer);
    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));

    const tokens = await issue();
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
      issuer: discovery.issuer,
      audience: AUDIENCE,
      typ: 'at+jwt',
      algorithms: ['RS256'],
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({ iss: issuer, aud: AUDIENCE, scope: 'anon', client_id: 'shop-web' });
    expect(String(payload.sub)).toMatch(/^anon\|/);

    await expect(jwtVerify(tamper(tokens.access_token), jwks, { issuer, audience: AUDIENCE })).rejects.toBeInstanceOf(
      joseErrors.JWSSignatureVerificationFailed,
    );
    await expect(jwtVerify(tokens.access_token, jwks, { issuer, audience: 'https://api.other.example' })).rejects.toBeInstanceOf(
      joseErrors.JWTClaimValidationFailed,
    );
  });
});
