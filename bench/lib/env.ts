export const DEFAULT_BENCH_DATABASE_URL = 'postgres://platform:platform@127.0.0.1:5432/platform_bench';
/**
 * The Redis database of the benchmarks that start the platform: not the tests' (/0), so what a
 * benchmark leaves there (usage counters, cached keys) never reaches a test.
 */
export const DEFAULT_BENCH_REDIS_URL = 'redis://127.0.0.1:6379/5';

export function benchDatabaseUrl(): string {
  return process.env.BENCH_DATABASE_URL ?? DEFAULT_BENCH_DATABASE_URL;
}

export function redisUrl(): string {
  return process.env.BENCH_REDIS_URL ?? DEFAULT_BENCH_REDIS_URL;
}

/** A positive integer from the environment, or `fallback`; anything else stops the run. */
export function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, got '${raw}'`);
  return value;
}

/** Redacts the password of a URL for results and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:/@]*:)[^@]*@/, '$1***@');
}
