/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): the top frames by self time, the same
 * grouped by package (which library dominates), and our own functions by total (inclusive) time.
 *
 * Used by `run.ts` for every missed target; also runs alone:
 *   node --import tsx bench/profile-summary.ts bench/results/profiles/<dir>/<file>.cpuprofile [top] [skip-ms]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** One line of a summary. */
export interface FrameTime {
  /** `function (file:line)`, or a package / V8 category name. */
  name: string;
  /** Milliseconds. */
  ms: number;
  /** Share of the busy (non-idle) time, 0–1. */
  share: number;
}

export interface ProfileSummary {
  file: string;
  /** Milliseconds at the start left out (the process's start-up, before the load). */
  skippedMs: number;
  /** Sampled milliseconds, idle included. */
  totalMs: number;
  /** Milliseconds the thread was idle (waiting on sockets or the crypto thread pool). */
  idleMs: number;
  /** By self time. */
  topSelf: FrameTime[];
  /** Self time grouped by package (`jose`, `express`, `@anonymous-sessions/core`, `node:internal`, …). */
  byPackage: FrameTime[];
  /** Our own functions (packages/*), by inclusive time. */
  oursInclusive: FrameTime[];
}

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** A short, stable location for a script URL. */
function shortUrl(url: string): string {
  let path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (path.startsWith(repoRoot)) path = path.slice(repoRoot.length);
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) path = path.slice(modules + 'node_modules/'.length);
  return path;
}

/** Which package a frame belongs to. */
export function packageOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (program), (idle)
    return '(native)';
  }
  if (url.startsWith('node:')) return 'node:internal';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = path.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const ours = /packages\/([^/]+)\//.exec(path);
  if (ours) return `@anonymous-sessions/${ours[1]}`;
  if (path.includes('/bench/')) return 'bench';
  return shortUrl(url);
}

/** TypeScript run through tsx comes out one line per module: no line number for it (our builds keep theirs). */
const isTranspiled = (url: string): boolean => /\/(packages\/[^/]+\/src|bench)\//.test(url);

const frameName = (frame: CallFrame): string => {
  const name = frame.functionName || '(anonymous)';
  if (frame.url === '') return name;
  return isTranspiled(frame.url) ? `${name} (${shortUrl(frame.url)})` : `${name} (${shortUrl(frame.url)}:${frame.lineNumber + 1})`;
};

const rank = (times: Map<string, number>, busyMs: number, top: number): FrameTime[] =>
  [...times.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, ms]) => ({ name, ms: Math.round(ms * 10) / 10, share: busyMs > 0 ? ms / busyMs : 0 }));

/**
 * Reads and summarises one profile.
 *
 * @param file - a `.cpuprofile`.
 * @param top - how many frames to list.
 * @param skipMs - leave out the samples of the first `skipMs` milliseconds (start-up).
 */
export function summariseProfile(file: string, top = 15, skipMs = 0): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // Self time per node: each sample's time delta goes to the node it landed in.
  const selfUs = new Map<number, number>();
  let elapsedUs = 0;
  for (let i = 0; i < profile.samples.length; i += 1) {
    const delta = Math.max(0, profile.timeDeltas[i] ?? 0);
    elapsedUs += delta;
    if (elapsedUs < skipMs * 1000) continue;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  let totalUs = 0;
  let idleUs = 0;
  const selfByName = new Map<string, number>();
  const selfByPackage = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    totalUs += us;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = frameName(frame);
    selfByName.set(name, (selfByName.get(name) ?? 0) + us / 1000);
    const pkg = packageOf(frame);
    selfByPackage.set(pkg, (selfByPackage.get(pkg) ?? 0) + us / 1000);
  }
  const busyMs = (totalUs - idleUs) / 1000;

  // Inclusive time of our own functions, counting a function once per stack (recursion-safe).
  const inclusive = new Map<string, number>();
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parents.get(current)) {
      const frame = byId.get(current)!.callFrame;
      if (!/\/packages\/[^/]+\/(src|dist)\//.test(frame.url)) continue;
      const name = frameName(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us / 1000);
    }
  }

  return {
    file: shortUrl(file),
    skippedMs: Math.round(skipMs),
    totalMs: Math.round(totalUs / 1000),
    idleMs: Math.round(idleUs / 1000),
    topSelf: rank(selfByName, busyMs, top),
    byPackage: rank(selfByPackage, busyMs, 10),
    oursInclusive: rank(inclusive, busyMs, 10),
  };
}

/** The summary as Markdown. */
export function profileMarkdown(summary: ProfileSummary): string {
  const pct = (share: number): string => `${(share * 100).toFixed(1)} %`;
  const table = (title: string, rows: FrameTime[]): string[] => [
    `| ${title} | ms | share of busy time |`,
    '|---|---:|---:|',
    ...rows.map((row) => `| \`${row.name.replace(/\|/g, '\\|')}\` | ${row.ms.toFixed(1)} | ${pct(row.share)} |`),
  ];
  const busy = summary.totalMs - summary.idleMs;
  return [
    `Profile \`${summary.file}\` (main thread): ${summary.totalMs} ms sampled after skipping the first ${summary.skippedMs} ms (start-up); ${busy} ms busy, ${summary.idleMs} ms idle (waiting on sockets or the crypto thread pool).`,
    '',
    ...table('top frames (self time)', summary.topSelf),
    '',
    ...table('by package (self time)', summary.byPackage),
    '',
    ...table('our functions (inclusive time)', summary.oursInclusive),
    '',
    'Inclusive time counts everything below a function, including the `next()` continuation that a binding calls from its own callback (so a middleware callback includes the route handler and the response write after it).',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top, skipMs] = process.argv.slice(2);
  if (file === undefined) {
    console.error('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [top] [skip-ms]');
    process.exit(2);
  }
  console.log(profileMarkdown(summariseProfile(file, top === undefined ? 15 : Number(top), skipMs === undefined ? 0 : Number(skipMs))));
}
