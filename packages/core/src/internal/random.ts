import { base64url } from 'jose';

/**
 * Random bytes are drawn from the platform CSPRNG in blocks of this size and handed out without
 * reuse: one `getRandomValues` call per 4 KiB instead of one per id (a synchronous call into the
 * CSPRNG costs about as much for 16 bytes as for 4 KiB). Node's own `randomUUID` pools the same way.
 */
const POOL_SIZE = 4096;
let pool = new Uint8Array(0);
let offset = 0;

/** `bytes` random bytes from the platform CSPRNG, base64url-encoded. */
export function randomId(bytes: number): string {
  if (bytes > POOL_SIZE) return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
  if (offset + bytes > pool.length) {
    // A fresh block every time: bytes handed out once are never handed out again.
    pool = crypto.getRandomValues(new Uint8Array(POOL_SIZE));
    offset = 0;
  }
  const slice = pool.subarray(offset, offset + bytes);
  offset += bytes;
  return base64url.encode(slice);
}
