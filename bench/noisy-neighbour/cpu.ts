import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { type CpuSnapshot, machineBusyMs, snapshot, spent } from '../lib/cpu.js';
import { round } from '../lib/stats.js';

/**
 * CPU time per process group over one phase (Linux /proc): which of the API, the worker, the
 * ml-gateway, PostgreSQL, Redis and the clients the machine's two cores went to, and how much went
 * to other work on the machine.
 */
export interface CpuProbe {
  name: string;
  /** The pids of the group now (read at the start and at the end of the phase). */
  pids: () => Promise<number[]> | number[];
}

/** The pid and every descendant of it (a shell script's uvicorn, say). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const child of children.get(pid) ?? []) walk(child);
  };
  walk(root);
  return out;
}

/** Pids holding a socket listening on a TCP port of 127.0.0.1 or any address (from /proc/net/tcp). */
export function listeningPids(port: number): number[] {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local address, state 0A = LISTEN, inode
      if (f.length > 9 && f[3] === '0A' && Number.parseInt(f[1]?.split(':')[1] ?? '', 16) === port)
        inodes.add(f[9] as string);
    }
  }
  const pids: number[] = [];
  if (inodes.size === 0) return pids;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        if (target.startsWith('socket:[') && inodes.has(target.slice(8, -1))) {
          pids.push(Number(entry));
          break;
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  return pids;
}

export interface CpuWindow {
  startedAt: number;
  machineMs: number | undefined;
  own: NodeJS.CpuUsage;
  groups: Map<string, { probe: CpuProbe; before: CpuSnapshot }>;
}

export async function startCpuWindow(probes: CpuProbe[]): Promise<CpuWindow> {
  const groups = new Map<string, { probe: CpuProbe; before: CpuSnapshot }>();
  for (const probe of probes) groups.set(probe.name, { probe, before: snapshot(await probe.pids()) });
  return { startedAt: Date.now(), machineMs: machineBusyMs(), own: process.cpuUsage(), groups };
}

/**
 * Cores used by each group over the window (CPU ms over wall ms), `b_client` (this process: B's
 * requests), `machine` (every process of the machine) and `other` (the machine minus the groups:
 * work outside the benchmark). A process that started during the window counts in full.
 */
export async function endCpuWindow(window: CpuWindow): Promise<Record<string, number>> {
  const wallMs = Math.max(1, Date.now() - window.startedAt);
  const out: Record<string, number> = {};
  let total = 0;
  for (const [name, { probe, before }] of window.groups) {
    const ms = spent(before, snapshot(await probe.pids()));
    total += ms;
    out[name] = round(ms / wallMs, 3);
  }
  const own = process.cpuUsage(window.own);
  const ownMs = (own.user + own.system) / 1000;
  total += ownMs;
  out.b_client = round(ownMs / wallMs, 3);
  const machine = machineBusyMs();
  if (machine !== undefined && window.machineMs !== undefined) {
    out.machine = round((machine - window.machineMs) / wallMs, 3);
    out.other = round(Math.max(0, machine - window.machineMs - total) / wallMs, 3);
  }
  return out;
}
