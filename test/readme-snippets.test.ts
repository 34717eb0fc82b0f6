/**
 * README code that claims to compile does: every ```ts block preceded by `<!-- typecheck -->` in
 * the READMEs is written to `test-results/readme-snippets/` and compiled with the repository's own
 * compiler options (strict, NodeNext, workspace packages resolved to their sources), against the
 * real `express`, `koa`, `express-openid-connect`, `passport` and `openid-client` types.
 *
 * The snippets may use what a README leaves to the reader, declared once in `prelude.d.ts`:
 * `anon` (the engine), `users` (the host's user store) and `provision(claims)` (the host's
 * just-in-time user record).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT = join(ROOT, 'test-results', 'readme-snippets');
const MARKED_BLOCK = /<!-- typecheck -->\r?\n```ts\r?\n([\s\S]*?)\r?\n```/g;

const PRELUDE = `// What the README snippets leave to the reader.
declare const anon: import('@anonymous-sessions/core').AnonymousSessions;
declare const users: import('@anonymous-sessions/core').UsersAdapter;
/** The host's just-in-time user record for a verified ID token, and whether it is new. */
declare function provision(claims: import('@anonymous-sessions/core').IdTokenClaims): { userId: string; isNewUser: boolean };
`;

async function readmes(): Promise<string[]> {
  const found = [join(ROOT, 'README.md')];
  for (const folder of ['packages', 'examples']) {
    for (const entry of await readdir(join(ROOT, folder))) {
      const file = join(ROOT, folder, entry, 'README.md');
      if (existsSync(file)) found.push(file);
    }
  }
  return found;
}

interface Snippet {
  readme: string;
  index: number;
  file: string;
  code: string;
}

async function snippets(): Promise<Snippet[]> {
  const all: Snippet[] = [];
  for (const readme of await readmes()) {
    const text = await readFile(readme, 'utf8');
    let index = 0;
    for (const match of text.matchAll(MARKED_BLOCK)) {
      index += 1;
      const name = `${relative(ROOT, readme).replace(/[\\/]/g, '_').replace(/\.md$/, '')}-${index}.ts`;
      // `export {}` keeps each snippet a module (its own scope) even if it imports nothing.
      all.push({ readme: relative(ROOT, readme), index, file: join(OUT, name), code: `${match[1]!}\nexport {};\n` });
    }
  }
  return all;
}

/** Compiles `files` with the repository's compiler options; returns the formatted diagnostics. */
function compile(files: string[]): string[] {
  const parsed = ts.parseJsonConfigFileContent(
    { extends: relative(OUT, join(ROOT, 'tsconfig.base.json')).replace(/\\/g, '/'), compilerOptions: { noEmit: true }, files },
    ts.sys,
    OUT,
  );
  expect(parsed.errors.map((error) => ts.flattenDiagnosticMessageText(error.messageText, '\n'))).toEqual([]);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const where = diagnostic.file
      ? `${relative(ROOT, diagnostic.file.fileName)}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}`
      : '';
    return `${where} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
  });
}

describe('README snippets', () => {
  it('every block marked <!-- typecheck --> compiles (strict, NodeNext) against the workspace packages', { timeout: 120_000 }, async () => {
    const found = await snippets();
    // The login-stack sections at least: express-openid-connect and Passport, Koa + openid-client.
    const per = (readme: string) => found.filter((snippet) => snippet.readme === readme).length;
    expect(per(join('packages', 'express', 'README.md'))).toBeGreaterThanOrEqual(2);
    expect(per(join('packages', 'koa', 'README.md'))).toBeGreaterThanOrEqual(1);

    await rm(OUT, { recursive: true, force: true });
    await mkdir(OUT, { recursive: true });
    await writeFile(join(OUT, 'prelude.d.ts'), PRELUDE);
    // A control that must fail, so a checker that checks nothing cannot pass.
    await writeFile(join(OUT, 'control.ts'), `const wrong: number = 'not a number';\nexport { wrong };\n`);
    for (const snippet of found) await writeFile(snippet.file, snippet.code);

    const diagnostics = compile([join(OUT, 'prelude.d.ts'), join(OUT, 'control.ts'), ...found.map((snippet) => snippet.file)]);
    const control = diagnostics.filter((line) => line.includes('control.ts'));
    expect(control.join('\n')).toContain("Type 'string' is not assignable to type 'number'");
    expect(diagnostics.filter((line) => !line.includes('control.ts'))).toEqual([]);
  });
});
