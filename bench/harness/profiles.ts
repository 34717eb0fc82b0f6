/**
 * Profiles of the misses: for every missed target, a fresh server of its subject under
 * `node --cpu-prof`, loaded after a warm-up, its main thread's profile summarised.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { summariseProfile } from '../profile-summary.js';
import type { ProfileResult, TargetResult } from '../report.js';
import type { BenchContext } from './context.js';
import { prepare } from './measure.js';
import type { HttpScenario } from './scenarios.js';
import type { LoadGenerator } from './servers.js';

/** Profiles the subjects of the missed targets (at most `settings.maxProfiles`); notes what failed. */
export async function profileMisses(
  context: BenchContext,
  targets: TargetResult[],
  scenarios: HttpScenario[],
  load: LoadGenerator,
  startedAt: Date,
  notes: string[],
): Promise<ProfileResult[]> {
  const { settings } = context;
  const profiles: ProfileResult[] = [];
  const toProfile = new Map<string, string[]>();
  for (const target of targets) {
    if (target.status !== 'MISS' || target.profileScenario === undefined) continue;
    toProfile.set(target.profileScenario, [...(toProfile.get(target.profileScenario) ?? []), target.id]);
  }
  for (const [id, targetIds] of [...toProfile].slice(0, settings.maxProfiles)) {
    const scenario = scenarios.find((candidate) => candidate.id === id);
    if (scenario === undefined || context.processes.interrupted) continue;
    // A directory of its own: node writes one profile per thread (tsx's loader runs in a worker
    // thread); the main thread's (thread id 0) is the one that served the requests.
    const dir = join(context.profilesDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}-${id}`);
    context.log(`profiling ${id} (missed ${targetIds.join(', ')})`);
    const entry = await prepare(context, scenario, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
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
  return profiles;
}
