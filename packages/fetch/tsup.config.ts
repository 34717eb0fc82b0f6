import { defineConfig } from 'tsup';

/**
 * Two entries: the fetch binding (`.`) and its Hono middleware (`./hono`). ESM + CJS + d.ts, as
 * the other bindings; core and hono stay external, so the app's own copies are used.
 */
export default defineConfig({
  entry: { index: 'src/index.ts', hono: 'src/hono.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  target: 'node20',
});
