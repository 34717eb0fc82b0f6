import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

export default defineConfig({
  resolve: {
    // Workspace packages resolve to their TypeScript source in tests, never to a stale build:
    // @anonymous-sessions/<name> → packages/<name>/src/index.ts, and /<sub> → src/<sub>.ts.
    alias: [
      { find: /^@anonymous-sessions\/([a-z0-9-]+)$/, replacement: `${packages}$1/src/index.ts` },
      { find: /^@anonymous-sessions\/([a-z0-9-]+)\/([a-z0-9-]+)$/, replacement: `${packages}$1/src/$2.ts` },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
