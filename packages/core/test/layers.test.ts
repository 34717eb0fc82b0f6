/**
 * Core's import graph: no cycle (type imports included) anywhere in packages/core/src. The
 * direction of each import (down the layers only) is checked by the lint rule in eslint.config.js;
 * a cycle inside one folder is not, so it is checked here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const source = fileURLToPath(new URL('../src/', import.meta.url));

function modules(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? modules(join(folder, entry.name)) : entry.name.endsWith('.ts') ? [join(folder, entry.name)] : [],
  );
}

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of modules(source)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/(?:from|import)\s+'(\.{1,2}\/[^']+)\.js'/g)].map((match) =>
      relative(source, resolve(dirname(file), `${match[1]}.ts`)),
    );
    graph.set(relative(source, file), targets);
  }
  return graph;
}

function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    if (state.get(node) === 'open') {
      cycles.push([...stack.slice(stack.indexOf(node)), node]);
      return;
    }
    if (state.get(node) === 'done') return;
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) visit(node);
  return cycles;
}

describe('core import graph', () => {
  it('has no import cycle, type imports included', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(30);
    expect(findCycles(graph)).toEqual([]);
  });

  it('finds a planted cycle (the check is not vacuous)', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['a.ts']],
    ]);
    expect(findCycles(graph)).toEqual([['a.ts', 'b.ts', 'a.ts']]);
  });

  it('every module except the entry files lives in a layer folder', () => {
    const top = [...importGraph().keys()].filter((file) => !file.includes('/'));
    expect(top.sort()).toEqual(['http.ts', 'index.ts', 'testing.ts']);
  });
});
