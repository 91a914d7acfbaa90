import { z } from 'zod';

const queueName = z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'must be a plain queue name');

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(100).default(5),
    // The owner role, for provisioning and pg_partman maintenance (DDL). Unset: DATABASE_URL's
    // role does everything (one role, development).
    DATABASE_OWNER_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional()
      .or(z.literal('').transform(() => undefined)),
    DATABASE_OWNER_POOL_MAX: z.coerce.number().int().min(1).max(20).default(2),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'),
    ML_GATEWAY_URL: z.string().url().default('http://127.0.0.1:8000'),
    QUEUE_ML: queueName.default('ml'),
    QUEUE_PLATFORM: queueName.default('platform'),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(4),
    // Queued ml.predict deliveries gathered into one ml-gateway call (1: one call per prediction),
    // at most WORKER_BATCH_WAIT_MS after the first; ml-gateway takes at most 256 items per call.
    WORKER_BATCH_SIZE: z.coerce.number().int().min(1).max(256).default(32),
    WORKER_BATCH_WAIT_MS: z.coerce.number().int().min(0).max(1000).default(2),
    VISIBILITY_TIMEOUT_S: z.coerce.number().int().min(1).default(3600),
    HEARTBEAT_TTL_MS: z.coerce.number().int().min(500).default(10_000),
    REAP_INTERVAL_MS: z.coerce.number().int().min(100).default(2_000),
    MAX_CONSUMER_DEATHS: z.coerce.number().int().min(1).default(3),
    // Entries each dead-letter list (<queue>.dead) keeps, the newest; older ones are dropped and counted.
    DEAD_LETTER_MAX_LENGTH: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
    OUTBOX_RELAY: z.enum(['on', 'off']).default('on'),
    OUTBOX_POLL_MS: z.coerce.number().int().min(10).default(1_000),
    OUTBOX_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
    OUTBOX_RETENTION_S: z.coerce.number().int().min(0).default(3600),
    FAIR_QUEUEING: z.enum(['on', 'off']).default('on'),
    FAIR_SLOTS_PER_TENANT: z.coerce.number().int().min(1).max(10_000).default(8),
    FAIR_SLOT_TTL_S: z.coerce.number().int().min(1).default(300),
    FAIR_POLL_MS: z.coerce.number().int().min(10).default(250),
    TRACK_STARTED: z.enum(['true', 'false']).default('false'),
    DRAIN_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
    MAINTENANCE_INTERVAL_S: z.coerce.number().int().min(10).default(3600),
    USAGE_FLUSH_INTERVAL_S: z.coerce.number().int().min(1).default(30),
    KUBERNETES: z.enum(['auto', 'on', 'off']).default('auto'),
    KUBECONFIG: z.string().optional(),
    KUBERNETES_SERVICE_HOST: z.string().optional(),
    PLATFORM_NAMESPACE: z.string().default('platform'),
    INGRESS_NAMESPACE: z.string().default('ingress-nginx'),
    // Comma-separated CIDRs tenant pods may reach besides the cluster DNS (their egress policy).
    TENANT_EGRESS_CIDRS: z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().cidr('must be comma-separated CIDRs, e.g. 203.0.113.0/24'))),
    HTTP_HOST: z.string().default('127.0.0.1'),
    HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .transform((env) => ({
    databaseUrl: env.DATABASE_URL,
    databasePoolMax: env.DATABASE_POOL_MAX,
    databaseOwnerUrl: env.DATABASE_OWNER_URL,
    databaseOwnerPoolMax: env.DATABASE_OWNER_POOL_MAX,
    redisUrl: env.REDIS_URL,
    mlGatewayUrl: env.ML_GATEWAY_URL.replace(/\/$/, ''),
    queues: { ml: env.QUEUE_ML, platform: env.QUEUE_PLATFORM },
    concurrency: env.WORKER_CONCURRENCY,
    batch: { size: env.WORKER_BATCH_SIZE, waitMs: env.WORKER_BATCH_WAIT_MS },
    visibilityTimeoutSeconds: env.VISIBILITY_TIMEOUT_S,
    heartbeatTtlMs: env.HEARTBEAT_TTL_MS,
    reapIntervalMs: env.REAP_INTERVAL_MS,
    maxConsumerDeaths: env.MAX_CONSUMER_DEATHS,
    deadLetterMaxLength: env.DEAD_LETTER_MAX_LENGTH,
    outbox: {
      enabled: env.OUTBOX_RELAY === 'on',
      pollIntervalMs: env.OUTBOX_POLL_MS,
      batchSize: env.OUTBOX_BATCH_SIZE,
      retentionSeconds: env.OUTBOX_RETENTION_S,
    },
    fairness: {
      enabled: env.FAIR_QUEUEING === 'on',
      slotsPerTenant: env.FAIR_SLOTS_PER_TENANT,
      slotTtlSeconds: env.FAIR_SLOT_TTL_S,
      heldBackPollMs: env.FAIR_POLL_MS,
    },
    trackStarted: env.TRACK_STARTED === 'true',
    drainTimeoutMs: env.DRAIN_TIMEOUT_MS,
    maintenanceIntervalSeconds: env.MAINTENANCE_INTERVAL_S,
    usageFlushIntervalSeconds: env.USAGE_FLUSH_INTERVAL_S,
    kubernetes: {
      mode: env.KUBERNETES,
      kubeconfig: env.KUBECONFIG || undefined,
      inCluster: Boolean(env.KUBERNETES_SERVICE_HOST),
      platformNamespace: env.PLATFORM_NAMESPACE,
      ingressNamespace: env.INGRESS_NAMESPACE,
      egressCidrs: env.TENANT_EGRESS_CIDRS,
    },
    httpHost: env.HTTP_HOST,
    httpPort: env.HTTP_PORT,
    logLevel: env.LOG_LEVEL,
  }));

export type WorkerConfig = z.output<typeof schema>;

export class ConfigError extends Error {}

/** Parses the environment once, at start-up, listing every problem. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || 'env'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
