import { describe, expect, it } from 'vitest';
import type { AnonymousSession } from '@anonymous-sessions/core';
import { mapClaims } from '../src/tokens/claims-mapping.js';

const session: AnonymousSession = {
  user_id: 'anon|abcdefgh',
  session_id: 'sess_AAAAAAAAAAAAAAAAAAAAAA',
  created_at: '2030-01-01T00:00:00.000Z',
  expires_at: '2030-01-31T00:00:00.000Z',
  metadata: {
    cart_id: 'cart-1',
    prefs: { theme: 'dark', flags: { beta: false } },
    empty: null,
    zero: 0,
    items: [{ sku: 'A' }],
    label: 'plain',
  },
};

describe('mapClaims', () => {
  it('copies user_id, session_id, created_at and metadata paths into the named claims', () => {
    expect(
      mapClaims(
        {
          'https://shop.example.com/uid': 'anonymous_session.user_id',
          'https://shop.example.com/sid': 'anonymous_session.session_id',
          'https://shop.example.com/created_at': 'anonymous_session.created_at',
          'https://shop.example.com/cart_id': 'anonymous_session.metadata.cart_id',
          theme: 'anonymous_session.metadata.prefs.theme',
          beta: 'anonymous_session.metadata.prefs.flags.beta',
          prefs: 'anonymous_session.metadata.prefs',
        },
        session,
      ),
    ).toEqual({
      'https://shop.example.com/uid': 'anon|abcdefgh',
      'https://shop.example.com/sid': 'sess_AAAAAAAAAAAAAAAAAAAAAA',
      'https://shop.example.com/created_at': '2030-01-01T00:00:00.000Z',
      'https://shop.example.com/cart_id': 'cart-1',
      theme: 'dark',
      beta: false,
      prefs: { theme: 'dark', flags: { beta: false } },
    });
  });

  it('keeps falsy values that exist (null, 0, false)', () => {
    expect(
      mapClaims(
        { empty: 'anonymous_session.metadata.empty', zero: 'anonymous_session.metadata.zero' },
        session,
      ),
    ).toEqual({ empty: null, zero: 0 });
  });

  it('leaves out a claim whose path resolves to nothing', () => {
    expect(
      mapClaims(
        {
          missing: 'anonymous_session.metadata.coupon',
          deeper: 'anonymous_session.metadata.prefs.font.size',
          throughString: 'anonymous_session.metadata.label.length',
          throughArray: 'anonymous_session.metadata.items.0',
          throughNull: 'anonymous_session.metadata.empty.x',
        },
        session,
      ),
    ).toEqual({});
  });

  it('never reads inherited properties', () => {
    expect(
      mapClaims(
        {
          a: 'anonymous_session.metadata.constructor',
          b: 'anonymous_session.metadata.__proto__',
          c: 'anonymous_session.metadata.toString',
          d: 'anonymous_session.metadata.cart_id.constructor',
        },
        session,
      ),
    ).toEqual({});
  });

  it('maps nothing for an empty mapping', () => {
    expect(mapClaims({}, session)).toEqual({});
  });
});
