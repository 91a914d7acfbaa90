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

export interface Quiet {
  /** Share of all CPUs busy over the last sample before measuring (0..1), null without /proc. */
  busy_before: number | null;
  waited_s: number;
  quiet: boolean;
}

/**
 * Waits, up to `timeoutMs`, until the machine's CPUs are less than `maxBusy` busy over a
 * `sampleMs` window (other builds or tests on a shared machine skew every figure). It measures
 * anyway after the deadline, and says so.
 */
export async function waitForQuiet(
  options: { maxBusy?: number; sampleMs?: number; timeoutMs?: number } = {},
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
    const waited = (Date.now() - start) / 1000;
    if (busy < maxBusy)
      return { busy_before: Math.round(busy * 100) / 100, waited_s: Math.round(waited), quiet: true };
    if (Date.now() - start > timeoutMs) {
      note(`machine still ${Math.round(busy * 100)}% busy after ${Math.round(waited)} s: measuring anyway`);
      return { busy_before: Math.round(busy * 100) / 100, waited_s: Math.round(waited), quiet: false };
    }
    if (!warned) {
      note(
        `machine ${Math.round(busy * 100)}% busy (other work): waiting up to ${timeoutMs / 1000} s for it to calm down`,
      );
      warned = true;
    }
  }
}
