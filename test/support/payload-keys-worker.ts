// A worker and a client of a stack's task queue with other payload keys than the stack's, e.g. a
// rotation [new, old]: what a deployment runs after changing PAYLOAD_ENCRYPTION_KEY. Tokens stay
// sealed with the stack's cipher: rotating payload keys does not touch them.
import type { Client } from '@temporalio/client';
import { inject } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import { createRateBudget } from '../../src/hubspot/rate-budget.js';
import { createLogger } from '../../src/logger.js';
import { connectTemporalClient } from '../../src/temporal/client.js';
import { createDataConverter } from '../../src/temporal/data-converter.js';
import { startHubsyncWorker } from '../../src/worker/worker.js';
import type { Stack } from './stack.js';

export interface KeyedWorker {
  /** A client with the same payload keys as the worker. */
  client: Client;
  stop(): Promise<void>;
}

/** @param payloadKeys base64 keys, current first. */
export async function startWorkerWithPayloadKeys(stack: Stack, payloadKeys: string[]): Promise<KeyedWorker> {
  const address = inject('temporalAddress');
  const dataConverter = createDataConverter(payloadKeys);
  const running = await startHubsyncWorker({
    address,
    namespace: 'default',
    taskQueue: stack.taskQueue,
    activities: createActivities({ pool: stack.db.pool, log: createLogger('warn'), cipher: stack.cipher, hubspot: stack.hubspot, budget: createRateBudget(stack.db.pool) }),
    workflowBundle: { code: inject('workflowBundleCode') },
    dataConverter,
  });
  const client = await connectTemporalClient(address, 'default', dataConverter);
  return {
    client,
    stop: async () => {
      running.worker.shutdown();
      await running.finished;
      await client.connection.close();
    },
  };
}
