import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of packages/core/src, lowest first. A module may import from its own folder and from
 * the folders before it, never from a later one (`guard` and `http` are siblings: neither imports
 * the other); the entry files (index.ts, http.ts, testing.ts) sit above them all and nothing in a
 * layer imports them. The layer picture is in docs/architecture.md.
 */
const CORE_LAYERS = ['errors', 'internal', 'metadata', 'keys', 'tokens', 'store', 'transfer', 'engine', 'exchange', 'guard', 'http', 'cli'];
const CORE_ENTRIES = ['index', 'http', 'testing'];
/** What core never imports: a framework, a store driver, Node's HTTP server, or another package. */
const CORE_FORBIDDEN_MESSAGE = 'packages/core never imports a framework, a store driver or node:http: bindings and adapters translate.';
const CORE_FORBIDDEN_PATHS = ['express', 'koa', 'ioredis', 'pg', 'node:http', 'http', 'node:https', 'https', 'node:http2', 'http2'].map((name) => ({
  name,
  message: CORE_FORBIDDEN_MESSAGE,
}));
const CORE_FORBIDDEN_PATTERNS = { group: ['express/*', 'koa/*', '@koa/*', 'ioredis/*', 'pg/*', '@anonymous-sessions/*'], message: CORE_FORBIDDEN_MESSAGE };
/**
 * The request path of core (every layer but cli/) runs on any fetch runtime (edge workers, Deno,
 * Bun): no Node built-in module and no `Buffer`, only Web APIs. The CLI, the test kit and the store
 * packages may use Node.
 */
const PORTABLE_MESSAGE = 'core\'s request path runs on any fetch runtime: use Web APIs (TextEncoder/TextDecoder, Uint8Array, crypto.getRandomValues), never a Node built-in.';
const NODE_BUILTINS = builtinModules.filter((name) => !name.startsWith('_'));
const PORTABLE_PATHS = NODE_BUILTINS.map((name) => ({ name, message: PORTABLE_MESSAGE }));
const PORTABLE_PATTERNS = { group: ['node:*', ...NODE_BUILTINS.map((name) => `${name}/*`)], message: PORTABLE_MESSAGE };

function coreLayerRule(layer) {
  const index = CORE_LAYERS.indexOf(layer);
  const above = CORE_LAYERS.slice(index + 1).filter((other) => !(layer === 'guard' && other === 'http'));
  const sibling = layer === 'http' ? ['guard'] : [];
  const banned = [...above, ...sibling];
  const below = CORE_LAYERS.slice(0, index).filter((other) => !sibling.includes(other));
  return {
    files: [`packages/core/src/${layer}/**/*.ts`],
    rules: {
      ...(layer === 'cli' ? {} : { 'no-restricted-globals': ['error', { name: 'Buffer', message: PORTABLE_MESSAGE }] }),
      'no-restricted-imports': [
        'error',
        {
          paths: [...CORE_FORBIDDEN_PATHS, ...(layer === 'cli' ? [] : PORTABLE_PATHS.filter((path) => !CORE_FORBIDDEN_PATHS.some((forbidden) => forbidden.name === path.name)))],
          patterns: [
            CORE_FORBIDDEN_PATTERNS,
            ...(layer === 'cli' ? [] : [PORTABLE_PATTERNS]),
            {
              group: [...banned.flatMap((other) => [`../${other}/*`, `../../${other}/*`]), ...CORE_ENTRIES.flatMap((entry) => [`../${entry}.js`, `../../${entry}.js`])],
              message: `${layer}/ may import only from its own folder${below.length > 0 ? ` and ${below.map((other) => `${other}/`).join(', ')}` : ''}: imports run down the layers (docs/architecture.md).`,
            },
            ...(layer === 'cli' ? [] : [{ group: ['vitest', 'vitest/*'], message: 'only the test kit (testing.ts, testing/) imports vitest.' }]),
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // The demo pages' scripts run in the browser.
    files: ['examples/*/public/**/*.js'],
    languageOptions: {
      globals: { document: 'readonly', window: 'readonly', fetch: 'readonly', localStorage: 'readonly', console: 'readonly' },
    },
  },
  {
    // Plain-JavaScript files the consumer test runs in its fresh apps with Node.
    files: ['test/consumer/fixtures/**/*.{cjs,mjs}'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/consumer/fixtures/**/*.mjs'],
    languageOptions: { sourceType: 'module' },
  },
  {
    // Functions a reader takes in at once: a factory's closures count toward it, so they live at
    // module level with names (issue 12). The conformance kit's case trees are exempt.
    files: ['packages/*/src/**/*.ts'],
    ignores: ['packages/core/src/testing/**', 'packages/core/src/testing.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 120, skipBlankLines: true, skipComments: true }] },
  },
  ...CORE_LAYERS.map(coreLayerRule),
  {
    // The entry files and the test kit: anything in core, never a framework or a driver.
    files: ['packages/core/src/*.ts', 'packages/core/src/testing/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: CORE_FORBIDDEN_PATHS, patterns: [CORE_FORBIDDEN_PATTERNS] },
      ],
    },
  },
  {
    // The fetch binding runs where core's request path runs (edge runtimes included): Web APIs
    // only, and it only translates — core's binding entry, the main entry for re-exports, hono.
    files: ['packages/fetch/src/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', { name: 'Buffer', message: PORTABLE_MESSAGE }],
      'no-restricted-imports': [
        'error',
        {
          paths: PORTABLE_PATHS,
          patterns: [
            PORTABLE_PATTERNS,
            { regex: '^(?!@anonymous-sessions/core(/http)?$|hono(/|$)|\\.)', message: 'the fetch binding imports only @anonymous-sessions/core/http (and the main entry for re-exports) and hono.' },
          ],
        },
      ],
    },
  },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
);
