/**
 * The raw crypto ceiling of issuance: what one token response costs in JOSE work alone, with no
 * HTTP, no validation and no store. Each operation signs an access token (RS256, ES256 or EdDSA,
 * `typ: at+jwt`, the claims the engine puts in) and seals a session token (`dir` + `A256GCM` JWE,
 * or a signed JWT), concurrently as the engine does, with keys imported once, many operations in
 * flight. The orchestrator runs two of these processes at once, one per core; their sum is the
 * physical limit of issuance on this machine.
 *
 * Run only by `run.ts` (forked); settings in `BENCH_CEILING` as JSON. Messages: `ready` (keys
 * imported) → waits for `go` → `result`.
 */
import { randomUUID, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EncryptJWT, SignJWT, base64url, importJWK, type CryptoKey, type JWK } from 'jose';
import { AUDIENCE, CLIENT_ID, SCOPES, type BenchAlgorithm, type CeilingResult, type SessionFormat } from './shared.js';

interface CeilingSettings {
  keysFile: string;
  algorithm: BenchAlgorithm;
  format: SessionFormat;
  seconds: number;
  warmupSeconds: number;
  inFlight: number;
}

const settings = JSON.parse(process.env.BENCH_CEILING ?? 'null') as CeilingSettings | null;
if (settings === null) {
  console.error('ceiling.ts is run by bench/run.ts (BENCH_CEILING is not set)');
  process.exit(2);
}

const ISSUER = 'http://127.0.0.1/';
const randomId = (bytes: number): string => base64url.encode(webcrypto.getRandomValues(new Uint8Array(bytes)));

async function main(options: CeilingSettings): Promise<CeilingResult> {
  const keySet = JSON.parse(readFileSync(options.keysFile, 'utf8')) as { keys: JWK[] };
  const signingJwk = keySet.keys.find((key) => key.use === 'sig')!;
  const secretJwk = keySet.keys.find((key) => key.use === 'enc')!;
  // Imported once, kept as CryptoKeys: the best any implementation can do.
  const signingKey = (await importJWK(signingJwk, options.algorithm)) as CryptoKey;
  const secret = (await importJWK(secretJwk, 'dir')) as CryptoKey | Uint8Array;
  const encryptionKey =
    secret instanceof Uint8Array
      ? await webcrypto.subtle.importKey('raw', secret, { name: 'AES-GCM', length: 256 }, false, ['encrypt'])
      : secret;
  const signingKid = signingJwk.kid!;
  const encryptionKid = secretJwk.kid!;
  const scope = SCOPES.join(' ');

  const issueOnce = async (): Promise<void> => {
    const now = Math.floor(Date.now() / 1000);
    const userId = `anon|${randomUUID()}`;
    const sessionId = `sess_${randomId(16)}`;
    const exp = now + 2_592_000;
    const session = { user_id: userId, session_id: sessionId, created_at: new Date(now * 1000).toISOString(), metadata: {}, iat: now, exp, iss: ISSUER };
    const sessionToken =
      options.format === 'jwe'
        ? new EncryptJWT(session).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: encryptionKid }).encrypt(encryptionKey)
        : new SignJWT(session).setProtectedHeader({ alg: options.algorithm, kid: signingKid, typ: 'anon-session+jwt' }).sign(signingKey);
    const accessToken = new SignJWT({
      sub: userId,
      aud: AUDIENCE,
      iat: now,
      exp: now + 86_400,
      jti: randomId(16),
      client_id: CLIENT_ID,
      scope,
      sid: sessionId,
      iss: ISSUER,
    })
      .setProtectedHeader({ alg: options.algorithm, kid: signingKid, typ: 'at+jwt' })
      .sign(signingKey);
    await Promise.all([sessionToken, accessToken]);
  };

  const runFor = async (seconds: number): Promise<CeilingResult> => {
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const until = started + seconds * 1000;
    let operations = 0;
    const loop = async (): Promise<void> => {
      while (performance.now() < until) {
        await issueOnce();
        operations += 1;
      }
    };
    await Promise.all(Array.from({ length: options.inFlight }, loop));
    const cpu = process.cpuUsage(cpuBefore);
    return { operations, seconds: (performance.now() - started) / 1000, cpuMicros: cpu.user + cpu.system };
  };

  // Both processes start measuring together: the orchestrator says `go` once each is ready.
  await new Promise<void>((resolve) => {
    process.on('message', (message: { type?: string }) => {
      if (message.type === 'go') resolve();
    });
    process.send?.({ type: 'ready' });
  });
  await runFor(options.warmupSeconds);
  return runFor(options.seconds);
}

// The orchestrator going away must never leave this process running.
process.on('disconnect', () => process.exit(0));

main(settings)
  .then((result) => {
    process.send?.({ type: 'result', result }, () => process.exit(0));
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
