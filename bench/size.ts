/**
 * What a host bundles: each entry below is bundled the way a serverless or single-file deploy
 * bundles it (esbuild: minified, platform node, every dependency inlined; only Node's builtins and
 * the binding's framework, a peer dependency the host already has, stay external), and the minified
 * and gzipped sizes are printed with the largest contributors from esbuild's metafile.
 *
 *     node --import tsx bench/size.ts            # the table
 *     node --import tsx bench/size.ts --json     # the same as JSON
 *
 * Packages resolve to their TypeScript sources (as in the tests), so the figure is the source
 * tree's, with no build needed. Target (issue 13): the core main entry under 150 KB minified.
 *
 * @packageDocumentation
 */
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The core's main entry must stay under this, minified (issue 13). */
const CORE_TARGET_KB = 150;

/** One thing a host imports. */
export interface SizeEntry {
  /** How a host imports it. */
  name: string;
  /** The source module a host's import resolves to. */
  source: string;
  /** Peer dependencies the host already has (kept external, like Node's builtins). */
  peers: string[];
}

/** What a host imports: core's two entries and the bindings. */
export const ENTRIES: SizeEntry[] = [
  { name: '@anonymous-sessions/core', source: 'packages/core/src/index.ts', peers: [] },
  { name: '@anonymous-sessions/core/http', source: 'packages/core/src/http.ts', peers: [] },
  { name: '@anonymous-sessions/express', source: 'packages/express/src/index.ts', peers: ['express'] },
  { name: '@anonymous-sessions/fetch', source: 'packages/fetch/src/index.ts', peers: [] },
];

/** The workspace packages, resolved to their sources. */
const ALIASES: Record<string, string> = {
  '@anonymous-sessions/core/http': `${root}packages/core/src/http.ts`,
  '@anonymous-sessions/core/testing': `${root}packages/core/src/testing.ts`,
  '@anonymous-sessions/core': `${root}packages/core/src/index.ts`,
};

/** The measured size of one entry. */
export interface SizeResult {
  name: string;
  minifiedBytes: number;
  gzipBytes: number;
  /** The largest inputs (a dependency counted as one package), bytes in the minified output. */
  top: { input: string; bytes: number }[];
  /** Every module with code in the output. */
  inputs: string[];
}

/** Groups an input path by package (`node_modules/zod/...` → `zod`) or by core folder. */
function contributor(input: string): string {
  const modules = input.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const rest = input.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const source = /packages\/([^/]+)\/src\/(?:([^/]+)\/)?/.exec(input);
  if (source) return source[2] !== undefined && !source[2].endsWith('.ts') ? `${source[1]}/src/${source[2]}/` : `${source[1]}/src`;
  return input;
}

function topContributors(metafile: Metafile, count: number): { input: string; bytes: number }[] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const key = contributor(input);
      totals.set(key, (totals.get(key) ?? 0) + bytesInOutput);
    }
  }
  return [...totals].map(([input, bytes]) => ({ input, bytes })).sort((a, b) => b.bytes - a.bytes).slice(0, count);
}

/** Bundles one entry and measures it. */
export async function measure(entry: SizeEntry): Promise<SizeResult> {
  const result = await build({
    stdin: { contents: `export * from ${JSON.stringify(`${root}${entry.source}`)};`, resolveDir: root, loader: 'ts' },
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'silent',
    alias: ALIASES,
    external: [...builtinModules, ...builtinModules.map((name) => `node:${name}`), ...entry.peers, ...entry.peers.map((peer) => `${peer}/*`)],
  });
  const code = result.outputFiles[0]!.contents;
  const inputs = Object.values(result.metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs)
      .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
      .map(([input]) => input),
  );
  return {
    name: entry.name,
    minifiedBytes: code.byteLength,
    gzipBytes: gzipSync(code).byteLength,
    top: topContributors(result.metafile, 6),
    inputs,
  };
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  const results: SizeResult[] = [];
  for (const entry of ENTRIES) results.push(await measure(entry));
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(results.map(({ inputs: _inputs, ...result }) => result), null, 2));
  } else {
    for (const result of results) {
      console.log(`${result.name}: ${kb(result.minifiedBytes)} minified, ${kb(result.gzipBytes)} gzip`);
      for (const { input, bytes } of result.top) console.log(`    ${kb(bytes).padStart(9)}  ${input}`);
    }
  }
  const core = results[0]!;
  const verdict = core.minifiedBytes < CORE_TARGET_KB * 1024 ? 'meets' : 'misses';
  console.log(`core main entry ${verdict} the target: ${kb(core.minifiedBytes)} (target < ${CORE_TARGET_KB} KB minified)`);
  if (verdict === 'misses') process.exitCode = 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
