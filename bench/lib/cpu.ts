import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * CPU time of processes from /proc (Linux only; elsewhere every reading is empty), to tell where
 * the time of a request goes: the server, PostgreSQL, or the load generator.
 */
let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** utime + stime of one process in ms, or undefined when it is gone or /proc is missing. */
function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / clockTicks()) * 1000;
  } catch {
    return undefined;
  }
}

export type CpuSnapshot = Map<number, number>;

/** CPU ms of each given pid (those that are gone are left out). */
export function snapshot(pids: readonly number[]): CpuSnapshot {
  const map: CpuSnapshot = new Map();
  for (const pid of pids) {
    const ms = processCpuMs(pid);
    if (ms !== undefined) map.set(pid, ms);
  }
  return map;
}

/** CPU ms spent between two snapshots (a process that appeared in between counts in full). */
export function spent(before: CpuSnapshot, after: CpuSnapshot): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** Busy CPU ms of the whole machine (all CPUs, from /proc/stat), or undefined without /proc. */
export function machineBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = values.reduce((s, v) => s + v, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return ((total - idle) / clockTicks()) * 1000;
  } catch {
    return undefined;
  }
}
