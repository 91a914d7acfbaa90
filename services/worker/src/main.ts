import { startWorker } from './app.js';
import { ConfigError, loadWorkerConfig } from './config.js';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const starting = startWorker(config);
  // The ops server answers before start-up is over (Redis may still be down): a signal that
  // arrives meanwhile waits for the start, then stops cleanly.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      starting
        .then((running) => running.stop())
        .then(
          () => process.exit(0),
          (err: unknown) => {
            console.error(err);
            process.exit(1);
          },
        );
    });
  }
  const running = await starting;
  console.log(
    JSON.stringify({ level: 30, service: 'worker', msg: `worker ops endpoints on ${running.url}` }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
