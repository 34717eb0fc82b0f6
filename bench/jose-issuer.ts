/**
 * What a hand-written jose issuer does per token response, written once for the crypto ceiling
 * (`ceiling.ts`) and the hand-written endpoint (`jose-endpoint.ts`): keys imported once and kept as
 * CryptoKeys, then per response an RS256 / ES256 / EdDSA access token (`typ: at+jwt`, the claims
 * the engine puts in) and a session token (`dir` + `A256GCM` JWE, or a signed JWT), concurrently,
 * as the engine does. No validation, no store.
 */
import { randomUUID, webcrypto } from 'node:crypto';
import { EncryptJWT, SignJWT, base64url, importJWK, type CryptoKey, type JWK } from 'jose';
import { AUDIENCE, CLIENT_ID, SCOPES, type BenchAlgorithm, type SessionFormat } from './shared.js';

/** One token response's tokens. */
export interface JoseIssued {
  accessToken: string;
  sessionToken: string;
  /** Seconds. */
  expiresIn: number;
  scope: string;
}

/** Issues token responses with keys imported once. */
export type JoseIssue = () => Promise<JoseIssued>;

const ACCESS_LIFETIME = 86_400;
const SESSION_LIFETIME = 2_592_000;
const randomId = (bytes: number): string => base64url.encode(webcrypto.getRandomValues(new Uint8Array(bytes)));

/** Imports the keys of a private JWK Set once and returns the per-response work. */
export async function joseIssuer(keySet: { keys: JWK[] }, algorithm: BenchAlgorithm, format: SessionFormat, issuer: string): Promise<JoseIssue> {
  const signingJwk = keySet.keys.find((key) => key.use === 'sig')!;
  const secretJwk = keySet.keys.find((key) => key.use === 'enc')!;
  const signingKey = (await importJWK(signingJwk, algorithm)) as CryptoKey;
  const secret = (await importJWK(secretJwk, 'dir')) as CryptoKey | Uint8Array;
  const encryptionKey = secret instanceof Uint8Array ? await webcrypto.subtle.importKey('raw', secret, { name: 'AES-GCM', length: 256 }, false, ['encrypt']) : secret;
  const signingKid = signingJwk.kid!;
  const encryptionKid = secretJwk.kid!;
  const scope = SCOPES.join(' ');
  return async () => {
    const now = Math.floor(Date.now() / 1000);
    const userId = `anon|${randomUUID()}`;
    const sessionId = `sess_${randomId(16)}`;
    const session = { user_id: userId, session_id: sessionId, created_at: new Date(now * 1000).toISOString(), metadata: {}, iat: now, exp: now + SESSION_LIFETIME, iss: issuer };
    const sessionToken =
      format === 'jwe'
        ? new EncryptJWT(session).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: encryptionKid }).encrypt(encryptionKey)
        : new SignJWT(session).setProtectedHeader({ alg: algorithm, kid: signingKid, typ: 'anon-session+jwt' }).sign(signingKey);
    const accessToken = new SignJWT({ sub: userId, aud: AUDIENCE, iat: now, exp: now + ACCESS_LIFETIME, jti: randomId(16), client_id: CLIENT_ID, scope, sid: sessionId, iss: issuer })
      .setProtectedHeader({ alg: algorithm, kid: signingKid, typ: 'at+jwt' })
      .sign(signingKey);
    const [sessionTokenValue, accessTokenValue] = await Promise.all([sessionToken, accessToken]);
    return { accessToken: accessTokenValue, sessionToken: sessionTokenValue, expiresIn: ACCESS_LIFETIME, scope };
  };
}
