/**
 * Paired rounds: what every ratio target of issue 13 is judged on. The interleaved rounds measure
 * a target's two scenarios tens of seconds apart, and on a small shared machine the rate moves by
 * ±10 % over that time, more than the 1–5 % the guard targets are about. Here the two run back to
 * back, many times, their order alternating (reference first, then subject first, so a drift
 * within a pair favours neither), and the ratio is the median over the pairs of (subject ÷
 * reference). Every scenario one subject is divided by runs in the same rounds as it (all back to
 * back, in an order that gives every side every place in the round equally often: `roundOrder`),
 * and so does the floor of any of its targets: the ratios drift over minutes too, so figures
 * measured minutes apart could not be set side by side (a floor bounding a target, the guard ÷ one
 * no-op middleware beside ÷ one that sets req.auth).
 *
 * Each side runs on several server processes, the rounds taking them in turn (`--instances`,
 * default one per round): two processes of the same app, measured in the same rounds, differ by up
 * to 7 % by CPU here (five no-op apps: medians of 105.6–112.9 µs per request; two of them 1.07×
 * apart, the same one ahead or level in all 8 rounds), so a ratio of one process pair keeps their
 * difference however many rounds it is measured over. With a process pair per round it becomes one
 * more round-to-round spread, which the median over the rounds takes care of. The first process of
 * each side is the one the interleaved rounds measured; the others are started for the group and
 * stopped after it.
 *
 * Where the machine allows it (Linux, `taskset`, two cores or more), each pair runs with both
 * servers on one core and the load generator on another: neither steals the other's core, which is
 * most of the noise of a run on two cores. Both sides of a ratio get the same core, so the ratio
 * compares the same thing (their crypto thread pool shares that core too); the pinning is undone
 * after each pair.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { median, type PairedResult } from '../report.js';
import type { BenchContext } from './context.js';
import { measureHttpRound, prepare, type Prepared } from './measure.js';
import type { LoadGenerator } from './servers.js';
import { measuredGroups, ratioTargets, type PairGroup } from './targets.js';

/** Sets the CPUs every thread of `pid` may run on (`taskset -a -p -c`). */
function pin(pid: number, cpuList: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
}

/** The CPUs pairs are pinned to, or why they are not. */
export function pinning(): { server: string; load: string; all: string } | { reason: string } {
  const count = cpus().length;
  if (process.platform !== 'linux') return { reason: `not on Linux (${process.platform})` };
  if (count < 2) return { reason: 'one core' };
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  } catch {
    return { reason: '`taskset` (util-linux) is not installed' };
  }
  return { server: String(count - 1), load: '0', all: `0-${count - 1}` };
}

/**
 * The order a group's sides are measured in, in round `round` (from 0): the list turned by one place
 * every other round, and reversed in every odd round. Over 2 × (sides) rounds every side takes every
 * place in the round equally often, and of any two sides each goes first in half the rounds. Only
 * reversing every other round (as for two sides) would leave a group of five with its third side
 * always in the middle and its first always at an end, so a pair of them would carry whatever a
 * place in the round is worth.
 */
export function roundOrder<T>(sides: readonly T[], round: number): T[] {
  const turn = Math.floor(round / 2) % Math.max(1, sides.length);
  const turned = [...sides.slice(turn), ...sides.slice(0, turn)];
  return round % 2 === 0 ? turned : turned.reverse();
}

/** Server processes per side of the paired rounds: `--instances`, at most one per round. */
export const pairProcesses = (settings: BenchContext['settings']): number => Math.min(settings.instances, settings.pairs);

/** The groups the ratio targets need, each cut down to the scenarios whose servers are up. */
function targetGroups(context: BenchContext, prepared: Map<string, Prepared>): PairGroup[] {
  return measuredGroups(ratioTargets(context))
    .map((group) => ({
      sides: group.sides.filter((id) => prepared.has(id)),
      ratios: group.ratios.filter((pair) => prepared.has(pair.subject) && prepared.has(pair.reference)),
    }))
    .filter((group) => group.ratios.length > 0);
}

/**
 * Measures every group in paired rounds (each round runs every side once, in {@link roundOrder});
 * the results are keyed `subject ÷ reference`, each ratio the median over the rounds.
 */
export async function measurePairs(context: BenchContext, prepared: Map<string, Prepared>, load: LoadGenerator): Promise<Map<string, PairedResult>> {
  const { settings } = context;
  const cores = pinning();
  const pinned = 'server' in cores;
  if (!pinned) context.log(`paired rounds without pinning: ${cores.reason}`);
  const results = new Map<string, PairedResult>();
  for (const group of targetGroups(context, prepared)) {
    const rates = new Map<string, number[]>(group.sides.map((id) => [id, []]));
    const cpu = new Map<string, number[]>(group.sides.map((id) => [id, []]));
    // Every side's processes: the prepared one first, then the ones started for this group.
    const processes = new Map<string, Prepared[]>(group.sides.map((id) => [id, [prepared.get(id)!]]));
    const started: Prepared[] = [];
    const count = pairProcesses(settings);
    try {
      for (let instance = 1; instance < count; instance += 1) {
        if (context.processes.interrupted) return results;
        // The sides' next processes start together (one side's start-up cannot favour another).
        const next = await Promise.allSettled(group.sides.map((id) => prepare(context, prepared.get(id)!.scenario)));
        for (const outcome of next) if (outcome.status === 'fulfilled') started.push(outcome.value);
        const failed = next.find((outcome) => outcome.status === 'rejected');
        if (failed !== undefined) throw failed.reason;
        next.forEach((outcome, index) => processes.get(group.sides[index]!)!.push((outcome as PromiseFulfilledResult<Prepared>).value));
      }
      const everyProcess = [...processes.values()].flat();
      if (pinned) {
        pin(load.pid, cores.load);
        for (const entry of everyProcess) pin(entry.server.child.pid!, cores.server);
      }
      // The caches, the JIT and the scheduler settle on the new cores before anything counts: one
      // process per side is warmed here, several each right before it is measured (a process that
      // sat idle while the others ran has shrunk its heap, and its first seconds under load would
      // count against it: measured cold, a trial of four process pairs gave 0.97×, 0.81×, 0.97×,
      // 0.81×, in step with the order of the rounds).
      const warmEach = count > 1;
      if (!warmEach) for (const entry of everyProcess) await load.run({ ...entry.load, duration: settings.warmup });
      for (let round = 0; round < settings.pairs; round += 1) {
        if (context.processes.interrupted) return results;
        for (const id of roundOrder(group.sides, round)) {
          const candidates = processes.get(id)!;
          const side = candidates[round % candidates.length]!;
          if (warmEach) await load.run({ ...side.load, duration: settings.warmup });
          const measured = await measureHttpRound(round + 1, side, (spec) => load.run({ ...spec, duration: settings.pairDuration }));
          rates.get(id)!.push(measured.rate);
          if (measured.cpuPerRequest !== undefined) cpu.get(id)!.push(measured.cpuPerRequest);
        }
      }
    } finally {
      if (pinned) {
        pin(load.pid, cores.all);
        for (const id of group.sides) pin(prepared.get(id)!.server.child.pid!, cores.all);
      }
      await Promise.all(started.map((entry) => entry.server.stop()));
    }
    for (const { subject, reference } of group.ratios) {
      const result = pairedResult(subject, reference, rates, cpu, settings.pairDuration, pinned, group.sides, count);
      results.set(`${subject} ÷ ${reference}`, result);
      context.log(
        `[pairs] ${subject} ÷ ${reference}: ${result.ratio.toFixed(3)}× over ${result.pairs} pairs of ${result.processes} process pairs (${result.ratios.map((ratio) => ratio.toFixed(2)).join(' ')})${result.cpuRatio === undefined ? '' : `; by CPU ${result.cpuRatio.toFixed(3)}×`}${pinned ? '' : ', not pinned'}`,
      );
    }
  }
  return results;
}

/** One ratio of a group's rounds: per round subject ÷ reference, by rate and by CPU per request. */
function pairedResult(
  subject: string,
  reference: string,
  rates: Map<string, number[]>,
  cpu: Map<string, number[]>,
  seconds: number,
  pinned: boolean,
  sides: string[],
  processes: number,
): PairedResult {
  const referenceRates = rates.get(reference)!;
  const ratios = rates.get(subject)!.map((rate, index) => rate / referenceRates[index]!);
  const mine = cpu.get(subject)!;
  const theirs = cpu.get(reference)!;
  const cpuRatios = mine.length === theirs.length ? mine.map((value, index) => theirs[index]! / value) : [];
  const others = sides.filter((id) => id !== subject && id !== reference);
  return {
    subject,
    reference,
    pairs: ratios.length,
    processes,
    seconds,
    pinned,
    ratio: median(ratios),
    ratios,
    ...(cpuRatios.length === 0 ? {} : { cpuRatio: median(cpuRatios) }),
    ...(others.length === 0 ? {} : { measuredWith: others }),
  };
}
