/**
 * `safeRedirectTarget`: after login, only same-origin paths; every open-redirect trick falls back.
 */
import { describe, expect, it } from 'vitest';
import { safeRedirectTarget } from '@anonymous-sessions/core/http';

describe('safeRedirectTarget', () => {
  it.each([
    ['/cart?x=1#y', '/cart?x=1#y'],
    ['/', '/'],
    ['/account/orders', '/account/orders'],
    ['/search?q=mugs&page=2', '/search?q=mugs&page=2'],
    ['/search?next=//not-a-host', '/search?next=//not-a-host'],
    ['/caf%C3%A9', '/caf%C3%A9'],
    ['/a/../cart', '/cart'],
  ])('keeps the same-origin path %j', (target, expected) => {
    expect(safeRedirectTarget(target)).toBe(expected);
  });

  it.each([
    'https://evil.example',
    'http://evil.example/cart',
    '//evil.example',
    '//evil.example/cart',
    '///evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    '/\\/evil.example',
    '/cart\\..\\..\\evil',
    'javascript:alert(1)',
    'JavaScript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'evil.example',
    'cart',
    ' /cart',
    '',
    '/%0d%0aSet-Cookie:%20pwned=1',
    '/%0D%0ASet-Cookie: pwned=1',
    '/\r\nSet-Cookie: pwned=1',
    '/\nLocation: https://evil.example',
    '/\t/evil.example',
    '/%09/evil.example',
    '/%00',
    '/%5cevil.example',
    '/%2f%2fevil.example',
    '/%2F/evil.example',
    '/..//evil.example',
    '/.//evil.example',
    '/%2e%2e//evil.example',
    '/a/..//evil.example',
    '/%2e%2e/%2f/evil.example',
    '/%',
    `/${'a'.repeat(2048)}`,
  ])('falls back for %j', (target) => {
    expect(safeRedirectTarget(target)).toBe('/');
    expect(safeRedirectTarget(target, '/home')).toBe('/home');
  });

  it.each([undefined, null, 42, ['/cart'], { toString: () => '/cart' }])('falls back for a non-string %j', (target) => {
    expect(safeRedirectTarget(target, '/shop')).toBe('/shop');
  });

  it('what it returns never leaves the origin when resolved against it', () => {
    const tricky = ['/cart?x=1#y', '/..//evil.example', '/%2f%2fevil.example', '/a/b/../../c', '/./x'];
    for (const target of tricky) {
      const result = safeRedirectTarget(target);
      expect(new URL(result, 'https://shop.example').origin).toBe('https://shop.example');
      expect(result.startsWith('//')).toBe(false);
    }
  });
});
