import type { Platform } from './platform.js';

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; error?: string }>;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Checks the API's dependencies: PostgreSQL and Redis. */
export async function readiness(platform: Platform, timeoutMs = 2000): Promise<Readiness> {
  const probes: Record<string, () => Promise<unknown>> = {
    postgres: () => platform.db.raw('select 1'),
    // Not connected (Redis down at start, or reconnecting): answer at once, ioredis keeps retrying.
    redis: async () => {
      if (platform.redis.status !== 'ready') throw new Error(`not connected (${platform.redis.status})`);
      return platform.redis.ping();
    },
  };
  const checks: Readiness['checks'] = {};
  await Promise.all(
    Object.entries(probes).map(async ([name, probe]) => {
      try {
        await withTimeout(probe(), timeoutMs);
        checks[name] = { ok: true };
      } catch (err) {
        checks[name] = { ok: false, error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}
