/**
 * What a hand-written jose issuer does per token response, written once for the crypto ceiling
 * (`ceiling.ts`) and the hand-written endpoint (`jose-endpoint.ts`): keys imported once and kept as
 * CryptoKeys, then per response an RS256 / ES256 / EdDSA access token (`typ: at+jwt`, the claims
 * the engine puts in) and a session token (`dir` + `A256GCM` JWE, or a signed JWT), concurrently,
 * as the engine does. Continuing a session first opens its token (`joseSessionOpener`: decrypt, or
 * verify), then issues for the same user and session. No store.
 */
import { randomUUID, webcrypto } from 'node:crypto';
import { EncryptJWT, SignJWT, base64url, importJWK, jwtDecrypt, jwtVerify, type CryptoKey, type JWK } from 'jose';
import { AUDIENCE, CLIENT_ID, SCOPES, type BenchAlgorithm, type SessionFormat } from './shared.js';

/** One token response's tokens. */
export interface JoseIssued {
  accessToken: string;
  sessionToken: string;
  /** Seconds. */
  expiresIn: number;
  scope: string;
}

/** What a continued session keeps: its user, its id and when it began. */
export interface JoseSession {
  user_id: string;
  session_id: string;
  created_at: string;
}

/** Issues token responses with keys imported once: for a new session, or for `session`. */
export type JoseIssue = (session?: JoseSession) => Promise<JoseIssued>;

/** Opens a session token `JoseIssue` made (its issuer, type and expiry checked); rejects any other. */
export type JoseOpen = (sessionToken: string) => Promise<JoseSession>;

const ACCESS_LIFETIME = 86_400;
const SESSION_LIFETIME = 2_592_000;
const randomId = (bytes: number): string => base64url.encode(webcrypto.getRandomValues(new Uint8Array(bytes)));

/** The set's signing key and its `dir` secret. */
const keysOf = (keySet: { keys: JWK[] }): { signingJwk: JWK; secretJwk: JWK } => ({
  signingJwk: keySet.keys.find((key) => key.use === 'sig')!,
  secretJwk: keySet.keys.find((key) => key.use === 'enc')!,
});

/** The `dir` secret as an AES-GCM CryptoKey for one use, imported once. */
async function secretKey(secretJwk: JWK, usage: 'encrypt' | 'decrypt'): Promise<CryptoKey> {
  const secret = (await importJWK(secretJwk, 'dir')) as CryptoKey | Uint8Array;
  return secret instanceof Uint8Array ? webcrypto.subtle.importKey('raw', secret, { name: 'AES-GCM', length: 256 }, false, [usage]) : secret;
}

/** Imports the keys of a private JWK Set once and returns the per-response work. */
export async function joseIssuer(keySet: { keys: JWK[] }, algorithm: BenchAlgorithm, format: SessionFormat, issuer: string): Promise<JoseIssue> {
  const { signingJwk, secretJwk } = keysOf(keySet);
  const signingKey = (await importJWK(signingJwk, algorithm)) as CryptoKey;
  const encryptionKey = await secretKey(secretJwk, 'encrypt');
  const signingKid = signingJwk.kid!;
  const encryptionKid = secretJwk.kid!;
  const scope = SCOPES.join(' ');
  return async (continued) => {
    const now = Math.floor(Date.now() / 1000);
    const userId = continued?.user_id ?? `anon|${randomUUID()}`;
    const sessionId = continued?.session_id ?? `sess_${randomId(16)}`;
    const createdAt = continued?.created_at ?? new Date(now * 1000).toISOString();
    const session = { user_id: userId, session_id: sessionId, created_at: createdAt, metadata: {}, iat: now, exp: now + SESSION_LIFETIME, iss: issuer };
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

/** The private members of an RSA, EC or OKP JWK (RFC 7518 §6, RFC 8037). */
const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi']);

/** Imports the key that opens the issuer's session tokens once: the `dir` secret, or the public signing key. */
export async function joseSessionOpener(keySet: { keys: JWK[] }, algorithm: BenchAlgorithm, format: SessionFormat, issuer: string): Promise<JoseOpen> {
  const { signingJwk, secretJwk } = keysOf(keySet);
  const kept = (payload: Record<string, unknown>): JoseSession => {
    const { user_id, session_id, created_at } = payload;
    if (typeof user_id !== 'string' || typeof session_id !== 'string' || typeof created_at !== 'string') throw new TypeError('not a session token');
    return { user_id, session_id, created_at };
  };
  if (format === 'jwe') {
    const key = await secretKey(secretJwk, 'decrypt');
    return async (token) => kept((await jwtDecrypt(token, key, { issuer, keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] })).payload);
  }
  const publicJwk = Object.fromEntries(Object.entries(signingJwk).filter(([member]) => !PRIVATE_MEMBERS.has(member))) as JWK;
  const key = (await importJWK(publicJwk, algorithm)) as CryptoKey;
  return async (token) => kept((await jwtVerify(token, key, { issuer, algorithms: [algorithm], typ: 'anon-session+jwt' })).payload);
}
