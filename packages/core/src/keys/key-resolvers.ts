import type { CompactJWEHeaderParameters, CompactJWSHeaderParameters, CryptoKey } from 'jose';
import type { KeyRing } from './keys.js';

/** Header parameters that are refused outright: no compression, no critical extensions. */
function assertNoForbiddenHeaders(header: { zip?: unknown; crit?: unknown }): void {
  if (header.zip !== undefined) throw new Error('"zip" is not accepted');
  if (header.crit !== undefined) throw new Error('"crit" is not accepted');
}

/**
 * A `JWTVerifyGetKey` over the ring's own public keys. The key is chosen by `kid` alone and must
 * have been created for exactly the header's `alg`; `jwk`, `jku`, `x5u` and `x5c` headers are never
 * read, so a token cannot bring its own key.
 */
export function signatureKeyResolver(ring: KeyRing) {
  return (header: CompactJWSHeaderParameters): CryptoKey => {
    assertNoForbiddenHeaders(header);
    const key = typeof header.kid === 'string' ? ring.signingKeyById.get(header.kid) : undefined;
    if (key === undefined || key.alg !== header.alg) throw new Error('no matching signing key');
    return key.publicKey;
  };
}

/** A `JWTDecryptGetKey` over the ring's encryption secrets: only `dir` + `A256GCM`, by `kid`. */
export function decryptionKeyResolver(ring: KeyRing) {
  return (header: CompactJWEHeaderParameters): CryptoKey => {
    assertNoForbiddenHeaders(header);
    if (header.alg !== 'dir' || header.enc !== 'A256GCM') throw new Error('unsupported JWE algorithms');
    const key = typeof header.kid === 'string' ? ring.encryptionKeyById.get(header.kid) : undefined;
    if (key === undefined) throw new Error('no matching encryption key');
    return key.key;
  };
}
