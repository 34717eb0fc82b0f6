/**
 * Two app PROCESSES (test/support/instance-server.ts, started with tsx on their own loopback ports)
 * share one Redis prefix and one key set, as instances behind a load balancer do: a session
 * created on A is updated on B and logged out on A, then refused on B; the creation rate limit
 * counts across both; 50 concurrent updates spread over both lose nothing; an old token does not
 * roll the metadata back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeySet } from '@anonymous-sessions/core';
import { deleteKeys, probeRedis, REDIS_URL, testClient } from '../packages/redis/test/redis-service.js';
import { describeWithService, randomSuffix } from './support/services.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVER = fileURLToPath(new URL('./support/instance-server.ts', import.meta.url));
const CREATE_PER_MINUTE = 4;

interface Instance {
  name: string;
  url: string;
  child: ChildProcess;
}

/** Starts one instance and waits for its `LISTENING <port>` line (bounded; no fixed sleep). */
async function startInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    cwd: ROOT,
    env: { ...process.env, ...env, ANON_INSTANCE: name },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance ${name} did not start within 30 s: ${stderr}`)), 30_000);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /LISTENING (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`instance ${name} exited with ${code}: ${stderr}`));
    });
  });
  return { name, url: `http://127.0.0.1:${port}`, child };
}

async function stopInstance(instance: Instance | undefined): Promise<void> {
  if (instance === undefined || instance.child.exitCode !== null) return;
  const exited = once(instance.child, 'exit');
  instance.child.kill('SIGTERM');
  await exited;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function post(instance: Instance, path: string, body: Record<string, unknown>, clientAddress: string): Promise<Answer> {
  const response = await fetch(`${instance.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': clientAddress },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers };
}

async function currentSession(instance: Instance, sessionToken: string): Promise<Answer> {
  const response = await fetch(`${instance.url}/anonymous/session`, { headers: { Authorization: `Bearer ${sessionToken}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

describeWithService(`Redis at ${REDIS_URL}`, await probeRedis(), () => {
  describe('two app processes sharing one Redis and one key set', () => {
    const prefix = `anon-test:multi:${randomSuffix()}:`;
    let a: Instance | undefined;
    let b: Instance | undefined;
    const A = (): Instance => a as Instance;
    const B = (): Instance => b as Instance;
    const token = (answer: Answer): string => answer.body.session_token as string;

    beforeAll(async () => {
      const env = {
        REDIS_URL,
        ANON_REDIS_PREFIX: prefix,
        ANON_KEYS: JSON.stringify(await generateKeySet()),
        ANON_CREATE_PER_MINUTE: String(CREATE_PER_MINUTE),
      };
      [a, b] = await Promise.all([startInstance('A', env), startInstance('B', env)]);
      const [whoA, whoB] = await Promise.all([fetch(`${A().url}/instance`), fetch(`${B().url}/instance`)]);
      const [bodyA, bodyB] = [(await whoA.json()) as { pid: number }, (await whoB.json()) as { pid: number }];
      expect(bodyA.pid).not.toBe(bodyB.pid);
      expect(bodyA.pid).not.toBe(process.pid);
    }, 60_000);

    afterAll(async () => {
      await Promise.all([stopInstance(a), stopInstance(b)]);
      const client = testClient();
      await deleteKeys(client, prefix);
      await client.quit();
    });

    it('creates on A, updates on B, logs out on A; B then refuses the session', async () => {
      const address = '198.51.100.1';
      const created = await post(A(), '/anonymous/token', { client_id: 'shop-web', metadata: { cart: ['sku-1'] } }, address);
      expect(created.status).toBe(200);
      const updated = await post(B(), '/anonymous/token', { client_id: 'shop-web', session_token: token(created), metadata: { theme: 'dark' } }, address);
      expect(updated.status).toBe(200);
      const seenOnA = await currentSession(A(), token(updated));
      expect(seenOnA.status).toBe(200);
      expect(seenOnA.body.metadata).toEqual({ cart: ['sku-1'], theme: 'dark' });

      const logout = await post(A(), '/anonymous/logout', { client_id: 'shop-web', session_token: token(created) }, address);
      expect(logout.status).toBe(204);
      for (const sessionToken of [token(created), token(updated)]) {
        const refused = await post(B(), '/anonymous/token', { client_id: 'shop-web', session_token: sessionToken }, address);
        expect(refused.status).toBe(401);
        expect(refused.body.error).toBe('invalid_session_token');
        expect((await currentSession(B(), sessionToken)).status).toBe(401);
      }
    });

    it(`counts the creation rate limit (${CREATE_PER_MINUTE}/min) across both instances`, async () => {
      const address = '203.0.113.9';
      const statuses: number[] = [];
      for (let index = 0; index < CREATE_PER_MINUTE; index += 1) {
        statuses.push((await post(index % 2 === 0 ? A() : B(), '/anonymous/token', { client_id: 'shop-web' }, address)).status);
      }
      // Each instance has seen only half the limit; together they have used all of it.
      expect(statuses).toEqual(Array.from({ length: CREATE_PER_MINUTE }, () => 200));
      for (const instance of [A(), B()]) {
        const limited = await post(instance, '/anonymous/token', { client_id: 'shop-web' }, address);
        expect(limited.status).toBe(429);
        expect(limited.body.error).toBe('too_many_requests');
        expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      }
      // Another client address is not limited.
      expect((await post(B(), '/anonymous/token', { client_id: 'shop-web' }, '198.51.100.99')).status).toBe(200);
    });

    it('loses no update: 50 concurrent updates spread over A and B leave all 50 keys', async () => {
      const address = '198.51.100.2';
      const created = await post(A(), '/anonymous/token', { client_id: 'shop-web' }, address);
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          post(index % 2 === 0 ? A() : B(), '/anonymous/token', { client_id: 'shop-web', session_token: token(created), metadata: { [`item${index}`]: index } }, address),
        ),
      );
      expect(answers.map((answer) => answer.status)).toEqual(Array.from({ length: 50 }, () => 200));
      const final = await currentSession(B(), token(created));
      expect(Object.keys(final.body.metadata as object).sort()).toEqual(Array.from({ length: 50 }, (_, index) => `item${index}`).sort());
    });

    it('never rolls metadata back when an old session token is used after a newer one', async () => {
      const address = '198.51.100.3';
      const first = await post(A(), '/anonymous/token', { client_id: 'shop-web', metadata: { cart: ['sku-1'] } }, address);
      const second = await post(B(), '/anonymous/token', { client_id: 'shop-web', session_token: token(first), metadata: { cart: ['sku-1', 'sku-2'] } }, address);
      expect(second.status).toBe(200);
      const replayed = await post(A(), '/anonymous/token', { client_id: 'shop-web', session_token: token(first) }, address);
      expect(replayed.status).toBe(200);
      expect((await currentSession(B(), token(replayed))).body.metadata).toEqual({ cart: ['sku-1', 'sku-2'] });
      expect((await currentSession(A(), token(first))).body.metadata).toEqual({ cart: ['sku-1', 'sku-2'] });
    });
  });
});
