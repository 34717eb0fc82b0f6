/**
 * `anonymous-sessions` command line: writes and rotates the private JWK Set.
 *
 * ```
 * anonymous-sessions keys generate [--alg RS256|PS256|ES256|EdDSA] [--out FILE] [--force]
 * anonymous-sessions keys rotate --file FILE [--alg ALG] [--keep N] [--out FILE] [--force]
 * anonymous-sessions --help | --version
 * ```
 *
 * Arguments are parsed by `node:util`'s `parseArgs` in strict mode: an unknown option, a missing
 * value or a stray argument is a usage error (exit code 2), never silently ignored. Key files are
 * always written with mode 0600 — through a temporary file renamed into place, so a file that
 * existed with looser permissions does not keep them — and an existing file is only replaced with
 * `--force` (except the `--file` that `rotate` rewrites in place, which is what it is for). Without
 * `--out`, `generate` prints to standard output (pipe it into a secret store); nothing else is ever
 * printed there, and no message ever contains key material.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '../keys/keys.js';
import { ConfigError } from '../errors/errors.js';
import { generateKeySet, importKeyRing, rotateKeySet, type PrivateJwkSet } from '../keys/keys.js';

const PROGRAM = 'anonymous-sessions';

const MAIN_USAGE = `Usage: ${PROGRAM} <command> [options]

Commands:
  keys generate   write a new private JWK Set (one signing key, one 256-bit encryption secret)
  keys rotate     put new keys first in a key set; the old keys stay so their tokens still verify

Options:
  -h, --help      show help (also after a command: ${PROGRAM} keys rotate --help)
  -v, --version   show the version

Run it from an app that depends on @anonymous-sessions/core (npx ${PROGRAM} …), or anywhere
with npx -p @anonymous-sessions/core ${PROGRAM} ….`;

const GENERATE_USAGE = `Usage: ${PROGRAM} keys generate [--alg ALG] [--out FILE] [--force]

Writes a new private JWK Set: one signing key and one 256-bit encryption secret.

Options:
  --alg ALG     signing algorithm: ${SIGNING_ALGORITHMS.join(', ')} (default RS256)
  --out FILE    write the key set to FILE (mode 0600) instead of standard output
  --force       replace FILE if it exists (its keys are lost; tokens they made stop verifying)
  -h, --help    show this help`;

const ROTATE_USAGE = `Usage: ${PROGRAM} keys rotate --file FILE [--alg ALG] [--keep N] [--out FILE] [--force]

Puts a new signing key and a new encryption secret first in the key set of FILE. The old keys stay
after them, so tokens they made still verify; drop them once those tokens have expired.

Options:
  --file FILE   the key set to rotate (required); rewritten in place (mode 0600) unless --out
  --alg ALG     algorithm of the new signing key: ${SIGNING_ALGORITHMS.join(', ')} (default: that of
                the current signing key)
  --keep N      keep at most N keys of each use, newest first (default: all)
  --out FILE    write the rotated set to FILE instead (mode 0600); FILE must not exist unless --force
  --force       replace --out FILE if it exists
  -h, --help    show this help`;

/** The outcome of one CLI run: what to print, where, and the exit code. */
export interface CliResult {
  /** Process exit code: 0 success, 1 failure (bad key file, file exists, I/O), 2 usage error. */
  code: number;
  /** Text for standard output. */
  stdout: string;
  /** Text for standard error. */
  stderr: string;
}

/** A mistake in the command line: exit code 2, with the usage of the command. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

/** A failure that is not the command line's fault: exit code 1, message only. */
class CliFailure extends Error {}

const ok = (stdout: string, stderr = ''): CliResult => ({ code: 0, stdout, stderr });

/**
 * The installed package's version, read from its `package.json`: one folder up from the built
 * `dist/cli.js`, two up from this source file (`src/cli/cli.ts`, when run from source in tests).
 */
function packageVersion(): string {
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === '@anonymous-sessions/core') return typeof manifest.version === 'string' ? manifest.version : 'unknown';
    } catch {
      // not this folder: try the next one up
    }
  }
  return 'unknown';
}

/**
 * `parseArgs` in strict mode, its errors turned into short usage errors. `--help` is accepted by
 * every command.
 */
function parseCommand<T extends NonNullable<ParseArgsConfig['options']>>(
  args: readonly string[],
  options: T,
  usage: string,
) {
  try {
    return parseArgs({
      args: [...args],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const message = error instanceof Error ? error.message : String(error);
    const quoted = /'([^']*)'/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${quoted ?? ''}`.trim(), usage);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new UsageError(`unexpected argument ${quoted === undefined ? '' : `"${quoted}"`}`.trim(), usage);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const option = /(--[a-z-]+)/.exec(message)?.[1];
      throw new UsageError(option === undefined ? message : `${option} needs a value`, usage);
    }
    throw error;
  }
}

/** A string option's value; an empty value (`--out=`) is a usage error. */
function stringValue(value: string | boolean | undefined, name: string, usage: string): string | undefined {
  if (value === undefined || typeof value === 'boolean') return undefined;
  if (value.length === 0) throw new UsageError(`--${name} needs a value`, usage);
  return value;
}

function algorithmOption(value: string | undefined, usage: string): SigningAlgorithm | undefined {
  if (value === undefined) return undefined;
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(value)) {
    throw new UsageError(`--alg must be one of ${SIGNING_ALGORITHMS.join(', ')} (got "${value}")`, usage);
  }
  return value as SigningAlgorithm;
}

const errorCode = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;

/**
 * Writes a key set with mode 0600. Without `replace`, the file is created exclusively (`wx`): an
 * existing `path` — even one created a moment ago — is refused, never overwritten. With `replace`,
 * the set goes into a temporary file in the same directory that is then renamed over `path`
 * (atomic: readers see the old set or the new one, never half of one, and the file ends up 0600
 * whatever mode the old one had).
 */
async function writeKeyFile(path: string, keySet: PrivateJwkSet, replace: boolean): Promise<void> {
  const text = `${JSON.stringify(keySet, null, 2)}\n`;
  const target = replace ? join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`) : path;
  let handle: FileHandle;
  try {
    handle = await open(target, 'wx', 0o600);
  } catch (error) {
    if (!replace && errorCode(error) === 'EEXIST') {
      throw new CliFailure(`${path} already exists; pass --force to replace it (the keys in it would be lost)`);
    }
    throw new CliFailure(`cannot write ${path}: ${describeIoError(error, 'write')}`);
  }
  try {
    try {
      await handle.chmod(0o600); // the umask can only have narrowed the mode; make it exactly 0600
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (replace) await rename(target, path);
  } catch (error) {
    await unlink(target).catch(() => undefined);
    throw new CliFailure(`cannot write ${path}: ${describeIoError(error, 'write')}`);
  }
}

function describeIoError(error: unknown, operation: 'read' | 'write'): string {
  switch (errorCode(error)) {
    case 'ENOENT':
      return operation === 'read' ? 'not found' : 'its directory does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOTDIR':
      return 'a parent is not a directory';
    case 'EROFS':
      return 'read-only file system';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

/** Reads a key file, telling apart a missing file, an unreadable one and one that is not JSON. */
async function readKeyFile(path: string): Promise<PrivateJwkSet> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = describeIoError(error, 'read');
    throw new CliFailure(reason === 'not found' ? `${path} not found` : `cannot read ${path}: ${reason}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // never echo the text: it may hold secrets
    throw new CliFailure(`${path} is not valid JSON (expected a private JWK Set: {"keys": [ … ]})`);
  }
  try {
    await importKeyRing(parsed as PrivateJwkSet, { requireEncryptionKey: false }); // refuse to rotate a broken set
  } catch (error) {
    if (error instanceof ConfigError) {
      const problems = error.issues.map((issue) => `  - ${issue.path.replace(/^keys\.?/, '') || '(the set)'}: ${issue.message}`);
      throw new CliFailure(`${path} is not a usable key set:\n${problems.join('\n')}`);
    }
    throw error;
  }
  return parsed as PrivateJwkSet;
}

async function generate(args: readonly string[]): Promise<CliResult> {
  const values = parseCommand(
    args,
    { alg: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' } },
    GENERATE_USAGE,
  );
  if (values.help === true) return ok(`${GENERATE_USAGE}\n`);
  const algorithm = algorithmOption(stringValue(values.alg, 'alg', GENERATE_USAGE), GENERATE_USAGE);
  const out = stringValue(values.out, 'out', GENERATE_USAGE);
  if (values.force === true && out === undefined) throw new UsageError('--force only applies with --out', GENERATE_USAGE);
  const keySet = await generateKeySet(algorithm === undefined ? {} : { algorithm });
  if (out === undefined) return ok(`${JSON.stringify(keySet, null, 2)}\n`);
  await writeKeyFile(out, keySet, values.force === true);
  return ok('', `Wrote a new key set to ${out} (mode 0600)\n`);
}

async function rotate(args: readonly string[]): Promise<CliResult> {
  const values = parseCommand(
    args,
    {
      file: { type: 'string' },
      alg: { type: 'string' },
      keep: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
    },
    ROTATE_USAGE,
  );
  if (values.help === true) return ok(`${ROTATE_USAGE}\n`);
  const file = stringValue(values.file, 'file', ROTATE_USAGE);
  if (file === undefined) throw new UsageError('rotate needs --file FILE', ROTATE_USAGE);
  const algorithm = algorithmOption(stringValue(values.alg, 'alg', ROTATE_USAGE), ROTATE_USAGE);
  const keepText = stringValue(values.keep, 'keep', ROTATE_USAGE);
  const keep = keepText === undefined ? undefined : Number(keepText);
  if (keep !== undefined && (!/^\d+$/.test(keepText ?? '') || !Number.isSafeInteger(keep) || keep < 1)) {
    throw new UsageError(`--keep must be a positive integer (got "${keepText}")`, ROTATE_USAGE);
  }
  const out = stringValue(values.out, 'out', ROTATE_USAGE);
  if (values.force === true && out === undefined) {
    throw new UsageError('--force only applies with --out (rotate rewrites --file in place without it)', ROTATE_USAGE);
  }

  const current = await readKeyFile(file);
  const rotated = await rotateKeySet(current, {
    ...(algorithm === undefined ? {} : { algorithm }),
    ...(keep === undefined ? {} : { keep }),
  });
  // Rewriting --file is the command's purpose (the old keys are kept unless --keep says
  // otherwise); any other existing file needs --force.
  await writeKeyFile(out ?? file, rotated, out === undefined || values.force === true);
  return ok('', `Rotated ${file}: new keys first, ${rotated.keys.length} keys in all, written to ${out ?? file} (mode 0600)\n`);
}

/**
 * Runs the CLI with the given arguments (without `node` and the script path).
 *
 * @param args - e.g. `['keys', 'generate', '--alg', 'ES256']`.
 * @returns what to print and the exit code; it never writes to the console itself.
 */
export async function runCli(args: readonly string[]): Promise<CliResult> {
  try {
    const [group, command, ...rest] = args;
    if (group === undefined) return { code: 2, stdout: '', stderr: `${MAIN_USAGE}\n` };
    if (group === '--help' || group === '-h' || group === 'help') {
      if (args.length > 1) throw new UsageError(`unexpected argument "${args[1]}"`, MAIN_USAGE);
      return ok(`${MAIN_USAGE}\n`);
    }
    if (group === '--version' || group === '-v') {
      if (args.length > 1) throw new UsageError(`unexpected argument "${args[1]}"`, MAIN_USAGE);
      return ok(`${packageVersion()}\n`);
    }
    if (group !== 'keys') {
      throw new UsageError(group.startsWith('-') ? `unknown option ${group}` : `unknown command "${group}"`, MAIN_USAGE);
    }
    if (command === undefined || command === '--help' || command === '-h') {
      if (command === undefined) throw new UsageError('keys needs a command: generate or rotate', MAIN_USAGE);
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`, MAIN_USAGE);
      return ok(`${MAIN_USAGE}\n`);
    }
    if (command === 'generate') return await generate(rest);
    if (command === 'rotate') return await rotate(rest);
    throw new UsageError(`unknown command "keys ${command}"`, MAIN_USAGE);
  } catch (error) {
    if (error instanceof UsageError) {
      return { code: 2, stdout: '', stderr: `${PROGRAM}: ${error.message}\n\n${error.usage}\n` };
    }
    if (error instanceof CliFailure) return { code: 1, stdout: '', stderr: `${PROGRAM}: ${error.message}\n` };
    throw error;
  }
}
