import { defineConfig } from 'tsup';

/**
 * The build of a single-entry library package (express, koa, redis, postgres), run from the
 * package's folder: ESM + CJS + d.ts. Dependencies and peer dependencies stay external (tsup's
 * default), so the framework or driver is always the host's own copy.
 */
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  target: 'node20',
});
