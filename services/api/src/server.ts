import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { createApp, createOpsApp, type Lifecycle } from './app.js';
import type { Config } from './config.js';
import { createRequestListener } from './hot-reads.js';
import { createMetrics } from './observability/metrics.js';
import { createPlatform, type Platform } from './platform.js';

export interface RunningApi {
  platform: Platform;
  /** The public port (the ingress routes it). */
  server: Server;
  url: string;
  /** The ops port: /healthz, /readyz, /metrics. */
  opsServer: Server;
  opsUrl: string;
  lifecycle: Lifecycle;
  /**
   * Graceful stop: fail readiness and keep serving for the drain delay (DRAIN_DELAY_MS; `drain:
   * false` skips it), then refuse new connections, let in-flight requests finish, close pools.
   */
  stop(options?: { drain?: boolean }): Promise<void>;
}

function urlOf(server: Server, host: string): string {
  const { port } = server.address() as AddressInfo;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Builds the platform and listens on the public and the ops port. */
export async function startApi(config: Config, options: { log?: Logger } = {}): Promise<RunningApi> {
  const platform = await createPlatform(config, options.log);
  const metrics = createMetrics(platform.db);
  const lifecycle: Lifecycle = { draining: false };
  // The hot tenant reads are answered in front of the Express app (see hot-reads.ts).
  const server = createServer(createRequestListener(createApp(platform, metrics), platform, metrics));
  server.listen(config.port, config.host);
  const opsServer = createOpsApp(platform, metrics, lifecycle).listen(config.opsPort, config.opsHost);
  await Promise.all([once(server, 'listening'), once(opsServer, 'listening')]);

  let closing = false;
  // While draining, each response asks its client to reconnect (to another replica, once the load
  // balancer has seen the failed readiness); once closing, a connection is closed as soon as its
  // last response is sent.
  server.on('request', (_req, res: ServerResponse) => {
    if (lifecycle.draining) res.setHeader('connection', 'close');
    res.on('finish', () => {
      if (closing) setImmediate(() => server.closeIdleConnections());
    });
  });
  let stopping: Promise<void> | undefined;
  const stop = ({ drain = true }: { drain?: boolean } = {}) => {
    stopping ??= (async () => {
      lifecycle.draining = true;
      if (drain && config.drainDelayMs > 0) {
        platform.log.info({ drain_delay_ms: config.drainDelayMs }, 'draining: /readyz fails, still serving');
        await sleep(config.drainDelayMs);
      }
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
      await closed;
      clearTimeout(force);
      const opsClosed = new Promise<void>((resolve) => opsServer.close(() => resolve()));
      opsServer.closeAllConnections();
      await opsClosed;
      await platform.close();
    })();
    return stopping;
  };
  return {
    platform,
    server,
    url: urlOf(server, config.host),
    opsServer,
    opsUrl: urlOf(opsServer, config.opsHost),
    lifecycle,
    stop,
  };
}
