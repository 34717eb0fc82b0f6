/**
 * The run's context: its settings (from the command line), its log, its child processes, the keys
 * and tokens every scenario shares. Made once by {@link createContext} and passed to every part
 * of the harness explicitly; no part keeps state of its own at module level.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { RunResults } from '../report.js';
import type { BenchAlgorithm } from '../shared.js';
import { ChildProcesses } from './processes.js';

/** The settings of one run, from the flags (`--quick` changes the defaults). */
export interface BenchSettings {
  rounds: number;
  duration: number;
  warmup: number;
  connections: number;
  ceilingSeconds: number;
  ceilingWarmup: number;
  ceilingInFlight: number;
  profileSeconds: number;
  /** A quick run profiles only its first miss: enough to prove the path works. */
  maxProfiles: number;
  /** A quick run measures memory once, not every round. */
  memoryRounds: number;
  distinctTokens: number;
  memoryCount: number;
  /** Fresh processes per cold-start measurement (median of them). */
  coldStartRuns: number;
  /** Seconds of load per worker count of the cluster measurement. */
  clusterSeconds: number;
  /**
   * Paired rounds per ratio target (`harness/pairs.ts`), 20 by default: one pair's ratio spreads
   * over about ±10 % here, so the median of 10 was known to about ±3 %, wider than the 1–5 % the
   * guard targets are about; 20 narrow it by a third and are a whole number of `roundOrder`'s
   * cycles for the groups of two and five sides.
   */
  pairs: number;
  /** Seconds of load per side of a pair. */
  pairDuration: number;
  /**
   * Server processes per side of the paired rounds, the rounds taking them in turn (default: one
   * per round). Two processes of one app differ by up to 7 % by CPU on this machine for as long as
   * they run, so a ratio of one process pair carries their difference however many rounds it is
   * measured over.
   */
  instances: number;
}

/** The tokens the guard scenarios load their servers with, issued by the run's token server. */
export interface TokenFixtures {
  /** The token server's issuer (`http://127.0.0.1:<port>/`), which every guard and peer trusts. */
  trustedIssuer: string;
  /** The one access token of the "1 token" scenarios. */
  reused: string;
  /** The access tokens of the "1,000 tokens" scenarios. */
  distinct: string[];
}

/** Everything the parts of the harness share, passed explicitly. */
export interface BenchContext {
  readonly settings: BenchSettings;
  readonly mode: RunResults['mode'];
  /** `latest`, `quick` or `partial`: the name of the outputs. */
  readonly outputName: string;
  /** `--only`: the substring of the scenario ids to run. */
  readonly only: string | undefined;
  readonly profile: boolean;
  readonly redisUrl: string;
  readonly benchDir: string;
  readonly profilesDir: string;
  readonly processes: ChildProcesses;
  /** One private JWK Set file per signing algorithm (filled by the run before any server starts). */
  readonly keyFiles: Map<BenchAlgorithm, string>;
  readonly tokens: TokenFixtures;
  log(message: string): void;
}

/** Parses the command line and builds the run's context. */
export function createContext(argv: string[] = process.argv.slice(2)): BenchContext {
  const { values: flags } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      only: { type: 'string' },
      pairs: { type: 'string' },
      'pair-duration': { type: 'string' },
      instances: { type: 'string' },
      'no-profile': { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  const quick = flags.quick === true;
  const pairs = Number(flags.pairs ?? (quick ? 2 : 20));
  const settings: BenchSettings = {
    rounds: Number(flags.rounds ?? (quick ? 2 : 3)),
    duration: Number(flags.duration ?? (quick ? 0.75 : 6)),
    warmup: Number(flags.warmup ?? (quick ? 0.25 : 2)),
    connections: Number(flags.connections ?? 50),
    ceilingSeconds: quick ? 0.5 : 3,
    ceilingWarmup: quick ? 0.1 : 0.5,
    ceilingInFlight: 32,
    profileSeconds: quick ? 1.5 : 6,
    maxProfiles: quick ? 1 : 8,
    memoryRounds: quick ? 1 : 3,
    distinctTokens: 1000,
    memoryCount: 100_000,
    coldStartRuns: quick ? 3 : 9,
    clusterSeconds: quick ? 1 : 5,
    pairs,
    pairDuration: Number(flags['pair-duration'] ?? (quick ? 0.5 : 3)),
    instances: Number(flags.instances ?? (quick ? 1 : pairs)),
  };
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isFinite(value) || value <= 0 || value > 1_000_000) throw new Error(`bad --${name}: ${value}`);
  }
  if (settings.duration > 60 || settings.rounds > 10 || settings.connections > 500 || settings.pairs > 40 || settings.pairDuration > 60 || settings.instances > 40 || !Number.isInteger(settings.instances)) {
    throw new Error('runs are bounded: --duration ≤ 60, --rounds ≤ 10, --connections ≤ 500, --pairs ≤ 40, --pair-duration ≤ 60, --instances ≤ 40 (whole)');
  }
  const mode: RunResults['mode'] = flags.only !== undefined ? 'partial' : quick ? 'quick' : 'full';
  const benchDir = fileURLToPath(new URL('../', import.meta.url));
  const started = performance.now();
  const log = (message: string): void => {
    const seconds = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
    process.stdout.write(message.startsWith('|') || message === '' ? `${message}\n` : `[${seconds} s] ${message}\n`);
  };
  return {
    settings,
    mode,
    outputName: mode === 'full' ? 'latest' : mode,
    only: flags.only,
    profile: flags['no-profile'] !== true,
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    benchDir,
    profilesDir: join(benchDir, 'results', 'profiles'),
    processes: new ChildProcesses(benchDir),
    keyFiles: new Map(),
    tokens: { trustedIssuer: '', reused: '', distinct: [] },
    log,
  };
}
