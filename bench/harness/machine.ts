/** What the run was measured on: cores, CPU, Node, and the load average before and after. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, platform, release } from 'node:os';
import type { RunResults } from '../report.js';

export function machineInfo(): Omit<RunResults['machine'], 'loadAfter'> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown CPU';
  let nproc = availableParallelism();
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  } catch {
    // keep availableParallelism()
  }
  return { nproc, cpuModel, node: process.version, platform: `${platform()} ${release()}`, loadBefore: uptime() };
}

/** `uptime`'s line (the load averages). */
export function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim().replace(/\s+/g, ' ');
  } catch {
    return 'unknown';
  }
}
