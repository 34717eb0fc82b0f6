/**
 * Keys: loading, validating and generating the private JWK Set, and the key ring the token modules
 * sign, encrypt, verify and decrypt with. Keys are imported once, here, at start-up; no request ever
 * re-imports key material.
 *
 * Rotation: the first key of each use signs or encrypts; every key of that use still verifies or
 * decrypts.
 *
 * @packageDocumentation
 */
import { base64url, exportJWK, generateKeyPair, generateSecret, importJWK, type CryptoKey, type JWK } from 'jose';
import { ConfigError, type ConfigIssue } from '../errors/errors.js';
import { randomId } from '../internal/random.js';

/** A signing key, imported. */
export interface SigningKey {
  /** The key id, sent as the JWS `kid` header. */
  readonly kid: string;
  /** The JWS algorithm. */
  readonly alg: SigningAlgorithm;
  /** The private key (signs). */
  readonly privateKey: CryptoKey;
  /** The public key (verifies). */
  readonly publicKey: CryptoKey;
  /** The public JWK served on the JWKS endpoint. */
  readonly publicJwk: Readonly<JWK>;
}

/** An encryption secret for `dir` + `A256GCM`, imported. */
export interface EncryptionKey {
  /** The key id, sent as the JWE `kid` header. */
  readonly kid: string;
  /** The AES-GCM 256 key. */
  readonly key: CryptoKey;
}

/** The imported keys: the first of each use is current, the rest still verify or decrypt. */
export interface KeyRing {
  /** Signing keys, newest (current) first. */
  readonly signingKeys: readonly SigningKey[];
  /** Encryption secrets, newest (current) first. Empty only when session tokens are `jwt`. */
  readonly encryptionKeys: readonly EncryptionKey[];
  /** Signing keys by `kid`. */
  readonly signingKeyById: ReadonlyMap<string, SigningKey>;
  /** Encryption secrets by `kid`. */
  readonly encryptionKeyById: ReadonlyMap<string, EncryptionKey>;
  /** The algorithms of the signing keys, deduplicated: what verification accepts. */
  readonly signingAlgorithms: readonly SigningAlgorithm[];
  /** The public JWK Set, frozen. Never holds private or symmetric material. */
  readonly publicJwks: Readonly<{ keys: readonly Readonly<JWK>[] }>;
}

/** The private JWK Set a key file holds. */
export interface PrivateJwkSet {
  /** Signing keys and encryption secrets, current ones first. */
  keys: PrivateJwk[];
}

const PUBLIC_PARAMETERS: Record<string, readonly string[]> = {
  RSA: ['kty', 'n', 'e'],
  EC: ['kty', 'crv', 'x', 'y'],
  OKP: ['kty', 'crv', 'x'],
};

const defaultAlgorithm = (jwk: PrivateJwk): string | undefined => {
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  return undefined;
};

const expectedShape: Record<SigningAlgorithm, (jwk: PrivateJwk) => string | undefined> = {
  RS256: (jwk) => rsaProblem(jwk),
  PS256: (jwk) => rsaProblem(jwk),
  ES256: (jwk) => (jwk.kty === 'EC' && jwk.crv === 'P-256' ? undefined : 'ES256 needs an EC key on curve P-256'),
  EdDSA: (jwk) => (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' ? undefined : 'EdDSA needs an OKP key on curve Ed25519'),
};

function rsaProblem(jwk: PrivateJwk): string | undefined {
  if (jwk.kty !== 'RSA') return 'RS256 and PS256 need an RSA key';
  const bits = typeof jwk.n === 'string' ? safeDecodedLength(jwk.n) * 8 : 0;
  return bits >= 2048 ? undefined : `RSA keys must be at least 2048 bits (this one is ${bits})`;
}

function safeDecodedLength(value: string): number {
  try {
    return base64url.decode(value).byteLength;
  } catch {
    return 0;
  }
}

/** A key's `use`; without one, a symmetric secret encrypts and anything else signs. */
const useOf = (jwk: PrivateJwk): unknown => jwk.use ?? (jwk.kty === 'oct' ? 'enc' : 'sig');

/** Parses the `keys` option (an object or JSON text) into a JWK Set, or reports why it cannot. */
function parseKeySet(input: KeySetInput, issues: ConfigIssue[]): PrivateJwk[] {
  if (typeof input !== 'string') return input.keys;
  try {
    const parsed = JSON.parse(input) as unknown;
    const keys = (parsed as { keys?: unknown }).keys;
    if (Array.isArray(keys) && keys.every((key) => typeof key === 'object' && key !== null)) {
      return keys as PrivateJwk[];
    }
  } catch {
    // fall through to the issue below; the text may hold secrets, so it is never echoed
  }
  issues.push({ path: 'keys', message: 'must be a JWK Set: {"keys": [ … ]} as an object or JSON text' });
  return [];
}

/**
 * Imports and validates a private JWK Set into a {@link KeyRing}. Every problem is collected and
 * thrown together as one {@link ConfigError}.
 *
 * @param input - the key set (object or JSON text).
 * @param options - `requireEncryptionKey` is true when session tokens are JWE.
 */
export async function importKeyRing(
  input: KeySetInput,
  options: { requireEncryptionKey: boolean },
): Promise<KeyRing> {
  const issues: ConfigIssue[] = [];
  const jwks = parseKeySet(input, issues);
  const parsed = issues.length === 0;
  const signingKeys: SigningKey[] = [];
  const encryptionKeys: EncryptionKey[] = [];
  const seen = new Set<string>();

  for (const [index, jwk] of jwks.entries()) {
    const path = `keys.keys[${index}]`;
    const problem = (message: string): void => {
      issues.push({ path, message });
    };
    if (typeof jwk.kid !== 'string' || jwk.kid.length === 0) {
      problem('every key needs a "kid"');
      continue;
    }
    if (seen.has(jwk.kid)) {
      problem(`duplicate kid "${jwk.kid}"`);
      continue;
    }
    seen.add(jwk.kid);
    const use = useOf(jwk);
    if (use === 'sig') {
      const key = await importSigningKey(jwk, jwk.kid, problem);
      if (key) signingKeys.push(key);
    } else if (use === 'enc') {
      const key = await importEncryptionKey(jwk, jwk.kid, problem);
      if (key) encryptionKeys.push(key);
    } else {
      problem(`"use" must be "sig" or "enc" (got "${String(use)}")`);
    }
  }

  // A missing kind of key is reported alongside the problems of the keys that are there (one run
  // lists everything); a key of that kind that failed to import has already been reported.
  const declaredUses = new Set(jwks.map(useOf));
  if (parsed && !declaredUses.has('sig')) {
    issues.push({ path: 'keys', message: 'needs at least one signing key (use "sig")' });
  }
  if (parsed && options.requireEncryptionKey && !declaredUses.has('enc')) {
    issues.push({
      path: 'keys',
      message: 'needs at least one encryption secret (kty "oct", use "enc", alg "dir") for JWE session tokens',
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return buildKeyRing(signingKeys, encryptionKeys);
}

/** Signing algorithms an access token (and a `jwt` session token) may use. */
export const SIGNING_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
/** One of {@link SIGNING_ALGORITHMS}. */
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** A private JWK as it appears in the key set (RFC 7517). */
export interface PrivateJwk {
  kty: string;
  kid?: string;
  use?: string;
  alg?: string;
  [parameter: string]: unknown;
}

/** The key set: a standard private JWK Set, or its JSON text. */
export type KeySetInput = { keys: PrivateJwk[] } | string;

async function importSigningKey(
  jwk: PrivateJwk,
  kid: string,
  problem: (message: string) => void,
): Promise<SigningKey | undefined> {
  if (jwk.kty === 'oct') {
    problem('symmetric signing keys are not allowed: access tokens must be verifiable from the public JWKS');
    return undefined;
  }
  const alg = jwk.alg ?? defaultAlgorithm(jwk);
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(alg ?? '')) {
    problem(`signing "alg" must be one of ${SIGNING_ALGORITHMS.join(', ')} (got "${String(alg)}")`);
    return undefined;
  }
  const algorithm = alg as SigningAlgorithm;
  const shape = expectedShape[algorithm](jwk);
  if (shape) {
    problem(shape);
    return undefined;
  }
  if (typeof jwk.d !== 'string') {
    problem('signing keys must be private keys (the "d" parameter is missing)');
    return undefined;
  }
  const parameters: Record<string, unknown> = {};
  for (const name of PUBLIC_PARAMETERS[jwk.kty] ?? []) parameters[name] = jwk[name];
  const publicJwk = { ...parameters, kid, use: 'sig', alg: algorithm } as JWK;
  try {
    const privateKey = (await importJWK({ ...jwk, alg: algorithm, ext: false } as JWK, algorithm)) as CryptoKey;
    const publicKey = (await importJWK({ ...publicJwk, ext: false }, algorithm)) as CryptoKey;
    return { kid, alg: algorithm, privateKey, publicKey, publicJwk: Object.freeze(publicJwk) };
  } catch {
    problem(`the ${algorithm} key cannot be imported (malformed key parameters)`);
    return undefined;
  }
}

async function importEncryptionKey(
  jwk: PrivateJwk,
  kid: string,
  problem: (message: string) => void,
): Promise<EncryptionKey | undefined> {
  if (jwk.kty !== 'oct') {
    problem('encryption keys must be symmetric secrets (kty "oct") for alg "dir"');
    return undefined;
  }
  if (jwk.alg !== undefined && jwk.alg !== 'dir') {
    problem(`encryption "alg" must be "dir" (got "${String(jwk.alg)}")`);
    return undefined;
  }
  const bytes = typeof jwk.k === 'string' ? safeDecode(jwk.k) : undefined;
  if (bytes === undefined || bytes.byteLength !== 32) {
    problem(
      `encryption secrets must be exactly 256 bits for A256GCM (got ${bytes ? bytes.byteLength * 8 : 0}); generate one with \`anonymous-sessions keys generate\``,
    );
    return undefined;
  }
  const key = await crypto.subtle.importKey('raw', bytes, { name: 'AES-GCM', length: 256 }, false, [
    'encrypt',
    'decrypt',
  ]);
  return { kid, key };
}

function safeDecode(value: string): Uint8Array | undefined {
  try {
    return base64url.decode(value);
  } catch {
    return undefined;
  }
}

function buildKeyRing(signingKeys: SigningKey[], encryptionKeys: EncryptionKey[]): KeyRing {
  return Object.freeze({
    signingKeys: Object.freeze(signingKeys),
    encryptionKeys: Object.freeze(encryptionKeys),
    signingKeyById: new Map(signingKeys.map((key) => [key.kid, key])),
    encryptionKeyById: new Map(encryptionKeys.map((key) => [key.kid, key])),
    signingAlgorithms: Object.freeze([...new Set(signingKeys.map((key) => key.alg))]),
    publicJwks: Object.freeze({ keys: Object.freeze(signingKeys.map((key) => key.publicJwk)) }),
  });
}

/** Options of {@link generateKeySet}. */
export interface GenerateKeySetOptions {
  /** Algorithm of the signing key. Default RS256. */
  algorithm?: SigningAlgorithm;
  /** RSA modulus length in bits. Default 2048. */
  modulusLength?: number;
}

/**
 * Generates a private JWK Set with one signing key and one 256-bit encryption secret, each with a
 * fresh `kid`. What `anonymous-sessions keys generate` writes, and what development mode uses.
 *
 * @param options - the signing algorithm.
 * @returns a JWK Set holding private material: store it as a secret.
 */
export async function generateKeySet(options: GenerateKeySetOptions = {}): Promise<PrivateJwkSet> {
  const algorithm = options.algorithm ?? 'RS256';
  const stamp = new Date().toISOString().slice(0, 10);
  const pair = await generateKeyPair(algorithm, {
    extractable: true,
    ...(algorithm.startsWith('RS') || algorithm.startsWith('PS')
      ? { modulusLength: options.modulusLength ?? 2048 }
      : {}),
    ...(algorithm === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const signing = await exportJWK(pair.privateKey);
  const secret = await exportJWK(await generateSecret('A256GCM', { extractable: true }));
  return {
    keys: [
      { ...signing, kty: signing.kty as string, kid: `sig-${stamp}-${randomId(6)}`, use: 'sig', alg: algorithm },
      { kty: 'oct', kid: `enc-${stamp}-${randomId(6)}`, use: 'enc', alg: 'dir', k: secret.k },
    ],
  };
}

/**
 * Rotates a key set: a new signing key and a new encryption secret go first (they sign and encrypt
 * from now on); the old ones stay so tokens they made still verify. Drop the old ones once every
 * token they made has expired (`keep`).
 *
 * @param current - the key set in use.
 * @param options - the new signing algorithm (default: the current one's) and how many keys of
 *   each use to keep in all (default: every one).
 * @returns the new key set.
 */
export async function rotateKeySet(
  current: PrivateJwkSet,
  options: GenerateKeySetOptions & { keep?: number } = {},
): Promise<PrivateJwkSet> {
  const currentSigning = current.keys.find((key) => (key.use ?? (key.kty === 'oct' ? 'enc' : 'sig')) === 'sig');
  const algorithm =
    options.algorithm ?? ((currentSigning?.alg ?? (currentSigning && defaultAlgorithm(currentSigning))) as SigningAlgorithm | undefined);
  const fresh = await generateKeySet({ ...options, algorithm: algorithm ?? 'RS256' });
  const keep = options.keep ?? Number.POSITIVE_INFINITY;
  const byUse = (use: string) => [
    ...fresh.keys.filter((key) => key.use === use),
    ...current.keys.filter((key) => (key.use ?? (key.kty === 'oct' ? 'enc' : 'sig')) === use),
  ].slice(0, keep);
  return { keys: [...byUse('sig'), ...byUse('enc')] };
}

/**
 * Development mode: generates an ephemeral key ring.
 *
 * @param algorithm - the signing algorithm.
 */
export async function developmentKeyRing(algorithm: SigningAlgorithm): Promise<KeyRing> {
  return importKeyRing(await generateKeySet({ algorithm }), { requireEncryptionKey: true });
}

/** Re-exported for callers that only need the type of a public JWK. */
export type { JWK };
