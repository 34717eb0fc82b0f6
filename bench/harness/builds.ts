/**
 * The builds the measured processes load. Every process the harness starts runs our packages from
 * their built `dist`, the files a host installs, not from their TypeScript source: tsx's transform
 * names every function it creates at run time (`__name`), which the builds do not, so the sources
 * cost more per request than anything a user runs (in one process, the engine's issuance was ~8 µs
 * further from the hand-written jose issuer from source than from `dist`). The bench's own scripts
 * still run through tsx, with a tsconfig that maps nothing (`tsconfig.builds.json`), so a workspace
 * package resolves as in a host: through `node_modules` and its `exports`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The packages a benchmark process loads (the servers, the cluster workers, the cold start). */
export const MEASURED_PACKAGES = ['core', 'express', 'koa', 'redis'] as const;

/** The tsconfig the harness's processes run under: the repository's, without its source `paths`. */
export const buildsTsconfig = (benchDir: string): string => join(benchDir, 'tsconfig.builds.json');

/** Whether a module's URL (or path) is one of our packages' builds, not its source. */
export const isBuild = (url: string): boolean => /\/packages\/[^/]+\/dist\//.test(url);

/** The newest modification time under `dir` (files only), ms. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** The packages whose `dist` is missing or older than their sources. */
export function staleBuilds(root: string, packages: readonly string[] = MEASURED_PACKAGES): string[] {
  return packages.filter((name) => {
    try {
      return statSync(join(root, 'packages', name, 'dist', 'index.js')).mtimeMs < newest(join(root, 'packages', name, 'src'));
    } catch {
      return true;
    }
  });
}

/**
 * Builds the measured packages when a `dist` is missing or older than its sources (the whole
 * workspace build, so a package is never measured against an older build of the one it imports).
 */
export function ensureBuilt(root: string, log: (message: string) => void): void {
  const stale = staleBuilds(root);
  if (stale.length === 0) return;
  log(`building the packages (dist missing or older than src: ${stale.join(', ')})`);
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const still = staleBuilds(root);
  if (still.length > 0) throw new Error(`the build left ${still.join(', ')} without a current dist`);
}
