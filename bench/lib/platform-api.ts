import { randomBytes } from 'node:crypto';
import { existsSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Database, provisionTenant } from '@platform/core';
import { pollUntil, type ServerProcess, startServerProcess } from './server-process.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST_MAIN = `${REPO_ROOT}services/api/dist/main.js`;
const SOURCE_MAIN = `${REPO_ROOT}services/api/src/main.ts`;

export interface PlatformApi extends ServerProcess {
  adminToken: string;
  /** How it was started, for the results. */
  entry: string;
  env: Record<string, string>;
}

/**
 * Starts the real API entry point as its own process, in production mode with a random admin
 * token. `BENCH_API_ENTRY=source` runs `src/main.ts` through tsx instead of the built `dist/main.js`.
 * Logging stays at the production level (info) with stdout sent to /dev/null (or appended to
 * `BENCH_API_LOG_FILE`): the cost of
 * serializing every access-log line is counted, not that of a terminal.
 */
export async function startPlatformApi(options: {
  databaseUrl: string;
  redisUrl: string;
  logLevel?: string;
  /** `on` for a benchmark that measures the limits; off by default, so load beyond a plan's budget is served. */
  rateLimits?: 'on' | 'off';
  /** More node flags for this process (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** More environment for the API (e.g. `ML_GATEWAY_URL`). */
  env?: Record<string, string>;
}): Promise<PlatformApi> {
  const source = process.env.BENCH_API_ENTRY === 'source';
  if (!source && !existsSync(DIST_MAIN)) {
    throw new Error(
      `${DIST_MAIN} is missing: build first (pnpm exec turbo run build) or set BENCH_API_ENTRY=source`,
    );
  }
  const adminToken = randomBytes(32).toString('base64url');
  const env = {
    NODE_ENV: 'production',
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: process.env.BENCH_API_LOG_LEVEL ?? options.logLevel ?? 'info',
    // Never reach a Kubernetes cluster from a benchmark, whatever kubeconfig the machine has.
    KUBERNETES: 'off',
    RATE_LIMITS: options.rateLimits ?? 'off',
    // The ops listener (/readyz, /metrics) on any free port: never in the way of another API.
    OPS_PORT: '0',
    // Stop at once when the benchmark is done with it (no load balancer to drain).
    DRAIN_DELAY_MS: '0',
    ...options.env,
  };
  // Extra node flags for the API process only, e.g. BENCH_API_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
  const extraArgs = [
    ...(process.env.BENCH_API_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
    ...(options.nodeArgs ?? []),
  ];
  const nodeArgs = [
    ...extraArgs,
    ...(source ? ['--conditions=source', '--import', 'tsx', SOURCE_MAIN] : [DIST_MAIN]),
  ];
  const server = await startServerProcess({
    name: 'platform API',
    nodeArgs,
    env,
    // The public port's /healthz: it answers once the API listens (/readyz is on the ops port).
    readyPath: '/healthz',
    // BENCH_API_LOG_FILE: the API's log appended to that file instead (to find the cause of an
    // error the benchmark counted; it costs the disk writes).
    stdout: process.env.BENCH_API_LOG_FILE ? openSync(process.env.BENCH_API_LOG_FILE, 'a') : 'ignore',
    cwd: `${REPO_ROOT}services/api`,
  });
  const entry = source
    ? 'node --conditions=source --import tsx services/api/src/main.ts'
    : 'node services/api/dist/main.js';
  return { ...server, adminToken, entry, env: { ...env, ADMIN_TOKEN: '[random, 43 chars]' } };
}

/** Calls the API; throws with the response body unless the status is the expected one. */
export async function call<T>(
  baseUrl: string,
  token: string,
  method: 'GET' | 'POST',
  path: string,
  expect: number,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== expect)
    throw new Error(`${method} ${path}: expected ${expect}, got ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface Fixture {
  tenantId: string;
  slug: string;
  key: string;
  /** `key` and the extra read keys. */
  keys: string[];
  userId: string;
}

/**
 * Through the API, as a client would: creates a tenant, waits (polling with a deadline) until its
 * provisioning is done, creates a read/write key and one user. The API only queues provisioning
 * for the worker; without a worker running, pass `provisionWith` and the benchmark runs the
 * worker's task itself (`provisionTenant`; a worker that took the tenant first makes it return
 * `skipped`, and the polling waits for that worker).
 */
export async function createFixtureViaApi(
  api: PlatformApi,
  slug: string,
  options: { provisionWith?: Database; plan?: 'free' | 'standard' | 'enterprise'; extraKeys?: number } = {},
): Promise<Fixture> {
  const tenant = await call<{ id: string }>(api.url, api.adminToken, 'POST', '/v1/tenants', 202, {
    slug,
    name: `Bench ${slug}`,
    ...(options.plan ? { plan: options.plan } : {}),
  });
  if (options.provisionWith) await provisionTenant(options.provisionWith, tenant.id);
  await pollUntil(`tenant ${slug} to be ready`, async () => {
    const t = await call<{ status: string; last_error?: string | null }>(
      api.url,
      api.adminToken,
      'GET',
      `/v1/tenants/${tenant.id}`,
      200,
    );
    if (t.status === 'failed') throw new Error(`provisioning of ${slug} failed: ${t.last_error}`);
    return t.status === 'ready' ? true : undefined;
  });
  const { key } = await call<{ key: string }>(
    api.url,
    api.adminToken,
    'POST',
    `/v1/tenants/${tenant.id}/api-keys`,
    201,
    { name: 'bench', scopes: ['read', 'write'] },
  );
  const user = await call<{ id: string }>(api.url, key, 'POST', '/v1/users', 201, {
    email: `user@${slug}.example`,
    name: 'Bench User',
  });
  await call(api.url, key, 'GET', `/v1/users/${user.id}`, 200);
  const keys = [key];
  for (let i = 0; i < (options.extraKeys ?? 0); i++) {
    const extra = await call<{ key: string }>(
      api.url,
      api.adminToken,
      'POST',
      `/v1/tenants/${tenant.id}/api-keys`,
      201,
      { name: `bench-${i + 2}`, scopes: ['read'] },
    );
    keys.push(extra.key);
  }
  return { tenantId: tenant.id, slug, key, keys, userId: user.id };
}

/** Pids of the PostgreSQL backends the API holds (its pools connect with application_name `api`). */
export function apiBackendPids(db: Database, applicationName = 'api'): () => Promise<number[]> {
  return async () => {
    const { rows } = await db.raw<{ rows: Array<{ pid: number }> }>(
      'select pid from pg_stat_activity where datname = current_database() and application_name = ?',
      [applicationName],
    );
    return rows.map((r) => r.pid);
  };
}
