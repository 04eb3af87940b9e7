import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The Temporal worker loads a native addon: keep the default process pool (forks).
    pool: 'forks',
    // One file at a time. Two at once halve the run on two cores, but the rate-limit tests then meet
    // request jitter of hundreds of milliseconds: HubSpot's 1 s search window saw a sixth request.
    maxWorkers: 1,
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-runtime.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
