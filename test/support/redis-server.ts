/**
 * Starts and stops `redis-server` processes that a test owns: on loopback, on free ports, keeping
 * nothing on disk outside a temporary directory. Used by the Redis Cluster and the fault tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitFor, type Availability } from './services.js';

/** Where Debian's redis-server and redis-cli live (REDIS_SERVER_BIN / REDIS_CLI_BIN override). */
export const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN || '/usr/bin/redis-server';
export const REDIS_CLI_BIN = process.env.REDIS_CLI_BIN || '/usr/bin/redis-cli';

/** Whether the binaries are installed. */
export function redisBinaries(needCli = false): Availability {
  if (!existsSync(REDIS_SERVER_BIN)) return { ok: false, reason: `${REDIS_SERVER_BIN} is not installed (apt-get install redis-server)` };
  if (needCli && !existsSync(REDIS_CLI_BIN)) return { ok: false, reason: `${REDIS_CLI_BIN} is not installed (apt-get install redis-tools)` };
  return { ok: true };
}

/** One redis-server process owned by a test. */
export class RedisServerProcess {
  #process: ChildProcess | undefined;
  readonly #extraArguments: string[];

  private constructor(
    /** Its port on 127.0.0.1. */
    readonly port: number,
    /** Its private directory (config files, AOF). */
    readonly directory: string,
    extraArguments: string[],
  ) {
    this.#extraArguments = extraArguments;
  }

  /**
   * Starts a server on a free loopback port and waits until it answers PING.
   *
   * @param extraArguments - more redis-server arguments (cluster mode, persistence).
   * @param busPortOffset - also require port + offset to be free (the cluster bus, +10000).
   */
  static async start(extraArguments: string[] = [], busPortOffset?: number): Promise<RedisServerProcess> {
    const port = await freePort(busPortOffset);
    const directory = await mkdtemp(join(tmpdir(), `anon-redis-${port}-`));
    const server = new RedisServerProcess(port, directory, extraArguments);
    await server.restart();
    return server;
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.#process !== undefined && this.#process.exitCode === null && this.#process.signalCode === null;
  }

  /** Starts the process again (same port and directory) and waits until it answers PING. */
  async restart(): Promise<void> {
    if (this.running) throw new Error(`redis-server on ${this.port} is already running`);
    const child = spawn(
      REDIS_SERVER_BIN,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.directory, '--save', '', '--appendonly', 'no', ...this.#extraArguments],
      { stdio: 'ignore' },
    );
    this.#process = child;
    live.add(this);
    await waitFor(`redis-server on 127.0.0.1:${this.port} to answer PING`, 10_000, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server on ${this.port} exited with ${child.exitCode}`);
      return ping(this.port);
    });
  }

  /** Kills the process (SIGKILL: an abrupt outage) and waits until it has exited. */
  async stop(): Promise<void> {
    const child = this.#process;
    if (child === undefined || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops the process (if running) and deletes its directory. */
  async destroy(): Promise<void> {
    await this.stop();
    live.delete(this);
    await rm(this.directory, { recursive: true, force: true });
  }

  /** Kills the process at once, synchronously (for exit handlers). */
  killNow(): void {
    if (this.running) this.#process?.kill('SIGKILL');
  }

  /** Sends SIGSTOP / SIGCONT: the server hangs (a partition) without closing connections. */
  pause(paused: boolean): void {
    this.#process?.kill(paused ? 'SIGSTOP' : 'SIGCONT');
  }
}

const live = new Set<RedisServerProcess>();
// A safety net: never leave a server behind if the test process ends before its afterAll.
process.once('exit', () => {
  for (const server of live) server.killNow();
});

async function ping(port: number): Promise<boolean> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
