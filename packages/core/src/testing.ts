/**
 * `@anonymous-sessions/core/testing`: the conformance kit for `SessionStore` adapters. One
 * call registers vitest cases that check an adapter against the whole storage contract (packages/core/README.md, Stores):
 * revocations with expiry, exactly-once marks under concurrency, rate-limit windows, atomic
 * metadata merges with their limits, create-if-absent metadata seeds, the epoch marker (and, given a
 * way to empty the store, that it changes when the store loses its data), the linked-session
 * registry, and that every entry expires.
 *
 * memoryStore(), `@anonymous-sessions/redis` and `@anonymous-sessions/postgres` run this same suite
 * against real servers; a host runs it against its own adapter:
 *
 * ```ts
 * // my-store.test.ts
 * import { runSessionStoreConformance } from '@anonymous-sessions/core/testing';
 * runSessionStoreConformance('my store', () => myStore({ client }), { teardown: () => client.quit() });
 * ```
 *
 * The cases use real time (never fake timers: the backend's own clock decides expiry), random keys
 * (so runs and parallel files never collide), and wait for expiry by polling with a deadline.
 *
 * This entry point imports `vitest`, an optional peer dependency of `@anonymous-sessions/core`;
 * nothing else in the package does.
 *
 * The kit is one file per area (`testing/revocation.ts`, `mark-once.ts`, `increment.ts`,
 * `metadata.ts`, `seed-metadata.ts`, `epoch.ts`, `links.ts`, `expiry.ts`) composed here; each area
 * is exported on its own with {@link createConformanceContext}, for an adapter that wants only some.
 *
 * @packageDocumentation
 */
import { describe } from 'vitest';
import { createConformanceContext, type SessionStoreConformanceOptions, type SessionStoreFactory } from './testing/context.js';
import { epochCases } from './testing/epoch.js';
import { expiryCases } from './testing/expiry.js';
import { incrementCases } from './testing/increment.js';
import { transferLogCases } from './testing/links.js';
import { markOnceCases } from './testing/mark-once.js';
import { metadataCases } from './testing/metadata.js';
import { revocationCases } from './testing/revocation.js';
import { seedMetadataCases } from './testing/seed-metadata.js';

export { createConformanceContext } from './testing/context.js';
export type { ConformanceContext, SessionStoreConformanceOptions, SessionStoreFactory } from './testing/context.js';
export { epochCases, expiryCases, incrementCases, markOnceCases, metadataCases, revocationCases, seedMetadataCases, transferLogCases };

/**
 * Registers the conformance cases for a `SessionStore` adapter in the current vitest file,
 * inside `describe(\`SessionStore conformance: ${name}\`)`: every area, in order.
 *
 * @param name - the adapter's name, shown in the test report.
 * @param factory - makes the store under test (connected, migrated); called once before the cases.
 * @param options - which optional parts to check, concurrency, expiry grace and teardown.
 */
export function runSessionStoreConformance(
  name: string,
  factory: SessionStoreFactory,
  options: SessionStoreConformanceOptions = {},
): void {
  describe(`SessionStore conformance: ${name}`, () => {
    const context = createConformanceContext(name, factory, options);
    revocationCases(context);
    markOnceCases(context);
    incrementCases(context);
    metadataCases(context);
    seedMetadataCases(context);
    epochCases(context);
    transferLogCases(context);
    expiryCases(context);
  });
}
