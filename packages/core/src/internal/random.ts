import { base64url } from 'jose';

/** `bytes` random bytes from the platform CSPRNG, base64url-encoded. */
export function randomId(bytes: number): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}
