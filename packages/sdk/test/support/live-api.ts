import { randomBytes } from 'node:crypto';
import { startApi } from '@platform/api';
import { loadConfig } from '@platform/api/config';
import { testRuntimeDatabaseUrl } from '@platform/core/testing';
import { loadWorkerConfig, startWorker } from '@platform/worker';
import {
  type ApiKeyScope,
  type ClientOptions,
  PlatformAdminClient,
  PlatformClient,
  type Tenant,
} from '../../src/index.js';
import { sdkTestDatabaseUrl } from './database.js';
import { ML_GATEWAY_URL } from './ports.js';

export const ADMIN_TOKEN = `sdk-test-admin-${randomBytes(16).toString('hex')}`;

export function uniqueSlug(prefix = 'sdk'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export interface LiveTenant {
  tenant: Tenant;
  key: string;
  client: PlatformClient;
}

export interface LiveApi {
  url: string;
  admin: PlatformAdminClient;
  /** A client of this API with `apiKey` (and any other options). */
  clientFor(apiKey: string, options?: ClientOptions): PlatformClient;
  /** A ready tenant (made with the SDK's admin client) and a key with `scopes`. */
  createTenant(scopes?: ApiKeyScope[]): Promise<LiveTenant>;
  stop(): Promise<void>;
}

/**
 * The real API in this process (as the API's own tests start it: unique queues, quiet logs) and a
 * worker consuming its queues (provisioning, predictions against the real ml-gateway).
 */
export async function startLiveApi(env: Record<string, string> = {}): Promise<LiveApi> {
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: testRuntimeDatabaseUrl(sdkTestDatabaseUrl()),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    ML_GATEWAY_URL,
    QUEUE_ML: `sdk-test.ml.${randomBytes(4).toString('hex')}`,
    QUEUE_PLATFORM: `sdk-test.platform.${randomBytes(4).toString('hex')}`,
    API_KEY_CACHE_TTL_MS: '0',
    RATE_LIMITS: 'off',
    RATE_LIMIT_KEY_PREFIX: `sdk-test:rate-limit:${randomBytes(4).toString('hex')}`,
    ...env,
  });
  const api = await startApi(config);
  const worker = await startWorker(
    loadWorkerConfig({
      DATABASE_URL: config.databaseUrl,
      DATABASE_OWNER_URL: sdkTestDatabaseUrl(),
      REDIS_URL: config.redisUrl,
      ML_GATEWAY_URL: config.mlGatewayUrl,
      QUEUE_ML: config.queues.ml,
      QUEUE_PLATFORM: config.queues.platform,
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
    }),
    { scheduler: false, engine: { restoreIntervalMs: 60_000 } },
  );
  const admin = new PlatformAdminClient({ adminToken: ADMIN_TOKEN, baseUrl: api.url });
  const clientFor = (apiKey: string, options: ClientOptions = {}) =>
    new PlatformClient({ apiKey, baseUrl: api.url, ...options });
  return {
    url: api.url,
    admin,
    clientFor,
    async createTenant(scopes = ['read', 'write']) {
      const slug = uniqueSlug();
      const tenant = await admin.tenants.createAndWait({ slug, name: `SDK ${slug}` }, { timeoutMs: 60_000 });
      if (tenant.status !== 'ready') throw new Error(`tenant ${slug}: ${tenant.status} ${tenant.last_error}`);
      const created = await admin.apiKeys.create(tenant.id, { name: 'sdk-test', scopes });
      return { tenant, key: created.key, client: clientFor(created.key) };
    },
    async stop() {
      await api.stop();
      await worker.stop();
    },
  };
}
