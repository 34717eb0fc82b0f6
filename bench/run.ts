/**
 * The benchmark harness (issue 7). `npm run bench` for the full run, `npm run bench -- --quick`
 * for a one-minute smoke run.
 *
 * One process per server (on 127.0.0.1, a free port) and one for the load generator (autocannon),
 * so the server never shares a thread with its load. Every server is warmed up, then measured in
 * interleaved rounds (A1, B1, …, A2, B2, …) so the machine's noise spreads over every scenario;
 * each figure is the median over rounds, shown as a ratio to an anchor measured in the same round
 * (bare Express for Express guards, bare Koa for Koa guards, the raw crypto ceiling for
 * issuance). Missed targets are profiled with `node --cpu-prof`. Writes `bench/results/latest.json`,
 * `bench/chart.svg` and the results section of `bench/README.md` (a quick or `--only` run writes
 * `bench/results/quick.*` / `partial.*` instead and leaves the README alone).
 *
 * Options: --quick, --rounds N, --duration S, --warmup S, --connections N, --only SUBSTRING,
 * --no-profile.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateKeySet } from '@anonymous-sessions/core';
import { koaAvailability, redisAvailability } from './optional.js';
import { summariseProfile } from './profile-summary.js';
import {
  median,
  ratioOf,
  scenarioTable,
  targetTable,
  times,
  type Group,
  type ProfileResult,
  type RoundResult,
  type RunResults,
  type ScenarioResult,
  type TargetResult,
  writeOutputs,
} from './report.js';
import {
  AUDIENCE,
  CLIENT_ID,
  GUARDED_PATH,
  HOST,
  TOKEN_PATH,
  TSX_EXEC_ARGV,
  type BenchAlgorithm,
  type CeilingResult,
  type Framework,
  type LoadReply,
  type LoadResult,
  type LoadSpec,
  type MemoryResult,
  type ServerLaunch,
  type ServerMessage,
  type SessionFormat,
  type StoreKind,
} from './shared.js';

const benchDir = fileURLToPath(new URL('./', import.meta.url));
const resultsDir = join(benchDir, 'results');
const profilesDir = join(resultsDir, 'profiles');
const file = (name: string): string => join(benchDir, name);

// ---------------------------------------------------------------------------------------------
// Options

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    only: { type: 'string' },
    'no-profile': { type: 'boolean', default: false },
  },
  allowPositionals: false,
});

const quick = flags.quick === true;
const settings = {
  rounds: Number(flags.rounds ?? (quick ? 2 : 3)),
  duration: Number(flags.duration ?? (quick ? 0.75 : 6)),
  warmup: Number(flags.warmup ?? (quick ? 0.25 : 2)),
  connections: Number(flags.connections ?? 50),
  ceilingSeconds: quick ? 0.5 : 3,
  ceilingWarmup: quick ? 0.1 : 0.5,
  ceilingInFlight: 32,
  profileSeconds: quick ? 1.5 : 6,
  /** A quick run profiles only its first miss: enough to prove the path works. */
  maxProfiles: quick ? 1 : 8,
  /** A quick run measures memory once, not every round. */
  memoryRounds: quick ? 1 : 3,
  distinctTokens: 1000,
  memoryCount: 100_000,
};
for (const [name, value] of Object.entries(settings)) {
  if (!Number.isFinite(value) || value <= 0 || value > 1_000_000) throw new Error(`bad --${name}: ${value}`);
}
if (settings.duration > 60 || settings.rounds > 10 || settings.connections > 500) throw new Error('runs are bounded: --duration ≤ 60, --rounds ≤ 10, --connections ≤ 500');
const mode: RunResults['mode'] = flags.only !== undefined ? 'partial' : quick ? 'quick' : 'full';
const outputName = mode === 'full' ? 'latest' : mode;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const started = performance.now();
const log = (message: string): void => {
  const seconds = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
  process.stdout.write(message.startsWith('|') || message === '' ? `${message}\n` : `[${seconds} s] ${message}\n`);
};

// ---------------------------------------------------------------------------------------------
// Child processes: every one is tracked and ended at the end, whatever happens.

const children = new Set<ChildProcess>();

function spawnChild(script: string, env: Record<string, string>, execArgv: string[] = []): ChildProcess {
  const child = fork(file(script), [], {
    execArgv: [...TSX_EXEC_ARGV, ...execArgv],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function endChild(child: ChildProcess, message?: unknown): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  if (message !== undefined && child.connected) child.send(message as object);
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function endAllChildren(): Promise<void> {
  await Promise.all([...children].map((child) => endChild(child, { type: 'shutdown' })));
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`\n${signal}: stopping every child process`);
    void endAllChildren().finally(() => process.exit(130));
  });
}

/** Waits for a child's first message matching `accept`, failing on exit or after `timeoutMs`. */
function nextMessage<T>(child: ChildProcess, accept: (message: unknown) => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: unknown): void => {
      const value = accept(message);
      if (value !== undefined) finish(undefined, value);
    };
    const onExit = (code: number | null): void => finish(new Error(`${what}: exited with code ${code}`));
    function finish(error: Error | undefined, value?: T): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value as T);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

// ---------------------------------------------------------------------------------------------
// Servers and the load generator

interface RunningServer {
  child: ChildProcess;
  url: string;
  /** How long the process took to start (what a profile of it skips). */
  uptimeMs: number;
  /** The server process's CPU time so far (every thread), µs. */
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

let nextCpuRequest = 1;

async function startServer(launch: ServerLaunch, execArgv: string[] = []): Promise<RunningServer> {
  const child = spawnChild('server.ts', { BENCH_SERVER: JSON.stringify(launch) }, execArgv);
  const ready = await nextMessage(
    child,
    (message) => {
      const typed = message as ServerMessage;
      if (typed.type === 'failed') throw new Error(typed.message);
      return typed.type === 'ready' ? typed : undefined;
    },
    120_000,
    `server ${JSON.stringify(launch.spec)}`,
  ).catch(async (error: unknown) => {
    await endChild(child);
    throw error;
  });
  const cpu = async (): Promise<number> => {
    const id = nextCpuRequest++;
    const answer = nextMessage(child, (message) => {
      const typed = message as ServerMessage;
      return typed.type === 'cpu' && typed.id === id ? typed.user + typed.system : undefined;
    }, 10_000, 'server cpu');
    child.send({ type: 'cpu', id });
    return answer;
  };
  return { child, url: `http://${HOST}:${ready.port}`, uptimeMs: ready.uptimeMs, cpu, stop: () => endChild(child, { type: 'shutdown' }) };
}

class LoadGenerator {
  readonly #child = spawnChild('load.ts', {});
  #nextId = 1;

  async run(spec: LoadSpec): Promise<LoadResult> {
    const id = this.#nextId++;
    this.#child.send({ type: 'run', id, spec });
    return nextMessage(
      this.#child,
      (message) => {
        const reply = message as LoadReply;
        if (reply.id !== id) return undefined;
        if (reply.type === 'failed') throw new Error(`load: ${reply.message}`);
        return reply.result;
      },
      (spec.duration + 30) * 1000,
      'load generator',
    );
  }

  stop(): Promise<void> {
    return endChild(this.#child);
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

type RequestShape = Omit<LoadSpec, 'connections' | 'duration' | 'url'> & { path: string };

interface HttpScenario {
  type: 'http';
  id: string;
  label: string;
  group: Group;
  anchor: string;
  launch: () => ServerLaunch;
  /** The request to load it with, made once the server is up (may ask the server for a token). */
  request: (server: RunningServer) => Promise<RequestShape>;
  skip?: string;
}

interface CeilingScenario {
  type: 'ceiling';
  id: string;
  label: string;
  group: 'ceiling';
  anchor: string;
  algorithm: BenchAlgorithm;
  format: SessionFormat;
  /** 2 = one per core (the issue's ceiling); 1 = what a single Node process can reach. */
  processes: number;
  skip?: string;
}

type Scenario = HttpScenario | CeilingScenario;

interface IssuedTokenBody {
  session_token: string;
  access_token: string;
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json().catch(() => undefined)) as unknown };
}

async function createSession(baseUrl: string): Promise<IssuedTokenBody> {
  const { status, json } = await postJson(`${baseUrl}${TOKEN_PATH}`, { client_id: CLIENT_ID, audience: AUDIENCE });
  if (status !== 200) throw new Error(`token endpoint answered ${status}: ${JSON.stringify(json)}`);
  return json as IssuedTokenBody;
}

/** Asks the token server for `count` access tokens, a few at a time. */
async function issueAccessTokens(baseUrl: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  const worker = async (): Promise<void> => {
    while (tokens.length < count) {
      const { access_token } = await createSession(baseUrl);
      if (tokens.length < count) tokens.push(access_token);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return tokens;
}

const keyFiles = new Map<BenchAlgorithm, string>();
let keysDir: string | undefined;
let trustedIssuer = '';
let reusedToken = '';
let distinctTokens: string[] = [];

const guardLaunch = (spec: ServerLaunch['spec']) => (): ServerLaunch => ({ spec, keysFile: keyFiles.get('RS256')!, trustedIssuer });
const reusedRequest = async (): Promise<RequestShape> => ({ path: GUARDED_PATH, method: 'GET', headers: { authorization: `Bearer ${reusedToken}` } });
const distinctRequest = async (): Promise<RequestShape> => ({ path: GUARDED_PATH, method: 'GET', headers: {}, bearerTokens: distinctTokens });

function guardScenarios(framework: Framework, skip: string | undefined): HttpScenario[] {
  const group: Group = framework === 'express' ? 'guard-express' : 'guard-koa';
  const name = framework === 'express' ? 'Express' : 'Koa';
  const anchor = `${framework}-bare`;
  const prefix = framework === 'koa' ? 'Koa: ' : '';
  const list: HttpScenario[] = [
    { type: 'http', id: anchor, label: `bare ${name} route`, group, anchor, launch: guardLaunch({ kind: 'bare', framework }), request: reusedRequest },
    // Stateless (checkRevocation: false), as the peers are: what the targets compare.
    { type: 'http', id: `${framework}-guard-reused-cache`, label: `${prefix}requireAnonymousOrUser, 1 token, cache on, no revocation check`, group, anchor, launch: guardLaunch({ kind: 'guard', framework, cache: true, checkRevocation: false }), request: reusedRequest },
    { type: 'http', id: `${framework}-guard-reused-nocache`, label: `${prefix}requireAnonymousOrUser, 1 token, cache off, no revocation check`, group, anchor, launch: guardLaunch({ kind: 'guard', framework, cache: false, checkRevocation: false }), request: reusedRequest },
    { type: 'http', id: `${framework}-guard-distinct-cache`, label: `${prefix}requireAnonymousOrUser, ${settings.distinctTokens} tokens, cache on, no revocation check`, group, anchor, launch: guardLaunch({ kind: 'guard', framework, cache: true, checkRevocation: false }), request: distinctRequest },
    { type: 'http', id: `${framework}-guard-distinct-nocache`, label: `${prefix}requireAnonymousOrUser, ${settings.distinctTokens} tokens, cache off, no revocation check`, group, anchor, launch: guardLaunch({ kind: 'guard', framework, cache: false, checkRevocation: false }), request: distinctRequest },
    // The defaults (checkRevocation on: the memory store is asked on every request): the cost of logout reaching access tokens.
    { type: 'http', id: `${framework}-guard-reused-revocation`, label: `${prefix}requireAnonymousOrUser defaults, 1 token (cache on, checkRevocation)`, group, anchor, launch: guardLaunch({ kind: 'guard', framework, cache: true, checkRevocation: true }), request: reusedRequest },
    { type: 'http', id: `${framework}-guard-distinct-revocation`, label: `${prefix}requireAnonymousOrUser defaults, ${settings.distinctTokens} tokens (cache on, checkRevocation)`, group, anchor, launch: guardLaunch({ kind: 'guard', framework, cache: true, checkRevocation: true }), request: distinctRequest },
  ];
  if (framework === 'express') {
    list.push(
      { type: 'http', id: 'express-peer-oauth2-reused', label: 'express-oauth2-jwt-bearer, 1 token', group, anchor, launch: guardLaunch({ kind: 'peer-oauth2-jwt-bearer' }), request: reusedRequest },
      { type: 'http', id: 'express-peer-oauth2-distinct', label: `express-oauth2-jwt-bearer, ${settings.distinctTokens} tokens`, group, anchor, launch: guardLaunch({ kind: 'peer-oauth2-jwt-bearer' }), request: distinctRequest },
      { type: 'http', id: 'express-peer-express-jwt-reused', label: 'express-jwt + jwks-rsa, 1 token', group, anchor, launch: guardLaunch({ kind: 'peer-express-jwt' }), request: reusedRequest },
    );
  }
  return list.map((scenario) => (skip === undefined ? scenario : { ...scenario, skip }));
}

const ceilingId = (algorithm: BenchAlgorithm, format: SessionFormat): string => `ceiling-${algorithm.toLowerCase()}-${format}`;
const sessionLabel = (format: SessionFormat): string => (format === 'jwe' ? 'JWE session' : 'JWT session');

function ceilingScenarios(): CeilingScenario[] {
  const variants: [BenchAlgorithm, SessionFormat][] = [
    ['RS256', 'jwe'],
    ['ES256', 'jwe'],
    ['EdDSA', 'jwe'],
    ['RS256', 'jwt'],
  ];
  const list: CeilingScenario[] = variants.map(([algorithm, format]) => ({
    type: 'ceiling',
    id: ceilingId(algorithm, format),
    label: `jose ${algorithm} sign + ${format === 'jwe' ? 'dir/A256GCM encrypt' : `${algorithm} sign`}`,
    group: 'ceiling',
    anchor: ceilingId('RS256', 'jwe'),
    algorithm,
    format,
    processes: 2,
  }));
  // Not a target: shows how much of the two-process ceiling one Node process (what a server is)
  // can reach, since RSA signing in one process does not spread evenly over both cores.
  list.push({ ...list[0]!, id: `${ceilingId('RS256', 'jwe')}-1proc`, label: 'jose RS256 sign + dir/A256GCM encrypt, 1 process', processes: 1 });
  return list;
}

function issuanceScenarios(framework: Framework, skip: string | undefined, redisSkip: string | undefined): HttpScenario[] {
  const configs: { algorithm: BenchAlgorithm; format: SessionFormat; store: StoreKind }[] =
    framework === 'express'
      ? [
          { algorithm: 'RS256', format: 'jwe', store: 'memory' },
          { algorithm: 'ES256', format: 'jwe', store: 'memory' },
          { algorithm: 'EdDSA', format: 'jwe', store: 'memory' },
          { algorithm: 'RS256', format: 'jwt', store: 'memory' },
          { algorithm: 'RS256', format: 'jwe', store: 'redis' },
        ]
      : [{ algorithm: 'RS256', format: 'jwe', store: 'memory' }];
  const group: Group = framework === 'express' ? 'issuance-express' : 'issuance-koa';
  const list: HttpScenario[] = [];
  for (const config of configs) {
    const launch = (): ServerLaunch => ({
      spec: { kind: 'issuer', framework, ...config },
      keysFile: keyFiles.get(config.algorithm)!,
      redisUrl,
      redisPrefix: `anon-bench:${process.pid}:${Date.now()}:${config.algorithm}:${config.format}:`,
    });
    const suffix = `${config.algorithm.toLowerCase()}-${config.format}-${config.store}`;
    const what = `${config.algorithm} + ${sessionLabel(config.format)}, ${config.store} store${framework === 'koa' ? ' (Koa)' : ''}`;
    const scenarioSkip = skip ?? (config.store === 'redis' ? redisSkip : undefined);
    const base = { type: 'http' as const, group, anchor: ceilingId(config.algorithm, config.format), launch, ...(scenarioSkip === undefined ? {} : { skip: scenarioSkip }) };
    list.push({
      ...base,
      id: `${framework}-issue-create-${suffix}`,
      label: `POST /anonymous/token create, ${what}`,
      request: async () => ({ path: TOKEN_PATH, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: CLIENT_ID, audience: AUDIENCE }) }),
    });
    if (framework === 'express') {
      list.push({
        ...base,
        id: `${framework}-issue-continue-${suffix}`,
        label: `POST /anonymous/token continue, ${what}`,
        request: async (server) => {
          const { session_token } = await createSession(server.url);
          return { path: TOKEN_PATH, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: CLIENT_ID, audience: AUDIENCE, session_token }) };
        },
      });
    }
  }
  return list;
}

// ---------------------------------------------------------------------------------------------
// Measuring

interface Prepared {
  scenario: HttpScenario;
  server: RunningServer;
  load: LoadSpec;
}

async function prepare(scenario: HttpScenario, execArgv: string[] = []): Promise<Prepared> {
  const server = await startServer(scenario.launch(), execArgv);
  try {
    const shape = await scenario.request(server);
    const { path, ...request } = shape;
    const load: LoadSpec = { ...request, url: `${server.url}${path}`, connections: settings.connections, duration: settings.duration };
    // One request by hand first: a scenario that answers an error is reported, never measured.
    const token = request.bearerTokens?.[0];
    const response = await fetch(load.url, {
      method: load.method,
      headers: { ...load.headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      ...(load.body === undefined ? {} : { body: load.body }),
    });
    const text = await response.text();
    if (response.status < 200 || response.status > 299) throw new Error(`sanity request answered ${response.status}: ${text.slice(0, 200)}`);
    return { scenario, server, load };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

async function measureCeiling(scenario: CeilingScenario, seconds: number): Promise<{ rate: number; cpuPerOperation: number }> {
  const env = {
    BENCH_CEILING: JSON.stringify({
      keysFile: keyFiles.get(scenario.algorithm)!,
      algorithm: scenario.algorithm,
      format: scenario.format,
      seconds,
      warmupSeconds: settings.ceilingWarmup,
      inFlight: settings.ceilingInFlight,
    }),
  };
  // One process per core (or a single one), started together once each has imported its keys.
  const processes = Array.from({ length: scenario.processes }, () => spawnChild('ceiling.ts', env));
  try {
    await Promise.all(processes.map((child) => nextMessage(child, (message) => ((message as { type?: string }).type === 'ready' ? true : undefined), 60_000, 'ceiling')));
    const results = processes.map((child) =>
      nextMessage(child, (message) => ((message as { type?: string }).type === 'result' ? (message as { result: CeilingResult }).result : undefined), (seconds + settings.ceilingWarmup + 30) * 1000, 'ceiling'),
    );
    for (const child of processes) child.send({ type: 'go' });
    const done = await Promise.all(results);
    const operations = done.reduce((sum, result) => sum + result.operations, 0);
    return {
      rate: done.reduce((sum, result) => sum + result.operations / result.seconds, 0),
      cpuPerOperation: operations === 0 ? 0 : done.reduce((sum, result) => sum + result.cpuMicros, 0) / operations,
    };
  } finally {
    await Promise.all(processes.map((child) => endChild(child)));
  }
}

async function measureMemory(): Promise<MemoryResult> {
  const child = spawnChild('memory.ts', { BENCH_MEMORY_COUNT: String(settings.memoryCount) }, ['--expose-gc']);
  try {
    return await nextMessage(child, (message) => message as MemoryResult, 120_000, 'memory');
  } finally {
    await endChild(child);
  }
}

function roundOf(round: number, result: LoadResult, cpuMicros: number): RoundResult {
  return {
    round,
    cpuPerRequest: result.total === 0 ? undefined : cpuMicros / result.total,
    rate: result.requestsPerSecond,
    p50: result.p50,
    p99: result.p99,
    max: result.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodes,
  };
}

const P99_LIMIT_MS = 50;

function scenarioResult(scenario: Scenario, rounds: RoundResult[]): ScenarioResult {
  const p99s = rounds.flatMap((round) => (round.p99 === undefined ? [] : [round.p99]));
  const p50s = rounds.flatMap((round) => (round.p50 === undefined ? [] : [round.p50]));
  const cpus = rounds.flatMap((round) => (round.cpuPerRequest === undefined ? [] : [round.cpuPerRequest]));
  const failures = rounds.reduce((sum, round) => sum + round.non2xx + round.errors, 0);
  const medianP99 = p99s.length === 0 ? undefined : median(p99s);
  const flags: string[] = [];
  if (failures > 0) {
    const codes = new Set(rounds.flatMap((round) => Object.keys(round.statusCodes ?? {}).filter((code) => !code.startsWith('2'))));
    flags.push(`${failures} non-2xx/errors${codes.size > 0 ? ` (${[...codes].join(', ')})` : ''}`);
  }
  if (medianP99 !== undefined && medianP99 > P99_LIMIT_MS) {
    // Little's law: with every connection always waiting on a response, the mean latency is at
    // least connections ÷ rate; above the limit, no p99 can be under it at this rate.
    const rate = median(rounds.map((round) => round.rate));
    const floor = rate > 0 ? (settings.connections / rate) * 1000 : Number.POSITIVE_INFINITY;
    flags.push(`p99 ${medianP99.toFixed(1)} ms > ${P99_LIMIT_MS} ms${floor > P99_LIMIT_MS ? ` (mean latency ≥ ${floor.toFixed(0)} ms at this rate)` : ''}`);
  }
  return {
    id: scenario.id,
    label: scenario.label,
    group: scenario.group,
    unit: scenario.type === 'ceiling' ? 'ops/s' : 'req/s',
    anchor: scenario.anchor,
    rounds,
    medianRate: median(rounds.map((round) => round.rate)),
    medianP50: p50s.length === 0 ? undefined : median(p50s),
    medianP99,
    worstP99: p99s.length === 0 ? undefined : Math.max(...p99s),
    medianCpuPerRequest: cpus.length === 0 ? undefined : median(cpus),
    ratio: undefined,
    failures,
    flags,
  };
}

// ---------------------------------------------------------------------------------------------
// Targets

interface TargetSpec {
  id: string;
  description: string;
  subject: string;
  reference: string;
  threshold: number;
}

const RATIO_TARGETS: TargetSpec[] = [
  { id: 'guard-vs-bare-express', description: 'guard, reused token (cache on) ≥ 0.90× bare Express', subject: 'express-guard-reused-cache', reference: 'express-bare', threshold: 0.9 },
  { id: 'guard-vs-oauth2-jwt-bearer', description: 'guard, reused token (cache on) ≥ 1.4× express-oauth2-jwt-bearer', subject: 'express-guard-reused-cache', reference: 'express-peer-oauth2-reused', threshold: 1.4 },
  { id: 'koa-guard-vs-bare-koa', description: 'Koa guard, reused token (cache on) ≥ 0.80× bare Koa', subject: 'koa-guard-reused-cache', reference: 'koa-bare', threshold: 0.8 },
  { id: 'distinct-nocache-vs-oauth2-jwt-bearer', description: `guard, ${settings.distinctTokens} distinct tokens, no cache ≥ 1.1× express-oauth2-jwt-bearer (same tokens)`, subject: 'express-guard-distinct-nocache', reference: 'express-peer-oauth2-distinct', threshold: 1.1 },
  { id: 'issuance-vs-ceiling', description: 'issuance (create, RS256 access + JWE session, memory store) ≥ 0.85× the crypto ceiling', subject: 'express-issue-create-rs256-jwe-memory', reference: 'ceiling-rs256-jwe', threshold: 0.85 },
];

function evaluateTargets(byId: Map<string, ScenarioResult>, skippedIds: Set<string>): TargetResult[] {
  const targets: TargetResult[] = RATIO_TARGETS.map((target) => {
    const subject = byId.get(target.subject);
    const reference = byId.get(target.reference);
    const ratio = ratioOf(subject, reference);
    const measured = `${subject?.label ?? target.subject} ÷ ${reference?.label ?? target.reference} = ${times(ratio)}`;
    if (ratio === undefined) {
      const why = skippedIds.has(target.subject) || skippedIds.has(target.reference) ? 'a scenario it needs was skipped' : 'not measured in this run';
      return { id: target.id, description: target.description, measured, threshold: `${target.threshold}×`, ratio, status: 'SKIPPED', note: why, profileScenario: undefined };
    }
    const pass = ratio >= target.threshold;
    const note = pass ? '' : `short by ${(((target.threshold - ratio) / target.threshold) * 100).toFixed(0)} % (${times(ratio)} of ${target.threshold.toFixed(2)}×)`;
    return { id: target.id, description: target.description, measured, threshold: `${target.threshold}×`, ratio, status: pass ? 'PASS' : 'MISS', note, profileScenario: pass ? undefined : target.subject };
  });
  const http = [...byId.values()].filter((scenario) => scenario.unit === 'req/s');
  const flagged = http.filter((scenario) => scenario.flags.length > 0);
  const worst = [...flagged].sort((a, b) => b.failures - a.failures || (b.medianP99 ?? 0) - (a.medianP99 ?? 0))[0];
  targets.push({
    id: 'no-errors-p99',
    description: `no error responses and no p99 above ${P99_LIMIT_MS} ms at ${settings.connections} connections, any scenario`,
    measured:
      flagged.length === 0
        ? `${http.length} scenarios, none flagged`
        : `${flagged.length} of ${http.length} flagged; worst: ${[...flagged]
            .sort((a, b) => b.failures - a.failures || (b.medianP99 ?? 0) - (a.medianP99 ?? 0))
            .slice(0, 3)
            .map((scenario) => `${scenario.label} (${scenario.flags.join(', ')})`)
            .join('; ')}`,
    threshold: `0 errors, p99 ≤ ${P99_LIMIT_MS} ms`,
    ratio: undefined,
    status: http.length === 0 ? 'SKIPPED' : flagged.length === 0 ? 'PASS' : 'MISS',
    note: flagged.length === 0 ? '' : `every flag is in the tables below`,
    profileScenario: worst?.id,
  });
  return targets;
}

// ---------------------------------------------------------------------------------------------
// Machine

function machineInfo(): Omit<RunResults['machine'], 'loadAfter'> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown CPU';
  let nproc = availableParallelism();
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    // keep availableParallelism()
  }
  return { nproc, cpuModel, node: process.version, platform: `${platform()} ${release()}`, loadBefore: uptime() };
}

function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim().replace(/\s+/g, ' ');
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------
// The run

async function main(): Promise<void> {
  const startedAt = new Date();
  const machine = machineInfo();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  log(`anonymous-sessions bench (${mode}): ${settings.rounds} rounds × ${settings.duration} s, warm-up ${settings.warmup} s, ${settings.connections} connections`);
  log(`machine: ${machine.nproc} cores, ${machine.cpuModel}, node ${machine.node}; ${machine.loadBefore}`);
  mkdirSync(profilesDir, { recursive: true });

  // Keys: one private JWK Set per signing algorithm, in a private temporary directory.
  keysDir = mkdtempSync(join(tmpdir(), 'anon-bench-keys-'));
  for (const algorithm of ['RS256', 'ES256', 'EdDSA'] as const) {
    const path = join(keysDir, `${algorithm}.json`);
    writeFileSync(path, JSON.stringify(await generateKeySet({ algorithm })), { mode: 0o600 });
    keyFiles.set(algorithm, path);
  }

  const koa = await koaAvailability();
  const redisHost = (() => {
    try {
      return new URL(redisUrl).hostname;
    } catch {
      return '';
    }
  })();
  const redisSkip = ['127.0.0.1', 'localhost', '[::1]'].includes(redisHost) ? await redisAvailability(redisUrl) : `REDIS_URL ${redisUrl} is not a loopback address`;

  const all: Scenario[] = [
    ...guardScenarios('express', undefined),
    ...guardScenarios('koa', koa.guard),
    ...ceilingScenarios(),
    ...issuanceScenarios('express', undefined, redisSkip),
    ...issuanceScenarios('koa', koa.guard ?? koa.issuance, redisSkip),
  ];
  const only = flags.only;
  // --only keeps the matching scenarios and the anchors they are divided by.
  const selected = all.filter((scenario) => only === undefined || scenario.id.includes(only) || all.some((other) => other.anchor === scenario.id && other.id.includes(only)));
  const skipped = selected.filter((scenario) => scenario.skip !== undefined).map((scenario) => ({ id: scenario.id, label: scenario.label, reason: scenario.skip! }));
  const active = selected.filter((scenario) => scenario.skip === undefined);
  for (const skip of skipped) log(`skip ${skip.id}: ${skip.reason}`);

  const notes: string[] = [];
  const load = new LoadGenerator();
  const prepared = new Map<string, Prepared>();
  const rounds = new Map<string, RoundResult[]>(active.map((scenario) => [scenario.id, []]));
  const memoryRounds: MemoryResult[] = [];
  let results: RunResults | undefined;

  try {
    // The token server: the issuer every guard and peer trusts (RS256 + JWE, memory store).
    const tokenServer = await startServer({ spec: { kind: 'issuer', framework: 'express', algorithm: 'RS256', format: 'jwe', store: 'memory' }, keysFile: keyFiles.get('RS256')! });
    trustedIssuer = `${tokenServer.url}/`;
    [reusedToken = ''] = await issueAccessTokens(tokenServer.url, 1);
    distinctTokens = await issueAccessTokens(tokenServer.url, settings.distinctTokens);
    log(`token server ${tokenServer.url}: ${distinctTokens.length + 1} access tokens issued`);

    // Start every server (two at a time: this machine has two cores), check it, warm it up.
    const httpScenarios = active.filter((scenario): scenario is HttpScenario => scenario.type === 'http');
    const queue = [...httpScenarios];
    await Promise.all(
      Array.from({ length: 2 }, async () => {
        for (let scenario = queue.shift(); scenario !== undefined; scenario = queue.shift()) {
          try {
            prepared.set(scenario.id, await prepare(scenario));
          } catch (error) {
            const reason = `could not be prepared: ${error instanceof Error ? error.message : String(error)}`;
            skipped.push({ id: scenario.id, label: scenario.label, reason });
            log(`skip ${scenario.id}: ${reason}`);
          }
        }
      }),
    );
    log(`${prepared.size} servers up; warming up ${settings.warmup} s each`);
    for (const entry of prepared.values()) await load.run({ ...entry.load, duration: settings.warmup });

    // Interleaved rounds.
    const measured = active.filter((scenario) => scenario.type === 'ceiling' || prepared.has(scenario.id));
    for (let round = 1; round <= settings.rounds; round += 1) {
      for (const scenario of measured) {
        if (interrupted) return;
        let result: RoundResult;
        if (scenario.type === 'ceiling') {
          const ceiling = await measureCeiling(scenario, settings.ceilingSeconds);
          result = { round, rate: ceiling.rate, cpuPerRequest: ceiling.cpuPerOperation, non2xx: 0, errors: 0, timeouts: 0 };
        } else {
          const entry = prepared.get(scenario.id)!;
          const cpuBefore = await entry.server.cpu();
          const measuredLoad = await load.run(entry.load);
          result = roundOf(round, measuredLoad, (await entry.server.cpu()) - cpuBefore);
        }
        rounds.get(scenario.id)!.push(result);
        const latency = result.p99 === undefined ? '' : `  p50 ${result.p50!.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms`;
        const failures = result.non2xx + result.errors > 0 ? `  ${result.non2xx} non-2xx ${result.errors} errors` : '';
        const cpu = result.cpuPerRequest === undefined ? '' : `  cpu ${Math.round(result.cpuPerRequest)} µs`;
        log(`[round ${round}/${settings.rounds}] ${scenario.id.padEnd(44)} ${Math.round(result.rate).toString().padStart(7)} ${scenario.type === 'ceiling' ? 'ops/s' : 'req/s'}${latency}${cpu}${failures}`);
      }
      if ((only === undefined || only === 'memory') && round <= settings.memoryRounds) {
        const memory = await measureMemory();
        memoryRounds.push(memory);
        log(`[round ${round}/${settings.rounds}] memory: ${memory.revocations} revocations = ${(memory.rssBytes / 1_048_576).toFixed(1)} MiB RSS, ${(memory.heapUsedBytes / 1_048_576).toFixed(1)} MiB heap`);
      }
    }

    // Medians, ratios, targets.
    const scenarioResults = measured.map((scenario) => scenarioResult(scenario, rounds.get(scenario.id)!));
    const byId = new Map(scenarioResults.map((scenario) => [scenario.id, scenario]));
    for (const scenario of scenarioResults) scenario.ratio = ratioOf(scenario, scenario.anchor === undefined ? undefined : byId.get(scenario.anchor));
    const targets = evaluateTargets(byId, new Set(skipped.map((skip) => skip.id)));

    // Profile what missed: one fresh server per scenario under `node --cpu-prof`.
    const profiles: ProfileResult[] = [];
    if (flags['no-profile'] !== true) {
      const toProfile = new Map<string, string[]>();
      for (const target of targets) {
        if (target.status !== 'MISS' || target.profileScenario === undefined) continue;
        toProfile.set(target.profileScenario, [...(toProfile.get(target.profileScenario) ?? []), target.id]);
      }
      for (const [id, targetIds] of [...toProfile].slice(0, settings.maxProfiles)) {
        const scenario = httpScenarios.find((candidate) => candidate.id === id);
        if (scenario === undefined || interrupted) continue;
        // A directory of its own: node writes one profile per thread (tsx's loader runs in a worker
        // thread); the main thread's (thread id 0) is the one that served the requests.
        const dir = join(profilesDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}-${id}`);
        log(`profiling ${id} (missed ${targetIds.join(', ')})`);
        const entry = await prepare(scenario, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
        await load.run({ ...entry.load, duration: settings.warmup });
        await load.run({ ...entry.load, duration: settings.profileSeconds });
        await entry.server.stop();
        const written = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'));
        const main = written.find((name) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(name)) ?? written[0];
        if (main === undefined) {
          notes.push(`The profile of ${id} was not written.`);
          continue;
        }
        profiles.push({ targets: targetIds, scenario: id, seconds: settings.profileSeconds, summary: summariseProfile(join(dir, main), 15, entry.server.uptimeMs) });
      }
    }

    const issuance = byId.get('express-issue-create-rs256-jwe-memory');
    const ceiling = byId.get('ceiling-rs256-jwe');
    if (issuance?.medianCpuPerRequest !== undefined && ceiling?.medianCpuPerRequest !== undefined) {
      notes.push(
        `By CPU time, which the machine's noise moves far less than rates: the ceiling spends ${Math.round(ceiling.medianCpuPerRequest)} µs per RS256 + JWE operation, the create endpoint ${Math.round(issuance.medianCpuPerRequest)} µs of server CPU per request (${times(ceiling.medianCpuPerRequest / issuance.medianCpuPerRequest)}); the rest is HTTP, Express, validation and the response.`,
      );
    }
    const oneProcess = byId.get(`${ceilingId('RS256', 'jwe')}-1proc`);
    if (issuance !== undefined && ceiling !== undefined && oneProcess !== undefined) {
      notes.push(
        `One Node process reached ${times(ratioOf(oneProcess, ceiling))} of the two-process RS256 + JWE ceiling in this run${(ratioOf(oneProcess, ceiling) ?? 1) < 0.9 ? ' (RSA signing in one process did not spread evenly over both cores)' : ''}; against that one-process ceiling, the create endpoint is at ${times(ratioOf(issuance, oneProcess))}. The two-process ceiling is what a server running one process per core (node:cluster) could reach.`,
      );
    }
    notes.push(`A p99 flag says "mean latency ≥ N ms at this rate" when ${settings.connections} connections ÷ the measured rate already exceeds ${P99_LIMIT_MS} ms: at that throughput no code change inside a request can meet the p99 limit; only more throughput (or fewer connections) can.`);
    if (skipped.some((skip) => skip.id.startsWith('koa-'))) notes.push('The Koa scenarios run as soon as packages/koa exists and exports requireAnonymousOrUser (and anonymousTokenRouter for issuance); nothing else changes.');
    notes.push('Ratios are medians over rounds of (scenario ÷ anchor in the same round); the rates beside them are plain medians. "Server CPU µs per request" is the server process\'s CPU time (every thread, the crypto pool included) over the requests it answered.');
    notes.push(`The verified-token cache keeps ${settings.distinctTokens} tokens by default, so the ${settings.distinctTokens}-token "cache on" scenario is all hits after the first pass.`);
    notes.push('The crypto ceiling uses both cores with no HTTP at all, while an HTTP scenario shares the two cores with its load generator: the issuance ratio is the share of the machine that reaches the client.');
    notes.push('Continue requests also decrypt and check the incoming session token (and ask the store whether it was revoked), so they sit below create against the same ceiling.');

    const memory = memoryRounds.length === 0 ? undefined : { rounds: memoryRounds, medianRssBytes: median(memoryRounds.map((m) => m.rssBytes)), medianHeapUsedBytes: median(memoryRounds.map((m) => m.heapUsedBytes)) };
    results = {
      version: 1,
      mode,
      command,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: { ...machine, loadAfter: uptime() },
      settings: { rounds: settings.rounds, durationSeconds: settings.duration, warmupSeconds: settings.warmup, connections: settings.connections, ceilingSeconds: settings.ceilingSeconds, distinctTokens: settings.distinctTokens },
      scenarios: scenarioResults,
      memory,
      targets,
      skipped,
      profiles,
      notes,
    };
  } finally {
    await load.stop();
    await Promise.all([...prepared.values()].map((entry) => entry.server.stop()));
    await endAllChildren();
    if (keysDir !== undefined) rmSync(keysDir, { recursive: true, force: true });
  }
  if (results === undefined) return;

  const written = writeOutputs(results, outputName);
  log('');
  log(targetTable(results));
  log('');
  log(scenarioTable(results));
  log(`written: ${written.join(', ')}`);
}

main().catch(async (error: unknown) => {
  console.error(error);
  await endAllChildren();
  if (keysDir !== undefined) rmSync(keysDir, { recursive: true, force: true });
  process.exit(1);
});
