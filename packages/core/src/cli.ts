/**
 * `anonymous-sessions` command line: writes and rotates the private JWK Set.
 *
 * ```
 * anonymous-sessions keys generate [--alg RS256|PS256|ES256|EdDSA] [--out keys.json]
 * anonymous-sessions keys rotate --file keys.json [--alg …] [--keep N] [--out other.json]
 * ```
 *
 * Key files are written with mode 0600. Without `--out`, `generate` prints to standard output
 * (pipe it into a secret store, e.g. an environment variable); nothing else is ever printed.
 *
 * @packageDocumentation
 */
import { readFile, writeFile } from 'node:fs/promises';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from './config.js';
import { ConfigError } from './errors.js';
import { generateKeySet, importKeyRing, rotateKeySet, type PrivateJwkSet } from './keys.js';

const USAGE = `Usage:
  anonymous-sessions keys generate [--alg RS256|PS256|ES256|EdDSA] [--out FILE]
  anonymous-sessions keys rotate --file FILE [--alg ALG] [--keep N] [--out FILE]

generate  writes a new private JWK Set: one signing key and one 256-bit encryption secret.
rotate    puts a new signing key and a new encryption secret first in FILE; the old keys stay
          so tokens they made still verify. --keep N keeps at most N keys of each use.
Without --out, generate prints the key set; rotate rewrites FILE in place.`;

/** The outcome of one CLI run: what to print, where, and the exit code. */
export interface CliResult {
  /** Process exit code. */
  code: number;
  /** Text for standard output. */
  stdout: string;
  /** Text for standard error. */
  stderr: string;
}

type Flags = Record<string, string>;

function parseFlags(args: readonly string[]): Flags {
  const flags: Flags = {};
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    const value = inline ?? args[index + 1];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
    if (inline === undefined) index += 1;
    flags[name] = value;
  }
  return flags;
}

class UsageError extends Error {}

function algorithmFlag(flags: Flags): SigningAlgorithm | undefined {
  const alg = flags.alg;
  if (alg === undefined) return undefined;
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new UsageError(`--alg must be one of ${SIGNING_ALGORITHMS.join(', ')}`);
  }
  return alg as SigningAlgorithm;
}

async function writeKeySet(path: string, keySet: PrivateJwkSet): Promise<void> {
  await writeFile(path, `${JSON.stringify(keySet, null, 2)}\n`, { mode: 0o600 });
}

/**
 * Runs the CLI with the given arguments (without `node` and the script path).
 *
 * @param args - e.g. `['keys', 'generate', '--alg', 'ES256']`.
 */
export async function runCli(args: readonly string[]): Promise<CliResult> {
  try {
    const [group, command, ...rest] = args;
    if (group !== 'keys' || (command !== 'generate' && command !== 'rotate')) {
      return { code: group === undefined || group === '--help' ? 0 : 2, stdout: group === '--help' ? `${USAGE}\n` : '', stderr: group === '--help' ? '' : `${USAGE}\n` };
    }
    const flags = parseFlags(rest);
    const algorithm = algorithmFlag(flags);
    if (command === 'generate') {
      const keySet = await generateKeySet(algorithm === undefined ? {} : { algorithm });
      if (flags.out === undefined) return { code: 0, stdout: `${JSON.stringify(keySet, null, 2)}\n`, stderr: '' };
      await writeKeySet(flags.out, keySet);
      return { code: 0, stdout: '', stderr: `Wrote a new key set to ${flags.out}\n` };
    }
    const file = flags.file;
    if (file === undefined) throw new UsageError('rotate needs --file FILE');
    let current: PrivateJwkSet;
    try {
      current = JSON.parse(await readFile(file, 'utf8')) as PrivateJwkSet;
    } catch {
      throw new UsageError(`${file} is not readable JSON`);
    }
    await importKeyRing(current, { requireEncryptionKey: false }); // refuse to rotate a broken set
    const keep = flags.keep === undefined ? undefined : Number(flags.keep);
    if (keep !== undefined && (!Number.isInteger(keep) || keep < 1)) throw new UsageError('--keep must be a positive integer');
    const rotated = await rotateKeySet(current, {
      ...(algorithm === undefined ? {} : { algorithm }),
      ...(keep === undefined ? {} : { keep }),
    });
    const out = flags.out ?? file;
    await writeKeySet(out, rotated);
    return { code: 0, stdout: '', stderr: `Rotated ${file}: new keys first, ${rotated.keys.length} keys in all, written to ${out}\n` };
  } catch (error) {
    if (error instanceof UsageError) return { code: 2, stdout: '', stderr: `anonymous-sessions: ${error.message}\n\n${USAGE}\n` };
    if (error instanceof ConfigError) return { code: 1, stdout: '', stderr: `anonymous-sessions: ${error.message}\n` };
    throw error;
  }
}
