import { startWorker } from './app.js';
import { ConfigError, loadWorkerConfig } from './config.js';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const running = await startWorker(config);
  console.log(
    JSON.stringify({ level: 30, service: 'worker', msg: `worker ops endpoints on ${running.url}` }),
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      running.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(err);
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
