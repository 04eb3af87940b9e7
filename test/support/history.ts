// Reading a workflow's history in tests.
import type { Client } from '@temporalio/client';
import { eventually } from './stack.js';

/**
 * Waits until no workflow task is pending: signals that arrive while one runs are buffered and
 * reach the history only when it completes, so an accepted signal may not be there yet.
 */
export async function settled(client: Client, workflowId: string): Promise<void> {
  await eventually(async () => ((await client.workflow.getHandle(workflowId).describe()).raw.pendingWorkflowTask ? undefined : true), 10_000, `${workflowId} idle`);
}
