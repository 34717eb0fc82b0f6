/**
 * Scale on one machine (issue 13, item 4): the `node:cluster` recipe (`bench/cluster.ts`) issuing
 * with the Redis store, measured with 1 and N workers (N = the cores, at most 4) in interleaved
 * rounds, each worker count a cluster of its own with its own key prefix (deleted afterwards).
 */
import { createServer } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { median, type ClusterResult, type RunResults } from '../report.js';
import { loadRedisStore } from '../optional.js';
import { AUDIENCE, CLIENT_ID, HOST, TOKEN_PATH, type LoadResult, type LoadSpec } from '../shared.js';
import type { BenchContext } from './context.js';
import { machineInfo } from './machine.js';
import { nextMessage } from './processes.js';
import { LoadGenerator } from './servers.js';

/** A free loopback port (the cluster's workers all listen on it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function deletePrefix(url: string, prefix: string): Promise<void> {
  const { Redis } = await loadRedisStore();
  const client = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await client.quit();
  }
}

/** Measures issuance (create, RS256 + JWE) under the cluster recipe; `undefined` when Redis is skipped. */
export async function measureClusterScaling(context: BenchContext, skipped: RunResults['skipped']): Promise<ClusterResult | undefined> {
  const redisSkip = skipped.find((skip) => skip.id.includes('redis'));
  if (redisSkip !== undefined) {
    skipped.push({ id: 'cluster', label: 'node:cluster issuance, Redis store', reason: redisSkip.reason });
    return undefined;
  }
  const { settings } = context;
  const counts = [...new Set([1, Math.min(4, Math.max(2, machineInfo().nproc))])];
  const prefix = `anon-bench:${process.pid}:${Date.now()}:cluster:`;
  const load = new LoadGenerator(context.processes);
  const clusters: { workers: number; child: ChildProcess; spec: LoadSpec }[] = [];
  try {
    for (const workers of counts) {
      const port = await freePort();
      const child = context.processes.spawn(
        'cluster.ts',
        { ANON_KEYS_FILE: context.keyFiles.get('RS256')!, REDIS_URL: context.redisUrl, ANON_REDIS_PREFIX: `${prefix}${workers}:`, ANON_BENCH: '1' },
        [],
        ['--workers', String(workers), '--port', String(port)],
      );
      await nextMessage(child, (message) => ((message as { type?: string }).type === 'ready' ? true : undefined), 120_000, `cluster of ${workers}`);
      const spec: LoadSpec = {
        url: `http://${HOST}:${port}${TOKEN_PATH}`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: CLIENT_ID, audience: AUDIENCE }),
        connections: settings.connections,
        duration: settings.clusterSeconds,
      };
      clusters.push({ workers, child, spec });
      await load.run({ ...spec, duration: settings.warmup });
    }
    const results = new Map<number, LoadResult[]>(counts.map((workers) => [workers, []]));
    for (let round = 1; round <= settings.rounds; round += 1) {
      for (const entry of clusters) {
        const result = await load.run(entry.spec);
        results.get(entry.workers)!.push(result);
        context.log(`[cluster ${round}/${settings.rounds}] ${entry.workers} worker(s): ${Math.round(result.requestsPerSecond)} req/s  p99 ${result.p99.toFixed(1)} ms`);
      }
    }
    const points = counts.map((workers) => {
      const runs = results.get(workers)!;
      return {
        workers,
        rate: median(runs.map((run) => run.requestsPerSecond)),
        p50: median(runs.map((run) => run.p50)),
        p99: median(runs.map((run) => run.p99)),
        non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
        errors: runs.reduce((sum, run) => sum + run.errors, 0),
      };
    });
    const first = points[0]!;
    const last = points[points.length - 1]!;
    return {
      scenario: 'POST /anonymous/token create, RS256 + JWE session, Redis store',
      seconds: settings.clusterSeconds,
      connections: settings.connections,
      points,
      scaling: points.length > 1 && first.rate > 0 ? last.rate / first.rate : undefined,
    };
  } finally {
    await load.stop();
    await Promise.all(clusters.map((entry) => context.processes.end(entry.child, { type: 'shutdown' })));
    await deletePrefix(context.redisUrl, prefix).catch((error: unknown) => context.log(`cluster: could not delete ${prefix}*: ${String(error)}`));
  }
}
