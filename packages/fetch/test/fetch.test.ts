/**
 * What only the fetch binding has: the `Request` in and the `Response` out, and errors that carry
 * their answer. Every rule both it and the other bindings apply is in the contract suite
 * (test/contract), on Hono and on direct calls.
 */
import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '@anonymous-sessions/core/http';
import {
  anonCookieExtractor,
  anonymousErrorResponse,
  anonymousTokenHandler,
  createAnonymousSessions,
  memoryStore,
  requireAnonymousOrUser,
  requireScopes,
  type AnonymousErrorWithResponse,
} from '@anonymous-sessions/fetch';

const AUDIENCE = 'https://api.shop.example';
const silent = { warn: () => undefined, error: () => undefined };
const engine = () =>
  createAnonymousSessions({
    issuer: 'https://shop.example/',
    clients: [{ clientId: 'shop-web', canCreateAnonymousSessions: true }],
    resourceServers: [{ audience: AUDIENCE, allowAnonymousAccess: true, anonymousScopes: ['anon', 'read:products'] }],
    store: memoryStore(),
    logger: silent,
  });

const refusal = async (promise: Promise<unknown>): Promise<AnonymousErrorWithResponse> => {
  try {
    await promise;
  } catch (error) {
    return error as AnonymousErrorWithResponse;
  }
  throw new Error('expected a refusal');
};

describe('the fetch binding', () => {
  it('the token handler answers its endpoints with a Response and resolves undefined for anything else', async () => {
    const handler = anonymousTokenHandler(await engine());
    const created = await handler(new Request('https://shop.example/anonymous/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"client_id":"shop-web"}' }));
    expect(created).toBeInstanceOf(Response);
    expect(created!.status).toBe(200);
    expect(created!.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(created!.headers.getSetCookie()).toHaveLength(1);
    expect(((await created!.json()) as { token_type: string }).token_type).toBe('Bearer');
    expect(await handler(new Request('https://shop.example/api/products'))).toBeUndefined();
    expect(await handler(new Request('https://shop.example/anonymous/token'))).toBeUndefined(); // GET is not an endpoint
  });

  it('reads the session cookie from Cookie fields a runtime joined with ", " (HTTP/2 sends one per cookie)', async () => {
    const anon = await engine();
    const { session_token } = (await anon.issueToken({ client_id: 'shop-web' })).response;
    // undici joins repeated Cookie fields with "; " itself; the Fetch standard's generic join is ", ".
    const joined = new Request('https://shop.example/page', { headers: { cookie: `theme=dark, anon=${session_token}` } });
    expect((await anonCookieExtractor(anon)(joined)).token).toBe(session_token);
    const apart = new Request('https://shop.example/page', { headers: new Headers([['cookie', 'theme=dark'], ['cookie', `anon=${session_token}`]]) });
    expect((await anonCookieExtractor(anon)(apart)).token).toBe(session_token);
  });

  it('a refusal carries its ready response, and getResponse() builds a fresh one each call', async () => {
    const anon = await engine();
    const guard = requireAnonymousOrUser({ anonymous: anon, audience: AUDIENCE });
    const error = await refusal(guard(new Request('https://shop.example/api')));
    expect(error.status).toBe(401);
    expect(error.response.status).toBe(401);
    expect(error.response.headers.get('www-authenticate')).toBe('Bearer realm="api"');
    expect(error.response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(error.response.headers.get('cache-control')).toBe('no-store');
    expect(await error.response.json()).toEqual({ error: 'invalid_token', error_description: 'An access token is required.' });
    const again = error.getResponse();
    expect(again).not.toBe(error.response);
    expect(await again.json()).toMatchObject({ error: 'invalid_token' });
  });

  it('checks take the realm of the guard that verified the token', async () => {
    const anon = await engine();
    const guard = requireAnonymousOrUser({ anonymous: anon, audience: AUDIENCE, realm: 'shop' });
    const { access_token } = (await anon.issueToken({ client_id: 'shop-web', scope: 'anon' })).response;
    const auth = await guard(new Request('https://shop.example/api', { headers: { authorization: `Bearer ${access_token}` } }));
    const error = await refusal(Promise.resolve().then(() => requireScopes('read:products')(auth)));
    expect(error.response.status).toBe(403);
    expect(error.response.headers.get('www-authenticate')).toMatch(/^Bearer realm="shop", error="insufficient_scope"/);
  });

  it('the guard reads a form body’s access_token from a clone: the route can still read the body', async () => {
    const anon = await engine();
    const guard = requireAnonymousOrUser({ anonymous: anon, audience: AUDIENCE });
    const { access_token } = (await anon.issueToken({ client_id: 'shop-web' })).response;
    const request = new Request('https://shop.example/api', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `access_token=${access_token}&sku=mug`,
    });
    expect((await guard(request))?.isAnonymous).toBe(true);
    expect(new URLSearchParams(await request.text()).get('sku')).toBe('mug');
  });

  it('anonymousErrorResponse renders only this suite’s errors', async () => {
    const ours = anonymousErrorResponse(new InvalidRequestError('Bad input.'));
    expect(ours?.status).toBe(400);
    expect(await ours?.json()).toEqual({ error: 'invalid_request', error_description: 'Bad input.' });
    expect(anonymousErrorResponse(new Error('a host bug'))).toBeUndefined();
    expect(anonymousErrorResponse(Object.assign(new Error('Not Found'), { status: 404, expose: true }))).toBeUndefined();
  });
});
