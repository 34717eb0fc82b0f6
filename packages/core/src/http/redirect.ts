/**
 * Redirect targets after login: same-origin paths only, so a `returnTo` parameter can never send a
 * freshly signed-in user to another site (open redirect).
 *
 * @packageDocumentation
 */

/**
 * Returns `target` when it is a same-origin path (`/cart?x=1`), else `fallback`. Refused: absolute
 * URLs, protocol-relative `//host`, backslash tricks (`/\\host`), control characters, and anything
 * that does not start with a single `/`. The path is also checked once percent-decoded (`/%2f%2fhost`,
 * `/%5chost`, `/%0d%0a…`), so a layer that decodes it again cannot turn it into another site, and
 * the result is checked again after dot segments are resolved (`/..//host` would become `//host`).
 *
 * @param target - the untrusted target (e.g. `req.query.returnTo`).
 * @param fallback - where to go instead. Default `/`.
 */
export function safeRedirectTarget(target: unknown, fallback = '/'): string {
  if (typeof target !== 'string' || target.length === 0 || target.length > 2048 || !isSafePath(target)) return fallback;
  try {
    const resolved = new URL(target, 'http://same-origin.invalid');
    if (resolved.origin !== 'http://same-origin.invalid') return fallback;
    const path = `${resolved.pathname}${resolved.search}${resolved.hash}`;
    return isSafePath(path) ? path : fallback;
  } catch {
    return fallback;
  }
}

/** {@link isSameOriginPath} both as written and with its path percent-decoded once. */
function isSafePath(value: string): boolean {
  let decodedPath: string;
  try {
    decodedPath = decodeURIComponent(value.split(/[?#]/, 1)[0]!);
  } catch {
    return false; // malformed percent-encoding
  }
  return isSameOriginPath(value) && isSameOriginPath(decodedPath);
}

/** A single leading `/`, no second `/` right after it, no backslash, no control character. */
function isSameOriginPath(value: string): boolean {
  // eslint-disable-next-line no-control-regex
  return value.startsWith('/') && !value.startsWith('//') && !/[\u0000-\u001f\u007f\\]/.test(value);
}
