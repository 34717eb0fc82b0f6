import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // `index` is for hosts, `http` for binding authors (`@anonymous-sessions/core/http`), and
    // `testing` is the conformance kit (`@anonymous-sessions/core/testing`); only it imports vitest.
    entry: { index: 'src/index.ts', http: 'src/http.ts', testing: 'src/testing.ts' },
    format: ['esm', 'cjs'],
    external: ['vitest'],
    dts: true,
    sourcemap: true,
    target: 'node20',
  },
  {
    entry: { cli: 'src/cli/bin.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: false,
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
