/**
 * Every ```ts block of the READMEs, made checkable: the consumer test compiles each one as a module
 * of a fresh app (strict, NodeNext) against the packed packages, exactly as a reader would paste it.
 *
 * Blocks are picked up automatically from README.md, packages/*\/README.md and docs/*.md. A block
 * that is intentionally partial can be skipped with `<!-- not-checked: reason -->` on the line
 * before its fence — use it sparingly; fix a snippet that does not compile instead.
 *
 * A snippet may lean on the reader's own app (`app`, `router`, `anon`, `users`, `yourLogin`, …):
 * those names come from a prelude module (test/consumer/fixtures/prelude-*.ts), imported on the
 * block's first line — only the names the block uses and does not declare itself, so a block that
 * imports or declares `anon` gets its own. Line numbers therefore stay those of the README.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** One fenced TypeScript block of a README. */
export interface ReadmeBlock {
  /** The README, relative to the repository root, e.g. `packages/koa/README.md`. */
  readme: string;
  /** 1-based line of the opening fence. */
  fenceLine: number;
  /** The code between the fences. */
  code: string;
  /** Set when the block is marked `<!-- not-checked: reason -->`. */
  skipReason?: string;
  /** A file name for the block: `packages-koa-README-L87`. */
  slug: string;
}

const FENCE = /^```(ts|typescript)\s*$/;
const SKIP_MARKER = /^<!--\s*not-checked:\s*(.+?)\s*-->$/;

/** Every README the repository ships (the root one and one per package) and every page of docs/. */
export function readmeFiles(root: string): string[] {
  const packages = readdirSync(join(root, 'packages'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(root, 'packages', entry.name, 'README.md'))
    .filter((file) => {
      try {
        readFileSync(file);
        return true;
      } catch {
        return false;
      }
    });
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(root, 'docs', name));
  return [join(root, 'README.md'), ...packages.sort(), ...docs.sort()];
}

/** The ```ts / ```typescript blocks of one README. */
export function extractBlocks(root: string, file: string): ReadmeBlock[] {
  const readme = relative(root, file);
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    if (!FENCE.test(lines[index]!)) continue;
    const start = index;
    let end = index + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end += 1;
    if (end >= lines.length) throw new Error(`${readme}:${start + 1}: a \`\`\`ts block is never closed`);
    let previous = start - 1;
    while (previous >= 0 && lines[previous]!.trim() === '') previous -= 1;
    const skip = previous >= 0 ? SKIP_MARKER.exec(lines[previous]!.trim()) : null;
    blocks.push({
      readme,
      fenceLine: start + 1,
      code: lines.slice(start + 1, end).join('\n'),
      ...(skip ? { skipReason: skip[1]! } : {}),
      slug: `${readme.replace(/\.md$/, '').replace(/[^A-Za-z0-9]+/g, '-')}-L${start + 1}`,
    });
    index = end;
  }
  return blocks;
}

function bindingNames(name: ts.BindingName, into: Set<string>): void {
  if (ts.isIdentifier(name)) {
    into.add(name.text);
    return;
  }
  for (const element of name.elements) {
    if (ts.isBindingElement(element)) bindingNames(element.name, into);
  }
}

/** Names a module declares at its top level (imports, variables, functions, classes, types). */
export function declaredNames(code: string): Set<string> {
  const source = ts.createSourceFile('block.ts', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const names = new Set<string>();
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause?.name) names.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) for (const element of bindings.elements) names.add(element.name.text);
    } else if (ts.isImportEqualsDeclaration(statement)) {
      names.add(statement.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bindingNames(declaration.name, names);
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isEnumDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isModuleDeclaration(statement)) &&
      statement.name &&
      ts.isIdentifier(statement.name)
    ) {
      names.add(statement.name.text);
    }
  }
  return names;
}

/** Identifiers a module refers to (not property names such as the `b` of `a.b` or `{ b: 1 }`). */
export function referencedNames(code: string): Set<string> {
  const source = ts.createSourceFile('block.ts', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) {
      const parent = node.parent;
      const isPropertyName =
        (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        (ts.isQualifiedName(parent) && parent.right === node) ||
        ((ts.isPropertyAssignment(parent) ||
          ts.isPropertySignature(parent) ||
          ts.isPropertyDeclaration(parent) ||
          ts.isMethodDeclaration(parent) ||
          ts.isMethodSignature(parent) ||
          ts.isGetAccessor(parent) ||
          ts.isSetAccessor(parent) ||
          ts.isEnumMember(parent)) &&
          parent.name === node) ||
        (ts.isBindingElement(parent) && parent.propertyName === node) ||
        ((ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent)) && parent.propertyName === node);
      if (!isPropertyName) names.add(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

/** Bare package names a module imports (`express`, `@koa/router`, `pg`), `node:` builtins left out. */
export function importedPackages(code: string): string[] {
  const source = ts.createSourceFile('block.ts', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const packages = new Set<string>();
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const specifier = statement.moduleSpecifier.text;
    if (specifier.startsWith('.') || specifier.startsWith('node:') || specifier.startsWith('/')) continue;
    const parts = specifier.split('/');
    packages.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
  }
  return [...packages];
}

/** The names a prelude module exports. */
export function exportedNames(code: string): Set<string> {
  const source = ts.createSourceFile('prelude.ts', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const names = new Set<string>();
  for (const statement of source.statements) {
    const exported = ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword);
    if (!exported) continue;
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bindingNames(declaration.name, names);
    } else if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) {
      names.add(statement.name.text);
    }
  }
  return names;
}

/**
 * The block as a module file: the prelude names it needs imported on its first line (so the
 * README's line numbers hold), and `export {}` so even a block without imports is a module.
 */
export function blockModule(block: ReadmeBlock, prelude: ReadonlySet<string>, preludeSpecifier: string): string {
  const declared = declaredNames(block.code);
  const needed = [...referencedNames(block.code)].filter((name) => prelude.has(name) && !declared.has(name)).sort();
  const header = needed.length === 0 ? '' : `import { ${needed.join(', ')} } from '${preludeSpecifier}'; `;
  return `${header}${block.code}\nexport {};\n`;
}

/**
 * Maps tsc's `readme/<slug>.ts(line,col): error …` lines back to `README.md:line`, so a failure
 * points at the snippet to fix.
 */
export function mapDiagnostics(output: string, blocks: readonly ReadmeBlock[]): string {
  const bySlug = new Map(blocks.map((block) => [block.slug, block]));
  return output.replace(/(?:^|(?<=\n))(?:[^\n(]*\/)?([A-Za-z0-9-]+)\.ts\((\d+),(\d+)\)/g, (match, slug: string, line: string, column: string) => {
    const block = bySlug.get(slug);
    return block ? `${block.readme}:${block.fenceLine + Number(line)}:${column}` : match;
  });
}
