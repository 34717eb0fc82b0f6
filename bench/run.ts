/**
 * The benchmark harness (issues 7 and 13). `npm run bench` for the full run, `npm run bench --
 * --quick` for a smoke run.
 *
 * One process per server (on 127.0.0.1, a free port) and one for the load generator (autocannon),
 * so the server never shares a thread with its load. Every server is warmed up, then measured in
 * interleaved rounds (A1, B1, …, A2, B2, …) so the machine's noise spreads over every scenario;
 * each figure is the median over rounds, shown as a ratio to an anchor measured in the same round
 * (bare Express for Express guards, bare Koa for Koa guards, the raw crypto ceiling for
 * issuance), and every target of issue 13 as the ratio it names (the no-op middleware, the peer,
 * the hand-written jose endpoint). Cold start and cluster scaling are measured after the rounds.
 * Missed targets are profiled with `node --cpu-prof`. Writes `bench/results/latest.json`,
 * `bench/chart.svg` and the results section of `bench/README.md` (a quick or `--only` run writes
 * `bench/results/quick.*` / `partial.*` instead and leaves the README alone).
 *
 * The parts live in `harness/`, each given the run's context ({@link BenchContext}) explicitly:
 * `context` (flags, settings, log), `processes` (child processes), `servers` (servers and the load
 * generator), `scenarios`, `measure`, `targets`, `profiles`, `notes`, `cold-start`, `cluster`.
 *
 * Every ratio target is then judged on paired rounds (`harness/pairs.ts`): its two scenarios back
 * to back, in alternating order, pinned to their own cores where the machine allows it.
 *
 * Options: --quick, --rounds N, --duration S, --warmup S, --connections N, --pairs N,
 * --pair-duration S, --instances N, --only SUBSTRING, --no-profile.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeySet } from '@anonymous-sessions/core';
import { koaAvailability, redisAvailability } from './optional.js';
import { median, ratioOf, scenarioTable, targetTable, type RoundResult, type RunResults, type ScenarioResult } from './report.js';
import { measureClusterScaling } from './harness/cluster.js';
import { coldStartTarget, measureColdStart } from './harness/cold-start.js';
import { ensureBuilt } from './harness/builds.js';
import { createContext, type BenchContext } from './harness/context.js';
import { machineInfo, uptime } from './harness/machine.js';
import { measureCeiling, measureHttpRound, measureMemory, prepare, scenarioResult, type Prepared } from './harness/measure.js';
import { measurePairs, pairProcesses } from './harness/pairs.js';
import { runNotes } from './harness/notes.js';
import { profileMisses } from './harness/profiles.js';
import { allScenarios, issueAccessTokens, type HttpScenario, type Scenario } from './harness/scenarios.js';
import { LoadGenerator, startServer } from './harness/servers.js';
import { evaluateTargets, measuredGroups, ratioTargets, tailReference } from './harness/targets.js';
import { writeOutputs } from './report.js';
import type { MemoryResult } from './shared.js';

/** One private JWK Set per signing algorithm, in a private temporary directory. */
async function writeKeys(context: BenchContext): Promise<string> {
  const keysDir = mkdtempSync(join(tmpdir(), 'anon-bench-keys-'));
  for (const algorithm of ['RS256', 'ES256', 'EdDSA'] as const) {
    const path = join(keysDir, `${algorithm}.json`);
    writeFileSync(path, JSON.stringify(await generateKeySet({ algorithm })), { mode: 0o600 });
    context.keyFiles.set(algorithm, path);
  }
  return keysDir;
}

/** Every scenario, then `--only`'s selection: the matching ones and what they are divided by. */
async function selectScenarios(context: BenchContext): Promise<Scenario[]> {
  const koa = await koaAvailability();
  const redisHost = (() => {
    try {
      return new URL(context.redisUrl).hostname;
    } catch {
      return '';
    }
  })();
  const redis = ['127.0.0.1', 'localhost', '[::1]'].includes(redisHost) ? await redisAvailability(context.redisUrl) : `REDIS_URL ${context.redisUrl} is not a loopback address`;
  const all = allScenarios(context, { koaGuard: koa.guard, koaIssuance: koa.issuance, redis });
  const { only } = context;
  if (only === undefined) return all;
  const matches = (scenario: Scenario): boolean => scenario.id.includes(only);
  // What a matching subject is measured against: its references and floors (its group's sides).
  const references = new Set(
    measuredGroups(ratioTargets(context))
      .filter((group) => group.sides[0]!.includes(only))
      .flatMap((group) => group.sides),
  );
  // …and the scenario its p99 is held to (`tailReference`).
  return all.filter(
    (scenario) =>
      matches(scenario) ||
      references.has(scenario.id) ||
      all.some((other) => matches(other) && (other.anchor === scenario.id || tailReference(other) === scenario.id)),
  );
}

/** Starts every server two at a time (this machine has two cores) and checks each. */
async function prepareAll(context: BenchContext, scenarios: HttpScenario[], skipped: RunResults['skipped']): Promise<Map<string, Prepared>> {
  const prepared = new Map<string, Prepared>();
  const queue = [...scenarios];
  await Promise.all(
    Array.from({ length: 2 }, async () => {
      for (let scenario = queue.shift(); scenario !== undefined; scenario = queue.shift()) {
        try {
          prepared.set(scenario.id, await prepare(context, scenario));
        } catch (error) {
          const reason = `could not be prepared: ${error instanceof Error ? error.message : String(error)}`;
          skipped.push({ id: scenario.id, label: scenario.label, reason });
          context.log(`skip ${scenario.id}: ${reason}`);
        }
      }
    }),
  );
  return prepared;
}

function logRound(context: BenchContext, round: number, scenario: Scenario, result: RoundResult): void {
  const latency = result.p99 === undefined ? '' : `  p50 ${result.p50!.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms`;
  const failures = result.non2xx + result.errors > 0 ? `  ${result.non2xx} non-2xx ${result.errors} errors` : '';
  const cpu = result.cpuPerRequest === undefined ? '' : `  cpu ${Math.round(result.cpuPerRequest)} µs`;
  const lookups = result.clientLookupsPerRequest === undefined ? '' : `  ${result.clientLookupsPerRequest.toFixed(2)} client lookups/req`;
  context.log(`[round ${round}/${context.settings.rounds}] ${scenario.id.padEnd(48)} ${Math.round(result.rate).toString().padStart(7)} ${scenario.type === 'ceiling' ? 'ops/s' : 'req/s'}${latency}${cpu}${lookups}${failures}`);
}

/** The interleaved rounds: every scenario once per round; memory in the first rounds. */
async function measureRounds(context: BenchContext, measured: Scenario[], prepared: Map<string, Prepared>, load: LoadGenerator): Promise<{ rounds: Map<string, RoundResult[]>; memory: MemoryResult[] } | undefined> {
  const { settings } = context;
  const rounds = new Map<string, RoundResult[]>(measured.map((scenario) => [scenario.id, []]));
  const memory: MemoryResult[] = [];
  for (let round = 1; round <= settings.rounds; round += 1) {
    for (const scenario of measured) {
      if (context.processes.interrupted) return undefined;
      let result: RoundResult;
      if (scenario.type === 'ceiling') {
        const ceiling = await measureCeiling(context, scenario);
        result = { round, rate: ceiling.rate, cpuPerRequest: ceiling.cpuPerOperation, non2xx: 0, errors: 0, timeouts: 0 };
      } else {
        result = await measureHttpRound(round, prepared.get(scenario.id)!, (spec) => load.run(spec));
      }
      rounds.get(scenario.id)!.push(result);
      logRound(context, round, scenario, result);
    }
    if ((context.only === undefined || context.only === 'memory') && round <= settings.memoryRounds) {
      const result = await measureMemory(context);
      memory.push(result);
      context.log(`[round ${round}/${settings.rounds}] memory: ${result.revocations} revocations = ${(result.rssBytes / 1_048_576).toFixed(1)} MiB RSS, ${(result.heapUsedBytes / 1_048_576).toFixed(1)} MiB heap`);
    }
  }
  return { rounds, memory };
}

/** Whether an extra measurement (cold start, cluster) belongs in this run. */
const wants = (context: BenchContext, id: string): boolean => context.only === undefined || id.includes(context.only);

async function run(context: BenchContext, keysDir: string): Promise<RunResults | undefined> {
  const { settings, log } = context;
  const startedAt = new Date();
  const machine = machineInfo();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  log(`anonymous-sessions bench (${context.mode}): ${settings.rounds} rounds × ${settings.duration} s, warm-up ${settings.warmup} s, ${settings.connections} connections`);
  log(`machine: ${machine.nproc} cores, ${machine.cpuModel}, node ${machine.node}; ${machine.loadBefore}`);
  const selected = await selectScenarios(context);
  const skipped = selected.filter((scenario) => scenario.skip !== undefined).map((scenario) => ({ id: scenario.id, label: scenario.label, reason: scenario.skip! }));
  const active = selected.filter((scenario) => scenario.skip === undefined);
  for (const skip of skipped) log(`skip ${skip.id}: ${skip.reason}`);
  const load = new LoadGenerator(context.processes);
  let prepared = new Map<string, Prepared>();
  try {
    // The token server: the issuer every guard and peer trusts (RS256 + JWE, memory store).
    const tokenServer = await startServer(context, { spec: { kind: 'issuer', framework: 'express', algorithm: 'RS256', format: 'jwe', store: 'memory' }, keysFile: context.keyFiles.get('RS256')! });
    context.tokens.trustedIssuer = `${tokenServer.url}/`;
    [context.tokens.reused = ''] = await issueAccessTokens(tokenServer.url, 1);
    context.tokens.distinct = await issueAccessTokens(tokenServer.url, settings.distinctTokens);
    log(`token server ${tokenServer.url}: ${context.tokens.distinct.length + 1} access tokens issued`);

    const httpScenarios = active.filter((scenario): scenario is HttpScenario => scenario.type === 'http');
    prepared = await prepareAll(context, httpScenarios, skipped);
    log(`${prepared.size} servers up; warming up ${settings.warmup} s each`);
    for (const entry of prepared.values()) await load.run({ ...entry.load, duration: settings.warmup });

    const measured = active.filter((scenario) => scenario.type === 'ceiling' || prepared.has(scenario.id));
    const measurement = await measureRounds(context, measured, prepared, load);
    if (measurement === undefined) return undefined;
    const paired = await measurePairs(context, prepared, load);
    if (context.processes.interrupted) return undefined;
    // The servers of the rounds stop before cold start and cluster measure (they need the cores).
    await Promise.all([...prepared.values()].map((entry) => entry.server.stop()));
    prepared.clear();

    const scenarioResults = measured.map((scenario) => scenarioResult(context, scenario, measurement.rounds.get(scenario.id)!));
    const byId = new Map<string, ScenarioResult>(scenarioResults.map((scenario) => [scenario.id, scenario]));
    for (const scenario of scenarioResults) scenario.ratio = ratioOf(scenario, scenario.anchor === undefined ? undefined : byId.get(scenario.anchor));
    const targets = evaluateTargets(context, byId, new Set(skipped.map((skip) => skip.id)), paired);

    const extra = async <T>(id: string, label: string, measure: () => Promise<T | undefined>): Promise<T | undefined> => {
      if (!wants(context, id) || context.processes.interrupted) return undefined;
      try {
        return await measure();
      } catch (error) {
        const reason = `failed: ${error instanceof Error ? error.message : String(error)}`;
        skipped.push({ id, label, reason });
        log(`skip ${id}: ${reason}`);
        return undefined;
      }
    };
    const coldStart = await extra('cold-start', 'cold start vs the hand-written jose endpoint', () => measureColdStart(context));
    if (coldStart !== undefined) targets.push(coldStartTarget(coldStart));
    const cluster = await extra('cluster', 'node:cluster issuance, Redis store', () => measureClusterScaling(context, skipped));

    const notes = runNotes(context, byId, skipped.map((skip) => skip.id));
    const profiles = context.profile ? await profileMisses(context, targets, httpScenarios, load, startedAt, notes) : [];
    const memory = measurement.memory;
    return {
      version: 1,
      mode: context.mode,
      command,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: { ...machine, loadAfter: uptime() },
      settings: {
        rounds: settings.rounds,
        durationSeconds: settings.duration,
        warmupSeconds: settings.warmup,
        connections: settings.connections,
        ceilingSeconds: settings.ceilingSeconds,
        distinctTokens: settings.distinctTokens,
        pairs: settings.pairs,
        pairDurationSeconds: settings.pairDuration,
        pairProcesses: pairProcesses(settings),
      },
      scenarios: scenarioResults,
      memory: memory.length === 0 ? undefined : { rounds: memory, medianRssBytes: median(memory.map((m) => m.rssBytes)), medianHeapUsedBytes: median(memory.map((m) => m.heapUsedBytes)) },
      ...(coldStart === undefined ? {} : { coldStart }),
      ...(cluster === undefined ? {} : { cluster }),
      targets,
      skipped,
      profiles,
      notes,
    };
  } finally {
    await load.stop();
    await Promise.all([...prepared.values()].map((entry) => entry.server.stop()));
    await context.processes.endAll();
    rmSync(keysDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const context = createContext();
  context.processes.endOnSignals(context.log);
  // Every measured process loads our packages from their builds: current ones.
  ensureBuilt(join(context.benchDir, '..'), context.log);
  mkdirSync(context.profilesDir, { recursive: true });
  const keysDir = await writeKeys(context);
  try {
    const results = await run(context, keysDir);
    if (results === undefined) return;
    const written = writeOutputs(results, context.outputName);
    context.log('');
    context.log(targetTable(results));
    context.log('');
    context.log(scenarioTable(results));
    context.log(`written: ${written.join(', ')}`);
  } catch (error) {
    await context.processes.endAll();
    rmSync(keysDir, { recursive: true, force: true });
    throw error;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
