/** The error codes are one list, feeding the type union and the runtime checks, and the classes a union discriminated by `code`. */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { isKnownError, type AnonymousSessionErrorCode, type KnownAnonymousSessionError } from '@anonymous-sessions/core';
import {
  InsufficientScopeError,
  InvalidClientError,
  TooManyRequestsError,
  CLIENT_ERROR_CODES,
  SERVER_ERROR_CODES,
  toAnonymousSessionError,
} from '@anonymous-sessions/core/http';

describe('error codes, defined once', () => {
  it('the union is exactly the two lists', () => {
    expectTypeOf<AnonymousSessionErrorCode>().toEqualTypeOf<(typeof CLIENT_ERROR_CODES)[number] | (typeof SERVER_ERROR_CODES)[number]>();
    expect(new Set([...CLIENT_ERROR_CODES, ...SERVER_ERROR_CODES]).size).toBe(CLIENT_ERROR_CODES.length + SERVER_ERROR_CODES.length);
  });

  it.each(CLIENT_ERROR_CODES.map((code) => [code]))('a foreign 4xx error keeps the client code %s', (code) => {
    expect(toAnonymousSessionError(Object.assign(new Error('x'), { status: 400, code })).code).toBe(code);
  });

  it.each(SERVER_ERROR_CODES.map((code) => [code]))('a foreign 4xx error may not claim the server code %s', (code) => {
    expect(toAnonymousSessionError(Object.assign(new Error('x'), { status: 400, code })).code).toBe('invalid_request');
  });

  it('switching on code narrows to the class', () => {
    const render = (error: KnownAnonymousSessionError): string => {
      switch (error.code) {
        case 'too_many_requests':
          expectTypeOf(error).toEqualTypeOf<TooManyRequestsError>();
          return `retry ${error.headers['Retry-After']}`;
        case 'insufficient_scope':
          expectTypeOf(error).toEqualTypeOf<InsufficientScopeError>();
          return 'scope';
        default:
          return error.code;
      }
    };
    const errors: unknown[] = [new TooManyRequestsError(5), new InsufficientScopeError('Missing scope: a.', ['a']), new InvalidClientError()];
    expect(errors.filter(isKnownError).map(render)).toEqual(['retry 5', 'scope', 'invalid_client']);
  });
});
