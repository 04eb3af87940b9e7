import { ActivityFailure, ApplicationFailure, getExternalWorkflowHandle, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import { webhookBatchDoneSignal, type WebhookBatchInput } from './definitions.js';
import { WEBHOOK_BATCH } from './options.js';

type Activities = ReturnType<typeof createActivities>;

/** HubSpot's batch read takes at most 100 ids. */
const BATCH_SIZE = 100;

/**
 * Applies the records webhooks touched: re-reads them in batches of 100 and writes them with the
 * version guard. Reports to the connection by signal when done, with what failed, so nothing is lost.
 */
export async function webhookBatchWorkflow(input: WebhookBatchInput): Promise<void> {
  const parent = getExternalWorkflowHandle(input.parentWorkflowId);
  const childId = workflowInfo().workflowId;
  let applied = 0;
  const failed: WebhookBatchInput['batches'] = [];
  let error: { type: string; message: string } | undefined;
  for (const batch of input.batches) {
    for (let start = 0; start < Math.max(batch.ids.length, batch.purgeIds.length); start += BATCH_SIZE) {
      const ids = batch.ids.slice(start, start + BATCH_SIZE);
      const purgeIds = batch.purgeIds.slice(start, start + BATCH_SIZE);
      const restoredIds = (batch.restoredIds ?? []).filter((id) => ids.includes(id));
      const { applyObjectBatch } = proxyActivities<Activities>({ ...WEBHOOK_BATCH, summary: `${batch.objectType}: ${ids.length} records from webhooks` });
      try {
        applied += (await applyObjectBatch({ connectionId: input.connectionId, portalId: input.portalId, tier: input.tier, priority: 'realtime', objectType: batch.objectType, ids, restoredIds, purgeIds })).applied;
      } catch (failure) {
        const cause = failure instanceof ActivityFailure ? failure.cause : failure;
        error = { type: cause instanceof ApplicationFailure ? (cause.type ?? 'ApplicationFailure') : 'Unexpected', message: cause instanceof Error ? cause.message : String(cause) };
        failed.push({ objectType: batch.objectType, ids, restoredIds, purgeIds });
      }
    }
  }
  await parent.signal(webhookBatchDoneSignal, { childId, applied, failed, ...(error ? { error } : {}) });
}
