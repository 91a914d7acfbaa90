import { readFileSync } from 'node:fs';

/** Resident memory of a process from /proc/<pid>/status (Linux), in MB; undefined when unreadable. */
export interface ProcessMemory {
  rss_mb: number;
  /** Private (anonymous) memory: the process's own heap, caches included. */
  rss_anon_mb: number;
  /** Shared memory it has touched (for PostgreSQL: shared buffers). */
  rss_shmem_mb: number;
}

export function processMemory(pid: number): ProcessMemory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    const mb = (v: number) => Math.round((v / 1024) * 10) / 10;
    return { rss_mb: mb(kb('VmRSS')), rss_anon_mb: mb(kb('RssAnon')), rss_shmem_mb: mb(kb('RssShmem')) };
  } catch {
    return undefined;
  }
}

/** Memory of several processes: how many were read, the mean and the largest private memory. */
export function processesMemory(pids: readonly number[]) {
  const read = pids.map(processMemory).filter((m): m is ProcessMemory => m !== undefined);
  const anon = read.map((m) => m.rss_anon_mb);
  const round1 = (v: number) => Math.round(v * 10) / 10;
  return {
    processes: read.length,
    rss_anon_mb_mean: read.length ? round1(anon.reduce((s, v) => s + v, 0) / read.length) : null,
    rss_anon_mb_max: read.length ? Math.max(...anon) : null,
    rss_anon_mb_total: round1(anon.reduce((s, v) => s + v, 0)),
    rss_mb_max: read.length ? Math.max(...read.map((m) => m.rss_mb)) : null,
  };
}
