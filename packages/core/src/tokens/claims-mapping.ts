/**
 * Claims mapping: copies values from the anonymous session into named access-token claims by dot
 * path (`anonymous_session.metadata.cart_id`). No logic: a path that resolves to nothing leaves the
 * claim out. Paths and names are validated in `config.ts`.
 *
 * @packageDocumentation
 */
import type { AnonymousSession } from './session-token.js';

/** Resolves every mapped claim against the session. */
export function mapClaims(mapping: Readonly<Record<string, string>>, session: AnonymousSession): Record<string, unknown> {
  const claims: Record<string, unknown> = {};
  for (const [claim, path] of Object.entries(mapping)) {
    const value = resolvePath({ anonymous_session: session }, path);
    if (value !== undefined) claims[claim] = value;
  }
  return claims;
}

function resolvePath(root: unknown, path: string): unknown {
  let current: unknown = root;
  for (const segment of path.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
