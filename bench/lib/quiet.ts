import { readFileSync } from 'node:fs';
import { note } from './table.js';

/** Busy and total jiffies of all CPUs from /proc/stat (Linux), or undefined elsewhere. */
function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.reduce((s, v) => s + v, 0);
    const idle = (values[3] ?? 0) + (values[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/**
 * The share of the last 10 s in which some task waited for I/O (`/proc/pressure/io`, Linux 4.20+),
 * in percent, or undefined where it cannot be read.
 */
function ioPressure(): number | undefined {
  try {
    const line = readFileSync('/proc/pressure/io', 'utf8').split('\n')[0] ?? '';
    const match = /avg10=([\d.]+)/.exec(line);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface Quiet {
  /** Share of all CPUs busy over the last sample before measuring (0..1), null without /proc. */
  busy_before: number | null;
  /** I/O pressure (percent of the last 10 s) when measuring started, when asked for and readable. */
  io_pressure_before?: number | null;
  waited_s: number;
  quiet: boolean;
}

/**
 * Waits, up to `timeoutMs`, until the machine's CPUs are less than `maxBusy` busy over a
 * `sampleMs` window (other builds or tests on a shared machine skew every figure) and, with
 * `maxIoPressure`, until tasks waited for I/O less than that percentage of the last 10 s (a
 * dropped database's files are freed for a minute or more after `DROP`, with little CPU). It
 * measures anyway after the deadline, and says so.
 */
export async function waitForQuiet(
  options: { maxBusy?: number; maxIoPressure?: number; sampleMs?: number; timeoutMs?: number } = {},
): Promise<Quiet> {
  const maxBusy = options.maxBusy ?? 0.15;
  const sampleMs = options.sampleMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const start = Date.now();
  let busy = 0;
  for (let warned = false; ; ) {
    const a = cpuTimes();
    await new Promise((resolve) => setTimeout(resolve, sampleMs));
    const b = cpuTimes();
    if (!a || !b) return { busy_before: null, waited_s: 0, quiet: true };
    busy = (b.busy - a.busy) / Math.max(1, b.total - a.total);
    const io = options.maxIoPressure === undefined ? undefined : ioPressure();
    const waited = (Date.now() - start) / 1000;
    const state = {
      busy_before: Math.round(busy * 100) / 100,
      ...(options.maxIoPressure === undefined ? {} : { io_pressure_before: io ?? null }),
      waited_s: Math.round(waited),
    };
    const ioCalm = io === undefined || options.maxIoPressure === undefined || io < options.maxIoPressure;
    if (busy < maxBusy && ioCalm) return { ...state, quiet: true };
    const what = `${Math.round(busy * 100)}% busy${io === undefined ? '' : `, I/O pressure ${io}%`}`;
    if (Date.now() - start > timeoutMs) {
      note(`machine still ${what} after ${Math.round(waited)} s: measuring anyway`);
      return { ...state, quiet: false };
    }
    if (!warned) {
      note(`machine ${what} (other work): waiting up to ${timeoutMs / 1000} s for it to calm down`);
      warned = true;
    }
  }
}
