import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CeleryPublisher } from '@platform/celery';
import {
  createDatabase,
  type Database,
  loadKubeConfig,
  MlGatewayClient,
  OutboxRelay,
  outboxBacklog,
  PredictionRunner,
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
  db: Database;
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
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis error'));
  const queues = [config.queues.ml, config.queues.platform];
  const metrics = createWorkerMetrics(redis, queues, { backlog: () => outboxBacklog(db) });
  const mlGateway = new MlGatewayClient(config.mlGatewayUrl);
  const kubeConfig = loadKubeConfig(config.kubernetes);
  const namespaces = kubeConfig ? new TenantNamespaces(kubeConfig, config.kubernetes) : undefined;
  log.info(
    { kubernetes: Boolean(namespaces) },
    namespaces ? 'tenant namespaces on Kubernetes' : 'Kubernetes not configured',
  );
  const worker = new Worker(
    redis,
    createCatalog({ db, redis, predictions: new PredictionRunner(db, mlGateway), namespaces }),
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
        log,
      })
    : undefined;
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
  if (options.scheduler ?? true) scheduler.start();

  let stopping: Promise<void> | undefined;
  return {
    worker,
    relay,
    db,
    redis,
    server,
    url: `http://${config.httpHost}:${port}`,
    stop() {
      stopping ??= (async () => {
        scheduler.stop();
        await relay?.stop();
        await worker.stop();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        if (redis.status === 'ready') await redis.quit().catch(() => undefined);
        else redis.disconnect();
        await db.destroy();
      })();
      return stopping;
    },
  };
}
