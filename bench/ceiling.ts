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
import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { joseIssuer } from './jose-issuer.js';
import type { BenchAlgorithm, CeilingResult, SessionFormat } from './shared.js';

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

async function main(options: CeilingSettings): Promise<CeilingResult> {
  const keySet = JSON.parse(readFileSync(options.keysFile, 'utf8')) as { keys: JWK[] };
  // Imported once, kept as CryptoKeys: the best any implementation can do.
  const issue = await joseIssuer(keySet, options.algorithm, options.format, ISSUER);
  const issueOnce = async (): Promise<void> => {
    await issue();
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
