/**
 * The framework-free pieces both bindings translate onto: the endpoint routing table and the scope
 * check a `requireScopes` without a guard before it relies on.
 */
import { describe, expect, it } from 'vitest';
import { assertScopes, ENDPOINT_ROUTES, matchEndpoint, type AuthResult } from '@anonymous-sessions/core/http';

describe('matchEndpoint', () => {
  it.each([
    ['POST', '/anonymous/token', 'token'],
    ['POST', '/anonymous/logout', 'logout'],
    ['GET', '/anonymous/session', 'session'],
    ['GET', '/.well-known/jwks.json', 'jwks'],
    ['GET', '/.well-known/oauth-authorization-server', 'discovery'],
    ['GET', '/.well-known/openid-configuration', 'discovery'],
    ['OPTIONS', '/anonymous/token', 'preflight'],
    ['OPTIONS', '/anonymous/logout', 'preflight'],
    ['OPTIONS', '/anonymous/session', 'preflight'],
    ['HEAD', '/.well-known/jwks.json', 'jwks'],
    ['post', '/anonymous/token/', 'token'],
    ['POST', '/Anonymous/TOKEN', 'token'],
  ])('%s %s → %s', (method, path, name) => {
    expect(matchEndpoint(method, path)).toBe(name);
  });

  it.each([
    ['GET', '/anonymous/token'],
    ['PUT', '/anonymous/logout'],
    ['POST', '/anonymous/session'],
    ['OPTIONS', '/.well-known/jwks.json'],
    ['POST', '/anonymous/token//'],
    ['POST', '/auth/anonymous/token'],
    ['GET', '/'],
    ['GET', ''],
  ])('%s %j is left to the host', (method, path) => {
    expect(matchEndpoint(method, path)).toBeUndefined();
  });

  it('covers every route of the table', () => {
    for (const route of ENDPOINT_ROUTES) expect(matchEndpoint(route.method, route.path)).toBe(route.name);
    expect(new Set(ENDPOINT_ROUTES.map((route) => route.name))).toEqual(new Set(['token', 'logout', 'session', 'jwks', 'discovery', 'preflight']));
  });
});

describe('assertScopes', () => {
  const auth = { token: 't', header: { alg: 'RS256' }, payload: { scope: 'anon read:products' }, isAnonymous: true } satisfies AuthResult;

  it('passes a token carrying every scope', () => {
    expect(() => assertScopes(auth, ['anon', 'read:products'])).not.toThrow();
  });

  it('without a guard before it: 401 invalid_token with the bare challenge of the realm', () => {
    expect(() => assertScopes(undefined, ['anon'], 'shop')).toThrow(
      expect.objectContaining({ code: 'invalid_token', status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="shop"' } }),
    );
    expect(() => assertScopes(undefined, ['anon'])).toThrow(expect.objectContaining({ headers: { 'WWW-Authenticate': 'Bearer realm="api"' } }));
  });

  it('a missing scope: 403 insufficient_scope naming the scopes required', () => {
    expect(() => assertScopes(auth, ['read:products', 'checkout'])).toThrow(
      expect.objectContaining({
        code: 'insufficient_scope',
        status: 403,
        headers: {
          'WWW-Authenticate': 'Bearer realm="api", error="insufficient_scope", error_description="Missing scope: checkout.", scope="read:products checkout"',
        },
      }),
    );
  });
});
