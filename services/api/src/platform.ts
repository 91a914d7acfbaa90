import { DeadLetters, KombuRedisTransport } from '@platform/celery';
import {
  ApiKeyVerifier,
  AuditService,
  createDatabase,
  type Database,
  DeadLettersService,
  EventsService,
  loadKubeConfig,
  MlGatewayClient,
  PredictionsService,
  TaskOutbox,
  TenantNamespaces,
  TenantStatements,
  TenantsService,
  TenantUpdatesService,
  UsageCounters,
  UsageService,
  UsersService,
} from '@platform/core';
import { Redis } from 'ioredis';
import { type DestinationStream, type Logger, destination as logDestination, pino } from 'pino';
import type { Config } from './config.js';
import { CachedModelCatalog } from './ml/cached-model-catalog.js';

const KEY_REVOCATIONS_CHANNEL = 'platform:api-keys:revoked';
/** A tenant's plan changed: every replica drops the keys it cached for it (they carry the plan). */
const TENANT_CHANGES_CHANNEL = 'platform:tenants:changed';

/** Everything a running API needs, built once from the config and passed in. */
export interface Platform {
  config: Config;
  log: Logger;
  db: Database;
  redis: Redis;
  outbox: TaskOutbox;
  apiKeys: ApiKeyVerifier;
  tenants: TenantsService;
  tenantUpdates: TenantUpdatesService;
  usage: UsageService;
  users: UsersService;
  events: EventsService;
  predictions: PredictionsService;
  audit: AuditService;
  /** The task queues' depth and dead letters (operators). */
  deadLetters: DeadLettersService;
  close(): Promise<void>;
}

/**
 * The API's logger. Without a destination it writes to stdout asynchronously and buffered: lines
 * are handed to the OS off the request's path, together, once 4 KiB are pending or every 250 ms
 * (one write per access-log line would cost more than the line), and pino flushes what is
 * pending when the process exits.
 */
export function createLogger(
  config: Pick<Config, 'logLevel'>,
  destination: DestinationStream = logDestination({
    dest: 1,
    sync: false,
    minLength: 4096,
    periodicFlush: 250,
  }),
): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'api' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["x-api-key"]',
          '*.key',
          '*.secret',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

export async function createPlatform(config: Config, log: Logger = createLogger(config)): Promise<Platform> {
  const db = createDatabase({
    url: config.databaseUrl,
    poolMax: config.databasePoolMax,
    applicationName: 'api',
  });
  // Redis may be down at start: both connections connect in the background and keep retrying
  // (/readyz reports Redis until then); the subscriber's commands wait for the connection.
  // On the request path Redis is a cache, a limiter and a meter, each with its fallback: while it
  // is unreachable a command fails at once (no offline queue) rather than holding the request.
  const redis = new Redis(config.redisUrl, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    commandTimeout: 1000,
  });
  const subscriber = redis.duplicate({
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    commandTimeout: undefined,
  });
  redis.on('error', (err) => log.warn({ err }, 'redis error'));
  subscriber.on('error', (err) => log.warn({ err }, 'redis subscriber error'));

  // The hot single-statement tenant reads: prepared, on per-plan pools that carry the plan's
  // statement timeout (no transaction around them).
  const statements = new TenantStatements(
    {
      url: config.databaseUrl,
      maxPerPlan: config.databasePoolMax,
      connectionsPerShare: config.databasePoolShare || undefined,
      idleTimeoutMs: config.databaseIdleTimeoutMs,
      applicationName: 'api',
    },
    (err) => log.warn({ err }, 'tenant statement pool connection error'),
  );
  const apiKeys = new ApiKeyVerifier(db, { cacheTtlMs: config.apiKeyCacheTtlMs, touchIntervalMs: 60_000 });
  // Revocations reach every replica's key cache through Redis; this replica drops them at once.
  const subscribed = subscriber.subscribe(KEY_REVOCATIONS_CHANNEL, TENANT_CHANGES_CHANNEL);
  subscribed.catch((err) => log.error({ err }, 'not subscribed to key revocations'));
  // Start-up waits for the subscription, unless the first connection attempt fails (Redis down:
  // the subscription then goes through in the background, once connected).
  await new Promise<void>((resolve) => {
    subscribed.then(
      () => resolve(),
      () => resolve(),
    );
    subscriber.once('error', () => resolve());
  });
  subscriber.on('message', (channel, message: string) => {
    if (channel === TENANT_CHANGES_CHANNEL) apiKeys.invalidateTenant(message);
    else apiKeys.invalidate(message === '*' ? undefined : message);
  });
  // Revocations published while this replica was disconnected were missed: forget every cached key.
  subscriber.on('ready', () => apiKeys.invalidate());
  const onPlanChanged = (tenantId: string) => {
    apiKeys.invalidateTenant(tenantId);
    redis
      .publish(TENANT_CHANGES_CHANNEL, tenantId)
      .catch((err) => log.warn({ err }, 'tenant change not published'));
  };
  const onKeysRevoked = (prefixes: string[] | 'all') => {
    const messages = prefixes === 'all' ? ['*'] : prefixes;
    for (const message of messages) {
      apiKeys.invalidate(message === '*' ? undefined : message);
      redis
        .publish(KEY_REVOCATIONS_CHANNEL, message)
        .catch((err) => log.warn({ err }, 'revocation not published'));
    }
  };

  // Tenant provisioning and predictions run in the worker: their tasks are written to the outbox
  // in the transaction that writes their rows, and the worker's relay publishes them.
  const outbox = new TaskOutbox(config.queues);
  const kubeConfig = loadKubeConfig(config.kubernetes);
  const namespaces = kubeConfig ? new TenantNamespaces(kubeConfig, config.kubernetes) : undefined;
  const models = new CachedModelCatalog(
    redis,
    new MlGatewayClient(config.mlGatewayUrl),
    config.modelsCacheTtlSeconds,
  );
  const usage = new UsageService(db, new UsageCounters(redis), {
    onError: (err) => log.warn({ err }, 'usage not counted'),
  });
  return {
    config,
    log,
    db,
    redis,
    outbox,
    apiKeys,
    tenants: new TenantsService({ db, outbox, onKeysRevoked, namespaces, maxTenants: config.maxTenants }),
    tenantUpdates: new TenantUpdatesService({ db, outbox, onPlanChanged }),
    usage,
    users: new UsersService(db, statements),
    events: new EventsService(db, usage, statements),
    predictions: new PredictionsService(db, models, outbox, statements, usage),
    audit: new AuditService(db),
    deadLetters: new DeadLettersService({
      db,
      queues: config.queues,
      store: new DeadLetters(redis),
      depths: new KombuRedisTransport(redis),
    }),
    async close() {
      await apiKeys.flushTouches();
      // quit() waits for a connection that may never come; disconnect() does not.
      await Promise.allSettled(
        [subscriber, redis].map((c) => (c.status === 'ready' ? c.quit() : c.disconnect())),
      );
      await Promise.all([db.destroy(), statements.close()]);
    },
  };
}
