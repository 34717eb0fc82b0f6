/**
 * Paired rounds: what every ratio target of issue 13 is judged on. The interleaved rounds measure
 * a target's two scenarios tens of seconds apart, and on a small shared machine the rate moves by
 * ±10 % over that time, more than the 1–5 % the guard targets are about. Here the two run back to
 * back, many times, their order alternating (reference first, then subject first, so a drift
 * within a pair favours neither), and the ratio is the median over the pairs of (subject ÷
 * reference).
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
import { measureHttpRound, type Prepared } from './measure.js';
import type { LoadGenerator } from './servers.js';
import { measuredPairs, ratioTargets } from './targets.js';

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

/** Every distinct (subject, reference) pair the ratio targets need whose servers are up. */
function targetPairs(context: BenchContext, prepared: Map<string, Prepared>): { subject: string; reference: string }[] {
  return measuredPairs(ratioTargets(context)).filter((pair) => prepared.has(pair.subject) && prepared.has(pair.reference));
}

/** Measures every target pair in paired rounds; the results are keyed `subject ÷ reference`. */
export async function measurePairs(context: BenchContext, prepared: Map<string, Prepared>, load: LoadGenerator): Promise<Map<string, PairedResult>> {
  const { settings } = context;
  const cores = pinning();
  const pinned = 'server' in cores;
  if (!pinned) context.log(`paired rounds without pinning: ${cores.reason}`);
  const results = new Map<string, PairedResult>();
  for (const { subject, reference } of targetPairs(context, prepared)) {
    const sides = [prepared.get(reference)!, prepared.get(subject)!];
    const rates: [number[], number[]] = [[], []];
    const cpu: [number[], number[]] = [[], []];
    try {
      if (pinned) {
        pin(load.pid, cores.load);
        for (const side of sides) pin(side.server.child.pid!, cores.server);
      }
      // The caches, the JIT and the scheduler settle on the new cores before anything counts.
      for (const side of sides) await load.run({ ...side.load, duration: settings.warmup });
      for (let pair = 0; pair < settings.pairs; pair += 1) {
        if (context.processes.interrupted) return results;
        const order = pair % 2 === 0 ? [0, 1] : [1, 0];
        for (const index of order) {
          const round = await measureHttpRound(pair + 1, sides[index]!, (spec) => load.run({ ...spec, duration: settings.pairDuration }));
          rates[index]!.push(round.rate);
          if (round.cpuPerRequest !== undefined) cpu[index]!.push(round.cpuPerRequest);
        }
      }
    } finally {
      if (pinned) {
        pin(load.pid, cores.all);
        for (const side of sides) pin(side.server.child.pid!, cores.all);
      }
    }
    const ratios = rates[1].map((rate, index) => rate / rates[0][index]!);
    const cpuRatios = cpu[1].length === cpu[0].length ? cpu[1].map((mine, index) => cpu[0][index]! / mine) : [];
    const result: PairedResult = {
      subject,
      reference,
      pairs: ratios.length,
      seconds: settings.pairDuration,
      pinned,
      ratio: median(ratios),
      ratios,
      ...(cpuRatios.length === 0 ? {} : { cpuRatio: median(cpuRatios) }),
    };
    results.set(`${subject} ÷ ${reference}`, result);
    context.log(
      `[pairs] ${subject} ÷ ${reference}: ${result.ratio.toFixed(3)}× over ${result.pairs} pairs (${ratios.map((ratio) => ratio.toFixed(2)).join(' ')})${result.cpuRatio === undefined ? '' : `; by CPU ${result.cpuRatio.toFixed(3)}×`}${pinned ? '' : ', not pinned'}`,
    );
  }
  return results;
}
