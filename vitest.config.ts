import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (name: string): string => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Workspace packages resolve to their TypeScript source in tests, never to a stale build.
    alias: [
      { find: /^@anonymous-sessions\/core$/, replacement: source('core') },
      { find: /^@anonymous-sessions\/express$/, replacement: source('express') },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
