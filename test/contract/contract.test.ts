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
import { cookieExtractorCases } from './cases/cookie-extractor.js';
import { cookieSettingsCases } from './cases/cookie-settings.js';
import { deploymentCases } from './cases/deployment.js';
import { corsCsrfCases } from './cases/cors-csrf.js';
import { errorHandlerCases } from './cases/error-handler.js';
import { errorTableCases } from './cases/error-table.js';
import { guardParityCases } from './cases/guard-parity.js';
import { guardCases } from './cases/guards.js';
import { limitCases } from './cases/limits.js';
import { hardeningCases } from './cases/hardening.js';
import { loginStackCases } from './cases/login-stacks.js';
import { logoutSessionCases } from './cases/logout-session.js';
import { sessionPlantingCases } from './cases/session-planting.js';
import { sessionTransferCases } from './cases/session-transfer.js';
import { storeLossCases } from './cases/store-loss.js';
import { tokenAttackCases } from './cases/token-attacks.js';
import { tokenEndpointCases } from './cases/token-endpoint.js';
import { wellKnownCases } from './cases/well-known.js';

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

describe.each(FRAMEWORKS)('%s', (framework) => {
  describe('token endpoint', () => tokenEndpointCases(framework));
  describe('error table', () => errorTableCases(framework));
  describe('logout and session', () => logoutSessionCases(framework));
  describe('well-known documents', () => wellKnownCases(framework));
  describe('CORS and CSRF', () => corsCsrfCases(framework));
  describe('cookie extractor', () => cookieExtractorCases(framework));
  describe('token attacks', () => tokenAttackCases(framework));
  describe('guards', () => guardCases(framework));
  describe('session transfer', () => sessionTransferCases(framework));
  describe('limits', () => limitCases(framework));
  describe('session planting', () => sessionPlantingCases(framework));
  describe('hardening', () => hardeningCases(framework));
  describe('login stacks', () => loginStackCases(framework));
  describe('store loss', () => storeLossCases(framework));
  describe('cookie settings in one place', () => cookieSettingsCases(framework));
  describe('deployment: proxy, mount prefix, CORS', () => deploymentCases(framework));
  describe('anonymousErrorHandler renders only this suite’s errors', () => errorHandlerCases(framework));
  describe('guard parity with express-oauth2-jwt-bearer', () => guardParityCases(framework));
});
