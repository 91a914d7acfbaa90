import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunningApi, startApi } from '@platform/api';
import { loadConfig } from '@platform/api/config';
import { loadWorkerConfig, type RunningWorker, startWorker } from '@platform/worker';
import { CONSOLE_DIST, consoleTestDatabaseUrl, ML_GATEWAY_URL } from './env.js';

export const ADMIN_TOKEN = `console-test-admin-${randomBytes(16).toString('hex')}`;

export interface Stack {
  api: RunningApi;
  url: string;
  queues: { ml: string; platform: string };
  /**
   * Replaces the worker: `kubeconfig` points it at a Kubernetes (or at one that is unreachable);
   * without, it gets the stack's own again.
   */
  restartWorker(kubeconfig?: string): Promise<void>;
  /** Stops the API and the worker (once: later calls wait for the same stop). */
  stop(): Promise<void>;
}

/** A kubeconfig of a cluster nothing answers for (a refused connection: a real fault, at once). */
export function unreachableKubeconfig(dir: string): string {
  const file = join(dir, 'unreachable.kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: gone',
      '  cluster: { server: "https://127.0.0.1:9", insecure-skip-tls-verify: true }',
      'users:',
      '- name: u',
      '  user: { token: x }',
      'contexts:',
      '- name: c',
      '  context: { cluster: gone, user: u }',
      'current-context: c',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return file;
}

/**
 * The real API (serving the console's build) and a real worker on queues of their own; with
 * `kubeconfig`, both manage tenant namespaces on that Kubernetes.
 */
export async function startStack(options: { kubeconfig?: string } = {}): Promise<Stack> {
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    OPS_PORT: '0',
    DRAIN_DELAY_MS: '0',
    DATABASE_URL: consoleTestDatabaseUrl(),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    ADMIN_TOKEN,
    LOG_LEVEL: 'silent',
    ML_GATEWAY_URL,
    QUEUE_ML: `console-test.ml.${randomBytes(4).toString('hex')}`,
    QUEUE_PLATFORM: `console-test.platform.${randomBytes(4).toString('hex')}`,
    API_KEY_CACHE_TTL_MS: '0',
    RATE_LIMITS: 'off',
    RATE_LIMIT_KEY_PREFIX: `console-test:rate-limit:${randomBytes(4).toString('hex')}`,
    KUBERNETES: options.kubeconfig ? 'on' : 'off',
    KUBECONFIG: options.kubeconfig ?? '',
    CONSOLE_DIR: CONSOLE_DIST,
  });
  const api = await startApi(config);
  const workerFor = (kubeconfig = options.kubeconfig) =>
    startWorker(
      loadWorkerConfig({
        DATABASE_URL: config.databaseUrl,
        REDIS_URL: config.redisUrl,
        ML_GATEWAY_URL: config.mlGatewayUrl,
        QUEUE_ML: config.queues.ml,
        QUEUE_PLATFORM: config.queues.platform,
        KUBERNETES: kubeconfig ? 'on' : 'off',
        KUBECONFIG: kubeconfig ?? '',
        HTTP_PORT: '0',
        LOG_LEVEL: 'silent',
      }),
      { scheduler: false, engine: { restoreIntervalMs: 60_000 } },
    );
  let worker: RunningWorker | undefined;
  let stopping: Promise<void> | undefined;
  try {
    worker = await workerFor();
  } catch (err) {
    await api.stop();
    throw err;
  }
  return {
    api,
    url: api.url,
    queues: config.queues,
    async restartWorker(kubeconfig) {
      await worker?.stop();
      worker = undefined;
      worker = await workerFor(kubeconfig);
    },
    stop() {
      stopping ??= (async () => {
        await api.stop();
        await worker?.stop();
      })();
      return stopping;
    },
  };
}
