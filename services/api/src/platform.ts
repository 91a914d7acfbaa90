import { CeleryPublisher } from '@platform/celery';
import {
  ApiKeyVerifier,
  createDatabase,
  type Database,
  EventsService,
  loadKubeConfig,
  MlGatewayClient,
  PredictionsService,
  queuedTenantLifecycle,
  TenantNamespaces,
  TenantsService,
  taskRouter,
  UsersService,
} from '@platform/core';
import { Redis } from 'ioredis';
import { type DestinationStream, type Logger, pino } from 'pino';
import type { Config } from './config.js';
import { CachedModelCatalog } from './ml/cached-model-catalog.js';

const KEY_REVOCATIONS_CHANNEL = 'platform:api-keys:revoked';

/** Everything a running API needs, built once from the config and passed in. */
export interface Platform {
  config: Config;
  log: Logger;
  db: Database;
  redis: Redis;
  publisher: CeleryPublisher;
  apiKeys: ApiKeyVerifier;
  tenants: TenantsService;
  users: UsersService;
  events: EventsService;
  predictions: PredictionsService;
  close(): Promise<void>;
}

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: DestinationStream): Logger {
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
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
  const subscriber = redis.duplicate({ maxRetriesPerRequest: null });
  redis.on('error', (err) => log.warn({ err }, 'redis error'));
  subscriber.on('error', (err) => log.warn({ err }, 'redis subscriber error'));

  const apiKeys = new ApiKeyVerifier(db, { cacheTtlMs: config.apiKeyCacheTtlMs, touchIntervalMs: 60_000 });
  // Revocations reach every replica's key cache through Redis; this replica drops them at once.
  const subscribed = subscriber.subscribe(KEY_REVOCATIONS_CHANNEL);
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
  subscriber.on('message', (_channel, message: string) =>
    apiKeys.invalidate(message === '*' ? undefined : message),
  );
  // Revocations published while this replica was disconnected were missed: forget every cached key.
  subscriber.on('ready', () => apiKeys.invalidate());
  const onKeysRevoked = (prefixes: string[] | 'all') => {
    const messages = prefixes === 'all' ? ['*'] : prefixes;
    for (const message of messages) {
      apiKeys.invalidate(message === '*' ? undefined : message);
      redis
        .publish(KEY_REVOCATIONS_CHANNEL, message)
        .catch((err) => log.warn({ err }, 'revocation not published'));
    }
  };

  // Tenant provisioning and predictions run in the worker; the API publishes their tasks.
  const publisher = new CeleryPublisher(redis, taskRouter(config.queues));
  const kubeConfig = loadKubeConfig(config.kubernetes);
  const namespaces = kubeConfig ? new TenantNamespaces(kubeConfig, config.kubernetes) : undefined;
  const models = new CachedModelCatalog(
    redis,
    new MlGatewayClient(config.mlGatewayUrl),
    config.modelsCacheTtlSeconds,
  );
  return {
    config,
    log,
    db,
    redis,
    publisher,
    apiKeys,
    tenants: new TenantsService({
      db,
      lifecycle: queuedTenantLifecycle(publisher),
      onKeysRevoked,
      namespaces,
      onDispatchError: (err, tenantId) =>
        log.error({ err, tenant_id: tenantId }, 'tenant task not published; the worker will resume it'),
    }),
    users: new UsersService(db),
    events: new EventsService(db),
    predictions: new PredictionsService(db, models, publisher),
    async close() {
      // quit() waits for a connection that may never come; disconnect() does not.
      await Promise.allSettled(
        [subscriber, redis].map((c) => (c.status === 'ready' ? c.quit() : c.disconnect())),
      );
      await db.destroy();
    },
  };
}
