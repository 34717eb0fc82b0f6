/**
 * The token endpoint's rate limits in the engine, on frozen time: address buckets (IPv4, IPv6 per
 * /64, mapped addresses, no address), and the per-session limit on continues.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createAnonymousSessions,
  generateKeySet,
  memoryStore,
  type AnonymousSessions,
  type AnonymousSessionsOptions,
  type PrivateJwkSet,
} from '@anonymous-sessions/core';
import { clientAddressBucket } from '@anonymous-sessions/core/http';
import { resolveConfig } from '../src/engine/config.js';
import { CLIENT_ID, T0, buildEngine, expectAnonymousError, expectConfigError, issuePaths, quickStartOptions } from './fixtures.js';

let keys: PrivateJwkSet;

beforeAll(async () => {
  keys = await generateKeySet({ algorithm: 'ES256' });
});

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});

afterEach(() => {
  vi.useRealTimers();
});

const engine = async (overrides: Partial<AnonymousSessionsOptions>) => buildEngine({ keys, ...overrides });

const advanceSeconds = (seconds: number): void => {
  vi.setSystemTime(new Date(Date.now() + seconds * 1000));
};

describe('clientAddressBucket', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    [' 203.0.113.7 ', '203.0.113.7'],
    ['0.0.0.0', '0.0.0.0'],
    // IPv4 inside IPv6 counts as the IPv4 address (dual-stack sockets report these).
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:cb00:7107', '203.0.113.7'],
    ['0:0:0:0:0:ffff:203.0.113.7', '203.0.113.7'],
    ['64:ff9b::203.0.113.7', '203.0.113.7'],
    // IPv6: the /64, whatever the spelling.
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:0000:0000:0000:0001', '2001:db8:1:2::/64'],
    ['[2001:db8:1:2::9]', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:3:4:198.51.100.1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8::/64'],
    ['2001:0:0:1::', '2001:0:0:1::/64'],
    ['fe80::1%eth0', 'fe80::/64'],
    ['::1', '::/64'],
    ['::', '::/64'],
  ])('%j → %j', (address, bucket) => {
    expect(clientAddressBucket(address)).toBe(bucket);
  });

  it('keeps different /64s and different IPv4 addresses apart', () => {
    expect(clientAddressBucket('2001:db8:1:2::1')).not.toBe(clientAddressBucket('2001:db8:1:3::1'));
    expect(clientAddressBucket('203.0.113.7')).not.toBe(clientAddressBucket('203.0.113.8'));
    expect(clientAddressBucket('::ffff:203.0.113.7')).not.toBe(clientAddressBucket('::ffff:203.0.113.8'));
  });

  it.each([undefined, '', '   '])('has no bucket for the missing address %j', (address) => {
    expect(clientAddressBucket(address)).toBeUndefined();
  });

  it.each(['garbage', '1.2.3.256', '1.2.3', '01.2.3.4.5', '2001:db8::1::2', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', ':1', '1::2:', '::ffff:1.2.3', '::1.2.3.999'])(
    'gives the non-address %j a bucket of its own',
    (address) => {
      expect(clientAddressBucket(address)).toBe(`other:${address}`);
    },
  );

  it('cuts a long non-address to 100 characters', () => {
    expect(clientAddressBucket('x'.repeat(5000))).toBe(`other:${'x'.repeat(100)}`);
  });
});

describe('creation limit per address', () => {
  let limited: AnonymousSessions;

  beforeEach(async () => {
    limited = (await engine({ rateLimit: { createPerMinute: 2 } })).anon;
  });

  const create = (ip: string | undefined) => limited.issueToken({ client_id: CLIENT_ID }, { ip });

  it('counts every address of one IPv6 /64 together', async () => {
    await create('2001:db8:1:2::1');
    await create('2001:db8:1:2:ffff::9');
    const error = await expectAnonymousError(create('2001:db8:1:2:abcd:1234:5678:9abc'), 'too_many_requests', 429);
    expect(error.headers).toEqual({ 'Retry-After': '60' });
    expect(error.description).toBe('Too many new sessions from this address; try again later.');
    // The next /64 is another subscriber.
    await expect(create('2001:db8:1:3::1')).resolves.toBeDefined();
  });

  it('counts an IPv4-mapped address as the IPv4 address', async () => {
    await create('203.0.113.5');
    await create('::ffff:203.0.113.5');
    await expectAnonymousError(create('203.0.113.5'), 'too_many_requests', 429);
    await expect(create('::ffff:203.0.113.6')).resolves.toBeDefined();
  });

  it('does not lump requests without an address into one shared bucket, and says so once', async () => {
    const { anon, logger } = await engine({ rateLimit: { createPerMinute: 1 } });
    for (const ip of [undefined, '', undefined, '']) await anon.issueToken({ client_id: CLIENT_ID }, { ip });
    await anon.issueToken({ client_id: CLIENT_ID });
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]?.[0]).toMatch(/without a client address/);
    // Nor do they spend any address's quota.
    await anon.issueToken({ client_id: CLIENT_ID }, { ip: '198.51.100.1' });
    await expectAnonymousError(anon.issueToken({ client_id: CLIENT_ID }, { ip: '198.51.100.1' }), 'too_many_requests', 429);
  });
});

describe('continue limit per session', () => {
  let limited: AnonymousSessions;

  beforeEach(async () => {
    limited = (await engine({ rateLimit: { createPerMinute: 100, continuePerMinute: 3 } })).anon;
  });

  const create = async () => (await limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' })).response.session_token;
  const continueWith = (sessionToken: string, ip = '203.0.113.1', metadata?: unknown) =>
    limited.issueToken({ client_id: CLIENT_ID, session_token: sessionToken, ...(metadata === undefined ? {} : { metadata }) }, { ip });

  it('answers too_many_requests with Retry-After once a session has continued continuePerMinute times', async () => {
    const token = await create();
    advanceSeconds(10);
    await continueWith(token);
    advanceSeconds(5);
    await continueWith(token);
    await continueWith(token);
    const error = await expectAnonymousError(continueWith(token), 'too_many_requests', 429);
    // The window opened with the first continue, 5 seconds ago.
    expect(error.headers).toEqual({ 'Retry-After': '55' });
    expect(error.description).toBe('Too many requests for this session; try again later.');
  });

  it('counts per session, whatever the address or which of the session’s tokens is used', async () => {
    const token = await create();
    const { response } = await continueWith(token, '198.51.100.1');
    await continueWith(response.session_token, '2001:db8:9::1');
    await continueWith(token, '192.0.2.77');
    // A fresh address and an older token of the same session do not open a new window.
    await expectAnonymousError(continueWith(token, '192.0.2.78'), 'too_many_requests', 429);
    await expectAnonymousError(continueWith(response.session_token, '192.0.2.79'), 'too_many_requests', 429);
    // Another session from the same address is not limited, nor is creating one.
    const other = await create();
    await expect(continueWith(other)).resolves.toBeDefined();
  });

  it('counts a session continued through its cookie the same way', async () => {
    const token = await create();
    for (let index = 0; index < 3; index += 1) {
      await limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1', cookieSessionToken: token });
    }
    await expectAnonymousError(
      limited.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1', cookieSessionToken: token }),
      'too_many_requests',
      429,
    );
  });

  it('opens again when the window has passed', async () => {
    const token = await create();
    for (let index = 0; index < 3; index += 1) await continueWith(token);
    advanceSeconds(59);
    await expectAnonymousError(continueWith(token), 'too_many_requests', 429);
    advanceSeconds(1);
    await expect(continueWith(token)).resolves.toBeDefined();
  });

  it('spends no quota on a continue refused for bad input', async () => {
    const token = await create();
    for (let index = 0; index < 5; index += 1) {
      await expectAnonymousError(continueWith(token, '203.0.113.1', { blob: 'x'.repeat(3000) }), 'metadata_too_large', 413);
    }
    for (let index = 0; index < 3; index += 1) await continueWith(token);
    await expectAnonymousError(continueWith(token), 'too_many_requests', 429);
  });

  it('allows 60 continues a minute by default', async () => {
    const { anon } = await engine({});
    const token = (await anon.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' })).response.session_token;
    for (let index = 0; index < 60; index += 1) await anon.issueToken({ client_id: CLIENT_ID, session_token: token }, { ip: '203.0.113.1' });
    const error = await expectAnonymousError(
      anon.issueToken({ client_id: CLIENT_ID, session_token: token }, { ip: '203.0.113.1' }),
      'too_many_requests',
      429,
    );
    expect(error.headers['Retry-After']).toBe('60');
  });

  it('is off with rateLimit: false', async () => {
    const { anon } = await engine({ rateLimit: false });
    const token = (await anon.issueToken({ client_id: CLIENT_ID })).response.session_token;
    for (let index = 0; index < 70; index += 1) await anon.issueToken({ client_id: CLIENT_ID, session_token: token });
  });

  it('is shared by every engine on one store (several instances)', async () => {
    const store = memoryStore();
    const a = (await engine({ store, rateLimit: { continuePerMinute: 2 } })).anon;
    const b = (await engine({ store, rateLimit: { continuePerMinute: 2 } })).anon;
    const token = (await a.issueToken({ client_id: CLIENT_ID }, { ip: '203.0.113.1' })).response.session_token;
    await a.issueToken({ client_id: CLIENT_ID, session_token: token });
    await b.issueToken({ client_id: CLIENT_ID, session_token: token });
    await expectAnonymousError(a.issueToken({ client_id: CLIENT_ID, session_token: token }), 'too_many_requests', 429);
    await expectAnonymousError(b.issueToken({ client_id: CLIENT_ID, session_token: token }), 'too_many_requests', 429);
  });
});

describe('rateLimit options', () => {
  it('default both limits to 60 and fill a partial block', () => {
    expect(resolveConfig(quickStartOptions()).rateLimit).toEqual({ createPerMinute: 60, continuePerMinute: 60 });
    expect(resolveConfig(quickStartOptions({ rateLimit: { continuePerMinute: 5 } })).rateLimit).toEqual({
      createPerMinute: 60,
      continuePerMinute: 5,
    });
  });

  it('refuses a non-positive continue limit and names a misspelt one', async () => {
    for (const continuePerMinute of [0, -1, 1.5, '60']) {
      const issues = await expectConfigError(
        createAnonymousSessions(quickStartOptions({ keys, rateLimit: { continuePerMinute: continuePerMinute as number } })),
      );
      expect(issuePaths(issues)).toEqual(['rateLimit.continuePerMinute']);
    }
    const issues = await expectConfigError(
      createAnonymousSessions(quickStartOptions({ keys, rateLimit: { continuesPerMinute: 5 } as never })),
    );
    expect(issuePaths(issues)).toEqual(['rateLimit.continuesPerMinute']);
    expect(issues[0]?.message).toBe('is not a known option');
  });
});
