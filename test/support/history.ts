// Reading a workflow's history in tests.
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { eventually } from './stack.js';

/**
 * Waits until no workflow task is pending: signals that arrive while one runs are buffered and
 * reach the history only when it completes, so an accepted signal may not be there yet.
 */
export async function settled(client: Client, workflowId: string): Promise<void> {
  await eventually(async () => ((await client.workflow.getHandle(workflowId).describe()).raw.pendingWorkflowTask ? undefined : true), 10_000, `${workflowId} idle`);
}

/** A long-lived workflow's run can hold more history than one gRPC answer may carry (4 MB): reads it a few events at a time. */
export async function fetchHistoryInPages(client: Client, workflowId: string, runId?: string, pageSize = 50): Promise<temporal.api.history.v1.IHistory> {
  const events: temporal.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const response = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId, runId },
      maximumPageSize: pageSize,
      nextPageToken,
    });
    events.push(...(response.history?.events ?? []));
    nextPageToken = response.nextPageToken?.length ? response.nextPageToken : undefined;
  } while (nextPageToken);
  return { events };
}
