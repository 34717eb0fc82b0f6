/**
 * The contract cases against the fetch binding called directly, with no framework: route handlers
 * written as a Next.js App Router app writes them, each a function of a `Request` (`fetch-apps.ts`,
 * `buildNext`), dispatched by path. Every area of the contract suite runs here too, so a rule that
 * held only because Hono's middleware did something for the binding would show up.
 */
import { afterAll, afterEach, describe, expect, vi } from 'vitest';
import { contractCases } from './cases/index.js';

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

describe('next', () => contractCases('next'));
