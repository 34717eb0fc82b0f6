/**
 * The one clock reading in whole seconds: JWT `iat`/`exp`, store expiries and cookie lifetimes are
 * all epoch seconds (RFC 7519 NumericDate), truncated the same way everywhere.
 */

/** The current time in whole epoch seconds (RFC 7519 NumericDate), truncated. */
export function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
