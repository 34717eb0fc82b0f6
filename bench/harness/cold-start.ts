/**
 * Cold start (issue 13, item 3): a fresh `node` process per run, from spawn to the end of the first
 * `POST /anonymous/token` response — `import`, `createAnonymousSessions()` (keys imported), listen,
 * the first issuance — against the hand-written jose endpoint doing the same in the same
 * framework. The apps (`cold-start-app.ts`) are bundled by esbuild with every package external and
 * run without tsx, so our packages load from their built `dist` (which `run.ts` builds first when
 * older than their sources: `builds.ts`). Runs alternate (ours, jose, ours, …); the ratio is the
 * median over pairs.
 */
import { fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { median, type ColdStartResult, type TargetResult } from '../report.js';
import { AUDIENCE, CLIENT_ID, TOKEN_PATH } from '../shared.js';
import type { BenchContext } from './context.js';
import { nextMessage } from './processes.js';

const COLD_START_TARGET = 1.3;

/** One fresh process: spawn → ready → the first response read to its end. */
async function oneRun(context: BenchContext, bundle: string, which: 'ours' | 'jose'): Promise<{ totalMs: number; readyMs: number }> {
  const started = performance.now();
  const child = context.processes.track(
    fork(bundle, [which], { execArgv: [], env: { ...process.env, COLD_KEYS_FILE: context.keyFiles.get('RS256')! }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  try {
    const ready = await nextMessage(child, (message) => ((message as { type?: string }).type === 'ready' ? (message as { port: number; readyMs: number }) : undefined), 60_000, `cold start (${which})`);
    const response = await fetch(`http://127.0.0.1:${ready.port}${TOKEN_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: CLIENT_ID, audience: AUDIENCE }),
    });
    const body = await response.text();
    const totalMs = performance.now() - started;
    if (response.status !== 200) throw new Error(`cold start (${which}): the first response was ${response.status}: ${body.slice(0, 200)}`);
    return { totalMs, readyMs: ready.readyMs };
  } finally {
    await context.processes.end(child);
  }
}

/** Measures both apps `settings.coldStartRuns` times each, alternating. */
export async function measureColdStart(context: BenchContext): Promise<ColdStartResult> {
  const outDir = join(context.benchDir, 'results', 'cold-start');
  mkdirSync(outDir, { recursive: true });
  const bundle = join(outDir, 'app.mjs');
  await build({ entryPoints: [join(context.benchDir, 'cold-start-app.ts')], bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', outfile: bundle, logLevel: 'error' });
  const ours: { totalMs: number; readyMs: number }[] = [];
  const jose: { totalMs: number; readyMs: number }[] = [];
  // One of each first, unmeasured: the file system cache is warm for both.
  await oneRun(context, bundle, 'ours');
  await oneRun(context, bundle, 'jose');
  for (let run = 0; run < context.settings.coldStartRuns; run += 1) {
    ours.push(await oneRun(context, bundle, 'ours'));
    jose.push(await oneRun(context, bundle, 'jose'));
    context.log(`[cold start ${run + 1}/${context.settings.coldStartRuns}] ours ${ours[run]!.totalMs.toFixed(0)} ms (ready ${ours[run]!.readyMs.toFixed(0)}), jose ${jose[run]!.totalMs.toFixed(0)} ms (ready ${jose[run]!.readyMs.toFixed(0)})`);
  }
  const summary = (runs: { totalMs: number; readyMs: number }[]) => ({
    totalMs: runs.map((run) => run.totalMs),
    medianMs: median(runs.map((run) => run.totalMs)),
    medianReadyMs: median(runs.map((run) => run.readyMs)),
  });
  return { runs: ours.length, ours: summary(ours), jose: summary(jose), ratio: median(ours.map((run, i) => run.totalMs / jose[i]!.totalMs)) };
}

/** The cold-start target: ours ÷ jose ≤ 1.3. */
export function coldStartTarget(cold: ColdStartResult): TargetResult {
  const pass = cold.ratio <= COLD_START_TARGET;
  return {
    id: 'cold-start-vs-hand-written-jose',
    description: `cold start (fresh process to the first token response) ≤ ${COLD_START_TARGET}× the hand-written jose endpoint`,
    measured: `${cold.ours.medianMs.toFixed(0)} ms ÷ ${cold.jose.medianMs.toFixed(0)} ms = ${cold.ratio.toFixed(2)}×`,
    threshold: `≤ ${COLD_START_TARGET}×`,
    ratio: cold.ratio,
    status: pass ? 'PASS' : 'MISS',
    note: pass ? '' : `over by ${(((cold.ratio - COLD_START_TARGET) / COLD_START_TARGET) * 100).toFixed(0)} %`,
    profileScenario: undefined,
  };
}
