/**
 * The run's child processes (servers, the load generator, the ceiling, memory and cold-start
 * processes): every one is tracked and ended at the end, whatever happens, and a Ctrl-C ends them
 * all before the run exits.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { TSX_EXEC_ARGV } from '../shared.js';
import { buildsTsconfig } from './builds.js';

/** The set of live child processes of one run. */
export class ChildProcesses {
  readonly #children = new Set<ChildProcess>();
  readonly #benchDir: string;
  #interrupted = false;

  constructor(benchDir: string) {
    this.#benchDir = benchDir;
  }

  /** True once SIGINT or SIGTERM arrived: the run stops at the next scenario. */
  get interrupted(): boolean {
    return this.#interrupted;
  }

  /** Ends every child on SIGINT/SIGTERM, then exits with 130. */
  endOnSignals(log: (message: string) => void): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (this.#interrupted) return;
        this.#interrupted = true;
        log(`\n${signal}: stopping every child process`);
        void this.endAll().finally(() => process.exit(130));
      });
    }
  }

  /**
   * Forks a script of `bench/` under tsx, with IPC, tracked until it exits. Our packages load from
   * their builds (`tsconfig.builds.json` maps none of them to its source: `builds.ts`).
   */
  spawn(script: string, env: Record<string, string>, execArgv: string[] = [], args: string[] = []): ChildProcess {
    const child = fork(join(this.#benchDir, script), args, {
      execArgv: [...TSX_EXEC_ARGV, ...execArgv],
      env: { ...process.env, TSX_TSCONFIG_PATH: buildsTsconfig(this.#benchDir), ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return this.track(child);
  }

  /** Tracks a child started some other way (it is ended with the others). */
  track(child: ChildProcess): ChildProcess {
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** Ends one child: `message` over IPC when given (a clean exit), else SIGTERM; SIGKILL after 5 s. */
  async end(child: ChildProcess, message?: unknown): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    if (message !== undefined && child.connected) child.send(message as object);
    else child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** Ends every child still running. */
  async endAll(): Promise<void> {
    await Promise.all([...this.#children].map((child) => this.end(child, { type: 'shutdown' })));
  }
}

/** Waits for a child's first message matching `accept`, failing on exit or after `timeoutMs`. */
export function nextMessage<T>(child: ChildProcess, accept: (message: unknown) => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: unknown): void => {
      try {
        const value = accept(message);
        if (value !== undefined) finish(undefined, value);
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
      }
    };
    const onExit = (code: number | null): void => finish(new Error(`${what}: exited with code ${code}`));
    function finish(error: Error | undefined, value?: T): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value as T);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
