import { fileURLToPath } from 'node:url';
import {
  AUTH_FAILURE_LIMIT,
  kubernetesEnvShape,
  kubernetesSettingsFrom,
  MAX_API_KEY_CACHE_TTL_MS,
} from '@platform/core';
import { z } from 'zod';

/** The development admin token. Accepted only when NODE_ENV is development or test. */
export const DEV_ADMIN_TOKEN = 'dev-admin-token-not-for-production';

/**
 * The API's environment: one entry per variable it reads, each with its meaning (`.describe()`),
 * from which docs/configuration.md is generated (`pnpm --filter @platform/api docs`).
 */
export const apiEnvSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development').describe('Run mode'),
    HOST: z.string().min(1).default('127.0.0.1').describe('Listen address (`0.0.0.0` in containers)'),
    PORT: z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(3000)
      .describe(
        'Listen port: the API, `/docs` (the reference, Redoc), `/openapi.json` and a minimal `/healthz`',
      ),
    OPS_HOST: z.string().min(1).optional().describe('Listen address of the ops listener; unset: `HOST`'),
    OPS_PORT: z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(3002)
      .describe(
        'Ops listener, not to be routed by an ingress: `/healthz`, `/readyz` (PostgreSQL and Redis, with their error text; 503 while draining), `/metrics`. Must differ from `PORT` (`0`: any free port)',
      ),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .describe(
        '`postgres://…`, as the runtime role: rights on rows, no DDL ([database roles](#database-roles))',
      ),
    DATABASE_POOL_MAX: z.coerce
      .number()
      .int()
      .min(1)
      .max(200)
      .default(10)
      .describe(
        'Connections in the pool; the API has one more pool of this size per plan in use, for single-statement tenant reads and event batches',
      ),
    DATABASE_POOL_SHARE: z.coerce
      .number()
      .int()
      .min(0)
      .max(200)
      .default(0)
      .describe(
        "Connections of a plan's pool that one tenant's single statements prefer (its share, picked by its id; a statement waits there behind up to 2 others per connection, then goes to another share and runs unprepared there). Each connection then prepares statements and caches tables of a fraction of the tenants: with thousands of tenants, 1 (each connection its own share) keeps PostgreSQL's CPU and memory per request lowest; with few, `0` (one share of the whole pool) serves faster ([tenancy](tenancy.md#isolation))",
      ),
    DATABASE_IDLE_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(1000)
      .max(3_600_000)
      .default(60_000)
      .describe(
        "How long a connection of a plan's pool may stay idle before it is closed (an unused plan's pool drains to none). A connection that has served thousands of tenants holds their prepared statements and cached tables; its replacement builds them again, at up to several times the database's CPU per request until it has, so a lull shorter than this keeps them",
      ),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// URL')
      .describe('`redis://…` (or `rediss://`)'),
    ADMIN_TOKEN: z
      .string()
      .optional()
      .describe(
        `Platform admin token. Required in production: at least 32 characters and not the development default; unset outside production: \`${DEV_ADMIN_TOKEN}\``,
      ),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('pino level'),
    BODY_LIMIT: z
      .string()
      .regex(/^\d+(b|kb|mb)$/, 'must look like 512kb or 1mb')
      .default('1mb')
      .describe('Largest request body, like `512kb` or `1mb` (413 above)'),
    SHUTDOWN_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(0)
      .default(10_000)
      .describe('How long in-flight requests get once the listener is closed'),
    DRAIN_DELAY_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(600_000)
      .default(5_000)
      .describe(
        'On SIGTERM: how long `/readyz` answers 503 while requests are still served (each response asks its client to reconnect), before the listener closes. SIGINT (Ctrl-C) skips it',
      ),
    API_KEY_CACHE_TTL_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(MAX_API_KEY_CACHE_TTL_MS)
      .default(10_000)
      .describe(
        'How long a verified key lookup is cached (revocations clear it at once on every replica, and win over a lookup in flight). Past it, a key is still answered from the cache while it is refreshed in the background (with the other keys due within 50 ms, in one statement), up to 60 s after it was read',
      ),
    RATE_LIMITS: z
      .enum(['on', 'off'])
      .default('on')
      .describe(
        '`off` switches every rate limit off (no 429 `rate_limited`, no RateLimit headers); for benchmarks that compare, never in production ([tenancy](tenancy.md#rate-limits))',
      ),
    RATE_LIMIT_WINDOW_S: z.coerce
      .number()
      .int()
      .min(1)
      .max(3600)
      .default(1)
      .describe(
        'Length of a rate limit window; the plan budgets are requests per window, admitted evenly (GCRA: one request back every window / budget, bursts of up to the budget), so a longer window is a lower rate (the tests use long windows to count requests, not time)',
      ),
    RATE_LIMIT_HOLD_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(1000)
      .describe(
        'Longest a tenant request past its rate limit waits before its 429 is sent: a random part, from half to all, of the time until its budget is whole again, at most this, so refused connections do not come back in step (`Retry-After` then says what is left until the next request is admitted). A client that ignores `Retry-After` is slowed to about one request per connection per hold, so its flood leaves the CPU to the other tenants; `0` answers at once. At most 2,000 are held at once per process ([tenancy](tenancy.md#rate-limits))',
      ),
    RATE_LIMIT_LEASE_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(50)
      .describe(
        'How long an API process may hand out requests of a busy budget that Redis admitted ahead for it (a lease: at most what the budget earns back in this time, and no more than the process used in the last period), without a Redis round trip each; unused ones go back to Redis when it expires. No replica ever admits more than the budget; another may be refused for up to this long what one holds. `0` counts every request in Redis ([tenancy](tenancy.md#rate-limits))',
      ),
    TENANT_CONCURRENCY: z.coerce
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(4)
      .describe(
        'Requests of one tenant an API process runs at once past authentication and rate limits; its others wait in arrival order, so another tenant waits behind at most this many of them; `0` switches it off ([tenancy](tenancy.md#rate-limits))',
      ),
    RATE_LIMIT_AUTH_FAILURES: z.coerce
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(AUTH_FAILURE_LIMIT.attempts)
      .describe(
        'Failed authentications one client address may make per minute; past it the address gets 429 `rate_limited` before its credentials are checked',
      ),
    RATE_LIMIT_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,100}$/)
      .default('platform:rate-limit')
      .describe('Prefix of the Redis counters; every replica of one platform must share it'),
    TRUST_PROXY: z
      .string()
      .default('')
      .transform((v): boolean | number | string => {
        const value = v.trim();
        if (value === '' || value === 'false') return false;
        if (value === 'true') return true;
        return /^\d+$/.test(value) ? Number(value) : value;
      })
      .describe(
        "Express `trust proxy`: how the client address of the failed-authentication limit is found behind an ingress. `1` (one proxy hop, the chart's ingress), `true`, or a list of proxy addresses/subnets. Empty or `false`: off, the peer address, which behind a proxy is the proxy's",
      ),
    IDEMPOTENCY_MAX_RESPONSE_BYTES: z.coerce
      .number()
      .int()
      .min(0)
      .max(1_048_576)
      .default(65_536)
      .describe(
        'Largest response body kept for `Idempotency-Key` replays; a larger one is remembered without its body and a replay answers 409 `idempotency_response_too_large` ([API](api.md#idempotency-key))',
      ),
    MAX_TENANTS: z
      .preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(1).optional())
      .describe(
        'The most tenants (not deleted) the platform holds; creating one more answers 409 `tenant_limit_reached`. Unset: no limit',
      ),
    CORS_ORIGINS: z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean),
      )
      .pipe(
        z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'each origin must look like https://host[:port]')),
      )
      .describe(
        'Comma-separated origins (`https://host[:port]`) allowed to call the API from a browser; exact match. Empty: none',
      ),
    ML_GATEWAY_URL: z
      .string()
      .url()
      .default('http://127.0.0.1:8000')
      .describe('The ml-gateway, for the model catalog'),
    MODELS_CACHE_TTL_S: z.coerce
      .number()
      .int()
      .min(0)
      .default(60)
      .describe('How long the model catalog is cached in Redis'),
    ...kubernetesEnvShape,
    QUEUE_ML: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,100}$/)
      .default('ml')
      .describe('Queue the API publishes predictions to'),
    QUEUE_PLATFORM: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,100}$/)
      .default('platform')
      .describe('Queue the API publishes tenant tasks (provisioning, deprovisioning) to'),
    CONSOLE_DIR: z
      .string()
      .optional()
      .describe(
        "The operator console's build, served under `/console/` ([console](console.md)); nothing is served when it holds no `index.html`. Unset: `services/console/dist`",
      ),
  })
  .transform((env, ctx) => {
    const development = env.NODE_ENV !== 'production';
    if (env.OPS_PORT !== 0 && env.OPS_PORT === env.PORT) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['OPS_PORT'], message: 'must differ from PORT' });
      return z.NEVER;
    }
    const adminToken = env.ADMIN_TOKEN ?? (development ? DEV_ADMIN_TOKEN : undefined);
    if (!adminToken) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['ADMIN_TOKEN'],
        message: 'is required in production',
      });
      return z.NEVER;
    }
    if (!development && (adminToken === DEV_ADMIN_TOKEN || adminToken.length < 32)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['ADMIN_TOKEN'],
        message: 'must be a secret of at least 32 characters, not the development default, in production',
      });
      return z.NEVER;
    }
    return {
      env: env.NODE_ENV,
      host: env.HOST,
      port: env.PORT,
      opsHost: env.OPS_HOST ?? env.HOST,
      opsPort: env.OPS_PORT,
      databaseUrl: env.DATABASE_URL,
      databasePoolMax: env.DATABASE_POOL_MAX,
      databasePoolShare: env.DATABASE_POOL_SHARE,
      databaseIdleTimeoutMs: env.DATABASE_IDLE_TIMEOUT_MS,
      redisUrl: env.REDIS_URL,
      adminToken,
      logLevel: env.LOG_LEVEL,
      bodyLimit: env.BODY_LIMIT,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
      drainDelayMs: env.DRAIN_DELAY_MS,
      apiKeyCacheTtlMs: env.API_KEY_CACHE_TTL_MS,
      idempotencyMaxResponseBytes: env.IDEMPOTENCY_MAX_RESPONSE_BYTES,
      rateLimits: {
        enabled: env.RATE_LIMITS === 'on',
        windowSeconds: env.RATE_LIMIT_WINDOW_S,
        keyPrefix: env.RATE_LIMIT_KEY_PREFIX,
        authFailures: env.RATE_LIMIT_AUTH_FAILURES,
        holdMaxMs: env.RATE_LIMIT_HOLD_MS,
        leaseMs: env.RATE_LIMIT_LEASE_MS,
      },
      tenantConcurrency: env.TENANT_CONCURRENCY,
      trustProxy: env.TRUST_PROXY,
      maxTenants: env.MAX_TENANTS,
      corsOrigins: env.CORS_ORIGINS,
      mlGatewayUrl: env.ML_GATEWAY_URL.replace(/\/$/, ''),
      modelsCacheTtlSeconds: env.MODELS_CACHE_TTL_S,
      queues: { ml: env.QUEUE_ML, platform: env.QUEUE_PLATFORM },
      consoleDir: env.CONSOLE_DIR || fileURLToPath(new URL('../../console/dist', import.meta.url)),
      kubernetes: kubernetesSettingsFrom(env),
    };
  });

export type Config = z.output<typeof apiEnvSchema>;

export class ConfigError extends Error {}

/** Parses the environment once, at start-up. Throws a ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = apiEnvSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || 'env'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
