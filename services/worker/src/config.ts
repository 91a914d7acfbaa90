import { kubernetesEnvShape, kubernetesSettingsFrom } from '@platform/core';
import { z } from 'zod';

const queueName = z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'must be a plain queue name');

/**
 * The worker's environment: one entry per variable it reads, each with its meaning (`.describe()`),
 * from which docs/configuration.md is generated (`pnpm --filter @platform/api docs`).
 */
export const workerEnvSchema = z
  .object({
    NODE_ENV: z
      .enum(['development', 'test', 'production'])
      .default('development')
      .describe('Run mode; checked, but the worker behaves the same in each'),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .describe(
        "As for the API: everything but what needs the owner runs as this URL's runtime role ([database roles](#database-roles))",
      ),
    DATABASE_POOL_MAX: z.coerce
      .number()
      .int()
      .min(1)
      .max(100)
      .default(5)
      .describe("Connections in the runtime role's pool"),
    DATABASE_OWNER_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional()
      .or(z.literal('').transform(() => undefined))
      .describe(
        "The owner role, for provisioning and deprovisioning (creating and dropping tenant schemas, `create_parent`) and pg_partman maintenance. Unset or empty: `DATABASE_URL`'s role does everything (one role, development)",
      ),
    DATABASE_OWNER_POOL_MAX: z.coerce
      .number()
      .int()
      .min(1)
      .max(20)
      .default(2)
      .describe("Connections in the owner's pool (only opened when `DATABASE_OWNER_URL` is set)"),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// URL')
      .describe('`redis://…` (or `rediss://`): the broker, result backend and coordination'),
    ML_GATEWAY_URL: z
      .string()
      .url()
      .default('http://127.0.0.1:8000')
      .describe('Where `ml.predict` runs models'),
    QUEUE_ML: queueName.default('ml').describe('Queue of `ml.predict`, consumed'),
    QUEUE_PLATFORM: queueName.default('platform').describe('Queue of the platform tasks, consumed'),
    WORKER_CONCURRENCY: z.coerce
      .number()
      .int()
      .min(1)
      .max(256)
      .default(4)
      .describe('Tasks run at once; a batch of `ml.predict` deliveries takes one slot'),
    WORKER_BATCH_SIZE: z.coerce
      .number()
      .int()
      .min(1)
      .max(256)
      .default(32)
      .describe(
        'Most queued `ml.predict` deliveries run together in one ml-gateway call (`POST /v1/predictions/batch`, which takes at most 256); `1` runs each alone ([tasks](tasks.md#batches))',
      ),
    WORKER_BATCH_WAIT_MS: z.coerce
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(10)
      .describe(
        'Longest a batch waits for more deliveries after its first one; it closes earlier when full. Each batch costs a claim, an ml-gateway call, a record and its Redis calls whatever its size, so under a steady flow a longer wait means fewer, fuller batches',
      ),
    VISIBILITY_TIMEOUT_S: z.coerce
      .number()
      .int()
      .min(1)
      .default(3600)
      .describe(
        "kombu's visibility timeout: a delivery not acknowledged nor refreshed for this long is redelivered by any consumer (Python Celery workers rely on it)",
      ),
    HEARTBEAT_TTL_MS: z.coerce
      .number()
      .int()
      .min(500)
      .default(10_000)
      .describe(
        "This worker's heartbeat key expires after this long unless refreshed (every third of it); then any worker restores what it held ([tasks](tasks.md#redelivery-after-a-worker-dies))",
      ),
    REAP_INTERVAL_MS: z.coerce
      .number()
      .int()
      .min(100)
      .default(2_000)
      .describe('How often a worker looks for workers whose heartbeat expired'),
    MAX_CONSUMER_DEATHS: z.coerce
      .number()
      .int()
      .min(1)
      .default(3)
      .describe(
        'A message that was running each time its worker died this many times goes to `<queue>.dead` (`killed_consumers`)',
      ),
    DEAD_LETTER_MAX_LENGTH: z.coerce
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(10_000)
      .describe(
        'Entries each dead-letter list `<queue>.dead` keeps, the newest; a push beyond drops the oldest and counts them (`worker_dead_letters_dropped_total`, [tasks](tasks.md#dead-letters)). Every worker sharing a Redis should use the same value',
      ),
    OUTBOX_RELAY: z
      .enum(['on', 'off'])
      .default('on')
      .describe('Publish outbox entries to Redis from this worker (any number of relays may run)'),
    OUTBOX_POLL_MS: z.coerce
      .number()
      .int()
      .min(10)
      .default(1_000)
      .describe('Polling fallback of the relay, besides LISTEN/NOTIFY (backs off while Redis fails)'),
    OUTBOX_BATCH_SIZE: z.coerce
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(500)
      .describe('Entries published per relay pass (one transaction)'),
    OUTBOX_RETENTION_S: z.coerce
      .number()
      .int()
      .min(0)
      .default(3600)
      .describe('Sent outbox entries are deleted after this long'),
    FAIR_QUEUEING: z
      .enum(['on', 'off'])
      .default('on')
      .describe(
        '`off` publishes every `ml.predict` at once, FIFO across tenants, with no slots ([tasks](tasks.md#fair-queueing))',
      ),
    FAIR_SLOTS_PER_TENANT: z.coerce
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(64)
      .describe(
        '`ml.predict` messages of one tenant in the broker at once (published, not yet acknowledged); the rest wait in the outbox. Below a few times `WORKER_BATCH_SIZE`, a tenant alone cannot fill the batches',
      ),
    FAIR_SLOT_TTL_S: z.coerce
      .number()
      .int()
      .min(1)
      .default(300)
      .describe(
        'A slot whose release never came (a consumer lost with the message) is freed after this long',
      ),
    FAIR_POLL_MS: z.coerce
      .number()
      .int()
      .min(10)
      .default(250)
      .describe(
        'Relay polling while it holds entries back (a release on Redis wakes it at once; this is the fallback)',
      ),
    TRACK_STARTED: z.enum(['true', 'false']).default('false').describe('Write the `STARTED` state'),
    DRAIN_TIMEOUT_MS: z.coerce
      .number()
      .int()
      .min(0)
      .default(30_000)
      .describe('How long running tasks get on SIGTERM'),
    MAINTENANCE_INTERVAL_S: z.coerce
      .number()
      .int()
      .min(10)
      .default(3600)
      .describe('How often pg_partman maintenance is scheduled'),
    MAINTENANCE_MAX_S: z.coerce
      .number()
      .int()
      .min(1)
      .max(840)
      .default(600)
      .describe(
        'Longest a pg_partman maintenance pass keeps starting tables; the tables still due wait for the next pass (premake leaves days of slack). At most 840, so a pass ends within its lock and its task timeout (15 min)',
      ),
    MAINTENANCE_CONCURRENCY: z.coerce
      .number()
      .int()
      .min(1)
      .max(8)
      .default(2)
      .describe(
        "Tables a pg_partman maintenance pass maintains at once, each in its own transaction on a connection of the owner's pool (`DATABASE_OWNER_POOL_MAX`)",
      ),
    USAGE_FLUSH_INTERVAL_S: z.coerce
      .number()
      .int()
      .min(1)
      .default(30)
      .describe(
        'How often the usage counters are flushed from Redis to `platform.usage` (`platform.usage_flush`)',
      ),
    ...kubernetesEnvShape,
    TENANT_EGRESS_CIDRS: z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.string().cidr('must be comma-separated CIDRs, e.g. 203.0.113.0/24')))
      .describe(
        'Comma-separated CIDRs that pods in tenant namespaces may reach besides the cluster DNS (their `restrict-egress` NetworkPolicy); chart: `config.tenantEgressCidrs`. Empty: none',
      ),
    HTTP_HOST: z
      .string()
      .default('127.0.0.1')
      .describe('Listen address of `/healthz`, `/readyz` and `/metrics` (listening before Redis is reached)'),
    HTTP_PORT: z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(3001)
      .describe('Listen port of `/healthz`, `/readyz` and `/metrics`'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('pino level'),
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
    maintenanceMaxSeconds: env.MAINTENANCE_MAX_S,
    maintenanceConcurrency: env.MAINTENANCE_CONCURRENCY,
    usageFlushIntervalSeconds: env.USAGE_FLUSH_INTERVAL_S,
    kubernetes: { ...kubernetesSettingsFrom(env), egressCidrs: env.TENANT_EGRESS_CIDRS },
    httpHost: env.HTTP_HOST,
    httpPort: env.HTTP_PORT,
    logLevel: env.LOG_LEVEL,
  }));

export type WorkerConfig = z.output<typeof workerEnvSchema>;

export class ConfigError extends Error {}

/** Parses the environment once, at start-up, listing every problem. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const result = workerEnvSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || 'env'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
