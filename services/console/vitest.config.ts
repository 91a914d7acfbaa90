import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Workspace packages (@platform/api, @platform/worker, @platform/core) are used from source.
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    reporters: ['default', 'json'],
    outputFile: { json: '../../.data/test-results/console.json' },
    globalSetup: ['./test/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});
