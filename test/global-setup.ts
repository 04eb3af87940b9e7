// One real Temporal dev server (and, without DATABASE_URL, one embedded PostgreSQL) for the whole
// test run. Test files get fresh databases and unique task queues on top of them.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../src/embedded/postgres.js';
import { startTemporalDevServer } from '../src/embedded/temporal-server.js';
import { createLogger } from '../src/logger.js';
import { WORKFLOWS_PATH } from '../src/worker/worker.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    /** A database URL whose user may create databases. */
    adminDatabaseUrl: string;
    /** The workflow bundle, built once per run instead of once per worker. */
    workflowBundleCode: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
  const temporal = await startTemporalDevServer({ uiPort: false, namespace: 'default', log });
  project.provide('temporalAddress', temporal.address);
  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} } });
  project.provide('workflowBundleCode', bundle.code);

  let stopPostgres = async () => {};
  let adminDatabaseUrl = process.env.DATABASE_URL;
  if (!adminDatabaseUrl) {
    const dataDir = mkdtempSync(join(tmpdir(), 'hubsync-test-'));
    // As root, PostgreSQL runs as its own OS user, which must be able to enter this directory.
    chmodSync(dataDir, 0o755);
    const postgres = await startEmbeddedPostgres(dataDir, log);
    adminDatabaseUrl = postgres.url;
    stopPostgres = async () => {
      await postgres.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
  }
  project.provide('adminDatabaseUrl', adminDatabaseUrl);

  return async () => {
    await temporal.stop();
    await stopPostgres();
  };
}
