/**
 * Every area of the HTTP contract, registered under the current `describe` for one framework:
 * `contract.test.ts` runs them per framework, `direct-call.test.ts` against Next-style route handlers.
 */
import { describe } from 'vitest';
import { cookieExtractorCases } from './cookie-extractor.js';
import { cookieSettingsCases } from './cookie-settings.js';
import { deploymentCases } from './deployment.js';
import { corsCsrfCases } from './cors-csrf.js';
import { errorHandlerCases } from './error-handler.js';
import { errorTableCases } from './error-table.js';
import { guardParityCases } from './guard-parity.js';
import { guardCases } from './guards.js';
import { limitCases } from './limits.js';
import { hardeningCases } from './hardening.js';
import { loginStackCases } from './login-stacks.js';
import { logoutSessionCases } from './logout-session.js';
import { sessionPlantingCases } from './session-planting.js';
import { sessionTransferCases } from './session-transfer.js';
import { storeLossCases } from './store-loss.js';
import { tokenAttackCases } from './token-attacks.js';
import { tokenEndpointCases } from './token-endpoint.js';
import { wellKnownCases } from './well-known.js';

import type { Framework } from '../apps.js';

/** Registers every contract case against `framework`. */
export function contractCases(framework: Framework): void {
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
}
