import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    reporters: ['default', 'json'],
    outputFile: { json: '../../.data/test-results/worker.json' },
    globalSetup: ['./test/global-setup.ts'],
    // Fault tests shorten the visibility timeout, which applies to every delivery in the test
    // Redis database: files run one at a time so they never restore each other's deliveries.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
