/**
 * Memory: resident bytes that 100,000 revocations cost in `memoryStore()`. Run with
 * `--expose-gc` in a process of its own: collect garbage, read `process.memoryUsage()`, revoke
 * 100,000 sessions (ids shaped like real ones, expiring in 30 days), collect again, read again.
 *
 * Run only by `run.ts` (forked); the count in `BENCH_MEMORY_COUNT` (default 100,000).
 */
import { webcrypto } from 'node:crypto';
import { base64url } from 'jose';
import { memoryStore } from '@anonymous-sessions/core';
import type { MemoryResult } from './shared.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error('memory.ts needs --expose-gc');
  process.exit(2);
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 4; i += 1) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
};

async function main(count: number): Promise<MemoryResult> {
  const store = memoryStore();
  // The session ids are made in the loop: the store keeps them as its map keys, so they are part
  // of what a revocation costs.
  const expiresAt = Math.floor(Date.now() / 1000) + 2_592_000;
  await settle();
  const before = process.memoryUsage();
  for (let i = 0; i < count; i += 1) {
    await store.revokeSession(`sess_${base64url.encode(webcrypto.getRandomValues(new Uint8Array(16)))}`, expiresAt);
  }
  await settle();
  const after = process.memoryUsage();
  // Keep the store reachable until after the reading, and check it really holds revocations.
  if (await store.isSessionRevoked('sess_not-revoked-000000')) throw new Error('memoryStore answered revoked for an unknown session');
  return { revocations: count, rssBytes: after.rss - before.rss, heapUsedBytes: after.heapUsed - before.heapUsed };
}

main(Number(process.env.BENCH_MEMORY_COUNT ?? 100_000))
  .then((result) => {
    if (process.send) process.send(result, () => process.exit(0));
    else console.log(JSON.stringify(result));
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
