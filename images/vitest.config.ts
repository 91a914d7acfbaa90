import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', 'json'],
    outputFile: { json: '../.data/test-results/images.json' },
    // Services start from their deployed folders, cold: allow for a busy machine.
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
