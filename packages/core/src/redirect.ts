/**
 * Redirect targets after login: same-origin paths only, so a `returnTo` parameter can never send a
 * freshly signed-in user to another site (open redirect).
 *
 * @packageDocumentation
 */

/**
 * Returns `target` when it is a same-origin path (`/cart?x=1`), else `fallback`. Refused: absolute
 * URLs, protocol-relative `//host`, backslash tricks (`/\\host`), control characters, and anything
 * that does not start with a single `/`.
 *
 * @param target - the untrusted target (e.g. `req.query.returnTo`).
 * @param fallback - where to go instead. Default `/`.
 */
export function safeRedirectTarget(target: unknown, fallback = '/'): string {
  if (typeof target !== 'string' || target.length === 0 || target.length > 2048) return fallback;
  if (!target.startsWith('/') || target.startsWith('//') || target.startsWith('/\\')) return fallback;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(target)) return fallback;
  try {
    const resolved = new URL(target, 'http://same-origin.invalid');
    if (resolved.origin !== 'http://same-origin.invalid') return fallback;
    return `${resolved.pathname}${resolved.search}${resolved.hash}`;
  } catch {
    return fallback;
  }
}
