import { fileURLToPath } from 'node:url';
import { AUTH_FAILURE_LIMIT, MAX_API_KEY_CACHE_TTL_MS } from '@platform/core';
import { z } from 'zod';

/** The development admin token. Accepted only when NODE_ENV is development or test. */
export const DEV_ADMIN_TOKEN = 'dev-admin-token-not-for-production';

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    // Ops endpoints (/metrics, /readyz with its detail) on their own port, never routed by the ingress.
    OPS_HOST: z.string().min(1).optional(),
    OPS_PORT: z.coerce.number().int().min(0).max(65535).default(3002),
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'),
    ADMIN_TOKEN: z.string().optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    BODY_LIMIT: z
      .string()
      .regex(/^\d+(b|kb|mb)$/, 'must look like 512kb or 1mb')
      .default('1mb'),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
    DRAIN_DELAY_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
    API_KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).max(MAX_API_KEY_CACHE_TTL_MS).default(10_000),
    RATE_LIMITS: z.enum(['on', 'off']).default('on'),
    RATE_LIMIT_WINDOW_S: z.coerce.number().int().min(1).max(3600).default(1),
    // Failed authentications one client address may make per minute before it gets 429.
    RATE_LIMIT_AUTH_FAILURES: z.coerce
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(AUTH_FAILURE_LIMIT.attempts),
    RATE_LIMIT_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,100}$/)
      .default('platform:rate-limit'),
    TRUST_PROXY: z
      .string()
      .default('')
      .transform((v): boolean | number | string => {
        const value = v.trim();
        if (value === '' || value === 'false') return false;
        if (value === 'true') return true;
        return /^\d+$/.test(value) ? Number(value) : value;
      }),
    IDEMPOTENCY_MAX_RESPONSE_BYTES: z.coerce.number().int().min(0).max(1_048_576).default(65_536),
    MAX_TENANTS: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(1).optional()),
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
      ),
    ML_GATEWAY_URL: z.string().url().default('http://127.0.0.1:8000'),
    MODELS_CACHE_TTL_S: z.coerce.number().int().min(0).default(60),
    KUBERNETES: z.enum(['auto', 'on', 'off']).default('auto'),
    KUBECONFIG: z.string().optional(),
    KUBERNETES_SERVICE_HOST: z.string().optional(),
    PLATFORM_NAMESPACE: z.string().default('platform'),
    INGRESS_NAMESPACE: z.string().default('ingress-nginx'),
    QUEUE_ML: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,100}$/)
      .default('ml'),
    QUEUE_PLATFORM: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,100}$/)
      .default('platform'),
    // The operator console's build, served under /console; default: services/console/dist.
    CONSOLE_DIR: z.string().optional(),
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
      },
      trustProxy: env.TRUST_PROXY,
      maxTenants: env.MAX_TENANTS,
      corsOrigins: env.CORS_ORIGINS,
      mlGatewayUrl: env.ML_GATEWAY_URL.replace(/\/$/, ''),
      modelsCacheTtlSeconds: env.MODELS_CACHE_TTL_S,
      queues: { ml: env.QUEUE_ML, platform: env.QUEUE_PLATFORM },
      consoleDir: env.CONSOLE_DIR || fileURLToPath(new URL('../../console/dist', import.meta.url)),
      kubernetes: {
        mode: env.KUBERNETES,
        kubeconfig: env.KUBECONFIG || undefined,
        inCluster: Boolean(env.KUBERNETES_SERVICE_HOST),
        platformNamespace: env.PLATFORM_NAMESPACE,
        ingressNamespace: env.INGRESS_NAMESPACE,
      },
    };
  });

export type Config = z.output<typeof schema>;

export class ConfigError extends Error {}

/** Parses the environment once, at start-up. Throws a ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || 'env'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
