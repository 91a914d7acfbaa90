import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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

/**
 * Busy CPU ms of the whole machine, all CPUs (user..steal from the first line of /proc/stat), or
 * undefined without /proc. Over a run, minus what the processes under test used, it tells how much
 * other work on a shared machine competed with the measurement.
 */
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
