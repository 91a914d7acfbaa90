/** Summary of a V8 `.cpuprofile` (node --cpu-prof): where a process's CPU time went. */
import { readFile } from 'node:fs/promises';
import { round } from './stats.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  ms: number;
  /** Share of the sampled time that was not idle. */
  pct_busy: number;
  /** Microseconds per request (with `requests`). */
  us_per_request?: number;
}

export interface ProfileSummary {
  file: string;
  sampled_ms: number;
  busy_ms: number;
  /** Requests served in the summarized window (with `requests`), and busy µs per request. */
  requests?: number;
  busy_us_per_request?: number;
  /** Self time by package or part of the code. */
  by_area: ProfileRow[];
  /** Inclusive time by area: samples with at least one frame of the area on the stack. */
  by_area_inclusive: ProfileRow[];
  /** Self time by function. */
  top_self: ProfileRow[];
  /** Inclusive time (the function and what it calls, synchronously) of the functions `inclusiveOf` selects. */
  top_inclusive_platform: ProfileRow[];
}

export interface SummaryOptions {
  /** Rows per table. */
  n?: number;
  /** Which functions get an inclusive row (by script URL). */
  inclusiveOf?: (url: string) => boolean;
  /** Only samples within [from, to], CLOCK_MONOTONIC µs (`monotonicUs()`), the clock V8 stamps samples with. */
  window?: { fromUs: number; toUs: number };
  /** Requests served in the window: adds µs per request to every row. */
  requests?: number;
}

/** CLOCK_MONOTONIC in µs, the clock of a V8 profile's timestamps. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function area(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (SPECIAL.has(functionName)) return functionName;
  if (url.includes('/ioredis/') || url.includes('/redis-parser/') || url.includes('/redis-errors/'))
    return 'ioredis';
  if (url.includes('/pino') || url.includes('/sonic-boom/') || url.includes('/fast-redact/')) return 'pino';
  if (url.includes('/zod/')) return 'zod';
  if (url.includes('/packages/celery/')) return '@platform/celery';
  if (url.includes('/packages/core/')) return '@platform/core';
  if (url.includes('/services/worker/')) return 'worker engine';
  if (url.includes('/services/api/src/generated/')) return 'api: tsoa routes';
  if (url.includes('/services/api/')) return 'api';
  if (url.includes('/bench/')) return 'bench';
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

function top(map: Map<string, number>, busyMs: number, n: number, requests?: number): ProfileRow[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({
      name,
      ms: round(us / 1000, 1),
      pct_busy: round((us / 1000 / busyMs) * 100, 1),
      ...(requests ? { us_per_request: round(us / requests, 1) } : {}),
    }));
}

const workerCode = (url: string) => url.includes('/services/worker/') || url.includes('/packages/celery/');

export async function summarizeProfile(file: string, options: SummaryOptions = {}): Promise<ProfileSummary> {
  const n = options.n ?? 15;
  const inclusiveOf = options.inclusiveOf ?? workerCode;
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  // Each sample lasts until the next one (as DevTools counts it); timeDeltas[i] leads to sample i.
  const selfUs = new Map<number, number>();
  let sampledUs = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (options.window && (at < options.window.fromUs || at > options.window.toUs)) continue;
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + us);
    sampledUs += us;
  }

  const byArea = new Map<string, number>();
  const byAreaInclusive = new Map<string, number>();
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
    // Inclusive: every distinct function (and area) on the stack of this node, once.
    const seen = new Set<string>();
    const seenAreas = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const f = byId.get(node)?.callFrame;
      if (!f) continue;
      const a = area(f);
      if (a !== '(root)' && !seenAreas.has(a)) {
        seenAreas.add(a);
        byAreaInclusive.set(a, (byAreaInclusive.get(a) ?? 0) + us);
      }
      if (!inclusiveOf(f.url)) continue;
      const key = label(f);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const busyMs = (sampledUs - idleUs) / 1000;
  const requests = options.requests && options.requests > 0 ? options.requests : undefined;
  return {
    file,
    sampled_ms: round(sampledUs / 1000, 1),
    busy_ms: round(busyMs, 1),
    ...(requests ? { requests, busy_us_per_request: round((busyMs * 1000) / requests, 1) } : {}),
    by_area: top(byArea, busyMs, n, requests),
    by_area_inclusive: top(byAreaInclusive, busyMs, n, requests),
    top_self: top(bySelf, busyMs, n, requests),
    top_inclusive_platform: top(inclusive, busyMs, n, requests),
  };
}
