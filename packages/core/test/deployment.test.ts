/**
 * The deployment rules of issue 11 at the core's level: the engine's one session cookie
 * (`secure: 'auto'` and its attributes), the discovery document under a mount path, the engine's
 * `allowedOrigins`, and the error renderer that answers only this suite's errors.
 */
import { describe, expect, it } from 'vitest';
import {
  InvalidTokenError,
  TemporarilyUnavailableError,
  createErrorRenderer,
  engineSessionCookie,
  sessionCookie,
} from '@anonymous-sessions/core/http';
import { resolveConfig } from '../src/engine/config.js';
import { buildEngine, ISSUER, quickStartOptions, silentLogger } from './fixtures.js';

describe('the engine’s session cookie', () => {
  it('defaults: anon, HttpOnly, Secure, SameSite=Lax, Path=/, not partitioned, host-only', () => {
    expect(resolveConfig(quickStartOptions()).cookie).toEqual({
      name: 'anon',
      httpOnly: true,
      secure: true,
      sameSite: 'lax',
      path: '/',
      partitioned: false,
    });
  });

  it("secure: 'auto' follows the protocol, and is Secure whenever the protocol is unknown", () => {
    const cookie = sessionCookie({ secure: 'auto' });
    const secureFor = (protocol?: string) => /; Secure/.test(cookie.serialize('t', null, protocol === undefined ? undefined : { protocol })!);
    expect(secureFor('http')).toBe(false);
    expect(secureFor('http:')).toBe(false);
    expect(secureFor('HTTP')).toBe(false);
    expect(secureFor('https')).toBe(true);
    expect(secureFor('https:')).toBe(true);
    expect(secureFor(undefined)).toBe(true);
    expect(secureFor('')).toBe(true);
    expect(/; Secure/.test(cookie.clear({ protocol: 'http' }))).toBe(false);
    expect(/; Secure/.test(cookie.clear())).toBe(true);
  });

  it('partitioned adds Partitioned; a middleware override is laid over the engine’s cookie', async () => {
    const { anon } = await buildEngine({ cookie: { name: '__Host-guest', secure: true, sameSite: 'none', partitioned: true } });
    expect(anon.cookie.serialize('t', null)).toMatch(/^__Host-guest=t; Max-Age=\d+; Path=\/; HttpOnly; Secure; Partitioned; SameSite=None$/);
    const legacy = engineSessionCookie(anon.config, { name: 'legacy' });
    expect(legacy.options).toMatchObject({ name: 'legacy', sameSite: 'none', partitioned: true });
    expect(anon.cookie.read('__Host-guest=abc; anon=x')).toBe('abc');
  });
});

describe('discovery under a mount path', () => {
  it('the issuer’s path (or none) gives the issuer’s URLs; another path gives URLs under it, with one warning', async () => {
    const { anon, logger } = await buildEngine({ issuer: 'https://shop.example.com/auth' });
    const own = anon.metadataDocument();
    expect(own.jwks_uri).toBe('https://shop.example.com/auth/.well-known/jwks.json');
    expect(anon.metadataDocument('/auth')).toBe(own);
    expect(anon.metadataDocument('/AUTH/')).toBe(own);
    expect(anon.metadataDocument('')).toBe(own);
    const elsewhere = anon.metadataDocument('/api/anon');
    expect(elsewhere.issuer).toBe('https://shop.example.com/auth');
    expect(elsewhere.jwks_uri).toBe('https://shop.example.com/api/anon/.well-known/jwks.json');
    expect(elsewhere.anonymous_logout_endpoint).toBe('https://shop.example.com/api/anon/anonymous/logout');
    anon.metadataDocument('/other');
    const warnings = logger.warn.mock.calls.map(([message]) => message).filter((message) => message.includes('mounted at'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('mounted at /api/anon');
    expect(warnings[0]).toContain('https://shop.example.com/api/anon/');
  });

  it.each([['//evil.example'], ['/a/../b'], ['/./x'], ['/a b'], ['/a?x=1'], ['/a#x'], ['relative'], ['/\\evil']])(
    'a mount path that is no clean path (%s) is never published: the issuer’s URLs',
    async (mountPath) => {
      const { anon } = await buildEngine();
      expect(anon.metadataDocument(mountPath)).toBe(anon.metadataDocument());
      expect(JSON.stringify(anon.metadataDocument(mountPath))).not.toContain('evil');
    },
  );

  it('keeps at most a bounded number of mounted documents', async () => {
    const { anon } = await buildEngine();
    for (let index = 0; index < 100; index += 1) expect(anon.metadataDocument(`/t${index}`).jwks_uri).toBe(`http://localhost:3000/t${index}/.well-known/jwks.json`);
    expect(anon.metadataDocument('/t1')).toBe(anon.metadataDocument('/t1'));
    expect(anon.metadataDocument('/t99')).toEqual(anon.metadataDocument('/t99'));
    expect(anon.metadataDocument().issuer).toBe(ISSUER);
  });
});

describe('allowedOrigins on the engine', () => {
  it('adds to the listed clients’ origins for requests that name no client, never for a named client', async () => {
    const { anon } = await buildEngine({
      clients: [{ clientId: 'shop-web', canCreateAnonymousSessions: true, allowedOrigins: ['https://shop.example.com'] }],
      allowedOrigins: ['https://partner.example'],
    });
    expect(await anon.isAllowedOrigin('https://shop.example.com')).toBe(true);
    expect(await anon.isAllowedOrigin('https://partner.example')).toBe(true);
    expect(await anon.isAllowedOrigin('https://evil.example')).toBe(false);
    expect(await anon.isAllowedOrigin('https://partner.example', 'shop-web')).toBe(false);
  });

  it('a function is asked with the origin; only true allows', async () => {
    const asked: string[] = [];
    const { anon } = await buildEngine({
      allowedOrigins: (origin: string) => {
        asked.push(origin);
        return (origin === 'https://a.example' ? true : 'yes') as boolean;
      },
    });
    expect(await anon.isAllowedOrigin('https://a.example')).toBe(true);
    expect(await anon.isAllowedOrigin('https://b.example')).toBe(false);
    expect(asked).toEqual(['https://a.example', 'https://b.example']);
  });
});

describe('createErrorRenderer', () => {
  it('renders this suite’s errors and leaves every other error to the host (undefined)', () => {
    const logger = silentLogger();
    const render = createErrorRenderer({ logger });
    expect(render(new InvalidTokenError('x'))?.status).toBe(401);
    const outage = render(new TemporarilyUnavailableError({ cause: new Error('ECONNREFUSED') }));
    expect(outage?.status).toBe(503);
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(render(new Error('boom'))).toBeUndefined();
    expect(render(Object.assign(new Error('Not Found'), { status: 404, expose: true }))).toBeUndefined();
    expect(render('a string')).toBeUndefined();
    expect(logger.error).toHaveBeenCalledTimes(1);
  });
});
