// Another hubsync worker process on a stack's task queue: its own PostgreSQL pool and rate budget,
// sharing nothing with the test's worker but the database and Temporal. Prints "ready <pid>" once
// polling; shuts down cleanly on SIGTERM.
// Run: DATABASE_URL=... TEMPORAL_ADDRESS=... TASK_QUEUE=... HUBSPOT_CONFIG=<json> CIPHER_KEY=...
//      WORKFLOW_BUNDLE=<path> node --import tsx test/support/second-worker.ts
import { createActivities, type ActivityDeps } from '../../src/activities/index.js';
import { createTokenCipher } from '../../src/crypto/token-cipher.js';
import { createPool } from '../../src/db/pool.js';
import { createRateBudget } from '../../src/hubspot/rate-budget.js';
import { createLogger } from '../../src/logger.js';
import { createDataConverter } from '../../src/temporal/data-converter.js';
import { startHubsyncWorker } from '../../src/worker/worker.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is required`);
  return value;
};

async function main(): Promise<void> {
  const log = createLogger('warn');
  const pool = createPool(env('DATABASE_URL'), 'hubsync-second-worker', log);
  const running = await startHubsyncWorker({
    address: env('TEMPORAL_ADDRESS'),
    namespace: 'default',
    taskQueue: env('TASK_QUEUE'),
    activities: createActivities({
      pool,
      log,
      cipher: createTokenCipher([env('CIPHER_KEY')]),
      hubspot: JSON.parse(env('HUBSPOT_CONFIG')) as ActivityDeps['hubspot'],
      budget: createRateBudget(pool),
    }),
    workflowBundle: { codePath: env('WORKFLOW_BUNDLE') },
    // The stack encrypts payloads with its token key: this worker must read them alike.
    dataConverter: createDataConverter([env('CIPHER_KEY')]),
  });
  process.once('SIGTERM', () => running.worker.shutdown());
  process.stdout.write(`ready ${process.pid}\n`);
  await running.finished;
  await pool.end();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
