import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The Temporal worker loads a native addon: keep the default process pool (forks).
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-runtime.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
