/**
 * Re-renders the outputs of a recorded run without measuring again: reads
 * `bench/results/<name>.json` (default `latest`) and rewrites its chart and Markdown (for `latest`:
 * `bench/chart.svg` and the results section of `bench/README.md`). For changes to the report's
 * layout; the figures stay exactly as measured.
 *
 *   node --import tsx bench/render.ts [latest|quick|partial]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { writeOutputs, type RunResults } from './report.js';

const name = process.argv[2] ?? 'latest';
if (!/^[a-z-]+$/.test(name)) throw new Error(`not a results name: ${name}`);
const results = JSON.parse(readFileSync(fileURLToPath(new URL(`./results/${name}.json`, import.meta.url)), 'utf8')) as RunResults;
for (const path of writeOutputs(results, name, { perRunCopy: false })) console.log(`written: ${path}`);
