import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { testDatabaseUrl, testRuntimeDatabaseUrl, waitFor } from '@platform/core/testing';
import { loadWorkerConfig, type RunningWorker, startWorker } from '@platform/worker';
import type { Logger } from 'pino';
import { type Config, loadConfig } from '../src/config.js';
import { createLogger } from '../src/platform.js';
import { type RunningApi, startApi } from '../src/server.js';

export const ADMIN_TOKEN = `test-admin-${randomBytes(16).toString('hex')}`;

/** Started by the global setup. */
export const TEST_ML_GATEWAY_URL = process.env.ML_GATEWAY_URL ?? 'http://127.0.0.1:18000';

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ML_GATEWAY_URL: TEST_ML_GATEWAY_URL,
    QUEUE_ML: `test.ml.${randomBytes(4).toString('hex')}`,
    QUEUE_PLATFORM: `test.platform.${randomBytes(4).toString('hex')}`,
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    OPS_PORT: '0',
    DRAIN_DELAY_MS: '0',
    DATABASE_URL: testRuntimeDatabaseUrl(),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    // Kubernetes only where a test asks for it (KUBECONFIG in the overrides).
    KUBERNETES: 'off',
    // Rate limits only where a test asks for them; each API gets its own counters.
    RATE_LIMITS: 'off',
    RATE_LIMIT_KEY_PREFIX: `test:rate-limit:${randomBytes(4).toString('hex')}`,
    ...overrides,
  });
}

export function uniqueSlug(prefix = 't'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** A client for the API under test. */
export class TestClient {
  constructor(
    readonly api: RunningApi,
    private readonly token?: string,
  ) {}

  as(token: string | undefined): TestClient {
    return new TestClient(this.api, token);
  }

  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply<T>> {
    const init: RequestInit = {
      method,
      headers: {
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    };
    const res = await fetch(`${this.api.url}${path}`, init);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  get<T = Record<string, unknown>>(path: string) {
    return this.request<T>('GET', path);
  }
  post<T = Record<string, unknown>>(path: string, body?: unknown) {
    return this.request<T>('POST', path, body);
  }
  patch<T = Record<string, unknown>>(path: string, body?: unknown) {
    return this.request<T>('PATCH', path, body);
  }
  delete<T = Record<string, unknown>>(path: string) {
    return this.request<T>('DELETE', path);
  }
}

export interface TestTenant {
  id: string;
  slug: string;
  key: string;
  client: TestClient;
}

export interface TestApi {
  api: RunningApi;
  /** The worker consuming this API's queues (in-process, the real task catalog). */
  worker: RunningWorker;
  admin: TestClient;
  anonymous: TestClient;
  /** Creates a tenant through the API, waits until it is ready and gives it a key with `scopes`. */
  createTenant(options?: { plan?: string; scopes?: string[] }): Promise<TestTenant>;
  waitForStatus(tenantId: string, status: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startTestApi(
  overrides: Record<string, string> = {},
  /** `consumeMl: false` leaves the ML queue to another consumer (e.g. Python Celery);
   * `workerEnv` overrides the worker's environment (e.g. its own KUBECONFIG). */
  options: { log?: Logger; consumeMl?: boolean; workerEnv?: Record<string, string> } = {},
): Promise<TestApi> {
  const config = testConfig(overrides);
  const api = await startApi(config, { log: options.log });
  const worker = await startWorker(
    loadWorkerConfig({
      DATABASE_URL: config.databaseUrl,
      DATABASE_OWNER_URL: testDatabaseUrl(),
      REDIS_URL: config.redisUrl,
      ML_GATEWAY_URL: config.mlGatewayUrl,
      QUEUE_ML: options.consumeMl === false ? `${config.queues.ml}.not-consumed` : config.queues.ml,
      QUEUE_PLATFORM: config.queues.platform,
      KUBERNETES: config.kubernetes.mode,
      KUBECONFIG: config.kubernetes.kubeconfig ?? '',
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
      ...options.workerEnv,
    }),
    { scheduler: false, engine: { restoreIntervalMs: 60_000 } },
  );
  const anonymous = new TestClient(api);
  const admin = anonymous.as(ADMIN_TOKEN);
  const waitForStatus = (tenantId: string, status: string) =>
    waitFor(`tenant ${tenantId} to be ${status}`, async () => {
      if (status === 'deleted') {
        // The API answers 404 from the moment the deletion is accepted; the row says when the
        // schema and namespace are dropped.
        const row = await api.platform.db
          .withSchema('platform')
          .table('tenants')
          .where({ id: tenantId })
          .first('status');
        return !row || row.status === 'deleted' ? {} : undefined;
      }
      const res = await admin.get(`/v1/tenants/${tenantId}`);
      if (res.body.status === 'failed' && status !== 'failed') {
        throw new Error(`tenant failed: ${String(res.body.last_error)}`);
      }
      return res.body.status === status ? res.body : undefined;
    });
  return {
    api,
    worker,
    admin,
    anonymous,
    waitForStatus,
    async createTenant(options = {}) {
      const slug = uniqueSlug();
      const created = await admin.post('/v1/tenants', { slug, name: `Tenant ${slug}`, plan: options.plan });
      if (created.status !== 202)
        throw new Error(`create tenant: ${created.status} ${JSON.stringify(created.body)}`);
      const id = created.body.id as string;
      await waitForStatus(id, 'ready');
      const key = await admin.post(`/v1/tenants/${id}/api-keys`, {
        name: 'test',
        scopes: options.scopes ?? ['read', 'write'],
      });
      if (key.status !== 201) throw new Error(`create key: ${key.status} ${JSON.stringify(key.body)}`);
      return { id, slug, key: key.body.key as string, client: anonymous.as(key.body.key as string) };
    },
    stop: async () => {
      await api.stop();
      await worker.stop();
    },
  };
}

export { waitFor };

/** An `info` logger whose JSON lines are kept in `lines`, for tests that read the API's log. */
export function capturedLog(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger({ logLevel: 'info' }, sink), lines };
}
