/**
 * The contract cases against the fetch binding called directly, with no framework: route handlers
 * written as a Next.js App Router app writes them, each a function of a `Request` (`fetch-apps.ts`,
 * `buildNext`), dispatched by path. Every area of the contract suite runs here too, so a rule that
 * held only because Hono's middleware did something for the binding would show up.
 */
import { afterAll, afterEach, describe, expect, vi } from 'vitest';
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

let ran = 0;

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  ran += 1;
});

afterAll(() => {
  console.log(`contract suite: next (direct calls with Request objects) ${ran} cases`);
  // The same cases as each framework of contract.test.ts (412 when this was written), unless filtered.
  if (ran > 400) expect(ran).toBe(412);
});

describe('next', () => {
  const framework = 'next';
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
  describe('error handling renders only this suite’s errors', () => errorHandlerCases(framework));
  describe('guard parity with express-oauth2-jwt-bearer', () => guardParityCases(framework));
});
