/**
 * The HTTP contract suite (docs/wire-contract.md, docs/login-flow.md): every endpoint, every error row, the guards'
 * RFC 6750 / RFC 9470 challenges and the transfer cases, run against an Express app and a Koa app
 * built from one description (`apps.ts`). A case that passes on one framework and fails on the
 * other is a bug in a binding (or a rule that is not in core yet).
 *
 * The cases live in `cases/`, one module per area; this file runs them all under
 * `describe.each(FRAMEWORKS)` and prints how many ran per framework.
 */
import { afterAll, afterEach, describe, expect, vi, type TestContext } from 'vitest';
import { FRAMEWORKS, type Framework } from './apps.js';
import { contractCases } from './cases/index.js';

const ran: Record<Framework, number> = { express: 0, koa: 0, fetch: 0, next: 0 };

/** The framework a test runs under: the name of its outermost `describe.each` block. */
function frameworkOf(context: TestContext): Framework | undefined {
  let suite = context.task.suite;
  while (suite?.suite !== undefined) suite = suite.suite;
  return FRAMEWORKS.find((framework) => framework === suite?.name);
}

afterEach((context) => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  const framework = frameworkOf(context);
  if (framework !== undefined) ran[framework] += 1;
});

afterAll(() => {
  console.log(`contract suite: ${FRAMEWORKS.map((framework) => `${framework} ${ran[framework]} cases`).join(', ')}`);
  // Every framework ran the same cases (unless a filter picked some of them).
  if (FRAMEWORKS.every((framework) => ran[framework] > 0)) for (const framework of FRAMEWORKS) expect(ran[framework]).toBe(ran.express);
});

describe.each(FRAMEWORKS)('%s', (framework) => contractCases(framework));
