/**
 * The results of a run and how they are shown: medians and ratios, the Markdown tables, the SVG
 * bar chart (written by hand, no chart library), and the generated part of `bench/README.md`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadResult, MemoryResult } from './shared.js';
import { profileMarkdown, type ProfileSummary } from './profile-summary.js';

export type Group = 'guard-express' | 'guard-koa' | 'ceiling' | 'issuance-express' | 'issuance-koa';

export const GROUP_TITLES: Record<Group, string> = {
  'guard-express': 'Guards on Express (anchor: bare Express)',
  'guard-koa': 'Guards on Koa (anchor: bare Koa)',
  ceiling: 'Crypto ceiling, 2 processes (anchor: RS256 + JWE)',
  'issuance-express': 'Issuance on Express (anchor: the crypto ceiling of the same algorithms)',
  'issuance-koa': 'Issuance on Koa (anchor: the crypto ceiling of the same algorithms)',
};

/** One measurement of one scenario in one round. */
export interface RoundResult {
  round: number;
  /** Requests (or, for the ceiling, operations) per second. */
  rate: number;
  /** Latency in ms; absent for the ceiling. */
  p50?: number;
  p99?: number;
  max?: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes?: LoadResult['statusCodes'];
  /**
   * CPU time the server process (every thread, the crypto pool included) spent per request, µs;
   * for the ceiling, per operation over both processes. Far steadier than rates on a shared machine.
   */
  cpuPerRequest?: number;
  /** Calls of a counting `clients` resolver per request (scenarios with one). */
  clientLookupsPerRequest?: number;
}

export interface ScenarioResult {
  id: string;
  label: string;
  group: Group;
  unit: 'req/s' | 'ops/s';
  /** The scenario every figure of this one is divided by (same run, same round). */
  anchor: string | undefined;
  rounds: RoundResult[];
  medianRate: number;
  medianP50: number | undefined;
  medianP99: number | undefined;
  worstP99: number | undefined;
  /** Median over rounds of {@link RoundResult.cpuPerRequest}, µs. */
  medianCpuPerRequest: number | undefined;
  /** Median over rounds of {@link RoundResult.clientLookupsPerRequest}. */
  medianClientLookupsPerRequest?: number;
  /** Median over rounds of (this round's rate ÷ the anchor's rate in the same round). */
  ratio: number | undefined;
  failures: number;
  flags: string[];
}

export interface TargetResult {
  id: string;
  description: string;
  /** `subject ÷ reference`, or a check over every scenario. */
  measured: string;
  threshold: string;
  ratio: number | undefined;
  status: 'PASS' | 'MISS' | 'SKIPPED';
  /** By how much it missed, in words. */
  note: string;
  /** The scenario profiled when missed. */
  profileScenario: string | undefined;
  /** The paired rounds the ratio was judged on, when the run measured them. */
  paired?: PairedResult;
  /** The paired rounds of the target's floor ÷ its reference (the same rounds), when it has a floor. */
  floorPaired?: PairedResult;
}

/** A ratio target's two scenarios measured back to back in alternating order (`harness/pairs.ts`). */
export interface PairedResult {
  subject: string;
  reference: string;
  pairs: number;
  /** Server processes per side, the pairs taking them in turn (one: every pair on the same two). */
  processes?: number;
  /** Seconds of load per side of a pair. */
  seconds: number;
  /** Whether both servers ran on one core and the load generator on another. */
  pinned: boolean;
  /** Median over the pairs of (subject rate ÷ reference rate). */
  ratio: number;
  /** Every pair's ratio, in the order measured. */
  ratios: number[];
  /** Median over the pairs of (reference CPU per request ÷ subject CPU per request). */
  cpuRatio?: number;
  /** The other scenarios measured in the same rounds (a target's floor), if any. */
  measuredWith?: string[];
}

export interface ProfileResult {
  targets: string[];
  scenario: string;
  seconds: number;
  summary: ProfileSummary;
}

export interface RunResults {
  version: 1;
  mode: 'full' | 'quick' | 'partial';
  command: string;
  startedAt: string;
  finishedAt: string;
  machine: { nproc: number; cpuModel: string; node: string; platform: string; loadBefore: string; loadAfter: string };
  settings: { rounds: number; durationSeconds: number; warmupSeconds: number; connections: number; ceilingSeconds: number; distinctTokens: number; pairs?: number; pairDurationSeconds?: number; pairProcesses?: number };
  scenarios: ScenarioResult[];
  memory: { rounds: MemoryResult[]; medianRssBytes: number; medianHeapUsedBytes: number } | undefined;
  /** Import + create + listen to the first response, fresh processes (issue 13, item 3). */
  coldStart?: ColdStartResult;
  /** Issuance with the Redis store from 1 to N `node:cluster` workers (issue 13, item 4). */
  cluster?: ClusterResult;
  targets: TargetResult[];
  skipped: { id: string; label: string; reason: string }[];
  profiles: ProfileResult[];
  notes: string[];
}

/** Cold start: each app in fresh processes, spawn to the first response's end, ms. */
export interface ColdStartResult {
  runs: number;
  /** `@anonymous-sessions/core` + `/express` from their built `dist`, `createAnonymousSessions()`, the token router. */
  ours: { totalMs: number[]; medianMs: number; medianReadyMs: number };
  /** The hand-written jose endpoint. */
  jose: { totalMs: number[]; medianMs: number; medianReadyMs: number };
  /** ours ÷ jose (median over runs of the pairs, each pair run back to back). */
  ratio: number;
}

/** Issuance under `node:cluster` with the Redis store. */
export interface ClusterResult {
  scenario: string;
  seconds: number;
  connections: number;
  points: { workers: number; rate: number; p50: number; p99: number; non2xx: number; errors: number }[];
  /** rate(N workers) ÷ rate(1 worker), for the largest N. */
  scaling: number | undefined;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Median over the rounds both ran of `subject ÷ reference`. */
export function ratioOf(subject: ScenarioResult | undefined, reference: ScenarioResult | undefined): number | undefined {
  if (subject === undefined || reference === undefined) return undefined;
  const ratios: number[] = [];
  for (const round of subject.rounds) {
    const other = reference.rounds.find((candidate) => candidate.round === round.round);
    if (other !== undefined && other.rate > 0) ratios.push(round.rate / other.rate);
  }
  return ratios.length === 0 ? undefined : median(ratios);
}

const integer = (value: number): string => Math.round(value).toLocaleString('en-US');
const ms = (value: number | undefined): string => (value === undefined ? '–' : value.toFixed(value < 10 ? 2 : 1));
export const times = (value: number | undefined): string => (value === undefined ? '–' : `${value.toFixed(2)}×`);
const mib = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MiB`;

/** The results table, one row per scenario, grouped. */
export function scenarioTable(results: RunResults): string {
  const lines: string[] = [];
  const byId = new Map(results.scenarios.map((scenario) => [scenario.id, scenario]));
  for (const group of Object.keys(GROUP_TITLES) as Group[]) {
    const rows = results.scenarios.filter((scenario) => scenario.group === group);
    if (rows.length === 0) continue;
    lines.push(`**${GROUP_TITLES[group]}**`, '');
    lines.push('| scenario | rate (median) | × anchor | p50 ms | p99 ms (median / worst) | server CPU µs per request (ceiling: per operation) | non-2xx + errors | flags |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---|');
    for (const row of rows) {
      const p99 = row.medianP99 === undefined ? '–' : `${ms(row.medianP99)} / ${ms(row.worstP99)}`;
      lines.push(
        `| ${row.label} | ${integer(row.medianRate)} ${row.unit} | ${row.anchor !== undefined && !byId.has(row.anchor) ? 'no anchor' : times(row.ratio)} | ${ms(row.medianP50)} | ${p99} | ${row.medianCpuPerRequest === undefined ? '–' : integer(row.medianCpuPerRequest)} | ${row.unit === 'ops/s' ? '–' : row.failures} | ${row.flags.join('; ') || 'ok'} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

export function targetTable(results: RunResults): string {
  return [
    '| target | measured | result |',
    '|---|---|---|',
    ...results.targets.map((target) => {
      const result = target.status === 'PASS' ? '**PASS**' : target.status === 'MISS' ? '**MISS**' : 'skipped';
      return `| ${target.description} | ${target.measured} | ${result}${target.note ? ` — ${target.note}` : ''} |`;
    }),
  ].join('\n');
}

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const GROUP_COLOURS: Record<Group, string> = {
  'guard-express': '#2f6db5',
  'guard-koa': '#6a4fb3',
  ceiling: '#7a7a7a',
  'issuance-express': '#2e8b57',
  'issuance-koa': '#3a9a8a',
};

/**
 * A horizontal bar chart of every scenario's ratio to its anchor, grouped, with the 1.0× line and
 * the rate written beside each bar. Flagged scenarios are outlined in red.
 */
export function chartSvg(results: RunResults): string {
  const width = 960;
  const labelWidth = 330;
  const barLeft = labelWidth + 10;
  const barWidth = 400;
  const rowHeight = 22;
  const headerHeight = 26;
  const ratios = results.scenarios.map((scenario) => scenario.ratio ?? 0);
  // The scale stops at 2× so the guards stay readable; longer bars end in a notch and keep their
  // true ratio in the label.
  const scaleMax = Math.min(2, Math.max(1.25, Math.ceil(Math.max(...ratios, 1) * 4) / 4));
  const step = scaleMax <= 1.5 ? 0.25 : 0.5;
  const x = (ratio: number): number => barLeft + (Math.min(ratio, scaleMax) / scaleMax) * barWidth;
  const shortLabel = (label: string): string => label.replace('POST /anonymous/token ', '').replace(' session', '');

  const body: string[] = [];
  let y = 48;
  for (const group of Object.keys(GROUP_TITLES) as Group[]) {
    const rows = results.scenarios.filter((scenario) => scenario.group === group);
    if (rows.length === 0) continue;
    body.push(`<text x="10" y="${y + 17}" class="group">${escapeXml(GROUP_TITLES[group])}</text>`);
    y += headerHeight;
    for (const row of rows) {
      const ratio = row.ratio ?? 0;
      const isAnchor = row.anchor === row.id;
      const fill = isAnchor ? '#b8b8b8' : GROUP_COLOURS[group];
      const stroke = row.flags.length > 0 ? ' stroke="#d62728" stroke-width="2"' : '';
      body.push(`<text x="${labelWidth}" y="${y + 15}" class="label" text-anchor="end">${escapeXml(shortLabel(row.label))}</text>`);
      body.push(`<rect x="${barLeft}" y="${y + 3}" width="${Math.max(1, x(ratio) - barLeft).toFixed(1)}" height="${rowHeight - 6}" fill="${fill}"${stroke}/>`);
      if (ratio > scaleMax) body.push(`<path d="M${(x(ratio) - 6).toFixed(1)} ${y + 3} l6 8 l-6 8 z" fill="#ffffff"/>`);
      const latency = row.medianP99 === undefined ? '' : ` · p99 ${ms(row.medianP99)} ms`;
      body.push(`<text x="${(x(ratio) + 6).toFixed(1)}" y="${y + 15}" class="value">${escapeXml(`${times(row.ratio)} · ${integer(row.medianRate)} ${row.unit}${latency}`)}</text>`);
      y += rowHeight;
    }
    y += 8;
  }
  const grid: string[] = [];
  for (let tick = 0; tick <= scaleMax + 1e-9; tick += step) {
    const major = Math.abs(tick - 1) < 1e-9;
    grid.push(`<line x1="${x(tick).toFixed(1)}" y1="40" x2="${x(tick).toFixed(1)}" y2="${y}" stroke="${major ? '#333' : '#e2e2e2'}" stroke-width="${major ? 1.5 : 1}"${major ? ' stroke-dasharray="4 3"' : ''}/>`);
    grid.push(`<text x="${x(tick).toFixed(1)}" y="36" class="tick" text-anchor="middle">${tick.toFixed(step < 0.5 ? 2 : 1)}×</text>`);
  }
  const height = y + 30;
  const title = `anonymous-sessions benchmarks: rate as a ratio to the anchor of the same run (${results.mode} run, ${results.startedAt.slice(0, 10)})`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    '<style>.group{font-size:13px;font-weight:bold;fill:#222}.label{font-size:12px;fill:#222}.value{font-size:11px;fill:#333}.tick{font-size:10px;fill:#666}.title{font-size:14px;font-weight:bold;fill:#111}.note{font-size:10px;fill:#666}</style>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" class="title">${escapeXml(title)}</text>`,
    ...grid,
    ...body,
    `<text x="10" y="${height - 10}" class="note">${escapeXml(`${results.machine.nproc} cores, ${results.machine.cpuModel}, Node ${results.machine.node}. Grey: anchors. Red outline: errors or p99 over 50 ms.`)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

/** The generated section of `bench/README.md` (everything a run measured). */
export function resultsMarkdown(results: RunResults, chartPath: string): string {
  const { machine, settings } = results;
  const out: string[] = [];
  out.push(`### Run of ${results.startedAt} (${results.mode})`, '');
  out.push('```sh', results.command, '```', '');
  out.push(
    `Machine: ${machine.nproc} cores (\`nproc\`), ${machine.cpuModel}, Node ${machine.node}, ${machine.platform}.`,
    `Load average before: \`${machine.loadBefore}\`; after: \`${machine.loadAfter}\`.`,
    '',
    `> **Noise warning.** On this ${machine.nproc}-core machine a server, its load generator and the crypto thread pool`,
    `> share the cores (compare the load averages above). Absolute rates move by tens of percent from run to`,
    `> run, which is why every figure is a ratio to an anchor measured in the same round, and the ratios are`,
    `> medians over ${settings.rounds} interleaved rounds.`,
    '',
    `Settings: ${settings.rounds} interleaved rounds × ${settings.durationSeconds} s per scenario after a ${settings.warmupSeconds} s warm-up, ${settings.connections} connections, pipelining 1; crypto ceiling ${settings.ceilingSeconds} s per round; ${settings.distinctTokens} distinct tokens.${settings.pairs === undefined ? '' : ` Ratio targets: ${settings.pairs} paired rounds × ${settings.pairDurationSeconds} s per side${settings.pairProcesses === undefined ? '' : ` on ${settings.pairProcesses} server processes per side`} (see "How it measures").`}`,
    '',
  );
  out.push('#### Targets (issues 7 and 13)', '', targetTable(results), '');
  const paired = results.targets.flatMap((target) => [target.paired, target.floorPaired].filter((pair) => pair !== undefined));
  if (paired.length > 0) out.push(pairedMarkdown(paired), '');
  out.push('#### Results', '', `![Ratios to the anchors](${chartPath})`, '', scenarioTable(results));
  if (results.memory !== undefined) {
    const memory = results.memory;
    out.push(
      '#### Memory',
      '',
      `\`memoryStore()\` holding ${integer(memory.rounds[0]?.revocations ?? 0)} revocations: **${mib(memory.medianRssBytes)} resident** (RSS delta after GC, median of ${memory.rounds.length}), ${mib(memory.medianHeapUsedBytes)} of JS heap — about ${integer(memory.medianHeapUsedBytes / (memory.rounds[0]?.revocations ?? 1))} heap bytes per revocation.`,
      '',
    );
  }
  if (results.coldStart !== undefined) out.push(coldStartMarkdown(results.coldStart), '');
  if (results.cluster !== undefined) out.push(clusterMarkdown(results.cluster), '');
  if (results.skipped.length > 0) {
    const byReason = new Map<string, string[]>();
    for (const skip of results.skipped) byReason.set(skip.reason, [...(byReason.get(skip.reason) ?? []), `\`${skip.id}\``]);
    out.push('#### Skipped', '', ...[...byReason].map(([reason, ids]) => `- ${ids.join(', ')}: ${reason}.`), '');
  }
  if (results.notes.length > 0) out.push('#### Notes', '', ...results.notes.map((note) => `- ${note}`), '');
  if (results.profiles.length > 0) {
    out.push('#### Profiles of the misses', '');
    for (const profile of results.profiles) {
      out.push(`**${profile.scenario}** (for ${profile.targets.join(', ')}; \`node --cpu-prof\` on the server, ${profile.seconds} s of load after warm-up; the process's start-up is left out)`, '');
      out.push(profileMarkdown(profile.summary), '');
    }
  }
  return out.join('\n');
}

/** The paired rounds behind the ratio targets, every pair's ratio shown. */
function pairedMarkdown(paired: PairedResult[]): string {
  const unique = [...new Map(paired.map((pair) => [`${pair.subject} ÷ ${pair.reference}`, pair])).values()];
  return [
    '**Paired rounds** (subject and reference back to back, order alternating; a target\'s floor in the same rounds; each side on several server processes, the pairs taking them in turn; ratio = median of the pairs):',
    '',
    '| subject ÷ reference | pairs × s | processes per side | pinned | rate ratio (median) | by server CPU per request | every pair |',
    '|---|---:|---:|---|---:|---:|---|',
    ...unique.map(
      (pair) =>
        `| \`${pair.subject}\` ÷ \`${pair.reference}\`${pair.measuredWith === undefined ? '' : ` (rounds shared with ${pair.measuredWith.map((id) => `\`${id}\``).join(', ')})`} | ${pair.pairs} × ${pair.seconds} | ${pair.processes ?? 1} | ${pair.pinned ? 'servers on one core, load on another' : 'no'} | ${times(pair.ratio)} | ${times(pair.cpuRatio)} | ${pair.ratios.map((ratio) => ratio.toFixed(2)).join(' ')} |`,
    ),
  ].join('\n');
}

function coldStartMarkdown(cold: ColdStartResult): string {
  return [
    '#### Cold start',
    '',
    `Fresh \`node\` process to the end of the first \`POST /anonymous/token\` response (import, create, listen, first request; built packages, no tsx), ${cold.runs} runs each, alternating:`,
    '',
    '| app | median ms | ready to listen, median ms | runs (ms) |',
    '|---|---:|---:|---|',
    `| \`createAnonymousSessions()\` + \`anonymousTokenRouter\` | ${ms(cold.ours.medianMs)} | ${ms(cold.ours.medianReadyMs)} | ${cold.ours.totalMs.map((v) => v.toFixed(0)).join(', ')} |`,
    `| hand-written jose endpoint | ${ms(cold.jose.medianMs)} | ${ms(cold.jose.medianReadyMs)} | ${cold.jose.totalMs.map((v) => v.toFixed(0)).join(', ')} |`,
    '',
    `Ratio (ours ÷ jose, median of the pairs): **${times(cold.ratio)}** (target ≤ 1.3×).`,
  ].join('\n');
}

function clusterMarkdown(cluster: ClusterResult): string {
  return [
    '#### Scale: node:cluster, Redis store',
    '',
    `\`bench/cluster.ts\` (${cluster.scenario}), ${cluster.seconds} s per worker count, ${cluster.connections} connections:`,
    '',
    '| workers | rate | × 1 worker | p50 ms | p99 ms | non-2xx + errors |',
    '|---:|---:|---:|---:|---:|---:|',
    ...cluster.points.map((point) => `| ${point.workers} | ${integer(point.rate)} req/s | ${times(point.rate / (cluster.points[0]?.rate ?? point.rate))} | ${ms(point.p50)} | ${ms(point.p99)} | ${point.non2xx + point.errors} |`),
  ].join('\n');
}

export const README_START = '<!-- bench:results:start -->';
export const README_END = '<!-- bench:results:end -->';

/** Puts `section` between the README's markers (appending them when missing). */
export function replaceReadmeSection(readme: string, section: string): string {
  const block = `${README_START}\n${section.trim()}\n${README_END}`;
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) return `${readme.trimEnd()}\n\n${block}\n`;
  return `${readme.slice(0, start)}${block}${readme.slice(end + README_END.length)}`;
}

const benchDir = fileURLToPath(new URL('./', import.meta.url));

/**
 * Writes a run's outputs: `results/<name>.json` and a per-run copy; for a full run (`latest`) also
 * `bench/chart.svg` and the results section of `bench/README.md`, otherwise `results/<name>.md`
 * and `results/<name>.svg`. Returns the paths written, relative to the repository.
 */
export function writeOutputs(results: RunResults, name: string, options: { perRunCopy?: boolean } = {}): string[] {
  const written: string[] = [];
  const write = (path: string, text: string): void => {
    writeFileSync(join(benchDir, path), text);
    written.push(`bench/${path}`);
  };
  const json = `${JSON.stringify(results, null, 2)}\n`;
  write(`results/${name}.json`, json);
  if (options.perRunCopy !== false) write(`results/run-${results.startedAt.replace(/[:.]/g, '-')}.json`, json);
  if (name === 'latest') {
    write('chart.svg', chartSvg(results));
    let readme = '# Benchmarks\n';
    try {
      readme = readFileSync(join(benchDir, 'README.md'), 'utf8');
    } catch {
      // a new README
    }
    write('README.md', replaceReadmeSection(readme, resultsMarkdown(results, 'chart.svg')));
  } else {
    write(`results/${name}.svg`, chartSvg(results));
    write(`results/${name}.md`, `${resultsMarkdown(results, `${name}.svg`)}\n`);
  }
  return written;
}
