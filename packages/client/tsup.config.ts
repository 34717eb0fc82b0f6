import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // The package build: ESM + CJS with declarations, for bundlers and Node.
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    target: 'es2022',
    platform: 'neutral',
  },
  {
    // One minified ES module for <script type="module"> and CDNs; its gzipped size is in the README.
    entry: { browser: 'src/index.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: false,
    minify: true,
    target: 'es2022',
    platform: 'browser',
  },
]);
