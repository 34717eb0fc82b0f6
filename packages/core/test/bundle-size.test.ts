/**
 * What a host bundles stays small (issue 13): the core main entry, bundled and minified the way
 * bench/size.ts does it, under 150 KB — zod enters as `zod/mini` (tree-shaken, one locale), and
 * neither the CLI nor the test kit is reachable from it.
 */
import { describe, expect, it } from 'vitest';
import { measure } from '../../../bench/size.js';

describe('bundle size', () => {
  it('the core main entry is under 150 KB minified, with no CLI, test kit or classic zod in it', async () => {
    const core = await measure({ name: '@anonymous-sessions/core', source: 'packages/core/src/index.ts', peers: [] });
    expect(core.minifiedBytes).toBeLessThan(150 * 1024);
    expect(core.inputs.filter((input) => /src\/(cli|testing)\b|vitest|zod\/v4\/classic/.test(input))).toEqual([]);
  });
});
