/**
 * Access tokens per audience (and scope), each kept until one minute before it expires. Expiry is
 * computed from `expires_in` on the client's own clock, so a skewed clock does not matter.
 *
 * @packageDocumentation
 */

/** A token is treated as expired this long before it really is (60 s). */
export const ACCESS_TOKEN_EXPIRY_LEEWAY_MS = 60_000;

/** Access tokens by cache key. */
export interface AccessTokenCache {
  /** The cached token for `key`, unless it expires within the leeway. */
  get(key: string): string | undefined;
  /** Caches `token` for `expiresInSeconds` from now. */
  set(key: string, token: string, expiresInSeconds: number): void;
  /** Forgets every token (new session, logout). */
  clear(): void;
}

/**
 * Creates an {@link AccessTokenCache}.
 *
 * @param leewayMs - how long before expiry a token stops being served. Default 60 s.
 */
export function accessTokenCache(leewayMs: number = ACCESS_TOKEN_EXPIRY_LEEWAY_MS): AccessTokenCache {
  const entries = new Map<string, { token: string; expiresAt: number }>();
  return {
    get(key) {
      const entry = entries.get(key);
      return entry !== undefined && Date.now() < entry.expiresAt - leewayMs ? entry.token : undefined;
    },
    set(key, token, expiresInSeconds) {
      entries.set(key, { token, expiresAt: Date.now() + expiresInSeconds * 1000 });
    },
    clear() {
      entries.clear();
    },
  };
}

/** The cache key of an audience and scope (either may be absent: the server's defaults). */
export function accessTokenCacheKey(audience: string | undefined, scope: string | undefined): string {
  return `${audience ?? ''}\n${scope ?? ''}`;
}
