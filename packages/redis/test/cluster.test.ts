/**
 * redisStore on Redis Cluster: the test starts three local `redis-server` processes in cluster mode
 * on free loopback ports, joins them with `redis-cli --cluster create`, waits for
 * `cluster_state:ok`, runs the conformance kit through `new Redis.Cluster([...])`, and kills the
 * processes afterwards. Skipped (loudly) only where redis-server is not installed and CI is not set.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis, type Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSessionStoreConformance } from '@anonymous-sessions/core/testing';
import { redisStore } from '@anonymous-sessions/redis';
import { describeWithService, randomSuffix, waitFor } from '../../../test/support/services.js';
import { REDIS_CLI_BIN, RedisServerProcess, redisBinaries } from '../../../test/support/redis-server.js';
import { deleteKeys } from './redis-service.js';

const run = promisify(execFile);

describeWithService('a 3-node Redis Cluster of local redis-server processes', redisBinaries(true), () => {
  const servers: RedisServerProcess[] = [];
  const prefix = `anon-test:cluster:${randomSuffix()}:`;
  let cluster: Cluster;

  const clusterState = async (port: number): Promise<string | undefined> => {
    const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, lazyConnect: true });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const info = await client.cluster('INFO');
      return /cluster_state:(\w+)/.exec(info)?.[1];
    } finally {
      client.disconnect();
    }
  };

  beforeAll(async () => {
    const clusterArguments = ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'];
    for (let index = 0; index < 3; index += 1) servers.push(await RedisServerProcess.start(clusterArguments, 10_000));
    await run(
      REDIS_CLI_BIN,
      ['--cluster', 'create', ...servers.map((server) => `127.0.0.1:${server.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 30_000 },
    );
    for (const server of servers) {
      await waitFor(`cluster_state:ok on port ${server.port}`, 20_000, async () => (await clusterState(server.port)) === 'ok', 100);
    }
  }, 60_000);

  afterAll(async () => {
    for (const server of servers) await server.destroy();
  });

  runSessionStoreConformance(
    'redisStore (Redis Cluster, 3 nodes)',
    async () => {
      cluster = new Redis.Cluster(
        servers.map((server) => ({ host: '127.0.0.1', port: server.port })),
        { redisOptions: { maxRetriesPerRequest: 1 } },
      );
      await waitFor('the cluster client to be ready', 20_000, () => cluster.status === 'ready', 50);
      return redisStore({ client: cluster, prefix });
    },
    {
      // A loss on every master at once (a cluster restarted without persistence): this run's keys only.
      wipe: async () => {
        await deleteKeys(cluster, prefix);
      },
      teardown: async () => {
        await deleteKeys(cluster, prefix);
        await cluster.quit();
      },
    },
  );

  describe('key layout on the cluster', () => {
    let client: Cluster;
    beforeAll(async () => {
      client = new Redis.Cluster(servers.map((server) => ({ host: '127.0.0.1', port: server.port })), { redisOptions: { maxRetriesPerRequest: 1 } });
      await waitFor('the cluster client to be ready', 20_000, () => client.status === 'ready', 50);
    });
    afterAll(async () => {
      await deleteKeys(client, prefix);
      await client.quit();
    });

    it('keeps each session’s and each account’s keys in one slot, and spreads sessions over the nodes', async () => {
      const store = redisStore({ client, prefix });
      const now = Math.floor(Date.now() / 1000);
      const slotsUsed = new Set<number>();
      for (let index = 0; index < 12; index += 1) {
        const sessionId = `sess_cluster${randomSuffix()}`;
        await store.revokeSession(sessionId, now + 60);
        await store.mergeMetadata(sessionId, { index }, { expiresAt: now + 60, maxBytes: 2048, maxDepth: 8 });
        const revokedSlot = Number(await client.cluster('KEYSLOT', `${prefix}{${sessionId}}:revoked`));
        const metadataSlot = Number(await client.cluster('KEYSLOT', `${prefix}{${sessionId}}:metadata`));
        expect(metadataSlot).toBe(revokedSlot);
        expect(await client.exists(`${prefix}{${sessionId}}:metadata`)).toBe(1);
        slotsUsed.add(revokedSlot);
      }
      const userId = 'auth0|{cluster} user';
      await store.recordLink({ session_id: 'sess_x', anonymous_user_id: 'anon|xxxxxxxx', user_id: userId, linked_at: new Date().toISOString(), user_agent: null }, now + 60);
      const base = `${prefix}{user:${encodeURIComponent(userId)}}:links`;
      expect(Number(await client.cluster('KEYSLOT', base))).toBe(Number(await client.cluster('KEYSLOT', `${base}:expiry`)));
      expect(await client.exists(base)).toBe(1);
      // 12 random sessions over 3 nodes of ~5461 slots each: all on one node would be a broken tag.
      const owners = new Set<string>();
      const slots = (await client.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
      for (const slot of slotsUsed) {
        const owner = slots.find(([from, to]) => slot >= from && slot <= to);
        owners.add(String(owner?.[2][1]));
      }
      expect(owners.size).toBeGreaterThan(1);
    });
  });
});
