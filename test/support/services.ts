/**
 * Gates for tests that need a real local service (Redis, PostgreSQL, a `redis-server` binary).
 * Reachable: the cases run. Unreachable: outside CI they are skipped with a loud warning; with
 * `CI=true` a failing case says what is missing, so CI can never pass by skipping them.
 *
 * Tests only ever talk to loopback addresses: a service URL that points anywhere else is refused.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { describe, it } from 'vitest';

/** Whether a service can be used, and why not. */
export type Availability = { ok: true } | { ok: false; reason: string };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Reads a service URL from the environment (default when unset) and refuses a non-loopback host.
 *
 * @param variable - the environment variable, e.g. `REDIS_URL`.
 * @param fallback - the URL when it is unset.
 */
export function loopbackUrl(variable: string, fallback: string): string {
  const value = process.env[variable] || fallback;
  const host = new URL(value).hostname;
  if (!LOOPBACK.has(host)) {
    throw new Error(`${variable}=${value}: these tests only talk to services on 127.0.0.1 (loopback)`);
  }
  return value;
}

/**
 * Registers `register`'s cases when the service is available. Otherwise: with `CI=true`, one failing
 * case names the missing service; elsewhere the cases are skipped and a loud warning is printed.
 *
 * @param service - what is needed, e.g. `Redis at redis://127.0.0.1:6379`.
 * @param availability - the probe's answer.
 * @param register - registers the cases (describe/it calls).
 */
export function describeWithService(service: string, availability: Availability, register: () => void): void {
  if (availability.ok) {
    register();
    return;
  }
  const message = `${service} is not available (${availability.reason})`;
  if (process.env.CI === 'true') {
    describe(service, () => {
      it(`is required in CI (CI=true): ${message}`, () => {
        throw new Error(`${message}. CI must run these tests against the real service.`);
      });
    });
    return;
  }
  const bar = '!'.repeat(100);
  console.warn(`\n${bar}\n!!! SKIPPING TESTS: ${message}.\n!!! Start it (see the package README) to run them; in CI (CI=true) this is a failure.\n${bar}\n`);
  describe.skip(`${service} (not available: ${availability.reason})`, () => {
    it('needs the service', () => undefined);
  });
}

/** A random lowercase suffix for key prefixes, table and schema names. */
export const randomSuffix = (bytes = 6): string => randomBytes(bytes).toString('hex');

/** A TCP port on 127.0.0.1 that nothing listens on right now (and, with `plus`, port + plus too). */
export async function freePort(plus?: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await portIsFree(port)) && (plus === undefined || (await portIsFree(port + plus)))) return port;
  }
  throw new Error('found no free port on 127.0.0.1 after 50 attempts');
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Polls `check` until it answers true, failing after `timeoutMs` (no fixed sleeps: readiness is
 * observed, and the loop is bounded).
 */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not ready yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
