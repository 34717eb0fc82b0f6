/**
 * Measuring: preparing a server (start, one request by hand), the crypto ceiling, memory, and
 * turning the rounds of a scenario into its medians and flags.
 */
import { median, type RoundResult, type ScenarioResult } from '../report.js';
import type { CeilingResult, LoadResult, LoadSpec, MemoryResult } from '../shared.js';
import type { BenchContext } from './context.js';
import { nextMessage } from './processes.js';
import type { CeilingScenario, HttpScenario, Scenario } from './scenarios.js';
import { startServer, type RunningServer } from './servers.js';

/** No p99 above this many ms at the run's connections (issue 7). */
export const P99_LIMIT_MS = 50;

/** A started, checked server and the load spec aimed at it. */
export interface Prepared {
  scenario: HttpScenario;
  server: RunningServer;
  load: LoadSpec;
}

/** Starts a scenario's server and checks it answers 2xx to one request made by hand. */
export async function prepare(context: BenchContext, scenario: HttpScenario, execArgv: string[] = []): Promise<Prepared> {
  const server = await startServer(context, scenario.launch(), execArgv);
  try {
    const shape = await scenario.request(server);
    const { path, ...request } = shape;
    const load: LoadSpec = { ...request, url: `${server.url}${path}`, connections: context.settings.connections, duration: context.settings.duration };
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

/** One round of the crypto ceiling: `scenario.processes` processes started together. */
export async function measureCeiling(context: BenchContext, scenario: CeilingScenario): Promise<{ rate: number; cpuPerOperation: number }> {
  const { settings, processes: children } = context;
  const seconds = settings.ceilingSeconds;
  const env = {
    BENCH_CEILING: JSON.stringify({
      keysFile: context.keyFiles.get(scenario.algorithm)!,
      algorithm: scenario.algorithm,
      format: scenario.format,
      seconds,
      warmupSeconds: settings.ceilingWarmup,
      inFlight: settings.ceilingInFlight,
    }),
  };
  // One process per core (or a single one), started together once each has imported its keys.
  const processes = Array.from({ length: scenario.processes }, () => children.spawn('ceiling.ts', env));
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
    await Promise.all(processes.map((child) => children.end(child)));
  }
}

/** Resident bytes of 100,000 revocations in `memoryStore()`, in a process of its own. */
export async function measureMemory(context: BenchContext): Promise<MemoryResult> {
  const child = context.processes.spawn('memory.ts', { BENCH_MEMORY_COUNT: String(context.settings.memoryCount) }, ['--expose-gc']);
  try {
    return await nextMessage(child, (message) => message as MemoryResult, 120_000, 'memory');
  } finally {
    await context.processes.end(child);
  }
}

/** One round of an HTTP scenario, from the load run and the server's counters around it. */
export function roundOf(round: number, result: LoadResult, cpuMicros: number, clientLookups?: number): RoundResult {
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
    ...(clientLookups === undefined || result.total === 0 ? {} : { clientLookupsPerRequest: clientLookups / result.total }),
  };
}

/** Measures one round of an HTTP scenario (the server's CPU and counters read before and after). */
export async function measureHttpRound(round: number, entry: Prepared, run: (spec: LoadSpec) => Promise<LoadResult>): Promise<RoundResult> {
  const before = await entry.server.stats();
  const measured = await run(entry.load);
  const after = await entry.server.stats();
  const lookups = before.clientLookups === undefined || after.clientLookups === undefined ? undefined : after.clientLookups - before.clientLookups;
  return roundOf(round, measured, after.cpuMicros - before.cpuMicros, lookups);
}

/** A closed loop's mean latency at `rate` with every connection busy (Little's law), ms. */
export const meanLatency = (context: BenchContext, rate: number): number => (context.settings.connections / rate) * 1000;

/** A scenario's medians over its rounds, and its flags (errors, p99 over the limit). */
export function scenarioResult(context: BenchContext, scenario: Scenario, rounds: RoundResult[]): ScenarioResult {
  const p99s = rounds.flatMap((round) => (round.p99 === undefined ? [] : [round.p99]));
  const p50s = rounds.flatMap((round) => (round.p50 === undefined ? [] : [round.p50]));
  const cpus = rounds.flatMap((round) => (round.cpuPerRequest === undefined ? [] : [round.cpuPerRequest]));
  const lookups = rounds.flatMap((round) => (round.clientLookupsPerRequest === undefined ? [] : [round.clientLookupsPerRequest]));
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
    const floor = rate > 0 ? meanLatency(context, rate) : Number.POSITIVE_INFINITY;
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
    ...(lookups.length === 0 ? {} : { medianClientLookupsPerRequest: median(lookups) }),
    ratio: undefined,
    failures,
    flags,
  };
}
