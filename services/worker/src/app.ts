import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CeleryPublisher, FAIR_RELEASED_CHANNEL, TenantTaskData } from '@platform/celery';
import {
  createDatabase,
  type Database,
  loadKubeConfig,
  MlGatewayClient,
  OutboxRelay,
  outboxBacklog,
  PredictionRunner,
  RedisFairSlots,
  TenantNamespaces,
  taskRouter,
} from '@platform/core';
import { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import { createCatalog } from './catalog.js';
import type { WorkerConfig } from './config.js';
import { createWorkerMetrics } from './engine/metrics.js';
import { Worker, type WorkerOptions } from './engine/worker.js';
import { createOpsServer } from './http.js';

import { Scheduler } from './scheduler.js';

export interface RunningWorker {
  worker: Worker;
  relay?: OutboxRelay;
  /** The runtime role's pool: everything but provisioning and maintenance. */
  db: Database;
  /** The owner role's pool (provisioning, pg_partman maintenance); `db` when one role does all. */
  ownerDb: Database;
  redis: Redis;
  /** Base URL of the ops endpoints. */
  url: string;
  server: Server;
  /** Graceful stop: stop taking tasks, finish or requeue in-flight ones, close connections. */
  stop(): Promise<void>;
}

export async function startWorker(
  config: WorkerConfig,
  options: { log?: Logger; scheduler?: boolean; engine?: Partial<WorkerOptions> } = {},
): Promise<RunningWorker> {
  const log = options.log ?? pino({ level: config.logLevel, base: { service: 'worker' } });
  const db = createDatabase({
    url: config.databaseUrl,
    poolMax: config.databasePoolMax,
    applicationName: 'worker',
  });
  // DDL (tenant schemas, pg_partman partitions) only through the owner's small pool.
  const ownerDb = config.databaseOwnerUrl
    ? createDatabase({
        url: config.databaseOwnerUrl,
        poolMax: config.databaseOwnerPoolMax,
        applicationName: 'worker-owner',
      })
    : db;
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis error'));
  const queues = [config.queues.ml, config.queues.platform];
  const metrics = createWorkerMetrics(redis, queues, { backlog: () => outboxBacklog(db) });
  // Deprovisioning removes a tenant's dead letters on these queues and its task results.
  const taskData = new TenantTaskData(redis, queues);
  const mlGateway = new MlGatewayClient(config.mlGatewayUrl);
  const kubeConfig = loadKubeConfig(config.kubernetes);
  const namespaces = kubeConfig ? new TenantNamespaces(kubeConfig, config.kubernetes) : undefined;
  log.info(
    { kubernetes: Boolean(namespaces) },
    namespaces ? 'tenant namespaces on Kubernetes' : 'Kubernetes not configured',
  );
  const worker = new Worker(
    redis,
    createCatalog({
      db,
      ownerDb,
      redis,
      predictions: new PredictionRunner(db, mlGateway),
      namespaces,
      taskData,
      maintenanceMaxSeconds: config.maintenanceMaxSeconds,
      maintenanceConcurrency: config.maintenanceConcurrency,
    }),
    {
      queues,
      concurrency: config.concurrency,
      batchSize: config.batch.size,
      batchWaitMs: config.batch.waitMs,
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
      // Held deliveries are refreshed, and stale ones looked for, well within the visibility timeout.
      touchIntervalMs: Math.min(30_000, (config.visibilityTimeoutSeconds * 1000) / 3),
      restoreIntervalMs: Math.min(10_000, (config.visibilityTimeoutSeconds * 1000) / 2),
      trackStarted: config.trackStarted,
      drainTimeoutMs: config.drainTimeoutMs,
      heartbeatTtlMs: config.heartbeatTtlMs,
      reapIntervalMs: config.reapIntervalMs,
      maxConsumerDeaths: config.maxConsumerDeaths,
      deadLetterMaxLength: config.deadLetterMaxLength,
      ...options.engine,
    },
    log,
    metrics,
  );
  const publisher = new CeleryPublisher(redis, taskRouter(config.queues));
  // Tasks written to the outbox by the API (and by this process) reach Redis through the relay.
  const relay = config.outbox.enabled
    ? new OutboxRelay(db, (entries) => publisher.publishMany(entries), {
        listenUrl: config.databaseUrl,
        pollIntervalMs: config.outbox.pollIntervalMs,
        batchSize: config.outbox.batchSize,
        retentionSeconds: config.outbox.retentionSeconds,
        fairness: config.fairness.enabled
          ? {
              admission: new RedisFairSlots(redis, {
                perKey: config.fairness.slotsPerTenant,
                staleSeconds: config.fairness.slotTtlSeconds,
              }),
              maxGroupsPerPass: 1000,
              heldBackPollMs: config.fairness.heldBackPollMs,
            }
          : undefined,
        log,
      })
    : undefined;
  // A released slot (any consumer's acknowledgement, TypeScript or Python) wakes the relay at once
  // while it holds entries back.
  const releases = relay && config.fairness.enabled ? redis.duplicate() : undefined;
  if (releases) {
    releases.on('error', (err) => log.warn({ err: err.message }, 'redis (slot releases) error'));
    releases.on('message', () => relay?.released());
  }
  const scheduler = new Scheduler(
    { db, redis, publisher, log },
    {
      maintenanceIntervalSeconds: config.maintenanceIntervalSeconds,
      resumeIntervalSeconds: 60,
      usageFlushIntervalSeconds: config.usageFlushIntervalSeconds,
      keyPrefix: `platform:schedule:${config.queues.platform}`,
    },
  );
  // The ops server listens first: with Redis down, /healthz answers and /readyz reports it while
  // the worker waits for the connection (ioredis keeps retrying).
  const server = createOpsServer({ db, redis, registry: metrics.registry });
  server.listen(config.httpPort, config.httpHost);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await worker.start();
  await relay?.start();
  releases
    ?.subscribe(FAIR_RELEASED_CHANNEL)
    .catch((err) => log.warn({ err: err.message }, 'could not subscribe to slot releases'));
  if (options.scheduler ?? true) scheduler.start();

  let stopping: Promise<void> | undefined;
  return {
    worker,
    relay,
    db,
    ownerDb,
    redis,
    server,
    url: `http://${config.httpHost}:${port}`,
    stop() {
      stopping ??= (async () => {
        scheduler.stop();
        releases?.disconnect();
        await relay?.stop();
        await worker.stop();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        if (redis.status === 'ready') await redis.quit().catch(() => undefined);
        else redis.disconnect();
        await db.destroy();
        if (ownerDb !== db) await ownerDb.destroy();
      })();
      return stopping;
    },
  };
}
