/**
 * What a host bundles stays small (issue 13): the core main entry, bundled and minified the way
 * bench/size.ts does it, under 150 KB — zod enters as `zod/mini` (tree-shaken, one locale), and
 * neither the CLI nor the test kit is reachable from it.
 */
import { describe, expect, it } from 'vitest';
import { ENTRIES, measure } from '../../../bench/size.js';

describe('bundle size', () => {
  it('the core main entry is under 150 KB minified, with no CLI, test kit or classic zod in it', async () => {
    const core = await measure({ name: '@anonymous-sessions/core', source: 'packages/core/src/index.ts', peers: [] });
    expect(core.minifiedBytes).toBeLessThan(150 * 1024);
    expect(core.inputs.filter((input) => /src\/(cli|testing)\b|vitest|zod\/v4\/classic/.test(input))).toEqual([]);
  });

  // `import { z } from 'zod/mini'` keeps the whole namespace (~420 KB): every module must write
  // `import * as z from 'zod/mini'`, so zod stays a few tens of KB in whatever a host bundles.
  it.each(ENTRIES.map((entry) => [entry.name, entry] as const))('%s bundles at most 50 KB of zod', async (_name, entry) => {
    const result = await measure(entry);
    const zod = result.top.find((contributor) => contributor.input === 'zod')?.bytes ?? 0;
    expect(zod).toBeLessThan(50 * 1024);
  });
});
