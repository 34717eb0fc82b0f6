/**
 * The cross-site rule and the query-token redirect, framework-free: what both bindings (and the
 * contract suite's cases on each) rest on.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  createSessionExtractor,
  isSameOrigin,
  isSameOriginOrAllowed,
  parsedBodySize,
  MAX_SESSION_TOKEN_LENGTH,
} from '@anonymous-sessions/core/http';
import { type AnonymousSessions } from '@anonymous-sessions/core';
import { buildEngine, CLIENT_ID, expectAnonymousError } from './fixtures.js';

describe('isSameOrigin', () => {
  const app = { host: 'shop.test:8080', protocol: 'https' };

  it.each([
    ['https://shop.test:8080', true],
    ['http://shop.test:8080', false],
    ['https://shop.test', false],
    ['https://shop.test:8081', false],
    ['https://SHOP.test:8080', false],
    ['https://shop.test:8080/', false],
    ['https://evil.shop.test:8080', false],
    ['null', false],
    ['', false],
  ])('%j against https://shop.test:8080 → %s', (origin, expected) => {
    expect(isSameOrigin(origin, app)).toBe(expected);
  });

  it('treats the default port as absent, on both sides', () => {
    expect(isSameOrigin('https://shop.test', { host: 'shop.test:443', protocol: 'https' })).toBe(true);
    expect(isSameOrigin('http://shop.test', { host: 'shop.test', protocol: 'http:' })).toBe(true);
  });

  it('says no without a protocol or a host, or for a host that is no host', () => {
    expect(isSameOrigin('https://shop.test', { host: 'shop.test' })).toBe(false);
    expect(isSameOrigin('https://shop.test', { protocol: 'https' })).toBe(false);
    expect(isSameOrigin('https://shop.test', { host: 'shop.test', protocol: 'ftp' })).toBe(false);
    expect(isSameOrigin('https://evil.example', { host: 'x@evil.example', protocol: 'https' })).toBe(false);
    expect(isSameOrigin('https://evil.example', { host: 'shop.test/../evil.example', protocol: 'https' })).toBe(false);
  });
});

describe('isSameOriginOrAllowed', () => {
  const allowed = vi.fn((origin: string, clientId?: string) =>
    Promise.resolve(clientId === 'a' ? origin === 'https://a.example' : clientId === undefined && origin === 'https://a.example'),
  );
  const facts = (headers: Record<string, string>) => ({ headers, host: 'shop.test', protocol: 'https' });

  it.each([
    [{}, true],
    [{ 'sec-fetch-site': 'same-origin' }, true],
    [{ 'sec-fetch-site': 'none' }, true],
    [{ 'sec-fetch-site': 'same-site' }, false],
    [{ 'sec-fetch-site': 'cross-site' }, false],
    [{ 'sec-fetch-site': 'Cross-Site' }, false],
    [{ 'sec-fetch-site': 'something-new' }, false],
    [{ origin: 'https://shop.test' }, true],
    [{ origin: 'https://shop.test', 'sec-fetch-site': 'same-origin' }, true],
    // An own Origin that the browser itself calls cross-site is not trusted.
    [{ origin: 'https://shop.test', 'sec-fetch-site': 'cross-site' }, false],
    [{ origin: 'http://shop.test' }, false],
    [{ origin: 'null' }, false],
    [{ origin: 'https://evil.example', 'sec-fetch-site': 'same-origin' }, false],
    [{ origin: 'https://a.example', 'sec-fetch-site': 'cross-site' }, true],
  ])('%j (client a) → %s', async (headers, expected) => {
    expect(await isSameOriginOrAllowed(facts(headers), allowed, 'a')).toBe(expected);
  });

  it('asks about the named client only', async () => {
    expect(await isSameOriginOrAllowed(facts({ origin: 'https://a.example' }), allowed, 'b')).toBe(false);
    expect(allowed).toHaveBeenLastCalledWith('https://a.example', 'b');
    expect(await isSameOriginOrAllowed(facts({ origin: 'https://a.example' }), allowed)).toBe(true);
    expect(allowed).toHaveBeenLastCalledWith('https://a.example', undefined);
  });
});

describe('the query-token redirect (createSessionExtractor)', () => {
  let anon: AnonymousSessions;
  const tokenOf = async (): Promise<string> => (await anon.issueToken({ client_id: CLIENT_ID })).response.session_token;

  it.each([
    ['//evil.example/page?anonymous_session_token=t', '/evil.example/page'],
    ['/\\evil.example/page?anonymous_session_token=t&a=1', '/evil.example/page?a=1'],
    ['http://evil.example/page?anonymous_session_token=t', '/page'],
    ['/a/b?anonymous_session_token=t#frag', '/a/b'],
    ['/?anonymous_session_token=t', '/'],
  ])('never redirects off this origin: %s → %s', async (url, location) => {
    anon ??= (await buildEngine()).anon;
    const found = await createSessionExtractor(anon)({ headers: {}, url });
    expect(found.response?.headers.Location).toBe(location);
  });

  it('answers a non-GET request with 307 (method and body kept), and a foreign Origin writes no cookie', async () => {
    anon ??= (await buildEngine()).anon;
    const token = await tokenOf();
    const extract = createSessionExtractor(anon, { cookie: { secure: false } });
    const own = await extract({ method: 'POST', headers: { origin: 'http://shop.test' }, host: 'shop.test', protocol: 'http', url: `/auth/start?anonymous_session_token=${token}` });
    expect(own.response?.status).toBe(307);
    expect(own.response?.headers['Set-Cookie']).toMatch(/^anon=/);
    const foreign = await extract({ method: 'POST', headers: { origin: 'https://evil.example' }, host: 'shop.test', protocol: 'http', url: `/auth/start?anonymous_session_token=${token}` });
    expect(foreign.response?.status).toBe(307);
    expect(foreign.response?.headers['Set-Cookie']).toBeUndefined();
  });

  it('leaves a URL without the parameter alone, and a custom parameter name is the one looked for', async () => {
    anon ??= (await buildEngine()).anon;
    const token = await tokenOf();
    expect(await createSessionExtractor(anon)({ headers: {}, url: '/page?x=1' })).toEqual({});
    const custom = createSessionExtractor(anon, { queryParam: 'guest' });
    expect(await custom({ headers: {}, url: `/page?anonymous_session_token=${token}` })).toEqual({});
    expect((await custom({ headers: {}, url: `/page?guest=${token}` })).response?.headers.Location).toBe('/page');
  });
});

describe('length caps', () => {
  it(`refuses a session token over ${MAX_SESSION_TOKEN_LENGTH} characters before opening it`, async () => {
    const { anon } = await buildEngine();
    await expectAnonymousError(anon.verifySessionToken('x'.repeat(MAX_SESSION_TOKEN_LENGTH + 1)), 'invalid_session_token', 401);
    await expectAnonymousError(anon.logoutRequest({ client_id: CLIENT_ID, session_token: 'x'.repeat(MAX_SESSION_TOKEN_LENGTH + 1) }), 'invalid_request', 400);
  });

  it('measures a body a host parser produced: text, bytes, or its JSON', () => {
    expect(parsedBodySize('héllo')).toBe(6);
    expect(parsedBodySize(new Uint8Array(10))).toBe(10);
    expect(parsedBodySize({ a: 'é' })).toBe(JSON.stringify({ a: 'é' }).length + 1);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(parsedBodySize(cyclic)).toBe(Number.POSITIVE_INFINITY);
  });
});
