import { ConfigError, loadConfig } from './config.js';
import { startApi } from './server.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const api = await startApi(config);
  api.platform.log.info(
    { url: api.url, ops_url: api.opsUrl },
    `API listening on ${api.url} (docs at ${api.url}/docs; /readyz and /metrics on ${api.opsUrl})`,
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      api.platform.log.info({ signal }, 'shutting down');
      // SIGTERM (Kubernetes, compose) drains first; SIGINT (Ctrl-C in a terminal) stops at once.
      api.stop({ drain: signal === 'SIGTERM' }).then(
        () => process.exit(0),
        (err: unknown) => {
          api.platform.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
