/**
 * Benchmark servers (`server.ts`, one process each) and the load generator (`load.ts`, one
 * process for the whole run), as the orchestrator sees them.
 */
import type { ChildProcess } from 'node:child_process';
import { HOST, type LoadReply, type LoadResult, type LoadSpec, type ServerLaunch, type ServerMessage } from '../shared.js';
import { isBuild } from './builds.js';
import type { BenchContext } from './context.js';
import { nextMessage, type ChildProcesses } from './processes.js';

/** What a server process reports when asked: its CPU time and its counters. */
export interface ServerStats {
  /** The server process's CPU time so far (every thread), µs. */
  cpuMicros: number;
  /** How many times its `clients` resolver ran, when it has a counting one. */
  clientLookups: number | undefined;
}

/** A started benchmark server. */
export interface RunningServer {
  child: ChildProcess;
  url: string;
  /** How long the process took to start (what a profile of it skips). */
  uptimeMs: number;
  /** The server process's CPU time so far (every thread), µs. */
  cpu(): Promise<number>;
  /** Its CPU time and counters. */
  stats(): Promise<ServerStats>;
  stop(): Promise<void>;
}

/** Starts `server.ts` for `launch` and waits until it listens (2 minutes at most). */
export async function startServer(context: BenchContext, launch: ServerLaunch, execArgv: string[] = []): Promise<RunningServer> {
  const { processes } = context;
  const child = processes.spawn('server.ts', { BENCH_SERVER: JSON.stringify(launch) }, execArgv);
  const ready = await nextMessage(
    child,
    (message) => {
      const typed = message as ServerMessage;
      if (typed.type === 'failed') throw new Error(typed.message);
      return typed.type === 'ready' ? typed : undefined;
    },
    120_000,
    `server ${JSON.stringify(launch.spec)}`,
  ).catch(async (error: unknown) => {
    await processes.end(child);
    throw error;
  });
  if (!isBuild(ready.core)) {
    await processes.end(child);
    throw new Error(`server ${JSON.stringify(launch.spec)} loaded @anonymous-sessions/core from ${ready.core}, not its build (packages/core/dist)`);
  }
  let nextStatsRequest = 1;
  const stats = async (): Promise<ServerStats> => {
    const id = nextStatsRequest++;
    const answer = nextMessage(
      child,
      (message) => {
        const typed = message as ServerMessage;
        return typed.type === 'cpu' && typed.id === id ? { cpuMicros: typed.user + typed.system, clientLookups: typed.clientLookups } : undefined;
      },
      10_000,
      'server cpu',
    );
    child.send({ type: 'cpu', id });
    return answer;
  };
  return {
    child,
    url: `http://${HOST}:${ready.port}`,
    uptimeMs: ready.uptimeMs,
    cpu: async () => (await stats()).cpuMicros,
    stats,
    stop: () => processes.end(child, { type: 'shutdown' }),
  };
}

/** The load generator process: one autocannon run per {@link LoadGenerator.run}. */
export class LoadGenerator {
  readonly #processes: ChildProcesses;
  readonly #child: ChildProcess;
  #nextId = 1;

  constructor(processes: ChildProcesses) {
    this.#processes = processes;
    this.#child = processes.spawn('load.ts', {});
  }

  /** The load generator's process id (for pinning it to a core). */
  get pid(): number {
    return this.#child.pid!;
  }

  async run(spec: LoadSpec): Promise<LoadResult> {
    const id = this.#nextId++;
    this.#child.send({ type: 'run', id, spec });
    return nextMessage(
      this.#child,
      (message) => {
        const reply = message as LoadReply;
        if (reply.id !== id) return undefined;
        if (reply.type === 'failed') throw new Error(`load: ${reply.message}`);
        return reply.result;
      },
      (spec.duration + 30) * 1000,
      'load generator',
    );
  }

  stop(): Promise<void> {
    return this.#processes.end(this.#child);
  }
}
