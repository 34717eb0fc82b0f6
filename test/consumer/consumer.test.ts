/**
 * The packages as a user gets them (slow: about 2–4 minutes; it installs from the npm registry).
 *
 * Every package is packed with `npm pack` and installed, from the tarballs, into fresh apps in the
 * system's temporary directory — outside this repository, so nothing resolves to the workspace —
 * with npm and with pnpm (pnpm's strict layout only exposes what an app depends on):
 *
 * - `express-esm`: Express 5, ESM, TypeScript strict + NodeNext; every store and the client.
 * - `express4-cjs`: Express 4 in CommonJS, with only `@anonymous-sessions/express` installed.
 * - `koa-esm`: Koa 3 + `@koa/router`, TypeScript; the stores with ioredis 5 and without `@types/pg`.
 * - `hono-esm`: Hono 4 on `@hono/node-server` with `@anonymous-sessions/fetch` (and its `/hono`
 *   entry), TypeScript; the fetch README's Next.js route files compile here too (no `next` needed).
 *
 * In each app: the install is clean (`npm ls --all`, strict peer dependencies under pnpm, a later
 * `npm install` still works), every ```ts block of every README compiles (strict, NodeNext)
 * against the packed packages, the README's quick start runs word for word and answers over HTTP
 * (a guest token, a guarded route, a guest refused at checkout), the Express and Koa READMEs'
 * deployment examples run too (under `/auth`: discovery and JWKS answer; behind nginx-style
 * headers with the README's proxy trust, a cookie request from the site succeeds), and the CLI
 * runs as the README says. The tarballs themselves carry LICENSE, CHANGELOG, README and every file their `exports`
 * name.
 *
 * It needs the npm registry: without it the cases are skipped loudly, except under CI=true.
 * SKIP_CONSUMER_TEST=1 skips them the same way (for quick local runs; never in CI), and
 * KEEP_CONSUMER_APPS=1 keeps the apps in the temporary directory to look into.
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { constants } from 'node:fs';
import { access, chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithService, type Availability } from '../support/services.js';
import {
  blockModule,
  exportedNames,
  extractBlocks,
  importedPackages,
  mapDiagnostics,
  readmeFiles,
  type ReadmeBlock,
} from './readme-blocks.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const PNPM = join(ROOT, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs');
const PACKAGES = ['core', 'express', 'koa', 'fetch', 'redis', 'postgres', 'client'] as const;
type PackageName = (typeof PACKAGES)[number];
type PackageManager = 'npm' | 'pnpm';
type AppName = 'express-esm' | 'express4-cjs' | 'koa-esm' | 'hono-esm';

const INSTALL_TIMEOUT = 240_000;

// ---------------------------------------------------------------------------------------------
// Processes

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a fresh shell: none of the npm_* settings of the `npm test` running us. */
function cleanEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'INIT_CWD' && key !== 'NODE_OPTIONS') env[key] = value;
  }
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
}

function run(command: string, args: readonly string[], options: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? cleanEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} (in ${options.cwd}) did not finish within ${options.timeoutMs} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const describeRun = (what: string, result: RunResult): string => `${what} exited with ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;

async function mustRun(what: string, command: string, args: readonly string[], options: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new Error(describeRun(what, result));
  return result;
}

// ---------------------------------------------------------------------------------------------
// Availability: the registry must answer (installs fetch express, koa, drivers and types).

async function registryAvailability(): Promise<Availability> {
  if (process.env.SKIP_CONSUMER_TEST === '1') return { ok: false, reason: 'SKIP_CONSUMER_TEST=1' };
  try {
    const result = await run('npm', ['ping'], { cwd: tmpdir(), timeoutMs: 30_000 });
    return result.code === 0 ? { ok: true } : { ok: false, reason: `npm ping failed: ${result.stderr.trim().split('\n').at(-1) ?? ''}` };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

// ---------------------------------------------------------------------------------------------
// Build and pack

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = 0;
  for (const entry of await readdir(path)) newest = Math.max(newest, await newestMtime(join(path, entry)));
  return newest;
}

async function oldestMtime(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let oldest = Number.POSITIVE_INFINITY;
  for (const entry of await readdir(path)) oldest = Math.min(oldest, await oldestMtime(join(path, entry)));
  return oldest;
}

/** `npm test` builds first; run on its own (`vitest run`), this builds when a dist is missing or stale. */
async function ensureBuilt(): Promise<void> {
  for (const name of PACKAGES) {
    const folder = join(ROOT, 'packages', name);
    const dist = join(folder, 'dist');
    const fresh = await access(dist, constants.R_OK)
      .then(async () => (await oldestMtime(dist)) >= Math.max(await newestMtime(join(folder, 'src')), await newestMtime(join(folder, 'package.json'))))
      .catch(() => false);
    if (!fresh) {
      await mustRun('npm run build', 'npm', ['run', 'build'], { cwd: ROOT, timeoutMs: 300_000, env: process.env });
      return;
    }
  }
}

interface PackedPackage {
  name: string;
  version: string;
  filename: string;
  files: { path: string }[];
}

// ---------------------------------------------------------------------------------------------
// The apps

interface AppSpec {
  name: AppName;
  type: 'module' | 'commonjs';
  packages: PackageName[];
  dependencies: (manager: PackageManager) => Record<string, string>;
  /** Fixture files copied in: fixture name → path in the app. */
  files: Record<string, string>;
  /** Extra TypeScript files of the app to compile with the README blocks. */
  sources: string[];
}

const APPS: Record<AppName, AppSpec> = {
  'express-esm': {
    name: 'express-esm',
    type: 'module',
    packages: ['core', 'express', 'redis', 'postgres', 'client'],
    dependencies: () => ({
      express: '^5.1.0',
      ioredis: '^6.0.0', // what `npm install ioredis` picks today
      pg: '^8.11.0',
      '@types/express': '^5.0.0',
      '@types/node': '^20.19.0',
      '@types/pg': '^8.11.0', // the README's TypeScript line: for the app's own `import pg from 'pg'`
      // the login stacks of the Express README's "Login stacks" section
      'express-openid-connect': '^3.4.0',
      'express-session': '^1.19.0',
      'openid-client': '^6.9.0',
      passport: '^0.7.0',
      '@types/express-session': '^1.18.0',
      '@types/passport': '^1.0.0',
    }),
    files: { 'my-store.ts': 'src/my-store.ts' },
    sources: ['src'],
  },
  'express4-cjs': {
    name: 'express4-cjs',
    type: 'commonjs',
    packages: ['express'],
    dependencies: () => ({ express: '^4.21.0' }),
    files: { 'express4-quick-start.cjs': 'quick-start.cjs' },
    sources: [],
  },
  'koa-esm': {
    name: 'koa-esm',
    type: 'module',
    packages: ['core', 'koa', 'redis', 'postgres'],
    dependencies: () => ({
      koa: '^3.0.0',
      '@koa/router': '^15.0.0',
      ioredis: '^5.0.0',
      pg: '^8.11.0', // and no @types/pg: the store's own declarations must bring it
      '@types/koa': '^3.0.0',
      '@types/node': '^20.19.0',
      'openid-client': '^6.9.0', // the Koa README's login stack
    }),
    files: { 'stores-types.ts': 'src/stores-types.ts' },
    sources: ['src'],
  },
  'hono-esm': {
    name: 'hono-esm',
    type: 'module',
    packages: ['core', 'fetch', 'redis'],
    dependencies: () => ({
      hono: '^4.6.0',
      '@hono/node-server': '^2.0.0',
      ioredis: '^5.0.0', // the Next.js section's lib/anon.ts
      'openid-client': '^6.9.0', // the fetch README's login with openid-client
      '@types/node': '^20.19.0',
    }),
    files: {},
    sources: [],
  },
};

/** Which app compiles a README's blocks, and which prelude they draw on (a fetch-binding block elsewhere, e.g. the root README's Hono section, goes to the Hono app). */
function homeOf(readme: string, code = ''): { app: AppName; prelude: string } {
  if (readme.startsWith('packages/koa/')) return { app: 'koa-esm', prelude: 'prelude-koa' };
  if (readme.startsWith('packages/fetch/') || importedPackages(code).includes('@anonymous-sessions/fetch')) return { app: 'hono-esm', prelude: 'prelude-fetch' };
  if (readme.startsWith('packages/client/')) return { app: 'express-esm', prelude: 'prelude-client' };
  return { app: 'express-esm', prelude: 'prelude-express' };
}

/**
 * The README block each app runs as its deployment example: the first block of that README that
 * listens and mounts the router under `/auth`, behind a proxy (see exerciseDeployment).
 */
const DEPLOY_EXAMPLES: Partial<Record<AppName, string>> = {
  'express-esm': 'packages/express/README.md',
  'koa-esm': 'packages/koa/README.md',
  'hono-esm': 'packages/fetch/README.md',
};

/** The README's quick start each app runs (the first block of that README that listens). */
const QUICK_STARTS: Record<AppName, { readme: string } | { file: string }> = {
  'express-esm': { readme: 'README.md' },
  'express4-cjs': { file: 'quick-start.cjs' },
  'koa-esm': { readme: 'packages/koa/README.md' },
  'hono-esm': { readme: 'packages/fetch/README.md' },
};

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2023', 'DOM'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    skipLibCheck: true, // what `tsc --init` sets; the packages' own declarations are still what the blocks are checked against
    types: ['node'],
  },
};

interface InstalledApp {
  spec: AppSpec;
  manager: PackageManager;
  dir: string;
  installOutput: string;
}

async function createApp(base: string, tarballs: Map<string, string>, spec: AppSpec, manager: PackageManager): Promise<InstalledApp> {
  const dir = join(base, `${spec.name}-${manager}`);
  await mkdir(dir, { recursive: true });
  const ours = Object.fromEntries(spec.packages.map((name) => [`@anonymous-sessions/${name}`, `file:${tarballs.get(name)!}`]));
  // Not published yet: every @anonymous-sessions/* a package depends on must come from a tarball,
  // never from the registry (where the names do not exist).
  const overrides = Object.fromEntries(PACKAGES.map((name) => [`@anonymous-sessions/${name}`, `file:${tarballs.get(name)!}`]));
  const manifest = {
    name: `consumer-${spec.name}`,
    private: true,
    type: spec.type,
    dependencies: { ...ours, ...spec.dependencies(manager) },
    ...(manager === 'pnpm' ? { pnpm: { overrides } } : { overrides }),
  };
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(dir, 'tsconfig.json'), `${JSON.stringify(TSCONFIG, null, 2)}\n`);
  for (const [fixture, target] of Object.entries(spec.files)) {
    await mkdir(dirname(join(dir, target)), { recursive: true });
    await copyFile(join(FIXTURES, fixture), join(dir, target));
  }
  const result =
    manager === 'npm'
      ? await mustRun(`npm install (${spec.name})`, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, timeoutMs: INSTALL_TIMEOUT })
      : await mustRun(
          `pnpm install (${spec.name})`,
          process.execPath,
          [PNPM, 'install', '--prefer-offline', '--no-frozen-lockfile', '--config.strict-peer-dependencies=true', '--reporter=append-only'],
          { cwd: dir, timeoutMs: INSTALL_TIMEOUT },
        );
  return { spec, manager, dir, installOutput: `${result.stdout}\n${result.stderr}` };
}

// ---------------------------------------------------------------------------------------------
// README blocks

const ALL_BLOCKS: ReadmeBlock[] = readmeFiles(ROOT).flatMap((file) => extractBlocks(ROOT, file));

async function preludeNames(prelude: string): Promise<Set<string>> {
  return exportedNames(await readFile(join(FIXTURES, `${prelude}.ts`), 'utf8'));
}

/** Writes the blocks that `app` compiles into `<app>/readme/`, with their preludes. */
async function writeBlocks(app: InstalledApp): Promise<ReadmeBlock[]> {
  const folder = join(app.dir, 'readme');
  await rm(folder, { recursive: true, force: true });
  await mkdir(folder, { recursive: true });
  const blocks = ALL_BLOCKS.filter((block) => block.skipReason === undefined && homeOf(block.readme, block.code).app === app.spec.name);
  for (const block of blocks) {
    const { prelude } = homeOf(block.readme, block.code);
    await copyFile(join(FIXTURES, `${prelude}.ts`), join(folder, `${prelude}.ts`));
    await writeFile(join(folder, `${block.slug}.ts`), blockModule(block, await preludeNames(prelude), `./${prelude}.js`));
  }
  return blocks;
}

/** The package directory an app resolves a bare name to (both managers link direct dependencies there). */
async function hasPackage(app: InstalledApp, name: string): Promise<boolean> {
  return access(join(app.dir, 'node_modules', name, 'package.json'), constants.R_OK).then(
    () => true,
    () => false,
  );
}

// ---------------------------------------------------------------------------------------------
// The quick start over HTTP

async function startServer(cwd: string, file: string): Promise<{ url: string; stop: () => Promise<void>; output: () => string }> {
  const child = spawn(process.execPath, ['--import', join(FIXTURES, 'listen-on-free-port.mjs'), file], {
    cwd,
    env: cleanEnvironment(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not listen within 30 s\n${stdout}\n${stderr}`)), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /LISTENING (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code}\n${stdout}\n${stderr}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => `${stdout}\n${stderr}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** What the README's curl lines and guarded routes promise. */
async function exerciseQuickStart(url: string): Promise<void> {
  const json = { 'content-type': 'application/json' };
  const created = await fetch(`${url}/anonymous/token`, { method: 'POST', headers: json, body: JSON.stringify({ client_id: 'shop-web' }) });
  expect(created.status).toBe(200);
  const tokens = (await created.json()) as { session_token: string; access_token: string; token_type: string; expires_in: number };
  expect(tokens).toMatchObject({ token_type: 'Bearer', session_token: expect.any(String), access_token: expect.any(String) });
  expect(created.headers.get('set-cookie')).toMatch(/^anon=/);

  const continued = await fetch(`${url}/anonymous/token`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ client_id: 'shop-web', session_token: tokens.session_token, metadata: { language: 'en' } }),
  });
  expect(continued.status).toBe(200);

  const bearer = { authorization: `Bearer ${tokens.access_token}` };
  const products = await fetch(`${url}/api/products`, { headers: bearer });
  expect(products.status).toBe(200);
  expect(await products.json()).toEqual({ guest: true });

  const checkout = await fetch(`${url}/api/checkout`, { method: 'POST', headers: bearer });
  expect(checkout.status).toBe(403);
  expect(await checkout.json()).toMatchObject({ error: 'insufficient_user_authentication' });

  const noToken = await fetch(`${url}/api/products`);
  expect(noToken.status).toBe(401);
  expect(noToken.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);

  const jwks = await fetch(`${url}/.well-known/jwks.json`);
  expect(jwks.status).toBe(200);
  expect(((await jwks.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
}

/** A POST through `node:http`, which (unlike fetch) sends the `Host` a proxy would. */
function postThroughProxy(url: string, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; setCookie: string[] }> {
  return new Promise((resolve, reject) => {
    const target = new URL(path, url);
    const req = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        res.resume();
        res.once('end', () => resolve({ status: res.statusCode ?? 0, setCookie: res.headers['set-cookie'] ?? [] }));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

/**
 * What the README's deployment example promises: under `/auth`, discovery names URLs that answer;
 * behind nginx (Host rewritten to the upstream, X-Forwarded-Host/Proto/For) with the README's proxy
 * trust, the site's own cookie request succeeds with a Secure cookie; without the proxy's headers
 * the same page is refused.
 */
async function exerciseDeployment(url: string): Promise<void> {
  const discovery = await fetch(`${url}/auth/.well-known/openid-configuration`);
  expect(discovery.status).toBe(200);
  const document = (await discovery.json()) as { issuer: string; jwks_uri: string; anonymous_token_endpoint: string };
  expect(document.issuer).toBe('https://shop.example.com/auth/');
  expect(document.jwks_uri).toBe('https://shop.example.com/auth/.well-known/jwks.json');
  const jwks = await fetch(`${url}${new URL(document.jwks_uri).pathname}`);
  expect(jwks.status).toBe(200);
  expect(((await jwks.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);

  const site = { Origin: 'https://shop.example.com', 'Sec-Fetch-Site': 'same-origin' };
  const nginx = { Host: '127.0.0.1:3000', 'X-Forwarded-Host': 'shop.example.com', 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '203.0.113.7' };
  const body = JSON.stringify({ client_id: 'shop-web' });
  const proxied = await postThroughProxy(url, new URL(document.anonymous_token_endpoint).pathname, { ...nginx, ...site }, body);
  expect(proxied.status).toBe(200);
  expect(proxied.setCookie.join('\n')).toMatch(/^anon=[^;]+;.*\bSecure\b/m);
  const direct = await postThroughProxy(url, '/auth/anonymous/token', { Host: '127.0.0.1:3000', ...site }, body);
  expect(direct.status).toBe(403);
}

/** A block that starts a server: `app.listen(…)`, or `serve({ fetch: app.fetch })` on `@hono/node-server`. */
const LISTENS = /\.listen\(|\bserve\(\{/;

/**
 * A README block an app runs, transpiled to JavaScript word for word: no prelude, so a block that
 * leans on names it does not define fails here. The quick start is the README's first block that
 * listens; `matches` picks another.
 */
async function writeQuickStart(app: InstalledApp, readme: string, matches: (code: string) => boolean = () => true, name = 'quick-start'): Promise<string> {
  const block = ALL_BLOCKS.find(
    (candidate) => candidate.readme === readme && candidate.skipReason === undefined && LISTENS.test(candidate.code) && matches(candidate.code),
  );
  if (!block) throw new Error(`${readme} has no ${name} block (a \`\`\`ts block that calls .listen() or Hono's serve())`);
  const folder = join(app.dir, name);
  await mkdir(folder, { recursive: true });
  const javascript = ts.transpileModule(blockModule(block, new Set(), ''), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  await writeFile(join(folder, `${name}.js`), javascript);
  return join(folder, `${name}.js`);
}

// ---------------------------------------------------------------------------------------------

const availability = await registryAvailability();

describeWithService('the npm registry (the consumer test installs from it)', availability, () => {
  describe('consumer (slow): the packed packages in fresh apps, with npm and pnpm', () => {
    let base: string;
    let packed: PackedPackage[] = [];
    const tarballs = new Map<string, string>();
    const installs = new Map<string, Promise<InstalledApp>>();
    const install = (name: AppName, manager: PackageManager): Promise<InstalledApp> => installs.get(`${name}/${manager}`)!;

    beforeAll(async () => {
      base = await mkdtemp(join(tmpdir(), 'anon-consumer-'));
      await ensureBuilt();
      const destination = join(base, 'tarballs');
      await mkdir(destination);
      const result = await mustRun(
        'npm pack',
        'npm',
        ['pack', '--json', '--pack-destination', destination, ...PACKAGES.flatMap((name) => ['-w', `packages/${name}`])],
        { cwd: ROOT, timeoutMs: 120_000, env: { ...process.env, npm_config_loglevel: 'error' } },
      );
      packed = JSON.parse(result.stdout) as PackedPackage[];
      for (const entry of packed) tarballs.set(entry.name.replace('@anonymous-sessions/', ''), join(destination, entry.filename));
      // Both managers at once, each app after the other: installs wait on the network more than on
      // the CPU. Failures surface in the cases that await them.
      for (const manager of ['npm', 'pnpm'] as const) {
        let previous: Promise<unknown> = Promise.resolve();
        for (const spec of Object.values(APPS)) {
          const started = previous.then(() => createApp(base, tarballs, spec, manager));
          started.catch(() => undefined);
          installs.set(`${spec.name}/${manager}`, started);
          previous = started.catch(() => undefined);
        }
      }
    }, 420_000);

    afterAll(async () => {
      await Promise.allSettled([...installs.values()]);
      if (base && process.env.KEEP_CONSUMER_APPS === '1') console.warn(`consumer apps kept in ${base}`);
      else if (base) await rm(base, { recursive: true, force: true });
    }, 60_000);

    describe('the tarballs', () => {
      it('every package ships its LICENSE, CHANGELOG.md and README.md, and every file its manifest names', async () => {
        expect(packed.map((entry) => entry.name).sort()).toEqual(PACKAGES.map((name) => `@anonymous-sessions/${name}`).sort());
        for (const entry of packed) {
          const files = new Set(entry.files.map((file) => file.path));
          for (const required of ['LICENSE', 'CHANGELOG.md', 'README.md', 'package.json']) {
            expect(files.has(required), `${entry.name} ships ${required}`).toBe(true);
          }
          const manifest = JSON.parse(await readFile(join(ROOT, 'packages', entry.name.replace('@anonymous-sessions/', ''), 'package.json'), 'utf8')) as Record<string, unknown>;
          // every path the manifest points at — each exports condition, main, module, types, bin
          const targets: string[] = [];
          const collect = (value: unknown): void => {
            if (typeof value === 'string') targets.push(value);
            else if (value && typeof value === 'object') Object.values(value).forEach(collect);
          };
          collect(manifest.exports);
          collect([manifest.main, manifest.module, manifest.types, manifest.bin]);
          for (const target of targets) {
            expect(files.has(target.replace(/^\.\//, '')), `${entry.name}: ${target} is in the tarball`).toBe(true);
          }
          for (const field of ['license', 'repository', 'homepage', 'bugs', 'keywords']) {
            expect(manifest[field], `${entry.name} package.json has ${field}`).toBeTruthy();
          }
          expect(manifest.license).toBe('MIT');
        }
      });

      it('every package README starts with its install line', async () => {
        for (const name of PACKAGES) {
          const text = await readFile(join(ROOT, 'packages', name, 'README.md'), 'utf8');
          const lines = text.split('\n');
          expect(lines[0], `packages/${name}/README.md title`).toBe(`# @anonymous-sessions/${name}`);
          const firstContent = lines.slice(1).find((line) => line.trim() !== '');
          expect(firstContent, `packages/${name}/README.md: the first thing after the title is the install block`).toBe('```sh');
          const install = lines[lines.indexOf('```sh') + 1] ?? '';
          expect(install).toMatch(new RegExp(`^npm install .*@anonymous-sessions/${name}\\b`));
          // a binding or a store is used with the engine: the app installs both (pnpm exposes only direct dependencies)
          if (name !== 'core' && name !== 'client') expect(install).toContain('@anonymous-sessions/core');
        }
      });
    });

    for (const manager of ['npm', 'pnpm'] as const) {
      describe(`with ${manager}`, () => {
        for (const spec of Object.values(APPS)) {
          it(`${spec.name}: installs cleanly`, async () => {
            const app = await install(spec.name, manager);
            expect(app.installOutput).not.toMatch(/ERESOLVE|invalid|conflicting peer|unmet peer|missing peer/i);
            if (manager === 'npm') {
              // a valid tree: a peer range that refused the installed driver would show here …
              await mustRun('npm ls --all', 'npm', ['ls', '--all'], { cwd: app.dir, timeoutMs: 60_000 });
              // … and would break every later install
              await mustRun('a second npm install', 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app.dir, timeoutMs: INSTALL_TIMEOUT });
            }
            for (const name of spec.packages) expect(await hasPackage(app, `@anonymous-sessions/${name}`)).toBe(true);
          }, INSTALL_TIMEOUT * 3);

          if (spec.type === 'module') {
            it(`${spec.name}: every README \`\`\`ts block it hosts compiles (strict, NodeNext) against the packages`, async () => {
              const app = await install(spec.name, manager);
              const blocks = await writeBlocks(app);
              expect(blocks.length).toBeGreaterThan(0);
              for (const block of blocks) {
                for (const name of importedPackages(block.code)) {
                  expect(
                    await hasPackage(app, name),
                    `${block.readme}:${block.fenceLine} imports "${name}": add it to the ${spec.name} app in test/consumer/consumer.test.ts`,
                  ).toBe(true);
                }
              }
              const result = await run(process.execPath, [TSC, '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: app.dir, timeoutMs: 180_000 });
              expect(mapDiagnostics(`${result.stdout}${result.stderr}`, blocks).trim(), 'tsc errors').toBe('');
              expect(result.code).toBe(0);
            }, 240_000);
          }

          it(`${spec.name}: the quick start runs and answers over HTTP`, async () => {
            const app = await install(spec.name, manager);
            const quickStart = QUICK_STARTS[spec.name];
            const file = 'readme' in quickStart ? await writeQuickStart(app, quickStart.readme) : join(app.dir, quickStart.file);
            const server = await startServer(app.dir, file);
            try {
              await exerciseQuickStart(server.url);
            } catch (error) {
              throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- server output\n${server.output()}`);
            } finally {
              await server.stop();
            }
          }, 120_000);

          const deployExample = DEPLOY_EXAMPLES[spec.name];
          if (deployExample !== undefined) {
            it(`${spec.name}: the README's deployment example (under /auth, behind a proxy) answers discovery, JWKS and a proxied cookie request`, async () => {
              const app = await install(spec.name, manager);
              const file = await writeQuickStart(app, deployExample, (code) => code.includes("'/auth'"), 'deploy-example');
              const server = await startServer(app.dir, file);
              try {
                await exerciseDeployment(server.url);
              } catch (error) {
                throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- server output\n${server.output()}`);
              } finally {
                await server.stop();
              }
            }, 120_000);
          }
        }

        it('express-esm: the CLI runs as the README says, and writes key files with mode 0600', async () => {
          const app = await install('express-esm', manager);
          const bin = join(app.dir, 'node_modules', '.bin', 'anonymous-sessions');
          const manifest = JSON.parse(await readFile(join(ROOT, 'packages', 'core', 'package.json'), 'utf8')) as { version: string };
          expect((await mustRun('anonymous-sessions --version', bin, ['--version'], { cwd: app.dir, timeoutMs: 30_000 })).stdout).toBe(`${manifest.version}\n`);
          const unknown = await run(bin, ['keys', 'generate', '--outt', 'x.json'], { cwd: app.dir, timeoutMs: 30_000 });
          expect(unknown.code).toBe(2);
          expect(unknown.stderr).toContain('unknown option --outt');
          if (manager !== 'npm') return;

          // The README's `npx` lines, word for word, in the app (where the package is installed)
          const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
          const npxLines = readme.split('\n').filter((line) => line.startsWith('npx '));
          expect(npxLines.length).toBeGreaterThan(0);
          for (const line of npxLines) {
            const command = line.replace(/\s+#.*$/, '');
            expect(command, 'the README names the package, so the line also works where it is not installed').toMatch(/^npx -p @anonymous-sessions\/core anonymous-sessions /);
            await mustRun(command, 'sh', ['-c', command], { cwd: app.dir, timeoutMs: 60_000 });
          }
          const keyFile = /--out (\S+)/.exec(npxLines.join('\n'))?.[1];
          expect(keyFile).toBeDefined();
          expect((await stat(join(app.dir, keyFile!))).mode & 0o777).toBe(0o600);
          // an existing key file is never replaced without --force
          const again = await run('sh', ['-c', npxLines.find((line) => line.includes('--out'))!.replace(/\s+#.*$/, '')], { cwd: app.dir, timeoutMs: 60_000 });
          expect(again.code).toBe(1);
          expect(again.stderr).toContain('already exists');
          await chmod(join(app.dir, keyFile!), 0o644);
          await mustRun('rotate', bin, ['keys', 'rotate', '--file', keyFile!], { cwd: app.dir, timeoutMs: 30_000 });
          expect((await stat(join(app.dir, keyFile!))).mode & 0o777).toBe(0o600);

          // … and outside any project, where npx must fetch the package (here: its tarball)
          const outside = await mustRun('npx -p <tarball>', 'npx', ['--yes', '-p', tarballs.get('core')!, 'anonymous-sessions', '--version'], { cwd: base, timeoutMs: 120_000 });
          expect(outside.stdout.trim()).toBe(manifest.version);
        }, 240_000);
      });
    }
  });
});
