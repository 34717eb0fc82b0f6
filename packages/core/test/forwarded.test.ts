/**
 * `forwardedRequestFacts` (exchange/forwarded.ts): what a binding without a framework's own proxy
 * trust (the fetch binding) reports as the app's host, scheme and the client address. Koa's rule:
 * nothing forwarded counts without trust; under trust the first forwarded host and scheme, and the
 * X-Forwarded-For entry the last n proxies appended.
 */
import { describe, expect, it } from 'vitest';
import { forwardedRequestFacts } from '@anonymous-sessions/core/http';

describe('forwardedRequestFacts: host, scheme and client address of a full-URL request under proxy trust', () => {
  const headers = { 'x-forwarded-host': 'shop.example, inner', 'x-forwarded-proto': 'HTTPS', 'x-forwarded-for': '192.0.2.1, 203.0.113.7' };
  const url = 'http://127.0.0.1:3000/anonymous/token';

  it('without trust: the URL and the peer, whatever the headers say', () => {
    expect(forwardedRequestFacts({ url, headers, peerAddress: '10.1.1.1' })).toEqual({ host: '127.0.0.1:3000', protocol: 'http', ip: '10.1.1.1' });
    expect(forwardedRequestFacts({ url, headers, peerAddress: '10.1.1.1', trustProxy: 0 })).toEqual({ host: '127.0.0.1:3000', protocol: 'http', ip: '10.1.1.1' });
  });

  it('trusting n proxies: the address the last n appended; the first forwarded host and scheme', () => {
    expect(forwardedRequestFacts({ url, headers, peerAddress: '10.1.1.1', trustProxy: 1 })).toEqual({ host: 'shop.example', protocol: 'https', ip: '203.0.113.7' });
    expect(forwardedRequestFacts({ url, headers, peerAddress: '10.1.1.1', trustProxy: 2 }).ip).toBe('192.0.2.1');
  });

  it('trusting every hop: the first X-Forwarded-For entry; without the headers, the URL and the peer', () => {
    expect(forwardedRequestFacts({ url, headers, trustProxy: true }).ip).toBe('192.0.2.1');
    expect(forwardedRequestFacts({ url, headers: {}, peerAddress: '10.1.1.1', trustProxy: true })).toEqual({ host: '127.0.0.1:3000', protocol: 'http', ip: '10.1.1.1' });
  });
});
