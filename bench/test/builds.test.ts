import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isBuild, staleBuilds } from '../harness/builds.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A workspace with one package whose source and build were last written at the given times (s). */
function workspace(packages: Record<string, { src: number; dist?: number }>): string {
  const root = mkdtempSync(join(tmpdir(), 'bench-builds-'));
  roots.push(root);
  for (const [name, { src, dist }] of Object.entries(packages)) {
    const source = join(root, 'packages', name, 'src', 'inner', 'index.ts');
    mkdirSync(join(source, '..'), { recursive: true });
    writeFileSync(source, '');
    utimesSync(source, src, src);
    if (dist !== undefined) {
      const built = join(root, 'packages', name, 'dist', 'index.js');
      mkdirSync(join(built, '..'), { recursive: true });
      writeFileSync(built, '');
      utimesSync(built, dist, dist);
    }
  }
  return root;
}

describe('the builds the measured processes load', () => {
  it('finds a package built after its last source change current', () => {
    expect(staleBuilds(workspace({ core: { src: 1_000, dist: 2_000 } }), ['core'])).toEqual([]);
  });

  it('finds a package whose source (in any folder) changed after its build stale, and one never built', () => {
    const root = workspace({ core: { src: 3_000, dist: 2_000 }, express: { src: 1_000 }, koa: { src: 1_000, dist: 2_000 } });
    expect(staleBuilds(root, ['core', 'express', 'koa'])).toEqual(['core', 'express']);
  });

  it('tells the build of a workspace package from its source by the URL a module resolved to', () => {
    expect(isBuild('file:///work/main/packages/core/dist/index.js')).toBe(true);
    expect(isBuild('file:///work/main/packages/core/src/index.ts')).toBe(false);
    expect(isBuild('file:///work/main/packages/express/dist/index.cjs')).toBe(true);
  });
});
