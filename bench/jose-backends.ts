/**
 * What one `jwtVerify` costs on the jose our core uses and on the one express-oauth2-jwt-bearer
 * bundles (the evidence behind the floor of "cache off ÷ the peer" in `harness/targets.ts`).
 *
 * Our core runs on any fetch runtime, so it uses jose 6, whose every signature check goes through
 * WebCrypto: on Node, `crypto.subtle.verify` queues a job on the libuv thread pool and settles a
 * promise when it returns, and jose decodes base64url through `atob`. express-oauth2-jwt-bearer
 * depends on jose 4, whose Node build calls `node:crypto`'s `verify` synchronously and decodes with
 * `Buffer`. The same token, key and checks cost the two a different amount of CPU, and that
 * difference is in every request a guard verifies without a cache — ours, the hand-written jose
 * guard's (`jose-guard.ts`), not the peer's.
 *
 * `node --import tsx bench/jose-backends.ts` prints CPU µs per verification (the process's CPU,
 * thread pool included, over 50 verifications in flight), jose 6 and jose 4 alternating, median of
 * 9 rounds of 4,000 verifications, over 1,000 distinct RS256 access tokens shaped like ours. Pin it
 * to one core (`taskset -c 0`) to count the thread pool's work on the same core, as the paired
 * rounds do.
 */
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT } from 'jose';
import { AUDIENCE, CLIENT_ID, SCOPES } from './shared.js';

type Verify = (token: string) => Promise<unknown>;

const ISSUER = 'http://127.0.0.1:9/';
const TOKENS = 1000;
const ROUNDS = 9;
const PER_ROUND = 4000;
const IN_FLIGHT = 50;

// The peer's own copy of jose (4.x), resolved from its package as it resolves it.
const peerRequire = createRequire(createRequire(import.meta.url).resolve('express-oauth2-jwt-bearer'));
const jose4 = peerRequire('jose') as {
  importJWK(jwk: object, alg: string): Promise<unknown>;
  jwtVerify(token: string, key: unknown, options: object): Promise<unknown>;
};
const jose4Version = (peerRequire('jose/package.json') as { version: string }).version;
const jose6Version = (createRequire(import.meta.url)('jose/package.json') as { version: string }).version;

const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
const now = Math.floor(Date.now() / 1000);
const tokens = await Promise.all(
  Array.from({ length: TOKENS }, () =>
    new SignJWT({ client_id: CLIENT_ID, scope: SCOPES.join(' '), sid: `sess_${randomUUID()}`, jti: randomUUID() })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' })
      .setSubject(`anon|${randomUUID()}`)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(privateKey),
  ),
);
const jwk = await exportJWK(publicKey);
const options = { issuer: ISSUER, audience: AUDIENCE, algorithms: ['RS256'], typ: 'at+jwt', requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id', 'sid'] };
const key6 = await importJWK(jwk, 'RS256');
const key4 = await jose4.importJWK(jwk, 'RS256');
const sides: [string, Verify][] = [
  [`jose ${jose6Version} (WebCrypto; our core, jose-guard.ts)`, (token) => jwtVerify(token, () => key6, options)],
  // jose 4 pushes `aud` and `iss` onto the caller's `requiredClaims` on every call (so a shared
  // list grows without end): it gets a list of its own each time.
  [`jose ${jose4Version} (node:crypto; bundled by express-oauth2-jwt-bearer)`, (token) => jose4.jwtVerify(token, () => key4, { ...options, requiredClaims: [...options.requiredClaims] })],
];

/** CPU µs per verification over one round. */
async function round(verify: Verify): Promise<number> {
  let next = 0;
  const started = process.cpuUsage();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < PER_ROUND) await verify(tokens[next++ % TOKENS]!);
    }),
  );
  const used = process.cpuUsage(started);
  return (used.user + used.system) / PER_ROUND;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (const [, verify] of sides) await round(verify); // warm-up
const cpu: number[][] = sides.map(() => []);
for (let index = 0; index < ROUNDS; index += 1) {
  const order = index % 2 === 0 ? [0, 1] : [1, 0];
  for (const side of order) cpu[side]!.push(await round(sides[side]![1]));
}
for (const [index, [name]] of sides.entries()) console.log(`${name}: ${median(cpu[index]!).toFixed(1)} µs CPU per jwtVerify`);
const ratios = cpu[0]!.map((value, index) => value / cpu[1]![index]!);
console.log(`jose ${jose6Version} ÷ jose ${jose4Version}: ${median(ratios).toFixed(2)}× the CPU (median of ${ROUNDS} rounds' ratios)`);
