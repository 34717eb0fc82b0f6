/**
 * The built declarations as an app compiles them, with `skipLibCheck: false` (so every `.d.ts` is
 * checked): `@anonymous-sessions/express` alone, and together with `express-oauth2-jwt-bearer`,
 * whose `Express.Request.auth` used to clash with ours (TS2717); `@anonymous-sessions/fetch` on Hono
 * and in plain route handlers. Needs the packages built
 * (`npm run build`, which `npm test` runs first).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));

async function compile(project: string): Promise<string> {
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', fileURLToPath(new URL(`./${project}/tsconfig.json`, import.meta.url))], { cwd: root });
    return '';
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}

describe('declarations, skipLibCheck: false', () => {
  it('the packages are built', () => {
    expect(existsSync(new URL('../../packages/express/dist/index.d.ts', import.meta.url))).toBe(true);
  });

  it('an app using @anonymous-sessions/express alone compiles (req.auth as the README uses it)', async () => {
    expect(await compile('express-only')).toBe('');
  }, 120_000);

  it('an app importing express-oauth2-jwt-bearer and @anonymous-sessions/express compiles (no TS2717 on req.auth)', async () => {
    expect(await compile('eoj2b-coexist')).toBe('');
  }, 120_000);

  it('an app on Hono and plain route handlers with @anonymous-sessions/fetch compiles (c.get(\'auth\') typed through ContextVariableMap)', async () => {
    expect(existsSync(new URL('../../packages/fetch/dist/hono.d.ts', import.meta.url))).toBe(true);
    expect(await compile('fetch-hono')).toBe('');
  }, 120_000);
});
