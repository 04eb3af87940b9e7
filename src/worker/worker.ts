import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { createActivities } from '../activities/index.js';

// Run from TypeScript sources (tsx, vitest) or compiled JavaScript alike.
const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
export const WORKFLOWS_PATH = fileURLToPath(new URL(`../workflows/index.${extension}`, import.meta.url));

export interface WorkerOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  activities: ReturnType<typeof createActivities>;
  /** From createDataConverter: the clients' converter, so both ends encrypt alike. */
  dataConverter: DataConverter;
  /** A prebuilt bundle (tests bundle once per file); omitted: bundle WORKFLOWS_PATH now. */
  workflowBundle?: WorkflowBundleOption;
}

export interface RunningWorker {
  worker: Worker;
  /** Settles when the worker stopped (after `worker.shutdown()`, or on a fatal error). */
  finished: Promise<void>;
}

export async function startHubsyncWorker(options: WorkerOptions): Promise<RunningWorker> {
  const connection = await NativeConnection.connect({ address: options.address });
  const worker = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: options.activities,
    dataConverter: options.dataConverter,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    // Entity workflows live for years; keep the sticky cache bounded.
    maxCachedWorkflows: 500,
  });
  const finished = worker.run().finally(() => connection.close());
  return { worker, finished };
}
