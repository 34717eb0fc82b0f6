/**
 * One-way request paths (issue 12, item 4): the origin decision is made once per request and
 * shared by the cross-site rule, the token request and CORS, so a `clients` resolver runs exactly
 * once per request — on a create and on a continue, in cookie mode (same-origin and from an allowed
 * cross-origin client) and in token mode. Counted on the framework-free endpoints, so the figure is
 * the core's own, whatever the binding.
 */
import { describe, expect, it } from 'vitest';
import type { ClientInput } from '@anonymous-sessions/core';
import { createEndpoints, type HttpRequest, type HttpResponse, type TokenEndpointsOptions } from '@anonymous-sessions/core/http';
import { AUDIENCE, buildEngine, CLIENT_ID } from './fixtures.js';

const APP = 'https://shop.example';
const PARTNER = 'https://partner.example';

/** An engine whose clients come from a resolver that counts its calls, and its endpoints. */
async function countingEndpoints(options: TokenEndpointsOptions = {}) {
  let calls = 0;
  const client: ClientInput = { clientId: CLIENT_ID, canCreateAnonymousSessions: true, allowedOrigins: [PARTNER] };
  const { anon } = await buildEngine({
    rateLimit: false,
    clients: async (clientId: string) => {
      calls += 1;
      return clientId === CLIENT_ID ? client : undefined;
    },
  });
  return {
    endpoints: createEndpoints(anon, options),
    /** The resolver calls since the last look, and starts counting again. */
    take: (): number => {
      const counted = calls;
      calls = 0;
      return counted;
    },
  };
}

function tokenRequest(origin: string | undefined, body: Record<string, unknown>, cookie?: string): HttpRequest {
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(origin === undefined ? {} : { origin }),
      ...(cookie === undefined ? {} : { cookie }),
    },
    ip: '203.0.113.7',
    host: 'shop.example',
    protocol: 'https',
    parsedBody: { client_id: CLIENT_ID, audience: AUDIENCE, ...body },
  };
}

function sessionCookie(response: HttpResponse): string {
  const header = response.headers['Set-Cookie'];
  const value = Array.isArray(header) ? header[0] : header;
  expect(value).toMatch(/^anon=/);
  return value!.split(';')[0]!;
}

function tokens(response: HttpResponse): { session_token: string; access_token: string } {
  expect(response.status).toBe(200);
  return response.body as { session_token: string; access_token: string };
}

describe('a clients resolver runs once per request', () => {
  it('cookie mode, same origin: 1 on the create, 1 on the continue with the cookie', async () => {
    const { endpoints, take } = await countingEndpoints();
    const created = await endpoints.token(tokenRequest(APP, {}));
    tokens(created);
    expect(take()).toBe(1);
    const continued = await endpoints.token(tokenRequest(APP, {}, sessionCookie(created)));
    tokens(continued);
    expect(take()).toBe(1);
  });

  it('cookie mode, from an allowed cross-origin client: 1 on the create, 1 on the continue, CORS answered', async () => {
    const { endpoints, take } = await countingEndpoints();
    const created = await endpoints.token(tokenRequest(PARTNER, {}));
    tokens(created);
    expect(created.headers['Access-Control-Allow-Origin']).toBe(PARTNER);
    expect(take()).toBe(1);
    const continued = await endpoints.token(tokenRequest(PARTNER, { metadata: { cart: ['A'] } }, sessionCookie(created)));
    tokens(continued);
    expect(continued.headers['Access-Control-Allow-Origin']).toBe(PARTNER);
    expect(take()).toBe(1);
  });

  it('token mode (no cookie, the session token in the body): 1 on the create, 1 on the continue', async () => {
    const { endpoints, take } = await countingEndpoints({ cookie: false });
    const created = tokens(await endpoints.token(tokenRequest(PARTNER, {})));
    expect(take()).toBe(1);
    const continued = await endpoints.token(tokenRequest(PARTNER, { session_token: created.session_token }));
    expect(tokens(continued).session_token).not.toBe(created.session_token);
    expect(continued.headers['Access-Control-Allow-Origin']).toBe(PARTNER);
    expect(take()).toBe(1);
  });

  it('a logout is one lookup too', async () => {
    const { endpoints, take } = await countingEndpoints();
    const created = await endpoints.token(tokenRequest(PARTNER, {}));
    take();
    const ended = await endpoints.logout({ ...tokenRequest(PARTNER, {}, sessionCookie(created)), parsedBody: { client_id: CLIENT_ID } });
    expect(ended.status).toBe(204);
    expect(take()).toBe(1);
  });
});
