import { once } from 'node:events';
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { createPlatform, type Platform } from './platform.js';

export interface RunningApi {
  platform: Platform;
  server: Server;
  url: string;
  /** Graceful stop: refuse new connections, let in-flight requests finish, then close pools. */
  stop(): Promise<void>;
}

/** Builds the platform and listens. */
export async function startApi(config: Config, options: { log?: Logger } = {}): Promise<RunningApi> {
  const platform = await createPlatform(config, options.log);
  const app = createApp(platform);
  const server = app.listen(config.port, config.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;

  let stopping: Promise<void> | undefined;
  // While stopping, a connection is closed as soon as its last response is sent.
  server.on('request', (_req, res: ServerResponse) => {
    if (stopping) res.setHeader('connection', 'close');
    res.on('finish', () => {
      if (stopping) setImmediate(() => server.closeIdleConnections());
    });
  });
  const stop = () => {
    stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
      await closed;
      clearTimeout(force);
      await platform.close();
    })();
    return stopping;
  };
  return { platform, server, url: `http://${host}:${port}`, stop };
}
