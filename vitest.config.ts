import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The Temporal worker loads a native addon: keep the default process pool (forks).
    pool: 'forks',
    // Most of a test file's time is spent waiting on Temporal, PostgreSQL and timers: two files at
    // once on two cores (vitest's default is cores - 1) halves the run without starving either.
    maxWorkers: 2,
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-runtime.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
