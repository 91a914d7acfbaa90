/** Summary of a V8 `.cpuprofile` (node --cpu-prof): where a process's CPU time went. */
import { readFile } from 'node:fs/promises';
import { round } from '../lib/stats.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  ms: number;
  /** Share of the sampled time that was not idle. */
  pct_busy: number;
}

export interface ProfileSummary {
  file: string;
  sampled_ms: number;
  busy_ms: number;
  /** Self time by package or part of the code. */
  by_area: ProfileRow[];
  /** Self time by function. */
  top_self: ProfileRow[];
  /** Inclusive time (the function and what it calls, synchronously) of functions of the engine and @platform/celery. */
  top_inclusive_platform: ProfileRow[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function area(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (SPECIAL.has(functionName)) return functionName;
  if (url.includes('/ioredis/') || url.includes('/redis-parser/') || url.includes('/redis-errors/'))
    return 'ioredis';
  if (url.includes('/pino') || url.includes('/sonic-boom/') || url.includes('/fast-redact/')) return 'pino';
  if (url.includes('/zod/')) return 'zod';
  if (url.includes('/packages/celery/')) return '@platform/celery';
  if (url.includes('/services/worker/')) return 'worker engine';
  if (url.includes('/bench/')) return 'bench ts-worker';
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([a-z_]+)/.exec(url);
    return `node:${m?.[1] ?? 'internal'}`;
  }
  if (url === '') return 'native / V8 builtins';
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  return pkg ? (pkg[1] as string) : url.replace(/^.*\//, '');
}

function label(frame: ProfileNode['callFrame']): string {
  const file = frame.url.replace(/^.*\/(?=[^/]+\/[^/]+$)/, '');
  const name = frame.functionName || '(anonymous)';
  return file ? `${name} ${file}:${frame.lineNumber + 1}` : name;
}

function top(map: Map<string, number>, busyMs: number, n: number): ProfileRow[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: round(us / 1000, 1), pct_busy: round((us / 1000 / busyMs) * 100, 1) }));
}

export async function summarizeProfile(file: string, n = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // Each sample lasts until the next one (as DevTools counts it).
  const selfUs = new Map<number, number>();
  let sampledUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + us);
    sampledUs += us;
  }

  const byArea = new Map<string, number>();
  const bySelf = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    byArea.set(area(frame), (byArea.get(area(frame)) ?? 0) + us);
    bySelf.set(label(frame), (bySelf.get(label(frame)) ?? 0) + us);
    // Inclusive: every distinct function on the stack of this node, once.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)?.callFrame;
      if (!f || !(f.url.includes('/services/worker/') || f.url.includes('/packages/celery/'))) continue;
      const key = label(f);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const busyMs = (sampledUs - idleUs) / 1000;
  return {
    file,
    sampled_ms: round(sampledUs / 1000, 1),
    busy_ms: round(busyMs, 1),
    by_area: top(byArea, busyMs, n),
    top_self: top(bySelf, busyMs, n),
    top_inclusive_platform: top(inclusive, busyMs, n),
  };
}
